"""cmmlib: conjugate moment measures in JAX.

The companion library of the cmm-book, which teaches and reproduces *Sample and Map from a
Single Convex Potential: Generation using Conjugate Moment Measures* (Vesseron, Béthune,
Cuturi, NeurIPS 2025).

Submodules are imported on first use (``cmmlib.gaussian``, ``cmmlib.onedim``, ...), so that
``import cmmlib`` is cheap and a chapter only pays for what it touches.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "atomic",
    "checkpoints",
    "cmfgen",
    "cmfma",
    "config",
    "conjugate",
    "datasets",
    "dual",
    "evaluation",
    "face_protocol",
    "gaussian",
    "icnn",
    "image_metrics",
    "inpaint",
    "langevin",
    "metrics",
    "model",
    "monge_ampere",
    "onedim",
    "parallel",
    "plotting",
    "potentials",
    "training",
    "reference_sampling",
    "report",
    "results",
    "validation",
    "zoo",
)

__all__ = [*_SUBMODULES, "load"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    if name == "load":
        from .model import load

        return load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""Data of the book: 1D mixtures, 2D toy sets, energies, MNIST digits and cartoon faces.

Each name below lives in a submodule that is imported on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # 1D Gaussian mixtures of chapter 2 and 5
    "Mixture1D": "mixtures1d",
    "RHO_1": "mixtures1d",
    "RHO_2": "mixtures1d",
    # 2D toy sets of chapter 4
    "toy2d": "toy",
    "TOY2D_NAMES": "toy",
    "PAPER_TOY2D": "toy",
    # the Gaussian of chapter 4's Proposition 2 check
    "prop2_gaussian": "gaussian2d",
    "PROP2_MEAN": "gaussian2d",
    "PROP2_COV": "gaussian2d",
    # energies of chapter 5
    "energy": "energies",
    "ENERGY_NAMES": "energies",
    # images of chapter 6 (offline: shipped MNIST subset, procedural faces; both warn)
    "mnist": "mnist_data",
    "mnist_source": "mnist_data",
    "smooth": "mnist_data",
    "cartoon": "cartoon_data",
    "cartoon_source": "cartoon_data",
    "OfflineFallbackWarning": "download",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

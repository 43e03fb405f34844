"""Run profiles and every hyper-parameter of the book, in one place.

One switch chooses the scale of every chapter: the environment variable ``CMM_PROFILE``.

* ``ci``    -- tiny runs that execute every chapter on 2 CPU cores within CI's budget;
* ``cpu``   -- the default without a GPU: good figures in minutes;
* ``paper`` -- the default on a GPU: the paper's scale.

Each area of the book has a frozen dataclass of settings and one instance per profile;
``settings = cmmlib.config.onedim()`` returns the instance of the active profile, and
``cmmlib.config.onedim("paper")`` a named one. Notebooks never hard-code these numbers.
"""
from __future__ import annotations

import dataclasses
import os
from typing import TypeVar

PROFILES = ("ci", "cpu", "paper")
ENV_VAR = "CMM_PROFILE"

T = TypeVar("T")


def default_profile() -> str:
    """``paper`` when JAX sees an accelerator, ``cpu`` otherwise."""
    import jax

    return "cpu" if jax.default_backend() == "cpu" else "paper"


def profile_name(profile: str | None = None) -> str:
    """Resolve a profile: the argument, else ``$CMM_PROFILE``, else :func:`default_profile`."""
    name = profile if profile is not None else os.environ.get(ENV_VAR) or default_profile()
    name = name.strip().lower()
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {PROFILES} (set {ENV_VAR})")
    return name


def _select(table: dict[str, T], profile: str | None) -> T:
    return table[profile_name(profile)]


def _per_profile(ci: T, cpu: T, paper: T) -> dict[str, T]:
    return {"ci": ci, "cpu": cpu, "paper": paper}


# --------------------------------------------------------------------------------------------
# Chapter 2: the 1D fixed points (cmmlib.onedim)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class OneDimSettings:
    """Scale of the 1D fixed-point iterations (the paper: 400k samples, 100k bins, 300 iter.)."""

    n_samples: int
    n_bins: int
    n_iter: int


ONEDIM = _per_profile(
    ci=OneDimSettings(n_samples=40_000, n_bins=4_000, n_iter=100),
    cpu=OneDimSettings(n_samples=400_000, n_bins=100_000, n_iter=300),
    paper=OneDimSettings(n_samples=400_000, n_bins=100_000, n_iter=300),
)


def onedim(profile: str | None = None) -> OneDimSettings:
    return _select(ONEDIM, profile)


# --------------------------------------------------------------------------------------------
# Chapter 3: sampling from a known conjugate moment potential (icnn, conjugate, langevin)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Chapter 4: CMFGen in 2D (cmmlib.cmfgen)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Chapter 5: CMFMA (cmmlib.cmfma)
# --------------------------------------------------------------------------------------------

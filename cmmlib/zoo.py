"""The models the book ships: named checkpoints in ``cmmlib/assets/checkpoints`` and how each was trained.

* CMFGen and its Gaussian-noise baseline: ``cmfgen/<dataset>-<noise>-s<seed>``, for the 2D sets
  (chapter 4), ``mnist14`` (chapter 6) and ``cartoon12`` (chapter 7), trained by
  ``python -m cmmlib.train cmfgen`` (each manifest records the command, hardware and wall time);
  models of other units beside them, for comparison, in ``cmfgen/elu_units/`` (2D) and
  ``cmfgen/softplus_units/`` (faces).
* CMFMA (chapter 5): ``cmfma_<energy>`` for the energies of :mod:`cmmlib.datasets.energies`,
  trained by ``python -m cmmlib.train cmfma <energy> --out ...`` with :func:`cmfma_options`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import jax

from . import checkpoints, config
from .model import ConjugateMomentModel, load


def model_name(dataset: str, noise: str, seed: int) -> str:
    """Folder name of one trained CMFGen model: ``<dataset>-<noise>-s<seed>``."""
    return f"{dataset}-{noise}-s{seed}"


def cmfgen(dataset: str, noise: str = "gibbs", seed: int = 0) -> ConjugateMomentModel:
    """The shipped CMFGen (or baseline) model of a named data set (a 2D set, ``mnist14``, ``cartoon12``)."""
    path = checkpoints.asset(f"cmfgen/{model_name(dataset, noise, seed)}")
    if not checkpoints.exists(path):
        raise FileNotFoundError(f"no shipped model {path.name}; train one with python -m cmmlib.train cmfgen")
    return load(path)


def cmfma_options(name: str, profile: str | None = None) -> dict[str, Any]:
    """Options of :func:`cmmlib.cmfma.fit` for a named energy beyond the profile's defaults:
    ``rho_2`` (spread over ``[-10, 9.5]``) uses a smoother softplus; the Gaussian trains
    ``steps_gaussian`` steps on the uncapped energy (capping would break the exact Prop. 2
    solution); the three 2D benchmarks weight the points of μ by :math:`e^{-E/T}`."""
    chapter, settings = config.chapter5(profile), config.cmfma(profile)
    if name == "rho_2":
        return {"icnn": dataclasses.replace(settings.icnn_1d, beta=chapter.beta_rho_2)}
    if name == "gaussian":
        return {"steps": chapter.steps_gaussian, "energy_cap": float("inf")}
    if name in ("rosenbrock", "himmelblau", "six_hump_camel"):
        return {"temperature": chapter.temperature_2d}
    return {}


def cmfma(name: str, *, retrain: bool = False, profile: str | None = None, seed: int = 0,
          **options: Any) -> ConjugateMomentModel:
    """The CMFMA model of the named energy: the shipped checkpoint, or a fresh fit when
    ``retrain`` is set or none is shipped (``options`` override :func:`cmfma_options`)."""
    from . import cmfma as learner
    from .datasets.energies import energy

    path = checkpoints.asset(f"cmfma_{name}")
    if not retrain and checkpoints.exists(path):
        return load(path)
    return learner.fit(energy(name), jax.random.PRNGKey(seed), profile=profile,
                       **{**cmfma_options(name, profile), **options})

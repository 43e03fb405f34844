r"""The evaluation protocol, in one place: seeds, held-out batches, floors, divergences, sharpness.

**Seeds.** The 2D set ``name`` (index ``i`` in :data:`cmmlib.datasets.TOY2D_NAMES`) is trained on
``toy2d(name, n, PRNGKey(TRAIN_SEED + i))``, evaluated against batches drawn from
``PRNGKey(HELDOUT_SEED + i)`` and its floor measured with independent batches from
``PRNGKey(FLOOR_SEED + i)``: the CLI, the chapters and the benchmarks all use these.

**Divergences** (Figure 13). The Sinkhorn divergence of ``n_batches`` generated batches to as
many held-out batches, beside the *floor*: the divergence between two independent target
batches, which a perfect generator would reach. Both at the paper's ε (``EPSILON_FRACTION`` of
:math:`E\|x-x'\|^2`) and at a ten times smaller one (``SHARP_EPSILON_FRACTION``), which sees
structure at a finer scale.

**Sharpness** (what a reader sees first): the fraction of generated mass where the data has
almost none, beside the data's own fraction by the same rule. :func:`off_support_fraction` is
the general rule for any data set (cells of a histogram of a large reference sample that hold
almost no reference mass); :func:`toy_regions` adds the named regions of the paper's sets (the
hole and the gap of the circles, the empty cells of the checkerboards). :func:`density_sharpness`
measures the same on a 2D model's density (eq. 9) on a grid, with no sampling and no solve.

**1D** (chapter 5): the learned Gibbs density, and distances between a 1D model and a
fixed-point solution of :mod:`cmmlib.onedim`.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import metrics
from .datasets import TOY2D_NAMES, toy2d
from .datasets.toy import standardisation

TRAIN_SEED, HELDOUT_SEED, FLOOR_SEED = 1_000, 2_000, 3_000
EPSILON_FRACTIONS = {"coarse": metrics.EPSILON_FRACTION, "sharp": metrics.SHARP_EPSILON_FRACTION}
OFF_SUPPORT_BINS = 48
OFF_SUPPORT_LEVEL = 0.02


def _toy_index(name: str) -> int:
    if name not in TOY2D_NAMES:
        raise ValueError(f"unknown 2D data set {name!r}: expected one of {TOY2D_NAMES}")
    return TOY2D_NAMES.index(name)


def toy_train_set(name: str, n: int) -> jax.Array:
    """The training points of the 2D set ``name`` (the seed rule of the module docstring)."""
    return toy2d(name, n, jax.random.PRNGKey(TRAIN_SEED + _toy_index(name)))


def toy_batches(name: str, n: int, n_batches: int, purpose: str = "heldout") -> list[jax.Array]:
    """``n_batches`` batches of ``n`` points of ``name``: ``"heldout"`` (what generated batches are
    compared with) or ``"floor"`` (independent batches for the target-vs-target floor)."""
    seed = {"heldout": HELDOUT_SEED, "floor": FLOOR_SEED}[purpose] + _toy_index(name)
    return [toy2d(name, n, k) for k in jax.random.split(jax.random.PRNGKey(seed), n_batches)]


def divergences(generated: Any, heldout: list[Any]) -> dict[str, float]:
    """Mean Sinkhorn divergence of consecutive batches of ``generated`` (at least
    ``len(heldout) * n`` points) to the ``heldout`` batches, at each ε of :data:`EPSILON_FRACTIONS`."""
    generated = np.asarray(generated)
    n = np.shape(heldout[0])[0]
    if generated.shape[0] < n * len(heldout):
        raise ValueError(f"need {n * len(heldout)} generated points for {len(heldout)} batches of {n}, "
                         f"got {generated.shape[0]}")
    return {label: float(np.mean([metrics.sinkhorn_divergence(generated[j * n:(j + 1) * n], batch,
                                                              epsilon_fraction=fraction)
                                  for j, batch in enumerate(heldout)]))
            for label, fraction in EPSILON_FRACTIONS.items()}


def floors(name: str, n: int, n_batches: int) -> dict[str, float]:
    """The target-vs-target floor of :func:`divergences` for the 2D set ``name``."""
    fresh = np.concatenate([np.asarray(b) for b in toy_batches(name, n, n_batches, "floor")])
    return divergences(fresh, toy_batches(name, n, n_batches, "heldout"))


def off_support_fraction(samples: Any, reference: Any, bins: int = OFF_SUPPORT_BINS,
                         level: float = OFF_SUPPORT_LEVEL, weights: Any = None) -> float:
    r"""Fraction of ``samples (n, d)`` where the ``reference (m, d)`` law has almost no mass.

    The rule, for any 2D set: a ``bins × bins`` histogram of the reference over its bounding box
    (widened by 10%); a cell is *empty* when it holds less than ``level`` times the mass of an
    average occupied cell; a sample is *off support* in an empty cell or outside the box. Give
    a large reference (e.g. 100,000 points) and compare with a held-out sample of the data,
    which has a small fraction of its own (the tails). ``weights (n,)``: the samples' masses
    (e.g. a density on a grid), summing to 1; ``None``: equal.
    """
    samples, reference = np.asarray(samples, np.float64), np.asarray(reference, np.float64)
    if samples.ndim != 2 or reference.ndim != 2 or samples.shape[1] != 2 or reference.shape[1] != 2:
        raise ValueError(f"samples and reference must be (n, 2), got {samples.shape} and {reference.shape}")
    lo, hi = reference.min(0), reference.max(0)
    lo, hi = lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)
    counts, *edges = np.histogram2d(reference[:, 0], reference[:, 1], bins=bins, range=list(zip(lo, hi)))
    empty = counts < level * counts[counts > 0].mean()
    idx = [np.clip(np.searchsorted(e, samples[:, k], side="right") - 1, 0, bins - 1) for k, e in enumerate(edges)]
    outside = np.any((samples < lo) | (samples > hi), axis=1)
    return _mass(outside | empty[idx[0], idx[1]], weights)


def _mass(inside: np.ndarray, weights: Any) -> float:
    """Mass of the samples flagged ``inside``: their fraction, or their total ``weights``."""
    if weights is None:
        return float(np.mean(inside))
    weights = np.asarray(weights, np.float64)
    if weights.shape != inside.shape:
        raise ValueError(f"weights must have shape {inside.shape}, got {weights.shape}")
    return float(np.sum(weights[inside]))


def toy_regions(name: str, samples: Any, weights: Any = None) -> dict[str, float]:
    """Named regions of the paper's sets where the law has (almost) no mass, as fractions of
    ``samples (n, 2)`` (standardised coordinates, mapped back to the set's own), or as their
    masses under ``weights (n,)`` (summing to 1):

    * ``circles`` (rings of radii 1 and 1/2, jitter 0.05): ``hole`` (radius < 0.3) and ``gap``
      (0.6 < radius < 0.9), three jitter widths from each ring;
    * ``checkerboard`` / ``diag_checkerboard`` (8 cells of side 1 on ``[-2, 2]²``, the second
      turned by 45°): ``empty_cells`` (the 8 other cells of the board) and ``outside`` the board.

    Other sets: an empty dict.
    """
    centre, scale = standardisation(name)
    raw = np.asarray(samples, np.float64) * scale + centre
    if name == "circles":
        radius = np.linalg.norm(raw, axis=1)
        return {"hole": _mass(radius < 0.3, weights), "gap": _mass((radius > 0.6) & (radius < 0.9), weights)}
    if name in ("checkerboard", "diag_checkerboard"):
        if name == "diag_checkerboard":  # undo the 45° turn
            c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
            raw = raw @ np.array([[c, -s], [s, c]])
        inside = np.all(np.abs(raw) < 2.0, axis=1)
        white = (np.floor(raw[:, 0]) + np.floor(raw[:, 1])) % 2 == 1
        return {"empty_cells": _mass(inside & white, weights), "outside": _mass(~inside, weights)}
    return {}


def sharpness(name: str, samples: Any, reference_size: int = 100_000, weights: Any = None) -> dict[str, float]:
    """:func:`toy_regions` and :func:`off_support_fraction` (against a reference of the 2D set
    ``name`` drawn from the held-out seed) of ``samples``, weighted by ``weights`` if given."""
    reference = toy2d(name, reference_size, jax.random.PRNGKey(HELDOUT_SEED + _toy_index(name) + 500))
    return {**toy_regions(name, samples, weights),
            "off_support": off_support_fraction(samples, reference, weights=weights)}


def density_sharpness(model: Any, name: str, grid_size: int = 301, extent: float = 3.0,
                      chunk: int = 10_000) -> dict[str, float]:
    r""":func:`sharpness` of a 2D model's generated law *itself*, with no sampling and no solve.

    The model's density (eq. 9: :math:`\rho_\theta(x) \propto p(\nabla w(x))\det\nabla^2 w(x)`,
    :math:`p` its noise law, ``model.log_prob``) is evaluated on a ``grid_size²`` grid of
    ``[-extent, extent]²`` (standardised coordinates), normalised over the grid, and its mass in
    each region summed. Exact for the law :math:`\nabla w^*_\sharp e^{-w}` (or
    :math:`\nabla w^*_\sharp N(0, I)` for the baseline) up to the grid's resolution, so it
    separates what :math:`w` generates from what Langevin and the conjugate solver add: where it
    agrees with :func:`sharpness` of the model's samples, the blur lives in :math:`w`. Mass
    beyond the grid (a few standard deviations out) is not counted.
    """
    axis = np.linspace(-extent, extent, int(grid_size))
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    points = jnp.asarray(grid, jnp.float32)
    log_p = np.concatenate([np.asarray(model.log_prob(points[i:i + chunk]), np.float64)
                            for i in range(0, len(points), chunk)])
    density = np.exp(log_p - log_p.max())
    return sharpness(name, grid, weights=density / density.sum())


def mean_hessian(model: Any, x: Any) -> jax.Array:
    """Average Hessian ``mean_i ∇²w_θ(x_i)`` over points ``x (n, d)``: ``(d, d)``. On Gaussian
    data the conjugate moment potential is quadratic (Prop. 2), so this is its precision."""
    return jnp.mean(jax.vmap(jax.hessian(model.w))(jnp.asarray(x)), axis=0)


def hessian_eigenvalues(model: Any, x: Any) -> np.ndarray:
    r"""The eigenvalues of :math:`\nabla^2 w_\theta(x_i)` at each point of ``x (n, d)``, ascending:
    ``(n, d)`` float64. Their ratio :math:`\lambda_{\max}/\lambda_{\min}` is the condition number
    of the conjugate problem :math:`\max_x \langle x, y\rangle - w_\theta(x)` near its solution,
    which sets how fast a first-order solver (as in :mod:`cmmlib.conjugate`) converges there.
    One compiled program per ICNN architecture (models that share one share it)."""
    hessians = _hessians(model.icnn)(model.params, jnp.asarray(x, jnp.float32))
    return np.linalg.eigvalsh(np.asarray(hessians, np.float64))


@functools.lru_cache(maxsize=8)
def _hessians(icnn: Any):
    return jax.jit(jax.vmap(jax.hessian(icnn.apply, argnums=1), in_axes=(None, 0)))


def curvature_floor(model: Any) -> float:
    r"""The smallest eigenvalue of :math:`L^\top L + \varepsilon I`, the Hessian of the ICNN's
    quadratic part :math:`\tfrac12\|Lx\|^2 + \tfrac\varepsilon2\|x\|^2`: a lower bound of
    :math:`\nabla^2 w_\theta` everywhere, since the rest of the ICNN is convex. Across a gap of
    width :math:`g` in the data, :math:`\nabla w_\theta` then moves by at least this times
    :math:`g`, and :math:`P_{w_\theta}` puts mass on what maps into the gap."""
    chol = np.asarray(model.params["params"]["quadratic"], np.float64)
    return float(np.linalg.eigvalsh(chol.T @ chol).min() + model.icnn.strong_convexity)


def radial_curvature(model: Any, radii: Any, angle: float = 0.3) -> np.ndarray:
    r"""Curvature of :math:`w_\theta` along the ray of direction :math:`u = (\cos a, \sin a)`:
    :math:`u^\top \nabla^2 w_\theta(r u)\, u` at ``radii (n,)`` (2D models); ``(n,)``."""
    u = jnp.asarray([math.cos(angle), math.sin(angle)], jnp.float32)
    points = jnp.asarray(radii, jnp.float32)[:, None] * u
    return np.asarray(jax.vmap(lambda x: u @ jax.hessian(model.w)(x) @ u)(points))


# -- 1D models (chapter 5) --------------------------------------------------------------------
def gibbs_density_1d(model: Any, grid: Any) -> np.ndarray:
    r"""The learned Gibbs factor :math:`e^{-w}/Z_w` on a uniform 1D ``grid (B,)``, normalised there."""
    grid = np.asarray(grid, dtype=np.float64)
    w = np.asarray(model.potential(jnp.asarray(grid[:, None], jnp.float32)), dtype=np.float64)
    p = np.exp(-(w - w.min()))
    return p / (p.sum() * (grid[1] - grid[0]))


def onedim_distances(model: Any, fixed_point: Any, x: Any) -> dict[str, float]:
    r"""Distances between a 1D model and a fixed-point solution (:mod:`cmmlib.onedim`).

    Args:
      model: a 1D :class:`~cmmlib.model.ConjugateMomentModel`.
      fixed_point: a :class:`cmmlib.onedim.FixedPointResult` of kind ``"conjugate"``.
      x: ``(n,)`` samples of :math:`\rho`.

    Returns:
      ``map``: :math:`\|w'_\theta - w'_{\rm fp}\|_{L^2(\rho)} / \mathrm{std}_\rho(w'_{\rm fp})`
      (the Brenier maps, free of the additive constant);
      ``potential``: the same for the potentials, each centred by its :math:`\rho`-mean;
      ``gibbs_w1``: :math:`W_1` between the two Gibbs factors, :math:`\int |F_\theta - F_{\rm fp}|`
      on the fixed point's grid.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    pts = jnp.asarray(x[:, None], jnp.float32)
    grad = np.asarray(model.gradient(pts))[:, 0]
    grad_fp = np.interp(x, fixed_point.grid, fixed_point.gradient)
    w = np.asarray(model.potential(pts), np.float64)
    w_fp = np.interp(x, fixed_point.grid, fixed_point.potential)
    w, w_fp = w - w.mean(), w_fp - w_fp.mean()
    grid = np.asarray(fixed_point.grid, np.float64)
    return {
        "map": float(np.sqrt(np.mean((grad - grad_fp) ** 2)) / np.std(grad_fp)),
        "potential": float(np.sqrt(np.mean((w - w_fp) ** 2)) / np.std(w_fp)),
        "gibbs_w1": metrics.w1_1d(grid, grid, x_weights=gibbs_density_1d(model, grid),
                                  y_weights=fixed_point.gibbs_density),
    }


def learned_energy(model: Any, x: Any) -> np.ndarray:
    r"""The learned energy :math:`w(\nabla w(x)) - \log\det\nabla^2 w(x) + c` on ``x (n, d)``.

    Equals :math:`E(x)` where the residual is the constant :math:`c` (the model's learned
    ``log_normaliser_ratio``); ``(n,)``.
    """
    c = float(model.manifest.get("log_normaliser_ratio", 0.0))
    return -np.asarray(model.log_prob(x)) + c


__all__ = ["toy_train_set", "toy_batches", "divergences", "floors", "off_support_fraction", "toy_regions", "density_sharpness",
           "sharpness", "mean_hessian", "curvature_floor", "radial_curvature", "gibbs_density_1d", "onedim_distances",
           "learned_energy", "EPSILON_FRACTIONS", "TRAIN_SEED", "HELDOUT_SEED", "FLOOR_SEED"]

r"""One-dimensional (conjugate) moment measures by fixed-point iteration on a grid.

In 1D the Brenier map from :math:`\mu` to :math:`\nu` is :math:`T = F_\nu^{-1} \circ F_\mu`
(CDF :math:`F`, quantile :math:`F^{-1}`), so both fixed-point maps of the paper can be applied
exactly on a grid:

* **conjugate** (eq. 10): :math:`w'_{k+1} = F_{P_{w_k}}^{-1} \circ F_\rho`, from
  :math:`w_0 = x^2/2`; a fixed point satisfies :math:`\nabla w \sharp \rho = P_w`, i.e.
  :math:`\rho = \nabla w^* \sharp P_w`.
* **moment** (Appendix B.1): :math:`u'_{k+1} = F_\rho^{-1} \circ F_{P_{u_k}}`; a fixed point
  satisfies :math:`\rho = \nabla u \sharp P_u`.

Here :math:`P_v \propto e^{-v}` on the grid, :math:`v_{k+1} = \int v'_{k+1}` (trapezoid rule, the
constant is irrelevant), :math:`F_\rho` is the empirical CDF of the samples (linearly
interpolated) and :math:`F_\rho^{-1}` their empirical quantile function.

Three facts decide the grid and the defaults (chapter 2 measures them):

* the plain conjugate iteration is unstable in its mean when :math:`\rho` is wide: for
  :math:`\rho = \mathcal N(m, \sigma^2)` and :math:`P_{w_k} = \mathcal N(a_k, \sigma^{2/3})`,
  :math:`a_{k+1} = m - \sigma^{2/3} a_k`, which diverges for :math:`\sigma > 1`. The default
  relaxes the map, :math:`w'_{k+1} = (1-\alpha) w'_k + \alpha F_{P_{w_k}}^{-1} \circ F_\rho`
  with :math:`\alpha = 1/(1 + \mathrm{std}^{2/3})` (same fixed points);
* the conjugate Gibbs factor is *wider* than a narrow :math:`\rho`
  (:math:`\mathcal N(0, \sigma^2) \mapsto \mathcal N(0, \sigma^{2/3})`) and is not centred on the
  data (Prop. 2), so :math:`w` is needed outside the samples' range, where samples say nothing.
  The default ``tails="affine"`` extends :math:`w'` affinely beyond the
  ``tail_level``-quantiles of the data (Gaussian tails for :math:`P_w`, exact for Gaussian
  :math:`\rho`); ``tails="none"`` applies the plain formula everywhere (:math:`w'` is then
  constant outside the data, :math:`P_w` has exponential tails).
* the moment Gibbs factor is wide when :math:`\rho` is peaked
  (:math:`\mathcal N(0, \sigma^2) \mapsto \mathcal N(0, \sigma^{-2})`), and moment potentials are
  only defined up to translation and exist only for a centred :math:`\rho`. The default
  ``center=True`` centres the samples and recentres :math:`P_u` at every iteration; without it
  the iteration drifts.

Failures are never silent. Before iterating, inputs the grid cannot represent raise a
``ValueError`` that names the numbers: a user grid that does not hold the data (conjugate), or a
Gibbs factor or data spread below one grid cell (data at ``1e20`` scale, for instance: the
problem is *not* scale-invariant, see :func:`conjugate_fixed_point`). After iterating, a
:class:`FixedPointWarning` (a ``RuntimeWarning``) names each of: a Gibbs factor or data spread
resolved by fewer than :data:`MIN_CELLS` cells, a Gibbs factor cut off by the end of the grid
(density there above :data:`EDGE_TOL` of its maximum), and non-convergence (residual above
``tol`` times the data's standard deviation, or last step above :data:`STEP_TOL` times the Gibbs
factor's); the result carries ``converged`` and the list of ``issues``. Non-finite results raise
``FloatingPointError``.

The returned potential is integrated from the (monotone by construction) derivative in float64,
so its finite differences are non-decreasing: the float32 integral used inside the iteration
has round-off of order ``eps_32 * max(w) / h`` in its derivative (0.14 at 100,000 bins).
"""
from __future__ import annotations

import dataclasses
import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "FixedPointResult",
    "FixedPointWarning",
    "RESIDUAL_TOL",
    "STEP_TOL",
    "MIN_CELLS",
    "EDGE_TOL",
    "conjugate_fixed_point",
    "moment_fixed_point",
    "cdf_on_grid",
    "quantile",
    "empirical_cdf",
    "empirical_quantile",
    "brenier_map",
    "w1_from_quantiles",
    "default_conjugate_grid",
    "default_moment_grid",
    "default_relaxation",
]

TAILS = ("affine", "none")
INITS = ("quadratic", "gaussian")

RESIDUAL_TOL = 1e-2
r"""Default ``tol``: converged when the residual :math:`W_1` is at most ``tol * std(rho)``
(measured: 1e-4 to 1e-3 on the book's Gaussians and mixtures; 0.7 for a non-converged
:math:`\mathcal N(0, 1000^2)`)."""
STEP_TOL = 1e-3
r"""Converged also needs the last step :math:`W_1(P_{k+1}, P_k)` at most ``STEP_TOL * std(P)``."""
MIN_CELLS = 5
r"""Fewer grid cells than this per standard deviation of the Gibbs factor (or of the data, for
the conjugate map) gives a warning; fewer than one (predicted before iterating) an error."""
EDGE_TOL = 1e-4
r"""Gibbs density at an end of the grid above this fraction of its maximum: truncated, warning
(a Gaussian cut at 4.3 standard deviations; a grid on the data range of a narrow :math:`\rho`
gives 0.8 to 0.9)."""


class FixedPointWarning(RuntimeWarning):
    """A 1D fixed point ran but its result is unreliable; the message names the cause."""


# ------------------------------------------------------------------------------------------
# CDFs, quantiles and 1D Brenier maps
# ------------------------------------------------------------------------------------------
def _interp_bracketed(x: jax.Array, xp: jax.Array, fp: jax.Array, count: jax.Array) -> jax.Array:
    """``jnp.interp`` for non-decreasing ``xp`` (clamped ends), given ``count = #{k: xp[k] <= x}``."""
    i = jnp.clip(count, 1, xp.shape[0] - 1)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    gap = x1 - x0
    t = jnp.where(gap > 0, (x - x0) / jnp.where(gap > 0, gap, 1.0), 0.0)
    return jnp.where(x <= xp[0], fp[0], jnp.where(x >= xp[-1], fp[-1], f0 + t * (f1 - f0)))


def _interp(x: jax.Array, xp: jax.Array, fp: jax.Array, method: str = "scan") -> jax.Array:
    """``jnp.interp`` for non-decreasing ``xp`` (clamped ends), via ``searchsorted(..., method=method)``.

    ``"scan"`` is a binary search; ``"compare_all"`` (cost ``len(x) * len(xp)``, no loop) is
    faster for a handful of queries inside a loop.
    """
    return _interp_bracketed(x, xp, fp, jnp.searchsorted(xp, x, side="right", method=method))


_MERGE_BLOCK = 16  # block size of the two-level merge in _count_sorted (measured: 8-16 is best)


def _count_sorted(x: jax.Array, xp: jax.Array, block: int = _MERGE_BLOCK) -> jax.Array:
    r"""Merge of two sorted arrays: :math:`c_j = \#\{k : x_{p,k} \le x_j\}` for non-decreasing ``x`` ``(n,)``, ``xp`` ``(m,)``.

    Equal to ``searchsorted(xp, x, side="right")``, with :math:`\log_2 S` instead of
    :math:`\log_2 m` gathers per query (:math:`S` = ``block``). Coarse level: every :math:`S`-th key
    :math:`x_{p,bS}` is located among the sorted queries, :math:`\pi_b = \#\{j : x_j < x_{p,bS}\}`
    (a search of :math:`m/S` keys only); since ``x`` is sorted, :math:`x_{p,bS} \le x_j \iff
    \pi_b \le j`, so the number of coarse keys below :math:`x_j` is a prefix sum of the
    histogram of :math:`\pi`. Fine level: a binary search inside the one block of ``block``
    keys that brackets :math:`x_j`.
    """
    m = xp.shape[0]
    pi = jnp.searchsorted(x, xp[::block], side="left", method="scan")
    coarse = _cumsum(jnp.zeros(x.shape[0] + 1, jnp.int32).at[pi].add(1, indices_are_sorted=True))[:-1]
    base = (coarse - 1) * block + 1  # first key of the block after the last coarse key <= x
    fine = jnp.zeros_like(coarse)
    step = block // 2
    while step:  # unrolled binary lifting over the block-1 keys base, ..., base + block - 2
        k = base + fine + step - 1
        fine = fine + jnp.where((k < m) & (xp[jnp.clip(k, 0, m - 1)] <= x), step, 0)
        step //= 2
    return jnp.where(coarse == 0, 0, base + fine)


def _interp_sorted(x: jax.Array, xp: jax.Array, fp: jax.Array) -> jax.Array:
    """:func:`_interp` for non-decreasing queries ``x``, by a merge (:func:`_count_sorted`)."""
    return _interp_bracketed(x, xp, fp, _count_sorted(x, xp))


def _interp_uniform(x: jax.Array, start: jax.Array, step: jax.Array, fp: jax.Array) -> jax.Array:
    """Linear interpolation of ``fp`` given at ``start + step * arange(len(fp))`` (clamped ends)."""
    pos = jnp.clip((x - start) / step, 0.0, fp.shape[0] - 1.0)
    i = jnp.clip(jnp.floor(pos).astype(jnp.int32), 0, fp.shape[0] - 2)
    t = pos - i
    return fp[i] + t * (fp[i + 1] - fp[i])


def _cumsum(x: jax.Array) -> jax.Array:
    """Prefix sum as a parallel scan (several times faster than ``jnp.cumsum`` on CPU)."""
    return jax.lax.associative_scan(jnp.add, x)


def _spacing(grid: jax.Array) -> jax.Array:
    """Cell width of a uniform grid, accurate in float32 (``grid[1] - grid[0]`` is not)."""
    return (grid[-1] - grid[0]) / (grid.shape[0] - 1)


def _edges(grid: jax.Array) -> jax.Array:
    """Bin edges ``(B+1,)`` of a uniform grid of bin centres ``(B,)``."""
    h = _spacing(grid)
    return jnp.concatenate([grid - h / 2, grid[-1:] + h / 2])


def cdf_on_grid(density: jax.Array) -> jax.Array:
    r"""CDF at the bin edges ``(B+1,)`` of an unnormalised density on a uniform grid ``(B,)``.

    :math:`F(e_j) = \sum_{i<j} p_i / \sum_i p_i`: the law is uniform within each bin.
    """
    mass = density / jnp.sum(density)
    # a parallel prefix sum is not monotone under float32 round-off: restore monotonicity.
    cdf = jnp.clip(jax.lax.associative_scan(jnp.maximum, _cumsum(mass)), 0.0, 1.0)
    return jnp.concatenate([jnp.zeros(1, mass.dtype), cdf])


def quantile(levels: jax.Array, cdf_edges: jax.Array, grid: jax.Array) -> jax.Array:
    r""":math:`F^{-1}(q)` of the grid law with CDF ``cdf_edges`` ``(B+1,)`` at ``levels`` ``(...)``."""
    return _interp(levels, cdf_edges, _edges(grid))


def empirical_cdf(x: jax.Array, sorted_samples: jax.Array) -> jax.Array:
    r"""Empirical CDF of ``sorted_samples`` ``(n,)`` at ``x``, interpolated: :math:`F(x_{(i)}) = (i+\frac12)/n`."""
    n = sorted_samples.shape[0]
    levels = (jnp.arange(n, dtype=sorted_samples.dtype) + 0.5) / n
    return _interp(x, sorted_samples, levels)


def empirical_quantile(levels: jax.Array, sorted_samples: jax.Array) -> jax.Array:
    r"""Empirical quantile :math:`F^{-1}(q)` of ``sorted_samples`` ``(n,)`` (inverse of :func:`empirical_cdf`)."""
    n = sorted_samples.shape[0]
    return _interp_uniform(levels, 0.5 / n, 1.0 / n, sorted_samples)


def brenier_map(x: jax.Array, source_sorted: jax.Array, target_sorted: jax.Array) -> jax.Array:
    r"""1D Brenier map :math:`T = F_\nu^{-1} \circ F_\mu` between two samples, evaluated at ``x``.

    Args:
      x: points ``(...)``.
      source_sorted: sorted samples of :math:`\mu`, ``(n,)``.
      target_sorted: sorted samples of :math:`\nu`, ``(m,)``.
    """
    return empirical_quantile(empirical_cdf(x, source_sorted), target_sorted)


def w1_from_quantiles(q_a: jax.Array, q_b: jax.Array) -> jax.Array:
    r""":math:`W_1 = \int_0^1 |F_a^{-1} - F_b^{-1}|`, from quantiles at the same uniform levels ``(B,)``."""
    return jnp.mean(jnp.abs(q_a - q_b))


def _integrate(grid: jax.Array, derivative: jax.Array) -> jax.Array:
    r"""Cumulative trapezoid integral of ``derivative`` on ``grid``, shifted to minimum 0.

    The sums run outward from the first grid point where the (non-decreasing) derivative is
    :math:`\ge 0`, the minimum of the potential: where the Gibbs factor has its mass the float32
    partial sums are then small, instead of carrying the round-off of a sum started at the far
    end of the grid (for a wide grid, :math:`\max w \sim 10^5` and an error of order 0.01 in
    :math:`w`, which showed as a noise floor of 1% of :math:`\mathrm{std}(P_w)` in the steps).
    Any start point gives the same integral up to a constant.
    """
    h = _spacing(grid)
    inc = (derivative[1:] + derivative[:-1]) * (h / 2)  # inc[j] = w[j + 1] - w[j]
    start = jnp.searchsorted(derivative, jnp.zeros((), derivative.dtype))
    j = jnp.arange(inc.shape[0])
    right = _cumsum(jnp.where(j >= start, inc, 0.0))  # sum over start <= j' <= j
    left = _cumsum(jnp.where(j < start, inc, 0.0)[::-1])[::-1]  # sum over j <= j' < start
    zero = jnp.zeros(1, derivative.dtype)
    pot = jnp.concatenate([zero, right]) - jnp.concatenate([left, zero])
    return pot - jnp.min(pot)


def _gibbs(potential: jax.Array) -> jax.Array:
    return jnp.exp(-(potential - jnp.min(potential)))


# ------------------------------------------------------------------------------------------
# Result
# ------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FixedPointResult:
    r"""Outcome of a 1D fixed-point iteration (all arrays are NumPy).

    Attributes:
      kind: ``"conjugate"`` (potential :math:`w`) or ``"moment"`` (potential :math:`u`).
      grid: bin centres ``(B,)`` where the potential and its Gibbs factor live.
      potential: the potential on ``grid`` ``(B,)`` (minimum 0).
      gradient: its derivative on ``grid`` ``(B,)`` (:math:`w'` or :math:`u'`).
      gibbs_density: normalised density of :math:`P \propto e^{-\text{potential}}` on ``grid``.
      history: :math:`W_1(P_{k+1}, P_k)` between successive Gibbs factors, ``(n_iter,)``.
      residual: :math:`W_1` between the pushforward (:math:`\nabla w^* \sharp P_w` or
        :math:`\nabla u \sharp P_u`) and the (centred, for ``moment``) empirical :math:`\rho`.
      shift: the mean removed from the samples (``moment`` with ``center=True``), else 0; the
        pushforward of :meth:`transport` adds it back.
      converged: ``residual <= tolerance`` and last step ``history[-1] <= STEP_TOL * std(P)``.
      tolerance: the residual tolerance, ``tol * std(samples)``.
      issues: the messages of the :class:`FixedPointWarning`\ s raised for this result (empty
        when none), so that a caller who silenced warnings can still check them.
    """

    kind: str
    grid: np.ndarray
    potential: np.ndarray
    gradient: np.ndarray
    gibbs_density: np.ndarray
    history: np.ndarray
    residual: float
    shift: float = 0.0
    converged: bool = True
    tolerance: float = float("nan")
    issues: tuple[str, ...] = ()

    @property
    def gibbs_cdf(self) -> np.ndarray:
        """CDF of the Gibbs factor at the bin edges, ``(B+1,)``."""
        return np.asarray(cdf_on_grid(jnp.asarray(self.gibbs_density)))

    @property
    def gibbs_mean(self) -> float:
        return float(np.sum(self.grid * self.gibbs_density) * float(_spacing(self.grid)))

    @property
    def gibbs_variance(self) -> float:
        h = float(_spacing(self.grid))
        return float(np.sum((self.grid - self.gibbs_mean) ** 2 * self.gibbs_density) * h)

    def sample_gibbs(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` samples of the Gibbs factor (inverse CDF of uniforms), shape ``(n,)``."""
        levels = jax.random.uniform(key, (n,))
        return quantile(levels, jnp.asarray(self.gibbs_cdf), jnp.asarray(self.grid))

    def transport(self, y: jax.Array) -> jax.Array:
        r"""The generating map: :math:`\nabla w^*(y)` (conjugate) or :math:`\nabla u(y)` (+ shift, moment)."""
        if self.kind == "conjugate":
            return jnp.interp(y, jnp.asarray(self.gradient), jnp.asarray(self.grid))
        return jnp.interp(y, jnp.asarray(self.grid), jnp.asarray(self.gradient)) + self.shift

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        r"""``n`` samples of the pushforward of the Gibbs factor by :meth:`transport` (:math:`\approx \rho`)."""
        return self.transport(self.sample_gibbs(key, n))


# ------------------------------------------------------------------------------------------
# Input checks and grids
# ------------------------------------------------------------------------------------------
def _check_inputs(samples, n_bins: int, n_iter: int) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"samples must have shape (n,) or (n, 1), got shape {x.shape}")
    if x.size < 2:
        raise ValueError(f"samples needs at least 2 points, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contains NaN or infinite values")
    if not np.ptp(x) > 0:
        raise ValueError("samples has zero variance: rho must be absolutely continuous")
    if int(n_bins) != n_bins or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins}")
    if int(n_iter) != n_iter or n_iter < 1:
        raise ValueError(f"n_iter must be an integer >= 1, got {n_iter}")
    return x


def _make_grid(grid, n_bins: int) -> np.ndarray:
    lo, hi = (float(v) for v in grid)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"grid must be a finite interval (lo, hi) with lo < hi, got {grid}")
    h = (hi - lo) / n_bins
    return lo + h * (np.arange(n_bins) + 0.5)


def default_conjugate_grid(x: np.ndarray, width: float = 8.0) -> tuple[float, float]:
    r"""Interval holding the data, the origin and ``width`` times :math:`\mathrm{std}^{1/3}` either side.

    For :math:`\mathcal N(m, \sigma^2)`, :math:`P_w = \mathcal N(m/(1+\sigma^{2/3}), \sigma^{2/3})`
    lies between 0 and :math:`m` with spread :math:`\sigma^{1/3}`.
    """
    pad = width * float(np.std(x)) ** (1.0 / 3.0)
    return min(float(x.min()), 0.0) - pad, max(float(x.max()), 0.0) + pad


def default_moment_grid(x: np.ndarray, width: float = 10.0, tail: float = 30.0) -> tuple[float, float]:
    r"""Symmetric interval :math:`[-L, L]` for the (centred) moment Gibbs factor.

    :math:`P_u` spreads like :math:`1/\mathrm{std}` (:math:`\mathcal N(0, \sigma^{-2})` for
    Gaussians) and, since :math:`u'` takes values in the data's range, has tails no lighter
    than :math:`e^{-r|x|}`, :math:`r = \max|x_i|`:
    :math:`L = \max(\text{width}/\mathrm{std}, \text{tail}/r, r)`.
    """
    r = float(np.max(np.abs(x)))
    half = max(width / float(np.std(x)), tail / r, r)
    return -half, half


def default_relaxation(x: np.ndarray) -> float:
    r""":math:`\alpha = 1/(1 + \mathrm{std}^{2/3})`: exact for the mean of a Gaussian :math:`\rho`."""
    return 1.0 / (1.0 + float(np.std(x)) ** (2.0 / 3.0))


# ------------------------------------------------------------------------------------------
# The iterations (jitted; lax.scan over iterations)
# ------------------------------------------------------------------------------------------
@partial(jax.jit, static_argnames=("n_iter", "tails"))
def _conjugate_scan(grid, sorted_samples, tail_points, relaxation, dw0, cdf0, n_iter: int, tails: str):
    # loop invariants: F_rho on the grid (sorted: the merge in _interp_sorted needs it; cummax
    # only guards against round-off) and at the tail points. Only the Gibbs CDF changes.
    f_rho = jax.lax.cummax(empirical_cdf(grid, sorted_samples))
    f_tail = empirical_cdf(tail_points, sorted_samples)
    edges = _edges(grid)
    x_a, x_c, x_d, x_b = tail_points  # inner region [x_a, x_b]; slopes from [x_a, x_c], [x_d, x_b]

    def brenier(cdf):
        """Brenier map from rho to the grid law of CDF ``cdf``, on the grid."""
        inner = _interp_sorted(f_rho, cdf, edges)
        if tails == "none":
            return inner
        at = _interp(f_tail, cdf, edges, method="compare_all")  # 4 queries
        slope_lo = (at[1] - at[0]) / (x_c - x_a)
        slope_hi = (at[3] - at[2]) / (x_b - x_d)
        extended = jnp.where(grid < x_a, at[0] + slope_lo * (grid - x_a), inner)
        # non-decreasing up to float32 round-off where the tails meet the interior: the returned
        # gradient is made exactly monotone once, in _result (a running max here doubled the cost)
        return jnp.where(grid > x_b, at[3] + slope_hi * (grid - x_b), extended)

    def step(carry, _):
        dw, cdf = carry
        dw_new = (1.0 - relaxation) * dw + relaxation * brenier(cdf)
        cdf_new = cdf_on_grid(_gibbs(_integrate(grid, dw_new)))
        return (dw_new, cdf_new), jnp.sum(jnp.abs(cdf_new - cdf)) * _spacing(grid)

    (dw, _), history = jax.lax.scan(step, (dw0, cdf0), None, length=n_iter)
    cdf = cdf_on_grid(_gibbs(_integrate(grid, dw)))
    levels = (jnp.arange(grid.shape[0], dtype=grid.dtype) + 0.5) / grid.shape[0]
    pushed = _interp(quantile(levels, cdf, grid), dw, grid)  # grad w* at P_w's quantiles
    residual = w1_from_quantiles(pushed, empirical_quantile(levels, sorted_samples))
    return dw, history, residual


@partial(jax.jit, static_argnames=("n_iter", "center"))
def _moment_scan(grid, sorted_samples, du0, density0, cdf0, n_iter: int, center: bool):
    edges = _edges(grid)
    h = _spacing(grid)

    def step(carry, _):
        du, density, cdf = carry  # cdf = cdf_on_grid(density), carried to compute it once
        offset = jnp.sum(grid * density) / jnp.sum(density) if center else 0.0
        levels = _interp_uniform(grid + offset, edges[0], h, cdf)  # F_{P_u}(y + offset)
        du_new = empirical_quantile(levels, sorted_samples)
        density_new = _gibbs(_integrate(grid, du_new))
        cdf_new = cdf_on_grid(density_new)
        return (du_new, density_new, cdf_new), jnp.sum(jnp.abs(cdf_new - cdf)) * h

    (du, _, _), history = jax.lax.scan(step, (du0, density0, cdf0), None, length=n_iter)
    cdf = cdf_on_grid(_gibbs(_integrate(grid, du)))
    levels = (jnp.arange(grid.shape[0], dtype=grid.dtype) + 0.5) / grid.shape[0]
    pushed = _interp_uniform(quantile(levels, cdf, grid), grid[0], h, du)  # grad u at P_u's quantiles
    residual = w1_from_quantiles(pushed, empirical_quantile(levels, sorted_samples))
    return du, history, residual


# ------------------------------------------------------------------------------------------
# Start, checks before and after the iteration, result
# ------------------------------------------------------------------------------------------
def _start(kind: str, grid: np.ndarray, x: np.ndarray, init: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Derivative, Gibbs density and Gibbs CDF of the starting potential, in float64.

    Computed on the host so that :math:`x^2/2` cannot overflow float32 on wide grids.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init == "quadratic":  # v_0 = x^2 / 2, P_{v_0} = N(0, 1)
        centre, curvature = 0.0, 1.0
    elif kind == "conjugate":  # Prop. 2 for the data's mean and variance: P_w0 = N(mu, std^(2/3))
        v = float(np.std(x)) ** (2.0 / 3.0)
        centre, curvature = float(np.mean(x)) / (1.0 + v), 1.0 / v
    else:  # Prop. 1 (centred): u_0 = var x^2 / 2, P_u0 = N(0, 1 / var)
        centre, curvature = 0.0, float(np.var(x))
    derivative = curvature * (grid - centre)
    potential = 0.5 * curvature * (grid - centre) ** 2
    density = np.exp(-(potential - potential.min()))
    cdf = np.concatenate([[0.0], np.minimum(np.cumsum(density / density.sum()), 1.0)])
    return derivative, density, cdf


def _fmt_range(lo: float, hi: float) -> str:
    return f"[{lo:.4g}, {hi:.4g}]"


def _check_grid(kind: str, x: np.ndarray, lo: float, hi: float, n_bins: int, user_grid: bool) -> None:
    """Errors for grids that cannot represent the problem (before any iteration)."""
    h = (hi - lo) / n_bins
    sd = float(np.std(x))
    where = f"grid {_fmt_range(lo, hi)} with n_bins={n_bins} (cell width {h:.3g})"
    data = f"data range {_fmt_range(float(x.min()), float(x.max()))}, std {sd:.3g}"
    if kind == "conjugate":
        slack = 1e-6 * (hi - lo)  # a grid given as (x.min(), x.max()) holds the data up to rounding
        if user_grid and (lo > x.min() + slack or hi < x.max() - slack):
            raise ValueError(
                f"grid {_fmt_range(lo, hi)} does not contain the {data}: the conjugate potential w "
                "is defined on the support of rho, so the grid must hold every sample, and room "
                "beyond them for P_w; pass grid=None (default_conjugate_grid) or a wider interval")
        if sd < h:
            raise ValueError(
                f"the {where} cannot resolve rho: its std {sd:.3g} is below one cell. The grid must "
                f"also hold P_w, whose spread is about std^(1/3) = {sd ** (1 / 3):.3g}, and the origin; "
                f"a uniform grid holding both needs about n_bins >= {MIN_CELLS * (hi - lo) / sd:.2g}. "
                "The problem is not scale-invariant (N(0, s^2) has P_w = N(0, s^(2/3))): increase "
                "n_bins or express the data in other units")
        spread, name, rule = sd ** (1.0 / 3.0), "conjugate Gibbs factor P_w", "std(rho)^(1/3)"
    else:
        spread, name, rule = 1.0 / sd, "moment Gibbs factor P_u", "1 / std(rho)"
    if spread < h:
        raise ValueError(
            f"the {where} cannot resolve the {name}: its expected spread {rule} = {spread:.3g} "
            f"is below one cell ({data}); a uniform grid this wide needs about "
            f"n_bins >= {MIN_CELLS * (hi - lo) / spread:.2g}. The problem is not scale-invariant "
            "(N(0, s^2) has P_w = N(0, s^(2/3)) and P_u = N(0, s^-2), while the grid must reach the "
            "data): increase n_bins or express the data in units where its std is closer to 1")


def _potential64(grid: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Trapezoid integral of ``gradient`` in float64, minimum 0: its slopes are the gradient's
    neighbour means, non-decreasing whenever the gradient is."""
    g = np.asarray(gradient, np.float64)
    h = (grid[-1] - grid[0]) / (grid.shape[0] - 1)
    pot = np.concatenate([[0.0], np.cumsum(g[1:] + g[:-1]) * (h / 2)])
    return pot - pot.min()


def _result(kind: str, grid: np.ndarray, out, x: np.ndarray, *, tol: float, n_iter: int,
            shift: float = 0.0, hint: str = "") -> FixedPointResult:
    """Assemble the result (potential and Gibbs density in float64) and diagnose it."""
    grad, history, residual = (np.asarray(v) for v in out)
    # monotone by construction: the maps are non-decreasing up to float32 round-off (an ulp where
    # interpolation brackets or the affine tails meet); a running max makes that exact, so the
    # float64 potential below is convex on the whole grid
    grad = np.maximum.accumulate(grad)
    name = f"{kind}_fixed_point"
    if not (np.all(np.isfinite(grad)) and np.isfinite(residual)):
        raise FloatingPointError(
            f"{name}: the iteration produced NaN or infinite values on grid "
            f"{_fmt_range(grid[0], grid[-1])} (n_bins={grid.size}) for data range "
            f"{_fmt_range(float(x.min()), float(x.max()))}: the grid cannot represent this problem "
            "in float32; rescale the data or change the grid")
    h = float(_spacing(grid))
    pot = _potential64(grid, grad)
    density = np.exp(-pot)
    density /= density.sum() * h
    res = FixedPointResult(kind=kind, grid=np.asarray(grid), potential=pot, gradient=grad,
                           gibbs_density=density, history=history, residual=float(residual),
                           shift=float(shift))
    sd = float(np.std(x))
    sd_p = float(np.sqrt(max(res.gibbs_variance, 0.0)))
    p = "P_w" if kind == "conjugate" else "P_u"
    where = f"grid {_fmt_range(grid[0] - h / 2, grid[-1] + h / 2)} (n_bins={grid.size}, cell {h:.3g})"
    data = f"data range {_fmt_range(float(x.min()), float(x.max()))}"
    issues = []
    if sd_p < MIN_CELLS * h:
        issues.append(
            f"{name}: the Gibbs factor {p} (std {sd_p:.3g}) spans only {sd_p / h:.2g} cells of the "
            f"{where}, fewer than MIN_CELLS={MIN_CELLS} per standard deviation: it is not resolved; "
            "increase n_bins or narrow the grid")
    if kind == "conjugate" and sd < MIN_CELLS * h:
        issues.append(
            f"{name}: rho (std {sd:.3g}) spans only {sd / h:.2g} cells of the {where}, fewer than "
            f"MIN_CELLS={MIN_CELLS} per standard deviation: F_rho and the map grad w* are coarse; "
            "increase n_bins")
    edge = float(max(density[0], density[-1]) / density.max())
    if edge > EDGE_TOL:
        issues.append(
            f"{name}: the Gibbs factor {p} is cut off by the {where}: its density at an end of the "
            f"grid is {edge:.2g} of its maximum (EDGE_TOL={EDGE_TOL:g}; {data}), so this is the "
            "fixed point of a truncated problem (a narrower Gibbs factor, for instance); pass "
            "grid=None (the default grid) or a wider grid")
    tolerance = tol * sd
    step_ok = bool(history[-1] <= STEP_TOL * sd_p)
    converged = bool(res.residual <= tolerance) and step_ok
    if not converged:
        issues.append(
            f"{name} did not converge in n_iter={n_iter} iterations: residual W1(pushforward, rho) "
            f"= {res.residual:.3g} against tolerance {tolerance:.3g} (tol={tol:g} x std(rho)={sd:.3g}), "
            f"last step W1(P_k+1, P_k) = {float(history[-1]):.3g} against {STEP_TOL * sd_p:.3g} "
            f"(STEP_TOL={STEP_TOL:g} x std({p})); the result is not a fixed point. {hint}".rstrip())
    for message in issues:
        warnings.warn(message, FixedPointWarning, stacklevel=3)
    return dataclasses.replace(res, converged=converged, tolerance=float(tolerance), issues=tuple(issues))


def _check_tol(tol: float) -> float:
    tol = float(tol)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol}")
    return tol


def conjugate_fixed_point(
    samples,
    n_bins: int = 100_000,
    n_iter: int = 300,
    *,
    grid: tuple[float, float] | None = None,
    tails: str = "affine",
    tail_level: float = 1e-3,
    relaxation: float | None = None,
    init: str = "quadratic",
    tol: float = RESIDUAL_TOL,
) -> FixedPointResult:
    r"""Conjugate moment potential of the law of ``samples`` by :math:`w'_{k+1} = F_{P_{w_k}}^{-1} \circ F_\rho`.

    Args:
      samples: i.i.d. samples of :math:`\rho`, shape ``(n,)`` (or ``(n, 1)``).
      n_bins: number of grid cells :math:`B` (the paper: 100,000).
      n_iter: number of iterations (the paper: 300), from :math:`w_0` (see ``init``).
      grid: interval ``(lo, hi)`` for :math:`w` and :math:`P_w`; default
        :func:`default_conjugate_grid` (data, origin and padding for :math:`P_w`'s support).
        It must contain every sample (``ValueError`` otherwise); a grid that cuts :math:`P_w`
        off (the data range, for a narrow :math:`\rho`) gives a :class:`FixedPointWarning`.
      tails: ``"affine"`` extends :math:`w'` affinely outside the ``tail_level`` and
        ``1 - tail_level`` sample quantiles; ``"none"`` uses the plain formula everywhere.
      tail_level: quantile level where the affine tails start (slopes are fitted between
        levels ``tail_level`` and ``10 * tail_level``).
      relaxation: :math:`\alpha` in :math:`w'_{k+1} = (1-\alpha) w'_k + \alpha F_{P_{w_k}}^{-1}
        \circ F_\rho` (same fixed points). ``1.0`` is the plain iteration, whose mean is
        unstable when :math:`\mathrm{std}(\rho) > 1` (for :math:`\mathcal N(m, \sigma^2)` the
        mean error is multiplied by :math:`-\sigma^{2/3}` at each step). Default
        :math:`\alpha = 1/(1 + \mathrm{std}^{2/3})`, which solves the mean in one step and
        contracts the spread by :math:`1 - 3\alpha/2` for Gaussians: for a wide :math:`\rho`
        (``std`` :math:`\gg 1`) it needs of the order of ``std**(2/3)`` iterations.
      init: ``"quadratic"`` starts from :math:`w_0 = x^2/2` (the paper); ``"gaussian"`` from
        Prop. 2 for the samples' mean and variance (exact for Gaussian :math:`\rho`, and a
        scale-aware start for wide ones).
      tol: convergence tolerance on the residual, relative to ``std(samples)``.

    Returns:
      A :class:`FixedPointResult` with ``kind="conjugate"``; its ``transport`` is :math:`\nabla w^*`.

    Raises:
      ValueError: bad inputs, or a grid that cannot represent the problem. The problem is not
        scale-invariant (:math:`\mathcal N(0,\sigma^2) \mapsto P_w = \mathcal N(0, \sigma^{2/3})`):
        one uniform grid holds the data (width about :math:`\sigma`) and :math:`P_w` (spread
        :math:`\sigma^{1/3}`), so data at ``1e20`` scale cannot be solved with any practical
        ``n_bins``, and the error says so.
      FloatingPointError: NaN or infinite values after the iteration.

    Warns:
      FixedPointWarning: unresolved Gibbs factor or data, truncated Gibbs factor, or
        non-convergence (the message names residual, tolerance and ``n_iter``).
    """
    x = _check_inputs(samples, n_bins, n_iter)
    if tails not in TAILS:
        raise ValueError(f"tails must be one of {TAILS}, got {tails!r}")
    if not 0.0 < tail_level < 0.05:
        raise ValueError(f"tail_level must lie in (0, 0.05), got {tail_level}")
    tol = _check_tol(tol)
    xs = np.sort(x)
    g = _make_grid(default_conjugate_grid(x) if grid is None else grid, n_bins)
    h = (g[-1] - g[0]) / (n_bins - 1)
    _check_grid("conjugate", x, g[0] - h / 2, g[-1] + h / 2, n_bins, grid is not None)
    levels = np.array([tail_level, 10 * tail_level, 1 - 10 * tail_level, 1 - tail_level])
    tail_points = np.quantile(xs, levels)
    alpha = default_relaxation(x) if relaxation is None else float(relaxation)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"relaxation must lie in (0, 1], got {relaxation}")
    dw0, _, cdf0 = _start("conjugate", g, x, init)
    dtype = jnp.float32
    out = _conjugate_scan(
        jnp.asarray(g, dtype), jnp.asarray(xs, dtype), jnp.asarray(tail_points, dtype),
        jnp.asarray(alpha, dtype), jnp.asarray(dw0, dtype), jnp.asarray(cdf0, dtype), int(n_iter), tails,
    )
    alpha0 = default_relaxation(x)
    if alpha > alpha0 * (1 + 1e-6):
        hint = (f"relaxation={alpha:.3g} is above the default 1/(1 + std^(2/3)) = {alpha0:.3g}: the mean error "
                f"is multiplied by about {1 - alpha / alpha0:.3g} per iteration, unstable below -1; use the default.")
    else:
        hint = (f"Raise n_iter: relaxation alpha={alpha:.3g} contracts the spread error by about "
                f"1 - 3 alpha / 2 = {1 - 1.5 * alpha:.3g} per iteration (wide rho, std {np.std(x):.3g}, needs "
                "of the order of std^(2/3) iterations or more), or start closer with init='gaussian'.")
    return _result("conjugate", g, out, x, tol=tol, n_iter=int(n_iter), hint=hint)


def moment_fixed_point(
    samples,
    n_bins: int = 100_000,
    n_iter: int = 300,
    *,
    grid: tuple[float, float] | None = None,
    center: bool = True,
    init: str = "quadratic",
    tol: float = RESIDUAL_TOL,
) -> FixedPointResult:
    r"""Moment potential of the law of ``samples`` by :math:`u'_{k+1} = F_\rho^{-1} \circ F_{P_{u_k}}` (App. B.1).

    Args:
      samples: i.i.d. samples of :math:`\rho`, shape ``(n,)`` (or ``(n, 1)``).
      n_bins: number of grid cells :math:`B` for :math:`u` and :math:`P_u`.
      n_iter: number of iterations, from :math:`u_0` (see ``init``).
      grid: interval ``(lo, hi)``; default :func:`default_moment_grid` of the (centred) samples.
        A grid that cuts :math:`P_u` off gives a :class:`FixedPointWarning`.
      center: centre the samples (a moment measure must have barycentre 0) and recentre
        :math:`P_u` at every iteration (the potential is only defined up to translation).
        ``False`` runs the plain iteration, which drifts (and warns that it did not converge).
      init: ``"quadratic"`` starts from :math:`u_0 = x^2/2` (the paper); ``"gaussian"`` from
        Prop. 1 for the samples' variance.
      tol: convergence tolerance on the residual, relative to ``std(samples)``.

    Returns:
      A :class:`FixedPointResult` with ``kind="moment"``; its ``transport`` is :math:`\nabla u`
      (plus ``shift``, the removed mean).

    Raises:
      ValueError: bad inputs, or a Gibbs factor (spread about ``1/std``) below one grid cell.
      FloatingPointError: NaN or infinite values after the iteration.

    Warns:
      FixedPointWarning: as :func:`conjugate_fixed_point`.
    """
    x = _check_inputs(samples, n_bins, n_iter)
    tol = _check_tol(tol)
    shift = float(np.mean(x)) if center else 0.0
    xs = np.sort(x - shift)
    g = _make_grid(default_moment_grid(xs) if grid is None else grid, n_bins)
    h = (g[-1] - g[0]) / (n_bins - 1)
    _check_grid("moment", xs, g[0] - h / 2, g[-1] + h / 2, n_bins, grid is not None)
    du0, density0, cdf0 = _start("moment", g, xs, init)
    dtype = jnp.float32
    out = _moment_scan(jnp.asarray(g, dtype), jnp.asarray(xs, dtype), jnp.asarray(du0, dtype),
                       jnp.asarray(density0, dtype), jnp.asarray(cdf0, dtype), int(n_iter), bool(center))
    hint = "Raise n_iter." if center else "The uncentred iteration drifts: use center=True."
    return _result("moment", g, out, xs, tol=tol, n_iter=int(n_iter), shift=shift, hint=hint)

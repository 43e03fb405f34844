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
"""
from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "FixedPointResult",
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
    """Cumulative trapezoid integral of ``derivative`` on ``grid``, shifted to minimum 0."""
    h = _spacing(grid)
    pot = jnp.concatenate([jnp.zeros(1, derivative.dtype), _cumsum(derivative[1:] + derivative[:-1]) * h / 2])
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
    """

    kind: str
    grid: np.ndarray
    potential: np.ndarray
    gradient: np.ndarray
    gibbs_density: np.ndarray
    history: np.ndarray
    residual: float
    shift: float = 0.0

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
def _conjugate_scan(grid, sorted_samples, tail_points, relaxation, n_iter: int, tails: str):
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
        return jnp.where(grid > x_b, at[3] + slope_hi * (grid - x_b), extended)

    def step(carry, _):
        dw, cdf = carry
        dw_new = (1.0 - relaxation) * dw + relaxation * brenier(cdf)
        cdf_new = cdf_on_grid(_gibbs(_integrate(grid, dw_new)))
        return (dw_new, cdf_new), jnp.sum(jnp.abs(cdf_new - cdf)) * _spacing(grid)

    start = (grid, cdf_on_grid(_gibbs(0.5 * grid**2)))  # w_0 = x^2 / 2
    (dw, _), history = jax.lax.scan(step, start, None, length=n_iter)
    w = _integrate(grid, dw)
    cdf = cdf_on_grid(_gibbs(w))
    levels = (jnp.arange(grid.shape[0], dtype=grid.dtype) + 0.5) / grid.shape[0]
    pushed = _interp(quantile(levels, cdf, grid), dw, grid)  # grad w* at P_w's quantiles
    residual = w1_from_quantiles(pushed, empirical_quantile(levels, sorted_samples))
    return w, dw, _gibbs(w), history, residual


@partial(jax.jit, static_argnames=("n_iter", "center"))
def _moment_scan(grid, sorted_samples, n_iter: int, center: bool):
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

    density = _gibbs(0.5 * grid**2)  # u_0 = x^2 / 2
    (du, _, _), history = jax.lax.scan(step, (grid, density, cdf_on_grid(density)), None, length=n_iter)
    u = _integrate(grid, du)
    cdf = cdf_on_grid(_gibbs(u))
    levels = (jnp.arange(grid.shape[0], dtype=grid.dtype) + 0.5) / grid.shape[0]
    pushed = _interp_uniform(quantile(levels, cdf, grid), grid[0], h, du)  # grad u at P_u's quantiles
    residual = w1_from_quantiles(pushed, empirical_quantile(levels, sorted_samples))
    return u, du, _gibbs(u), history, residual


def _result(kind, grid, out, shift=0.0) -> FixedPointResult:
    pot, grad, density, history, residual = (np.asarray(v) for v in out)
    h = _spacing(grid)
    return FixedPointResult(
        kind=kind,
        grid=np.asarray(grid),
        potential=pot,
        gradient=grad,
        gibbs_density=density / (density.sum() * h),
        history=history,
        residual=float(residual),
        shift=float(shift),
    )


def conjugate_fixed_point(
    samples,
    n_bins: int = 100_000,
    n_iter: int = 300,
    *,
    grid: tuple[float, float] | None = None,
    tails: str = "affine",
    tail_level: float = 1e-3,
    relaxation: float | None = None,
) -> FixedPointResult:
    r"""Conjugate moment potential of the law of ``samples`` by :math:`w'_{k+1} = F_{P_{w_k}}^{-1} \circ F_\rho`.

    Args:
      samples: i.i.d. samples of :math:`\rho`, shape ``(n,)`` (or ``(n, 1)``).
      n_bins: number of grid cells :math:`B` (the paper: 100,000).
      n_iter: number of iterations (the paper: 300), from :math:`w_0 = x^2/2`.
      grid: interval ``(lo, hi)`` for :math:`w` and :math:`P_w`; default
        :func:`default_conjugate_grid` (data, origin and padding for :math:`P_w`'s support).
      tails: ``"affine"`` extends :math:`w'` affinely outside the ``tail_level`` and
        ``1 - tail_level`` sample quantiles; ``"none"`` uses the plain formula everywhere.
      tail_level: quantile level where the affine tails start (slopes are fitted between
        levels ``tail_level`` and ``10 * tail_level``).
      relaxation: :math:`\alpha` in :math:`w'_{k+1} = (1-\alpha) w'_k + \alpha F_{P_{w_k}}^{-1}
        \circ F_\rho` (same fixed points). ``1.0`` is the plain iteration, whose mean is
        unstable when :math:`\mathrm{std}(\rho) > 1` (for :math:`\mathcal N(m, \sigma^2)` the
        mean error is multiplied by :math:`-\sigma^{2/3}` at each step). Default
        :math:`\alpha = 1/(1 + \mathrm{std}^{2/3})`, which solves the mean in one step and
        contracts the spread by :math:`1 - 3\alpha/2` for Gaussians.

    Returns:
      A :class:`FixedPointResult` with ``kind="conjugate"``; its ``transport`` is :math:`\nabla w^*`.
    """
    x = _check_inputs(samples, n_bins, n_iter)
    if tails not in TAILS:
        raise ValueError(f"tails must be one of {TAILS}, got {tails!r}")
    if not 0.0 < tail_level < 0.05:
        raise ValueError(f"tail_level must lie in (0, 0.05), got {tail_level}")
    xs = np.sort(x)
    g = _make_grid(default_conjugate_grid(x) if grid is None else grid, n_bins)
    levels = np.array([tail_level, 10 * tail_level, 1 - 10 * tail_level, 1 - tail_level])
    tail_points = np.quantile(xs, levels)
    alpha = default_relaxation(x) if relaxation is None else float(relaxation)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"relaxation must lie in (0, 1], got {relaxation}")
    dtype = jnp.float32
    out = _conjugate_scan(
        jnp.asarray(g, dtype), jnp.asarray(xs, dtype), jnp.asarray(tail_points, dtype),
        jnp.asarray(alpha, dtype), int(n_iter), tails,
    )
    return _result("conjugate", g, out)


def moment_fixed_point(
    samples,
    n_bins: int = 100_000,
    n_iter: int = 300,
    *,
    grid: tuple[float, float] | None = None,
    center: bool = True,
) -> FixedPointResult:
    r"""Moment potential of the law of ``samples`` by :math:`u'_{k+1} = F_\rho^{-1} \circ F_{P_{u_k}}` (App. B.1).

    Args:
      samples: i.i.d. samples of :math:`\rho`, shape ``(n,)`` (or ``(n, 1)``).
      n_bins: number of grid cells :math:`B` for :math:`u` and :math:`P_u`.
      n_iter: number of iterations, from :math:`u_0 = x^2/2`.
      grid: interval ``(lo, hi)``; default :func:`default_moment_grid` of the (centred) samples.
      center: centre the samples (a moment measure must have barycentre 0) and recentre
        :math:`P_u` at every iteration (the potential is only defined up to translation).
        ``False`` runs the plain iteration, which drifts.

    Returns:
      A :class:`FixedPointResult` with ``kind="moment"``; its ``transport`` is :math:`\nabla u`
      (plus ``shift``, the removed mean).
    """
    x = _check_inputs(samples, n_bins, n_iter)
    shift = float(np.mean(x)) if center else 0.0
    xs = np.sort(x - shift)
    g = _make_grid(default_moment_grid(xs) if grid is None else grid, n_bins)
    dtype = jnp.float32
    out = _moment_scan(jnp.asarray(g, dtype), jnp.asarray(xs, dtype), int(n_iter), bool(center))
    return _result("moment", g, out, shift)

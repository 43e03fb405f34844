"""Benchmark: the 1D conjugate fixed point at the paper's scale, JAX against plain NumPy.

400,000 samples of rho_2, 100,000 bins, 300 iterations. The NumPy baseline runs the same
relaxed iteration (same grid, same tails, same relaxation) with ``np.interp``/``np.cumsum`` in
the same process; both answers are compared (Wasserstein-1 distance between the two Gibbs
densities) before the times are printed. Each is timed as the best of several runs, the two
implementations' runs interleaved (the machine is shared, so single timings are noisy), in
wall-clock and in CPU time of the process.
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np

from cmmlib import metrics
from cmmlib import onedim as od
from cmmlib.bench._timing import timed_together
from cmmlib.datasets.mixtures1d import RHO_2

#: (samples, bins, iterations, repeats): timings are the best of ``repeats`` runs
FULL = (400_000, 100_000, 300, 5)
QUICK = (20_000, 2_000, 20, 1)


def _numpy_conjugate(x: np.ndarray, n_bins: int, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference NumPy implementation of :func:`cmmlib.onedim.conjugate_fixed_point` (float64)."""
    xs = np.sort(x)
    n = xs.size
    lo, hi = od.default_conjugate_grid(x)
    h = (hi - lo) / n_bins
    grid = lo + h * (np.arange(n_bins) + 0.5)
    edges = np.concatenate([grid - h / 2, grid[-1:] + h / 2])
    levels_n = (np.arange(n) + 0.5) / n
    f_rho = np.interp(grid, xs, levels_n)
    tail = 1e-3
    tail_points = np.quantile(xs, [tail, 10 * tail, 1 - 10 * tail, 1 - tail])
    f_tail = np.interp(tail_points, xs, levels_n)
    x_a, x_c, x_d, x_b = tail_points
    alpha = od.default_relaxation(x)

    def integrate(d):
        pot = np.concatenate([[0.0], np.cumsum(d[1:] + d[:-1]) * h / 2])
        return pot - pot.min()

    def cdf_of(pot):
        p = np.exp(-(pot - pot.min()))
        return np.concatenate([[0.0], np.cumsum(p / p.sum())])

    dw = grid.copy()
    for _ in range(n_iter):
        cdf = cdf_of(integrate(dw))
        inner = np.interp(f_rho, cdf, edges)
        at = np.interp(f_tail, cdf, edges)
        t = np.where(grid < x_a, at[0] + (at[1] - at[0]) / (x_c - x_a) * (grid - x_a), inner)
        t = np.where(grid > x_b, at[3] + (at[3] - at[2]) / (x_b - x_d) * (grid - x_b), t)
        dw = (1 - alpha) * dw + alpha * t
    w = integrate(dw)
    density = np.exp(-w)
    return grid, density / (density.sum() * h)


def main(quick: bool = False) -> dict[str, Any]:
    n_samples, n_bins, n_iter, repeats = QUICK if quick else FULL
    x = np.asarray(RHO_2.sample(jax.random.PRNGKey(0), n_samples), np.float64)
    od.conjugate_fixed_point(x, n_bins=n_bins, n_iter=n_iter)  # compile
    runs = timed_together({"jax": lambda: od.conjugate_fixed_point(x, n_bins=n_bins, n_iter=n_iter),
                           "numpy": lambda: _numpy_conjugate(x, n_bins, n_iter)}, repeats, warmup=0)
    (res, jax_t), ((grid, density), np_t) = runs["jax"], runs["numpy"]
    t_jax, c_jax, t_np, c_np = jax_t.best_s, jax_t.cpu_s, np_t.best_s, np_t.cpu_s
    h = grid[1] - grid[0]
    w1 = metrics.w1_1d(grid, res.grid, x_weights=density, y_weights=res.gibbs_density)
    mean_np = float(np.sum(grid * density) * h)
    print(f"1D conjugate fixed point: {n_samples} samples, {n_bins} bins, {n_iter} iterations "
          f"(best wall time / median CPU time of {repeats} runs each)")
    print(f"  jax (jit + lax.scan, float32): {t_jax:7.2f} s / {c_jax:5.2f} s   Gibbs mean {res.gibbs_mean:+.5f}")
    print(f"  numpy loop (float64):          {t_np:7.2f} s / {c_np:5.2f} s   Gibbs mean {mean_np:+.5f}")
    print(f"  speed-up numpy/jax: {t_np / t_jax:.2f}x wall, {c_np / c_jax:.2f}x CPU   "
          f"W1(P_w jax, P_w numpy) = {w1:.2e}", flush=True)
    if not w1 < 1e-2:
        raise RuntimeError(f"JAX and NumPy fixed points disagree: W1 = {w1:.3g}")
    return {"n_samples": n_samples, "n_bins": n_bins, "iterations": n_iter, "repeats": repeats,
            "jax": jax_t.as_dict(), "numpy": np_t.as_dict(),
            "numpy_vs_jax_x": t_np / t_jax, "numpy_vs_jax_cpu_x": c_np / c_jax, "agreement_w1": w1}


if __name__ == "__main__":
    main()

"""Plots of chapter 5 (CMFMA): 1D comparisons with the fixed point, 2D energy landscapes."""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np


def grid_2d(low, high, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular ``n x n`` grid of the box: ``(X, Y, points (n*n, 2))``."""
    xs = np.linspace(low[0], high[0], n)
    ys = np.linspace(low[1], high[1], n)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def energy_on(energy: Callable, points: np.ndarray) -> np.ndarray:
    """``E`` on a batch of points ``(n, d) -> (n,)``."""
    return np.asarray(jax.jit(jax.vmap(energy))(jnp.asarray(points)))


def onedim_row(axes, grid, w, w_fp, gibbs, gibbs_fp, gibbs_grid, x, rho_pdf, pushed, name: str) -> None:
    """Figure 11, one law: potentials, Gibbs factors and the pushforward against ρ.

    Args:
      axes: three axes.
      grid: ``(B,)`` points of ρ's box where the potentials are drawn.
      w, w_fp: CMFMA and fixed-point potentials on ``grid``, each centred by its ρ-mean.
      gibbs, gibbs_fp: the two Gibbs densities on ``gibbs_grid``.
      x: ``(M,)`` points where ``rho_pdf`` is drawn; pushed: generated samples.
      name: the law's name, for titles.
    """
    ax = axes[0]
    ax.plot(grid, w_fp, color="C0", lw=2.5, alpha=0.6, label="fixed point (chapter 2)")
    ax.plot(grid, w, color="C3", lw=1.2, ls="--", label="CMFMA")
    ax.set(title=f"{name}: potential $w$ (centred)", xlabel="$x$")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(gibbs_grid, gibbs_fp, color="C0", lw=2.5, alpha=0.6, label="fixed point")
    ax.plot(gibbs_grid, gibbs, color="C3", lw=1.2, ls="--", label="CMFMA")
    ax.plot(x, rho_pdf, color="gray", lw=1, label=r"$\rho$")
    support = np.asarray(gibbs_grid)[np.asarray(gibbs_fp) > 1e-3 * np.max(gibbs_fp)]
    ax.set(title=f"{name}: Gibbs factor $P_w$", xlabel="$y$",
           xlim=(min(support[0], x[0]), max(support[-1], x[-1])))
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.hist(np.asarray(pushed).ravel(), bins=120, range=(x[0], x[-1]), density=True, color="C2", alpha=0.5,
            label=r"$\nabla w^*\sharp P_w$ (samples)")
    ax.plot(x, rho_pdf, color="C0", lw=1.5, label=r"$\rho$")
    ax.set(title=f"{name}: pushforward", xlabel="$x$")
    ax.legend(fontsize=7)


def energy_row(axes, gx, gy, energy, learned, potential, gibbs, samples, reference, name: str,
               clip: float = 20.0) -> None:
    """Figures 3 / 12, one energy: E, the learned energy, the potential with Gibbs samples,
    generated against reference samples.

    Args:
      axes: four axes.
      gx, gy: ``(n, n)`` grid coordinates.
      energy, learned: ``(n, n)`` values of ``E`` and of the learned energy (same constant).
      potential: ``(n, n)`` values of ``w``.
      gibbs: ``(m, 2)`` samples of :math:`P_w`; samples, reference: ``(m, 2)`` generated and
        reference samples.
      name: the energy's name.
      clip: energies are drawn up to ``min E + clip``.
    """
    low = float(np.min(energy))
    levels = np.linspace(low, low + clip, 21)
    extent = (gx.min(), gx.max(), gy.min(), gy.max())
    for ax, values, title in ((axes[0], energy, f"{name}: $E$"),
                              (axes[1], learned, r"learned $w(\nabla w) - \log\det\nabla^2 w + c$")):
        filled = ax.contourf(gx, gy, values, levels=levels, cmap="viridis", extend="both")
        ax.set(title=title, xlim=extent[:2], ylim=extent[2:])
    # one colour scale for both maps (same levels): dark = low energy, where rho has its mass
    bar = ax.figure.colorbar(filled, ax=axes[1], fraction=0.05, pad=0.02)
    bar.set_label(r"$E - \min E$ (same scale)", fontsize=7)
    bar.set_ticks(levels[::5])
    bar.set_ticklabels([f"{t - low:g}" for t in levels[::5]])
    bar.ax.tick_params(labelsize=6)
    ax = axes[2]
    ax.contour(gx, gy, potential, levels=15, cmap="magma", linewidths=0.8)
    ax.scatter(gibbs[:, 0], gibbs[:, 1], s=1, alpha=0.3, color="C0", rasterized=True)
    ax.set(title=r"potential $w$ and samples of $P_w$", xlim=extent[:2], ylim=extent[2:])
    ax = axes[3]
    ax.scatter(reference[:, 0], reference[:, 1], s=1, alpha=0.25, color="gray", label="reference", rasterized=True)
    ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.3, color="C3", label=r"$\nabla w^*\sharp P_w$",
               rasterized=True)
    ax.set(title="generated vs reference", xlim=extent[:2], ylim=extent[2:])
    ax.legend(fontsize=7, markerscale=6, loc="upper right")
    for ax in axes:   # small print: the row of four fits a text column
        ax.title.set_fontsize(8)
        ax.tick_params(labelsize=6)


def training_curves(ax: plt.Axes, histories: dict[str, np.ndarray], key: str = "loss") -> None:
    """The CMFMA loss of several models against the step, log scale."""
    for name, history in histories.items():
        values = np.asarray(history[key])
        ax.semilogy(np.arange(1, len(values) + 1), values, lw=0.8, label=name)
    ax.set(xlabel="step", ylabel=r"$\mathbb{E}_\mu (r_\theta - c)^2$", title="CMFMA loss")
    ax.legend(fontsize=7)

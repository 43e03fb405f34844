"""Figures of Chapter 3 (sampling from a known conjugate moment potential). matplotlib only."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .gaussian import covariance_ellipse


def scatter_panels(clouds: Mapping[str, np.ndarray], ellipses: Mapping[str, Sequence] | None = None,
                   max_points: int = 3000, size: float = 3.3, lim: float | None = None):
    """One scatter panel per named point cloud, with optional ``(mean, cov, label, color)`` ellipses."""
    fig, axes = plt.subplots(1, len(clouds), figsize=(size * len(clouds), size), squeeze=False)
    for ax, (name, pts) in zip(axes[0], clouds.items()):
        pts = np.asarray(pts)[:max_points]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.35, color="tab:blue")
        for mean, cov, label, color in (ellipses or {}).get(name, []):
            covariance_ellipse(ax, mean, cov, edgecolor=color, label=label, lw=2)
        if (ellipses or {}).get(name):
            ax.legend(loc="upper left", fontsize=8)
        ax.set_title(name)
        ax.set_aspect("equal")
        if lim is not None:
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
    fig.tight_layout()
    return fig


def step_tradeoff(steps: np.ndarray, errors: Mapping[float, np.ndarray], predicted: Mapping[float, float],
                  acceptance: Mapping[float, float] | None = None):
    """Covariance error of ULA against the number of steps, one curve per step scale ``s``.

    Dashed lines: the error of ULA's predicted stationary covariance (its bias floor).
    """
    fig, axes = plt.subplots(1, 2 if acceptance else 1, figsize=(10 if acceptance else 6, 3.6), squeeze=False)
    ax = axes[0, 0]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(errors)))
    for color, (scale, err) in zip(colors, errors.items()):
        ax.plot(steps, err, color=color, label=f"s = {scale:g}")
        ax.axhline(predicted[scale], color=color, ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("ULA steps")
    ax.set_ylabel(r"$\|\hat C - \Sigma^{1/3}\|_F / \|\Sigma^{1/3}\|_F$")
    ax.set_title(r"ULA with $h = s/\lambda_{\max}$ (dashed: predicted bias)")
    ax.legend(fontsize=8)
    if acceptance:
        ax = axes[0, 1]
        scales = list(acceptance)
        ax.plot(scales, [acceptance[s] for s in scales], "o-")
        ax.set_xlabel(r"step scale $s$")
        ax.set_ylabel("MALA acceptance rate")
        ax.set_ylim(0, 1.02)
        ax.set_title("MALA: the price of exactness")
    fig.tight_layout()
    return fig


def denoising(path: np.ndarray, iterations: Sequence[int], max_points: int = 2000, size: float = 2.8,
              lim: float | None = None):
    """Particles along the conjugate solver's iterations: noise moved onto the generated law."""
    cols = min(len(iterations), 3)   # rows of three panels: the figure fits a text column
    rows = -(-len(iterations) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.ravel()[len(iterations):]:
        ax.set_visible(False)
    for ax, k in zip(axes.ravel(), iterations):
        pts = np.asarray(path[k])[:max_points]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="tab:purple")
        ax.set_title(f"iteration {k}")
        ax.set_aspect("equal")
        if lim is not None:
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def residual_curves(curves: Mapping[str, np.ndarray], tolerance: float | None = None):
    """Largest and median solver residual against iterations, one curve per solver."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for (name, res), color in zip(curves.items(), plt.cm.tab10.colors):
        res = np.asarray(res)
        ax.plot(res.max(axis=1), color=color, label=f"{name} (max)")
        ax.plot(np.median(res, axis=1), color=color, ls=":", label=f"{name} (median)")
    if tolerance is not None:
        ax.axhline(tolerance, color="k", lw=0.8, ls="--", label="tolerance")
    ax.set_yscale("log")
    ax.set_xlabel("solver iteration")
    ax.set_ylabel(r"$\|\nabla w(x) - y\|$")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def density_and_samples(grid: np.ndarray, density: np.ndarray, samples: Mapping[str, np.ndarray],
                        max_points: int = 3000, size: float = 3.6):
    """The eq. (9) density of rho on a square grid, with sample clouds drawn over it."""
    cols = 2 if len(samples) + 1 > 3 else len(samples) + 1   # a 2 x 2 grid fits a text column
    rows = -(-(len(samples) + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.ravel()[len(samples) + 1:]:
        ax.set_visible(False)
    axes = axes.ravel()[:len(samples) + 1]
    xx, yy = np.meshgrid(grid, grid)
    axes[0].contourf(xx, yy, density, levels=20, cmap="magma")
    axes[0].set_title(r"$\rho$ by eq. (9)")
    for ax, (name, pts) in zip(axes[1:], samples.items()):
        ax.contour(xx, yy, density, levels=8, cmap="magma", linewidths=0.8)
        pts = np.asarray(pts)[:max_points]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.3, color="tab:blue")
        ax.set_title(name)
    for ax in axes:
        ax.title.set_fontsize(9)
        ax.set_aspect("equal")
        ax.set_xlim(grid[0], grid[-1])
        ax.set_ylim(grid[0], grid[-1])
    fig.tight_layout()
    return fig


__all__ = ["scatter_panels", "step_tradeoff", "denoising", "residual_curves",
           "density_and_samples"]

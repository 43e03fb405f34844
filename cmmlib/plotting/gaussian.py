"""Plots of chapter 1: Gaussian laws in 2D as samples and covariance ellipses."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse


def covariance_ellipse(ax: plt.Axes, mean, cov, n_std: float = 2.0, **kwargs) -> Ellipse:
    r"""Draw the ellipse :math:`\{x : (x-m)^\top \Sigma^{-1} (x-m) = \text{n\_std}^2\}` on ``ax``."""
    eig, vec = np.linalg.eigh(np.asarray(cov, np.float64))
    angle = np.degrees(np.arctan2(vec[1, -1], vec[0, -1]))
    width, height = 2 * n_std * np.sqrt(eig[::-1])
    patch = Ellipse(np.asarray(mean), width, height, angle=angle, fill=False, **kwargs)
    ax.add_patch(patch)
    return patch


def gaussian_panel(ax: plt.Axes, samples, mean, cov, title: str, color: str, lim: float) -> None:
    """Scatter ``samples`` ``(n, 2)`` with the 1- and 2-std ellipses of ``(mean, cov)``."""
    pts = np.asarray(samples)
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.25, color=color, rasterized=True)
    for k in (1.0, 2.0):
        covariance_ellipse(ax, mean, cov, n_std=k, color="black", lw=1)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title)

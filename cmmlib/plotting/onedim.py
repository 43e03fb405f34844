"""Plots of chapter 2: 1D Gibbs factors, potentials, pushforwards and convergence."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats


def gibbs_panel(ax: plt.Axes, result, rho_pdf, xlim: tuple[float, float], title: str) -> None:
    """A Gibbs factor (``result.gibbs_density``) beside the target density ``rho_pdf`` and N(0, 1)."""
    x = np.linspace(*xlim, 2000)
    label = r"$P_w$ (conjugate Gibbs factor)" if result.kind == "conjugate" else r"$P_u$ (Gibbs factor)"
    ax.fill_between(result.grid, result.gibbs_density, color="C1", alpha=0.35, label=label)
    ax.plot(x, np.asarray(rho_pdf(x)), color="C0", lw=1.5, label=r"$\rho$")
    ax.plot(x, stats.norm.pdf(x), color="gray", ls="--", lw=1, label=r"$\mathcal{N}(0,1)$")
    ax.set(xlim=xlim, title=title)
    ax.legend(fontsize=7)


def pushforward_panel(ax: plt.Axes, pushed, rho_pdf, xlim: tuple[float, float], title: str) -> None:
    """Histogram of generated samples ``pushed`` against the target density."""
    x = np.linspace(*xlim, 2000)
    ax.hist(np.asarray(pushed), bins=200, range=xlim, density=True, color="C2", alpha=0.5, label="pushforward")
    ax.plot(x, np.asarray(rho_pdf(x)), color="C0", lw=1.5, label=r"$\rho$")
    ax.set(xlim=xlim, title=title)
    ax.legend(fontsize=7)


def convergence(ax: plt.Axes, histories: dict[str, np.ndarray], title: str = "") -> None:
    """:math:`W_1` between successive Gibbs factors against the iteration, log scale."""
    for name, h in histories.items():
        ax.semilogy(np.arange(1, len(h) + 1), np.maximum(np.asarray(h), 1e-12), label=name)
    ax.set(xlabel="iteration $k$", ylabel=r"$W_1(P_{k+1}, P_k)$", title=title)
    ax.legend(fontsize=7)

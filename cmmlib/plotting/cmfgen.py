"""Figures of chapter 4 (CMFGen in 2D): Figure 4 panels, training curves, Figure 13 boxplots,
quality per step budget, the ULA step trade-off, the sharpness diagnostics, and grids of generated samples. Pure functions returning matplotlib figures."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

_COLORS = {"gibbs": "tab:blue", "gaussian": "tab:orange", "floor": "tab:gray"}
_LABELS = {"gibbs": "CMFGen (noise $P_{w_\\theta}$)", "gaussian": "baseline (noise $N(0,I)$)",
           "floor": "target vs target"}


def _scatter(ax, points, color, title, lim):
    points = np.asarray(points)
    ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4, color=color, rasterized=True)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
    ax.set_title(title, fontsize=9)


def figure4(panels: Sequence[Mapping[str, Any]], lim: float = 3.0, grid: int = 120):
    """One row per data set: samples of ρ, level sets of ``w_θ``, samples of ``P_{w_θ}``, generated.

    Args:
      panels: dicts with ``name``, ``data`` (n, 2), ``model`` (a ConjugateMomentModel),
        ``gibbs`` (n, 2) noise samples and ``generated`` (n, 2) samples.
      lim: half-width of the square shown.
      grid: resolution of the level-set grid.
    """
    fig, axes = plt.subplots(len(panels), 4, figsize=(9, 2.3 * len(panels)), squeeze=False)
    xs = np.linspace(-lim, lim, grid)
    xx, yy = np.meshgrid(xs, xs)
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)
    for row, p in zip(axes, panels):
        _scatter(row[0], p["data"], "k", f"{p['name']}: samples of ρ", lim)
        w = np.asarray(p["model"].potential(pts)).reshape(grid, grid)
        row[1].contour(xx, yy, w - w.min(), levels=15, cmap="viridis", linewidths=0.8)
        row[1].set(aspect="equal", xticks=[], yticks=[])
        row[1].set_title("level sets of $w_\\theta$", fontsize=9)
        _scatter(row[2], p["gibbs"], "tab:green", "samples of $P_{w_\\theta}$", lim)
        _scatter(row[3], p["generated"], _COLORS["gibbs"], "generated $\\nabla w_\\theta^*(Y)$", lim)
    fig.tight_layout()
    return fig


def training_curves(histories: Mapping[str, Mapping[str, np.ndarray]], stride: int = 1,
                    keys: Sequence[str] = ("loss", "moment_error", "lambda_max", "residual")):
    """Training curves (one panel per history key, one line per label); ``stride`` = steps per
    stored value (checkpoints store block means)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(min(10.0, 2.5 * len(keys)), 2.6))
    for ax, key in zip(np.atleast_1d(axes), keys):
        for label, hist in histories.items():
            values = np.asarray(hist.get(key, []), dtype=float)
            if values.size and np.isfinite(values).any():
                ax.plot(np.arange(values.size) * stride, values, lw=0.8, label=label)
        ax.set(title=key, xlabel="step")
        if key in ("moment_error", "lambda_max", "residual"):
            ax.set_yscale("log")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def figure13(divergences: Mapping[str, Mapping[str, Sequence[float]]]):
    """Boxplots of Sinkhorn divergences per data set: ``{dataset: {"floor"|"gibbs"|"gaussian": values}}``."""
    names = list(divergences)
    fig, axes = plt.subplots(1, len(names), figsize=(min(10.0, 2.0 * len(names)), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        groups = [k for k in ("floor", "gibbs", "gaussian") if k in divergences[name]]
        box = ax.boxplot([divergences[name][k] for k in groups], patch_artist=True, widths=0.6)
        for patch, k in zip(box["boxes"], groups):
            patch.set_facecolor(_COLORS[k])
            patch.set_alpha(0.6)
        ax.set_xticks(range(1, len(groups) + 1), ["floor" if k == "floor" else
                                                  ("CMFGen" if k == "gibbs" else "baseline") for k in groups],
                      fontsize=8)
        ax.set_title(name, fontsize=9)
    axes[0][0].set_ylabel("Sinkhorn divergence")
    fig.tight_layout()
    return fig


def quality_vs_steps(rows: Sequence[Mapping[str, Any]]):
    """Divergence / floor against training steps, per data set, CMFGen vs baseline (mean ± seeds)."""
    names = sorted({r["dataset"] for r in rows}, key=[r["dataset"] for r in rows].index)
    fig, axes = plt.subplots(1, len(names), figsize=(min(10.0, 2.0 * len(names)), 2.6), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        for noise in ("gibbs", "gaussian"):
            sel = [r for r in rows if r["dataset"] == name and r["noise"] == noise]
            steps = sorted({r["steps"] for r in sel})
            ratios = [[r["divergence"] / r["floor"] for r in sel if r["steps"] == s] for s in steps]
            ax.errorbar(steps, [np.mean(v) for v in ratios], yerr=[np.std(v) for v in ratios],
                        marker="o", ms=3, color=_COLORS[noise], label=_LABELS[noise], capsize=2)
        ax.axhline(1.0, color="gray", lw=0.8, ls="--")
        ax.set(xscale="log", title=name, xlabel="steps")
    axes[0][0].set_ylabel("divergence / floor")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def step_scale_tradeoff(rows: Sequence[Mapping[str, Any]]):
    """Distance of the learned Hessian to Prop. 2 and generated quality against the ULA step scale."""
    scales = sorted({r["step_scale"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for steps, marker in zip(sorted({r["steps"] for r in rows}), "os^"):
        sel = [r for r in rows if r["steps"] == steps]
        err = [np.mean([r["err_prop2"] for r in sel if r["step_scale"] == s]) for s in scales]
        div = [np.mean([r["div_ratio"] for r in sel if r["step_scale"] == s]) for s in scales]
        axes[0].plot(scales, err, marker=marker, label=f"learned, {steps} steps")
        axes[1].plot(scales, div, marker=marker, label=f"{steps} steps")
    pred = [next(r["predicted_err"] for r in rows if r["step_scale"] == s) for s in scales]
    axes[0].plot(scales, pred, "k--", label="biased fixed point (theory)")
    axes[0].set(xscale="log", yscale="log", xlabel="step scale $s$ ($h = s/\\lambda_{max}$)",
                ylabel="$\\|H - \\Sigma^{-1/3}\\|_F / \\|\\Sigma^{-1/3}\\|_F$")
    axes[1].set(xscale="log", xlabel="step scale $s$", ylabel="divergence / floor")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def circles_diagnostics(radii: Mapping[str, np.ndarray], curvatures: Mapping[str, tuple[np.ndarray, np.ndarray]],
                        floors: Mapping[str, float], rings: Sequence[float]):
    """Where the circles' generated mass lies and why: the histogram of ``radii`` (label -> (n,)
    distances to the centre) and, per model, the radial curvature of :math:`w_\\theta` (label ->
    (r, curvature)) with its lower bound ``floors`` (label -> value); ``rings``: the data's radii."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    top = max(np.max(r) for r in radii.values())
    bins = np.linspace(0.0, top, 60)
    for label, r in radii.items():
        axes[0].hist(r, bins=bins, density=True, histtype="step", lw=1.2, color="k" if label == "data" else None,
                     label=label)
    for label, (r, curv) in curvatures.items():
        line, = axes[1].plot(r, curv, lw=1.2, label=label)
        axes[1].axhline(floors[label], color=line.get_color(), ls=":", lw=1)
    for ax in axes:
        for ring in rings:
            ax.axvline(ring, color="gray", lw=0.6, ls="--")
    axes[0].set(xlabel="distance to the centre", ylabel="density", title="radial distribution of the samples")
    axes[1].set(xlabel="distance to the centre", ylabel=r"$u^\top \nabla^2 w_\theta(ru)\, u$", yscale="log",
                title="radial curvature of $w_\\theta$ (dotted: its floor)")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def sharpness_levers(rows: Sequence[Mapping[str, Any]], regions: Mapping[str, str], data: Mapping[str, float]):
    """One horizontal bar per lever (``rows``: dicts with ``lever``, ``dataset`` and ``sharpness``)
    for each ``(dataset, region)`` of ``regions`` (``{"circles": "gap", ...}``), with the data's
    own fraction (``data``: dataset -> value) as a dashed line."""
    levers = list(dict.fromkeys(r["lever"] for r in rows))
    fig, axes = plt.subplots(1, len(regions), figsize=(10, 0.35 * len(levers) + 1.2), sharey=True, squeeze=False)
    for ax, (name, region) in zip(axes[0], regions.items()):
        values = [next((r["sharpness"][region] for r in rows if r["lever"] == lever and r["dataset"] == name), np.nan)
                  for lever in levers]
        ax.barh(np.arange(len(levers)), values, color="tab:blue")
        ax.axvline(data[name], color="k", ls="--", lw=1, label="data")
        ax.set(title=f"{name}: {region.replace('_', ' ')}", xlabel="fraction of generated mass")
        ax.legend(fontsize=7)
    axes[0][0].set_yticks(np.arange(len(levers)), levers)
    axes[0][0].invert_yaxis()
    fig.tight_layout()
    return fig


def sharpness_vs_steps(series: Mapping[str, Mapping[str, tuple[Sequence[int], Sequence[float]]]],
                       data: Mapping[str, float], styles: Mapping[str, Mapping[str, Any]] | None = None):
    """Sharpness against training steps: ``series`` maps a panel title to ``{label: (steps,
    fractions)}``; ``data`` maps the panel title to the data's own fraction (dashed); ``styles``
    maps a label to extra ``Axes.plot`` arguments (colour, marker). At most three panels a row."""
    ncols = min(3, len(series))
    nrows = -(-len(series) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(10.0, 3.0 * nrows), squeeze=False)
    for ax in axes.flat[len(series):]:
        ax.set_visible(False)
    for ax, (title, lines) in zip(axes.flat, series.items()):
        steps_shown = set()
        for label, (steps, values) in lines.items():
            ax.plot(steps, values, **{"marker": "o", "ms": 4, "lw": 1, **(styles or {}).get(label, {})}, label=label)
            steps_shown.update(steps)
        ax.axhline(data[title], color="k", ls="--", lw=1, label="data")
        ax.set(xscale="log", xlabel="training steps", ylabel="fraction of generated mass", title=title, ylim=(0, None))
        ax.set_xticks(sorted(steps_shown), [f"{s:,}" for s in sorted(steps_shown)], fontsize=7)
        ax.minorticks_off()
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def sample_grid(rows: Mapping[str, Mapping[str, np.ndarray]], colors: Mapping[str, str] | None = None,
                lim: float = 3.0):
    """Generated samples, one row per ``rows`` label and one column per data set:
    ``rows[label][name]`` is an (n, 2) array; ``colors`` maps a row label to its colour."""
    names = list(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), len(names), figsize=(2.0 * len(names), 2.1 * len(rows)), squeeze=False)
    for ax_row, (label, samples) in zip(axes, rows.items()):
        for ax, name in zip(ax_row, names):
            _scatter(ax, samples[name], (colors or {}).get(label, "k"), name, lim)
        ax_row[0].set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return fig

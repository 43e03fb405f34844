"""Figures of the performance chapter, drawn from the results of ``python -m cmmlib.bench``
(each function takes one benchmark's ``results`` dict of the JSON report). Pure functions
returning matplotlib figures, at most 9 inches wide."""
from __future__ import annotations

from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

_AXIS = {"batch": "batch size", "dim": "dimension d", "width": "ICNN width (4 layers)"}
_PARTS = {"lambda_max": ("power iteration for $\\lambda_{\\max}$ (HVPs)", "tab:purple"),
          "ula": ("ULA steps", "tab:green"), "conjugate_solve": ("conjugate solve", "tab:blue"),
          "rest": ("dual + amortiser updates", "tab:gray")}


def _plain(ax, axis: str = "y") -> None:
    """Plain numbers (1, 10, 100, 300) on a log axis, no labels on the minor ticks."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def _loglog(ax, x, y, **kw):
    ax.plot(x, y, marker="o", ms=4, **kw)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _plain(ax)


def scaling(results: Mapping[str, Any]):
    """Time per CMFGen step and per batched gradient of ``w`` (top, log scales), and XLA's peak
    memory of a step (bottom, from zero), against batch size, dimension and ICNN width
    (``scaling`` results); a dotted line of slope one through the first point of each step
    curve."""
    factors = [f for f in ("batch", "dim", "width") if f in results]
    fig, axes = plt.subplots(2, len(factors), figsize=(9, 5.4), squeeze=False, sharex="col")
    for j, factor in enumerate(factors):
        rows = results[factor]
        x = np.array([r[factor] for r in rows], float)
        step = np.array([r["step"]["median_s"] for r in rows]) * 1e3
        grad = np.array([r["gradient"]["median_s"] for r in rows]) * 1e3
        ax = axes[0, j]
        _loglog(ax, x, step, label="one training step", color="tab:blue")
        _loglog(ax, x, grad, label="one batched gradient of $w$", color="tab:orange")
        ax.plot(x, step[0] * x / x[0], ls=":", color="k", lw=1, label="linear growth")
        ax.set_ylim(grad.min() / 2, step.max() * 3)
        fixed = {k: rows[0][k] for k in ("dim", "batch", "width") if k != factor}
        ax.set_title(", ".join(f"{k} {v}" for k, v in fixed.items()), fontsize=9)
        ax.set_ylabel("milliseconds" if j == 0 else "")
        memory = np.array([np.nan if r.get("step_peak_bytes") is None else r["step_peak_bytes"] for r in rows]) / 2**20
        axes[1, j].plot(x, memory, marker="o", ms=4, color="tab:red")
        axes[1, j].set_ylim(0, np.nanmax(memory) * 1.15)
        axes[1, j].set_xlabel(_AXIS[factor])
        axes[1, j].set_ylabel("peak memory of a step (MiB)" if j == 0 else "")
        axes[1, j].set_xticks(x, [str(int(v)) for v in x], fontsize=8)
        for a in axes[:, j]:
            a.tick_params(axis="y", labelsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def against_ott(results: Mapping[str, Any]):
    """Seconds per training step of CMFGen and ott-jax's W2NeuralDual at each setting (left, log
    scale, ratio on top), and where CMFGen's step goes (right) (``cmfgen`` results)."""
    labels = list(results)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.0), gridspec_kw={"width_ratios": [1, 1.4]})
    pos = np.arange(len(labels))
    ours = [results[k]["cmfgen"]["median_s"] for k in labels]
    ott = [results[k]["w2neuraldual"]["median_s"] for k in labels]
    ax.bar(pos - 0.2, ours, 0.4, label="CMFGen", color="tab:blue")
    ax.bar(pos + 0.2, ott, 0.4, label="ott-jax W2NeuralDual", color="tab:orange")
    for p, a, b in zip(pos, ours, ott):
        ax.annotate(f"{b / a:.0f}x", (p + 0.2, b), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    _plain(ax)
    ax.set_xticks(pos, [f"d = {results[k]['dim']}\nbatch {results[k]['batch']}" for k in labels], fontsize=8)
    ax.set_ylabel("seconds per training step")
    ax.legend(fontsize=7, loc="upper left")
    ax.margins(y=0.25)
    left = np.zeros(len(labels))
    for part, (name, color) in _PARTS.items():
        share = np.array([results[k]["share"][f"{part}_fraction"] for k in labels])
        bx.barh(pos, share, left=left, color=color, label=name)
        left += share
    bx.set_yticks(pos, [f"d = {results[k]['dim']}" for k in labels], fontsize=8)
    bx.set_xlabel("share of CMFGen's step (parts timed alone)")
    bx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2)
    fig.tight_layout()
    return fig


def conjugate_iterations(results: Mapping[str, Any], methods: tuple[str, ...] = ("adam", "bb")):
    """Iterations to the tolerance from the cold start and from the amortiser, per problem and
    solver (``core`` results); log scale."""
    problems = list(results)
    fig, axes = plt.subplots(1, len(methods), figsize=(9, 3.0), squeeze=False, sharey=True)
    pos = np.arange(len(problems))
    for ax, method in zip(axes[0], methods):
        for shift, start, color in ((-0.2, "cold", "tab:gray"), (0.2, "amortised", "tab:blue")):
            its = [max(results[p]["solvers"][method][start]["iterations"], 1) for p in problems]
            ax.bar(pos + shift, its, 0.4, color=color, label=f"{start} start")
        ax.set_yscale("log")
        _plain(ax)
        ax.set_xticks(pos, [f"{p}\nd = {results[p]['dim']}" for p in problems], fontsize=7)
        ax.set_title({"adam": "Adam (the paper's solver)", "bb": "Barzilai-Borwein (the default)"}.get(method, method),
                     fontsize=9)
    axes[0, 0].set_ylabel("iterations to tolerance")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def inpainting(results: Mapping[str, Any], methods: tuple[str, ...] = ("exact", "hutchinson", "none")):
    """Seconds per image of a whole in-painting (chapter 6's step count) for each treatment of the
    log-det term, per dimension (``inpaint`` results); log scale."""
    cases = list(results)
    fig, ax = plt.subplots(figsize=(6, 2.8))
    width = 0.8 / len(methods)
    pos = np.arange(len(cases))
    colors = {"exact": "tab:red", "hutchinson": "tab:blue", "none": "tab:gray"}
    for i, m in enumerate(methods):
        values = [results[c][m]["per_image_chapter_s"] for c in cases]
        ax.bar(pos + (i - (len(methods) - 1) / 2) * width, values, width, label=m, color=colors.get(m))
    ax.set_yscale("log")
    _plain(ax)
    ax.set_xticks(pos, [f"d = {results[c]['dim']}" for c in cases])
    steps = results[cases[0]]["chapter_steps"]
    ax.set_ylabel(f"seconds per image\n({steps} ascent steps)")
    ax.legend(title="log-det term", fontsize=7, title_fontsize=8)
    fig.tight_layout()
    return fig


def steps_to_quality(results: Mapping[str, Any]):
    """Divergence / floor against training steps, per 2D set, CMFGen (solid) and baseline
    (dashed), with the quality thresholds (``quality`` results)."""
    sets = results["datasets"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, (name, r) in enumerate(sets.items()):
        color = f"C{i}"
        for noise, ls in (("gibbs", "-"), ("gaussian", "--")):
            rows = r[noise]
            ax.plot([row["steps"] for row in rows], [row["vs_floor_x"] for row in rows], ls=ls, marker="o", ms=3,
                    color=color, label=name if noise == "gibbs" else None)
    for threshold in results["thresholds_x"]:
        ax.axhline(threshold, color="k", lw=0.8, ls=":")
    ax.set(xscale="log", yscale="log", xlabel="training steps", ylabel="divergence / floor")
    _plain(ax, "x")
    _plain(ax, "y")
    values = [row["vs_floor_x"] for r in sets.values() for noise in ("gibbs", "gaussian") for row in r[noise]]
    low, high = min(values + list(results["thresholds_x"])) / 1.25, max(values) * 1.25
    ax.set_yticks([t for t in (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50) if low <= t <= high])
    ax.set_ylim(low, high)
    ax.set_xticks(results["budgets"], [str(b) for b in results["budgets"]])
    ax.set_title("solid: CMFGen, dashed: Gaussian-noise baseline; dotted: the quality thresholds", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig

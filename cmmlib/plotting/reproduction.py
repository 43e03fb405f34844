"""The reproduction report at a glance: how many of the paper's claims each chapter reproduces."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

#: one colour per status of :data:`cmmlib.results.STATUSES` (colour-blind safe, ordered)
STATUS_COLOURS = {"reproduced": "#1b9e77", "partly": "#e6ab02", "not reproduced": "#d95f02",
                  "not attempted": "#bdbdbd"}


def status_overview(statuses: Mapping[str, Sequence[str]]) -> plt.Figure:
    """Horizontal stacked bars: for each chapter (key, top to bottom), its claims by status."""
    chapters = list(statuses)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(chapters) + 1.2))
    left = np.zeros(len(chapters))
    for status, colour in STATUS_COLOURS.items():
        counts = np.array([list(statuses[c]).count(status) for c in chapters], float)
        ax.barh(chapters, counts, left=left, color=colour, label=status, edgecolor="white")
        for y, (x0, k) in enumerate(zip(left, counts)):
            if k:
                ax.text(x0 + k / 2, y, str(int(k)), ha="center", va="center", fontsize=9)
        left += counts
    ax.invert_yaxis()
    ax.set_xlabel("claims of the paper")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig

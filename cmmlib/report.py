"""Numbers as a reader reads them: rounded plain floats and small tables for the chapters.

``number(x)`` turns NumPy/JAX scalars into plain, rounded Python numbers (no ``np.float64(...)``
reprs, no float32 noise such as ``0.9449999928474426``); ``table(rows)`` shows a list of dicts
(or a dict of dicts) as a Markdown table in Jupyter and in the built book: numbers right-aligned,
text left-aligned.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np


def number(x: Any, digits: int = 3) -> Any:
    """``x`` as a plain Python number with ``digits`` significant digits (recursively for
    lists, tuples and dicts; arrays become lists). Non-numbers are returned unchanged."""
    if isinstance(x, Mapping):
        return {k: number(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(number(v, digits) for v in x)
    if hasattr(x, "shape") and getattr(x, "shape", ()) != ():
        return [number(v, digits) for v in np.asarray(x).tolist()]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    try:
        value = float(x)
    except (TypeError, ValueError):
        return x
    if abs(value) < 1e-15 or not math.isfinite(value):   # round-off of an exact 0
        return 0.0 if math.isfinite(value) else value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def text(x: Any, digits: int = 3) -> str:
    """``x`` formatted for a table cell: ``digits`` significant digits, scientific notation
    below 1e-3 or above 1e5."""
    x = number(x, digits)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    if x == 0:
        return "0"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.{digits - 1}e}"
    return f"{x:#.{digits}g}".rstrip(".")


class Table:
    """A Markdown table that Jupyter and the book render, with a plain-text fallback."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "",
                 numeric: Sequence[bool] | None = None):
        """``numeric[j]``: column ``j`` holds numbers (right-aligned); default: every column but
        the first."""
        self.header, self.rows, self.caption = list(header), [list(r) for r in rows], caption
        self.numeric = list(numeric) if numeric is not None else [False] + [True] * (len(self.header) - 1)

    def _repr_markdown_(self) -> str:
        cell = lambda c: str(c).replace("|", "\\|").replace("\n", " ")
        lines = [f"**{self.caption}**", ""] if self.caption else []
        lines.append("| " + " | ".join(map(cell, self.header)) + " |")
        lines.append("|" + "|".join("--:" if n else "---" for n in self.numeric) + "|")
        lines += ["| " + " | ".join(map(cell, r)) + " |" for r in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        widths = [max(len(str(c)) for c in col) for col in zip(self.header, *self.rows)]
        fmt = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))
        head = [self.caption] if self.caption else []
        return "\n".join(head + [fmt(self.header)] + [fmt(r) for r in self.rows])


def table(rows: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any] | Any],
          digits: int = 3, index: str = "", caption: str = "") -> Table:
    """A table from a list of dicts (one row each), a dict of dicts (keys become the first
    column, named ``index``) or a flat dict (two columns: ``index`` and ``value``)."""
    if isinstance(rows, Mapping):
        if all(isinstance(v, Mapping) for v in rows.values()):
            rows = [{index: k, **v} for k, v in rows.items()]
        else:
            rows = [{index: k, "value": v} for k, v in rows.items()]
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    body = [[text(row.get(k, ""), digits) for k in header] for row in rows]
    is_number = lambda v: isinstance(number(v), (int, float)) and not isinstance(v, (bool, np.bool_))
    numeric = [j > 0 and all(is_number(row[k]) for row in rows if k in row) for j, k in enumerate(header)]
    return Table(header, body, caption, numeric)

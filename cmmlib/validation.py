"""Input checks shared by the library: clear ``ValueError``s instead of silent NaNs.

Checks run only on concrete arrays: inside ``jax.jit`` the values are tracers and the checks
are skipped (shapes are still checked, since they are static).
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds values (not a tracer inside a transformation)."""
    return not isinstance(x, jax.core.Tracer)


def as_points(x: Any, name: str = "x", dim: int | None = None, min_points: int = 1) -> jax.Array:
    """Check a batch of points of shape ``(n, d)`` with finite values; return it as an array.

    Args:
      x: array-like of shape ``(n, d)``.
      name: the argument's name, for error messages.
      dim: the expected ``d``, or ``None`` for any.
      min_points: the smallest accepted ``n``.
    """
    arr = x if isinstance(x, jax.Array) else jax.numpy.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got shape {tuple(arr.shape)}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} must have dimension d={dim}, got shape {tuple(arr.shape)}")
    if arr.shape[0] < min_points:
        raise ValueError(f"{name} needs at least {min_points} point(s), got {arr.shape[0]}")
    check_finite(arr, name)
    return arr


def check_finite(x: Any, name: str = "x") -> None:
    """Raise when a concrete ``x`` contains NaN or infinite values."""
    if is_concrete(x):
        values = np.asarray(x)
        if values.size and not np.all(np.isfinite(values)):
            bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")


def check_positive(value: Any, name: str) -> None:
    """Raise when a concrete scalar is not strictly positive (or not finite)."""
    if value is not None and is_concrete(value):
        v = float(np.asarray(value))
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive finite number, got {v}")


def check_box(low: Any, high: Any, dim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Check a box ``[low, high]``: scalars or ``(d,)`` arrays, finite, ``low < high``.

    Returns ``(low, high)`` as ``(d,)`` float arrays (scalars broadcast to ``dim``, default 1).
    """
    if low is None or high is None:
        raise ValueError("the box needs both low and high (or an Energy that carries its box)")
    lo = np.atleast_1d(np.asarray(low, dtype=np.float64))
    hi = np.atleast_1d(np.asarray(high, dtype=np.float64))
    if lo.ndim != 1 or hi.ndim != 1:
        raise ValueError(f"low and high must be scalars or (d,) arrays, got shapes {lo.shape}, {hi.shape}")
    d = max(lo.size, hi.size, dim or 1)
    if lo.size == 0 or hi.size == 0 or lo.size not in (1, d) or hi.size not in (1, d):
        raise ValueError(f"the box is empty or its corners disagree in dimension: {lo.shape}, {hi.shape} (d={d})")
    lo, hi = np.broadcast_to(lo, (d,)).copy(), np.broadcast_to(hi, (d,)).copy()
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("low and high must be finite")
    if np.any(lo >= hi):
        raise ValueError(f"the box is empty: need low < high in every coordinate, got low={lo}, high={hi}")
    return lo, hi

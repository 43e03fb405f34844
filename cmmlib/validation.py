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

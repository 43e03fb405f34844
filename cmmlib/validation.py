"""Input checks shared by the library: clear ``ValueError``s instead of silent NaNs.

Checks run only on concrete arrays: inside ``jax.jit`` the values are tracers and the checks
are skipped (shapes are still checked, since they are static).
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
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
    return check_points(x if isinstance(x, jax.Array) else jax.numpy.asarray(x), name, dim, min_points)


def check_points(arr: Any, name: str = "x", dim: int | None = None, min_points: int = 1) -> Any:
    """Raise ``ValueError`` unless the array ``arr`` is ``(n, d)`` (``d = dim`` when given,
    ``n >= min_points``) and finite; returns it unchanged (a NumPy or JAX array)."""
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


def check_count(value: Any, name: str = "steps", minimum: int = 0) -> int:
    """An integer ``>= minimum`` (bools and fractional values are refused, not truncated)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_samples(data: Any, batch_size: int) -> np.ndarray:
    """Training samples ``(n, d)``: numeric, finite, no constant column, ``n >= batch_size``;
    returned as float32."""
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"data must have shape (n, d), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"data must be numeric, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"data contains {int(np.size(arr) - np.isfinite(arr).sum())} NaN or infinite value(s)")
    if arr.shape[0] < batch_size:
        raise ValueError(f"data has {arr.shape[0]} points, fewer than the batch size {batch_size}")
    spread = arr.max(axis=0) - arr.min(axis=0)
    if np.any(spread <= 0):
        raise ValueError(f"data column(s) {np.flatnonzero(spread <= 0).tolist()[:10]} are constant: "
                         "rho must be absolutely continuous (add a little noise, see cmmlib.datasets)")
    return arr.astype(np.float32)


def check_learner_settings(settings: Any) -> Any:
    """The options of a learner's settings (:mod:`cmmlib.config`) that a user may set: counts,
    positive rates, a stable Langevin step, a convex activation."""
    check_count(settings.steps, "steps")
    check_count(settings.batch_size, "batch_size", 2)
    check_count(settings.chunk, "chunk", 1)
    check_count(settings.checkpoint_every, "checkpoint_every", 1)
    for name in ("optimizer.learning_rate", "amortizer_optimizer.learning_rate", "langevin.step_scale",
                 "solver.learning_rate"):
        group, field = name.split(".")
        value = getattr(getattr(settings, group), field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not settings.langevin.step_scale < 2:
        raise ValueError(f"langevin.step_scale must be below 2 (ULA diverges beyond), got {settings.langevin.step_scale}")
    if getattr(settings, "icnn_init", "identity") not in ("identity", "identity_units"):
        raise ValueError(f"icnn_init must be 'identity' or 'identity_units', got {settings.icnn_init!r}")
    if hasattr(settings, "identity_fit_steps"):
        check_count(settings.identity_fit_steps, "identity_fit_steps", 1)
    for icnn in (getattr(settings, "icnn", None), getattr(settings, "icnn_1d", None)):
        if icnn is not None and icnn.activation == "softplus" and not icnn.beta > 0:
            raise ValueError(f"icnn.beta must be positive (a negative beta makes w non-convex), got {icnn.beta}")
    return settings


def check_energy(energy: Callable[[jax.Array], jax.Array], low: np.ndarray, high: np.ndarray, key: jax.Array,
                 n: int = 256) -> None:
    """Raise ``ValueError`` unless ``energy`` maps a point ``(d,)`` of the box ``[low, high]`` to a
    finite scalar (``n`` uniform probes) and reads no coordinate beyond ``d``."""
    if not callable(energy):
        raise ValueError(f"energy must be callable, got {type(energy).__name__}")
    d = low.size
    declared = getattr(energy, "dim", None)
    if declared is not None and declared != d:
        raise ValueError(f"the energy is {declared}-dimensional but the box is {d}-dimensional")
    probe = jax.random.uniform(key, (n, d), minval=low, maxval=high)
    try:  # a NumPy point raises where JAX would silently clamp an index beyond d
        energy(np.asarray(probe[0]))
    except IndexError as err:
        raise ValueError(f"the energy reads coordinates beyond d={d} (the box's dimension): {err}") from err
    except Exception:  # noqa: BLE001 - energies that need JAX arrays are probed below
        pass
    try:
        one = energy(probe[0])
    except Exception as err:  # noqa: BLE001 - any failure means the energy does not fit
        raise ValueError(f"the energy cannot be evaluated at a point of shape ({d},): {err}") from err
    if np.shape(one) != ():
        raise ValueError(f"the energy must return a scalar for one point of shape ({d},), got shape {np.shape(one)}")
    values = np.asarray(jax.jit(jax.vmap(energy))(probe))
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"the energy returned NaN or inf at {int(bad.sum())} of {n} points of the box, "
                         f"e.g. at x = {np.asarray(probe)[np.argmax(bad)]}")


def check_potential(w: Callable[[jax.Array], jax.Array], dim: int, name: str = "w") -> None:
    """Raise ``ValueError`` unless ``w`` maps a point of shape ``(dim,)`` to a scalar.

    Uses :func:`jax.eval_shape` (nothing is computed).
    """
    try:
        out = jax.eval_shape(w, jax.ShapeDtypeStruct((dim,), jnp.float32))
    except Exception as err:  # noqa: BLE001 -- flax and jax raise their own shape errors
        raise ValueError(f"{name} cannot be evaluated at points of dimension d={dim}: {err}") from err
    if getattr(out, "shape", None) != ():
        raise ValueError(f"{name} must map a point (d,) to a scalar, got output shape {out.shape}")

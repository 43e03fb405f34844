"""Two-dimensional toy data sets of chapter 4 (Figure 4 and Figure 13 of the paper).

``toy2d(name, n, key)`` draws ``n`` i.i.d. points of one of the laws below, as a ``(n, 2)``
``float32`` array. The paper's five sets are in :data:`PAPER_TOY2D`; a few classics of the
generative-modelling literature are added. Exact parameters of the paper's sets were not given:
those below are this book's choice.

Scale. Every set is *standardised* by one fixed affine map ``x -> (x - c) / s`` with a scalar
``s``: ``c`` is the law's mean and ``s`` is chosen so that ``E‖x - c‖² = 2`` (a total variance
of 2, as for ``N(0, I_2)``). ``c`` and ``s`` are properties of the law, estimated once on
200,000 points drawn with a fixed key (and cached), so they do not depend on ``n`` or ``key``.
Being isotropic, the map keeps each set's shape: the scaled-rotated S-curve stays anisotropic.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

PAPER_TOY2D = ("circles", "scurve", "checkerboard", "scaled_rotated_scurve", "diag_checkerboard")
CLASSIC_TOY2D = ("moons", "8gaussians", "swissroll", "pinwheel")
TOY2D_NAMES = PAPER_TOY2D + CLASSIC_TOY2D

_STANDARDISE_N = 200_000
_NOISE = 0.05  # isotropic Gaussian jitter of the curve-like sets (before standardisation)


def _rotation(angle: float) -> jnp.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return jnp.array([[c, -s], [s, c]], dtype=jnp.float32)


def _circles(key: jax.Array, n: int) -> jnp.ndarray:
    """Two concentric rings of radii 1 and 1/2, half of the mass on each, jittered."""
    k1, k2, k3 = jax.random.split(key, 3)
    theta = jax.random.uniform(k1, (n,), maxval=2 * jnp.pi)
    radius = jnp.where(jax.random.bernoulli(k2, 0.5, (n,)), 1.0, 0.5)
    ring = radius[:, None] * jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)
    return ring + _NOISE * jax.random.normal(k3, (n, 2))


def _scurve(key: jax.Array, n: int) -> jnp.ndarray:
    """The 2D S-curve ``t -> (sin t, sign(t)(cos t - 1))``, ``t ~ U(-3π/2, 3π/2)``, jittered."""
    k1, k2 = jax.random.split(key)
    t = 3 * jnp.pi * (jax.random.uniform(k1, (n,)) - 0.5)
    curve = jnp.stack([jnp.sin(t), jnp.sign(t) * (jnp.cos(t) - 1.0)], axis=1)
    return curve + _NOISE * jax.random.normal(k2, (n, 2))


def _scaled_rotated_scurve(key: jax.Array, n: int) -> jnp.ndarray:
    """The S-curve stretched by ``diag(2, 1/2)`` and rotated by 30 degrees."""
    stretched = _scurve(key, n) * jnp.array([2.0, 0.5])
    return stretched @ _rotation(math.pi / 6).T


def _checkerboard(key: jax.Array, n: int) -> jnp.ndarray:
    """Uniform on the 8 black cells of a 4×4 checkerboard on ``[-2, 2]²``."""
    k1, k2, k3 = jax.random.split(key, 3)
    x1 = jax.random.uniform(k1, (n,), minval=-2.0, maxval=2.0)
    x2 = jax.random.uniform(k2, (n,)) - 2.0 * jax.random.randint(k3, (n,), 0, 2)
    x2 = x2 + jnp.mod(jnp.floor(x1), 2.0)
    return jnp.stack([x1, x2], axis=1)


def _diag_checkerboard(key: jax.Array, n: int) -> jnp.ndarray:
    """The checkerboard rotated by 45 degrees (its cells become diamonds)."""
    return _checkerboard(key, n) @ _rotation(math.pi / 4).T


def _moons(key: jax.Array, n: int) -> jnp.ndarray:
    """Two interleaved half circles, half of the mass on each, jittered."""
    k1, k2, k3 = jax.random.split(key, 3)
    t = jnp.pi * jax.random.uniform(k1, (n,))
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    points = jnp.where(jax.random.bernoulli(k2, 0.5, (n,))[:, None], upper, lower)
    return points + _NOISE * jax.random.normal(k3, (n, 2))


def _eight_gaussians(key: jax.Array, n: int) -> jnp.ndarray:
    """Eight Gaussians of standard deviation 0.1 centred on the unit circle."""
    k1, k2 = jax.random.split(key)
    angle = jnp.pi / 4 * jax.random.randint(k1, (n,), 0, 8)
    centres = jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    return centres + 0.1 * jax.random.normal(k2, (n, 2))


def _swissroll(key: jax.Array, n: int) -> jnp.ndarray:
    """The 2D Swiss roll ``t -> t (cos t, sin t)``, ``t ~ U(3π/2, 9π/2)``, jittered."""
    k1, k2 = jax.random.split(key)
    t = 1.5 * jnp.pi * (1.0 + 2.0 * jax.random.uniform(k1, (n,)))
    roll = t[:, None] * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1) / (4.5 * jnp.pi)
    return roll + _NOISE * jax.random.normal(k2, (n, 2))


def _pinwheel(key: jax.Array, n: int) -> jnp.ndarray:
    """Five curved arms: Gaussian blobs sheared by a rotation growing with the radius."""
    k1, k2 = jax.random.split(key)
    arm = jax.random.randint(k1, (n,), 0, 5)
    blob = jax.random.normal(k2, (n, 2)) * jnp.array([0.3, 0.05]) + jnp.array([1.0, 0.0])
    angle = 2 * jnp.pi * arm / 5 + 0.25 * jnp.exp(blob[:, 0])
    c, s = jnp.cos(angle), jnp.sin(angle)
    return jnp.stack([c * blob[:, 0] - s * blob[:, 1], s * blob[:, 0] + c * blob[:, 1]], axis=1)


_SAMPLERS: dict[str, Callable[[jax.Array, int], jnp.ndarray]] = {
    "circles": _circles,
    "scurve": _scurve,
    "checkerboard": _checkerboard,
    "scaled_rotated_scurve": _scaled_rotated_scurve,
    "diag_checkerboard": _diag_checkerboard,
    "moons": _moons,
    "8gaussians": _eight_gaussians,
    "swissroll": _swissroll,
    "pinwheel": _pinwheel,
}


@functools.lru_cache(maxsize=None)
def standardisation(name: str) -> tuple[np.ndarray, float]:
    """The fixed ``(c, s)`` of set ``name``: mean ``c`` (2,) and scale ``s`` with ``E‖x-c‖²=2s²``."""
    raw = np.asarray(_SAMPLERS[_check_name(name)](jax.random.PRNGKey(0), _STANDARDISE_N))
    centre = raw.mean(axis=0)
    scale = float(np.sqrt(np.mean(np.sum((raw - centre) ** 2, axis=1)) / 2.0))
    return centre.astype(np.float32), scale


def _check_name(name: str) -> str:
    if name not in _SAMPLERS:
        raise ValueError(f"unknown 2D data set {name!r}: expected one of {TOY2D_NAMES}")
    return name


def toy2d(name: str, n: int, key: jax.Array) -> jnp.ndarray:
    """Draw ``n`` standardised points of the 2D toy set ``name``.

    Args:
      name: one of :data:`TOY2D_NAMES` (the paper's five are :data:`PAPER_TOY2D`).
      n: number of points, ``n >= 1``.
      key: a JAX PRNG key.

    Returns:
      ``(n, 2)`` float32 array, standardised by the law's fixed mean and scalar scale
      (``E x = 0``, ``E‖x‖² = 2``), see the module docstring.
    """
    _check_name(name)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    centre, scale = standardisation(name)
    raw = _SAMPLERS[name](key, int(n))
    return ((raw - centre) / scale).astype(jnp.float32)

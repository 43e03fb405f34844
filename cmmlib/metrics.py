"""Sample-based distances between point clouds: Sinkhorn divergence and Gaussian-fit W2.

Sinkhorn divergence (Genevay et al. 2018; Feydy et al. 2019), squared-Euclidean cost,

    S_ε(α, β) = OT_ε(α, β) - ½ OT_ε(α, α) - ½ OT_ε(β, β),

computed with ott-jax (``ott.tools.sinkhorn_divergence.sinkdiv``). It is ≥ 0, zero iff α = β,
and interpolates between W2² (ε → 0) and an MMD (ε → ∞).

ε rule (DESIGN §1, Figure 13). When ``epsilon`` is not given it is scaled to the data:

    ε = EPSILON_FRACTION · E‖x - x'‖²,   EPSILON_FRACTION = 0.05,

with ``E‖x - x'‖²`` the mean squared distance between the points of the *two* batches passed
(``= E‖x-Ex‖² + E‖x'-Ex'‖² + ‖Ex - Ex'‖²``, computed in O(n) from means and second moments).
For two standardised toy sets (``E‖x‖² = 2``) this gives ε ≈ 0.2.

Two independent batches of the same law have a small positive divergence (finite-sample bias):
:func:`sinkhorn_floor` measures it, the leftmost box of Figure 13.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from ott.tools.sinkhorn_divergence import sinkdiv

from cmmlib import gaussian
from cmmlib.validation import as_points

EPSILON_FRACTION = 0.05


def mean_squared_distance(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
    """``E‖x - y‖²`` over all pairs of the batches ``x`` (n, d) and ``y`` (m, d), in O(n + m)."""
    mx, my = x.mean(axis=0), y.mean(axis=0)
    var_x = jnp.mean(jnp.sum((x - mx) ** 2, axis=1))
    var_y = jnp.mean(jnp.sum((y - my) ** 2, axis=1))
    return var_x + var_y + jnp.sum((mx - my) ** 2)


def default_epsilon(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
    """The ε rule: ``EPSILON_FRACTION · E‖x - x'‖²`` on the two batches."""
    return EPSILON_FRACTION * mean_squared_distance(x, y)


@jax.jit
def _sinkdiv(x: jnp.ndarray, y: jnp.ndarray, epsilon: jnp.ndarray) -> jnp.ndarray:
    value, _ = sinkdiv(x, y, epsilon=epsilon, solve_kwargs={"max_iterations": 2000, "threshold": 1e-4})
    return value


def sinkhorn_divergence(x, y, epsilon: float | None = None) -> float:
    """Sinkhorn divergence ``S_ε(x, y)`` between two point clouds (squared-Euclidean cost).

    Args:
      x: ``(n, d)`` points (e.g. generated samples).
      y: ``(m, d)`` points (e.g. held-out target samples).
      epsilon: entropic regularisation; ``None`` uses the ε rule of the module docstring,
        ``EPSILON_FRACTION = 0.05`` of the mean squared distance between the two batches.

    Returns:
      The divergence, a Python float ``>= 0`` (up to solver tolerance).
    """
    x = as_points(x, "x")
    y = as_points(y, "y", dim=x.shape[1])
    eps = default_epsilon(x, y) if epsilon is None else jnp.asarray(epsilon, dtype=x.dtype)
    if not float(eps) > 0:
        raise ValueError(f"epsilon must be positive, got {float(eps)}")
    return float(_sinkdiv(x, y, eps))


def sinkhorn_floor(sampler: Callable[[jax.Array, int], jnp.ndarray], key: jax.Array, n: int = 2048,
                   n_pairs: int = 1) -> np.ndarray:
    """Target-vs-target floor: divergence between independent batches of the same law.

    Args:
      sampler: ``sampler(key, n) -> (n, d)`` draws from the target.
      key: PRNG key.
      n: batch size of each of the two batches (the paper: 2048).
      n_pairs: how many independent pairs to measure.

    Returns:
      ``(n_pairs,)`` array of divergences (ε rule as in :func:`sinkhorn_divergence`).
    """
    if n < 2 or n_pairs < 1:
        raise ValueError(f"need n >= 2 and n_pairs >= 1, got n={n}, n_pairs={n_pairs}")
    values = []
    for k in jax.random.split(key, n_pairs):
        ka, kb = jax.random.split(k)
        values.append(sinkhorn_divergence(sampler(ka, n), sampler(kb, n)))
    return np.asarray(values)


def gaussian_w2(x, y) -> float:
    """Squared W2 between Gaussian fits of two clouds (Bures–Wasserstein, Gelbrich bound).

        W2²(N(m0,S0), N(m1,S1)) = ‖m0 - m1‖² + tr S0 + tr S1 - 2 tr (S0^{1/2} S1 S0^{1/2})^{1/2},

    with ``(m, S)`` the empirical mean and covariance of ``x`` (n, d) and ``y`` (m, d).
    A lower bound on the W2² of the clouds' laws, blind to everything past second moments.
    """
    x = as_points(x, "x", min_points=2)
    y = as_points(y, "y", dim=x.shape[1], min_points=2)
    m0, m1 = x.mean(axis=0), y.mean(axis=0)
    s0, s1 = jnp.atleast_2d(jnp.cov(x.T)), jnp.atleast_2d(jnp.cov(y.T))
    r0 = gaussian.sqrtm(s0)
    cross = gaussian.sqrtm((r0 @ s1 @ r0 + (r0 @ s1 @ r0).T) / 2)
    value = jnp.sum((m0 - m1) ** 2) + jnp.trace(s0) + jnp.trace(s1) - 2 * jnp.trace(cross)
    return float(jnp.maximum(value, 0.0))

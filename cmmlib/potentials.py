r"""Known convex potentials whose Gibbs law can be sampled exactly: references for the samplers.

**Gaussian-mixture Gibbs potential.** For means :math:`m_k`, weights :math:`\pi_k` and a scale
:math:`s`,

.. math::

   w(x) = -\log \sum_k \pi_k \exp\!\Big(-\frac{\|x - m_k\|^2}{2 s^2}\Big),
   \qquad P_w = \sum_k \pi_k\, N(m_k, s^2 I), \qquad Z_w = (2\pi s^2)^{d/2}.

Its Hessian is :math:`\nabla^2 w(x) = s^{-2} I - s^{-4}\,\mathrm{Cov}_{k \mid x}(m_k)`, where the
covariance is over the posterior weights of the components at :math:`x`. That covariance is at
most :math:`r^2 I` when every mean lies within :math:`r` of their centroid, so :math:`w` is
:math:`(1 - r^2/s^2)/s^2`-strongly convex when :math:`r < s`: a non-quadratic conjugate moment
potential whose Gibbs factor is a mixture, hence exactly sampled, and whose generated law
:math:`\rho = \nabla w^*_\sharp P_w` is not Gaussian.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class MixturePotential(NamedTuple):
    """A Gaussian-mixture Gibbs potential (see the module docstring).

    Attributes:
      means: ``(k, d)`` component means :math:`m_k`.
      weights: ``(k,)`` component weights :math:`\\pi_k` (sum 1).
      scale: the common standard deviation :math:`s`.
    """

    means: jax.Array
    weights: jax.Array
    scale: float

    def potential(self, x: jax.Array) -> jax.Array:
        """:math:`w(x)` for ``x (..., d)``; returns ``(...)``."""
        sq = jnp.sum((x[..., None, :] - self.means) ** 2, axis=-1)
        return -jax.nn.logsumexp(-0.5 * sq / self.scale**2, b=self.weights, axis=-1)

    def sample_gibbs(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` exact samples of :math:`P_w`: ``(n, d)``."""
        k_comp, k_noise = jax.random.split(key)
        comp = jax.random.choice(k_comp, self.weights.shape[0], (n,), p=self.weights)
        return self.means[comp] + self.scale * jax.random.normal(k_noise, (n, self.means.shape[1]))

    @property
    def log_normaliser(self) -> float:
        r""":math:`\log Z_w = \tfrac d2 \log(2\pi s^2)`."""
        return 0.5 * self.means.shape[1] * float(np.log(2 * np.pi * self.scale**2))

    @property
    def strong_convexity(self) -> float:
        r"""The guaranteed lower bound :math:`(1 - r^2/s^2)/s^2` on the Hessian's eigenvalues."""
        means = np.asarray(self.means)
        r2 = float(np.max(np.sum((means - means.mean(0)) ** 2, -1)))
        return (1.0 - r2 / self.scale**2) / self.scale**2


def mixture_potential(means: Any, weights: Any = None, scale: float = 1.0) -> MixturePotential:
    """Build a :class:`MixturePotential`; raises ``ValueError`` unless it is strongly convex.

    Args:
      means: ``(k, d)`` means, all within ``scale`` of their centroid.
      weights: ``(k,)`` non-negative weights (normalised here); default uniform.
      scale: the common standard deviation :math:`s > 0`.
    """
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2 or means.shape[0] == 0:
        raise ValueError(f"means must have shape (k, d) with k >= 1, got {means.shape}")
    weights = np.ones(means.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != (means.shape[0],) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("weights must be (k,) non-negative with a positive sum")
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(weights))):
        raise ValueError("means and weights must be finite")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive, got {scale}")
    out = MixturePotential(
        jnp.asarray(means, jnp.float32), jnp.asarray(weights / weights.sum(), jnp.float32), float(scale)
    )
    if out.strong_convexity <= 0:
        raise ValueError("the means must lie within `scale` of their centroid for w to be convex")
    return out


__all__ = ["MixturePotential", "mixture_potential"]

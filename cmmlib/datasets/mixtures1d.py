r"""One-dimensional Gaussian mixtures: the laws :math:`\rho_1` and :math:`\rho_2` of the book.

A mixture :math:`\rho = \sum_k \pi_k \mathcal N(m_k, s_k^2)` has the closed-form density,
log-density, CDF and exact samples used as ground truth in chapters 2 and 5.

The paper's parameters were lost with its equations; the book chooses its own and keeps them
here: :data:`RHO_1` is four Gaussians sharply concentrated near 0, :data:`RHO_2` three
Gaussians with heavier tails.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm


@dataclasses.dataclass(frozen=True)
class Mixture1D:
    """A 1D Gaussian mixture with weights ``weights``, means ``means`` and std ``stds``."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def __post_init__(self) -> None:
        k = len(self.weights)
        if k == 0 or len(self.means) != k or len(self.stds) != k:
            raise ValueError("weights, means and stds must be non-empty and of equal length")
        if any(s <= 0 for s in self.stds) or any(w < 0 for w in self.weights):
            raise ValueError("stds must be positive and weights non-negative")
        if abs(sum(self.weights) - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {sum(self.weights)}")

    @property
    def mean(self) -> float:
        return float(sum(w * m for w, m in zip(self.weights, self.means)))

    @property
    def variance(self) -> float:
        second = sum(w * (s**2 + m**2) for w, m, s in zip(self.weights, self.means, self.stds))
        return float(second - self.mean**2)

    def log_prob(self, x: jax.Array) -> jax.Array:
        """:math:`\\log \\rho(x)`, elementwise, any shape."""
        x = jnp.asarray(x)[..., None]
        comp = norm.logpdf(x, jnp.asarray(self.means), jnp.asarray(self.stds))
        return logsumexp(comp + jnp.log(jnp.asarray(self.weights)), axis=-1)

    def pdf(self, x: jax.Array) -> jax.Array:
        return jnp.exp(self.log_prob(x))

    def cdf(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)[..., None]
        return jnp.sum(jnp.asarray(self.weights) * norm.cdf(x, jnp.asarray(self.means), jnp.asarray(self.stds)), -1)

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` exact samples, shape ``(n,)``."""
        k_comp, k_noise = jax.random.split(key)
        comp = jax.random.choice(k_comp, len(self.weights), (n,), p=jnp.asarray(self.weights))
        z = jax.random.normal(k_noise, (n,))
        return jnp.asarray(self.means)[comp] + jnp.asarray(self.stds)[comp] * z


RHO_1 = Mixture1D(
    weights=(0.2, 0.3, 0.3, 0.2),
    means=(-0.5, -0.15, 0.15, 0.5),
    stds=(0.08, 0.05, 0.05, 0.08),
)
"""Four Gaussians sharply concentrated near 0 (the book's choice for the paper's :math:`\\rho_1`)."""

RHO_2 = Mixture1D(
    weights=(0.3, 0.4, 0.3),
    means=(-4.0, 0.0, 3.5),
    stds=(1.5, 0.6, 1.2),
)
"""Three Gaussians with heavier tails (the book's choice for the paper's :math:`\\rho_2`)."""

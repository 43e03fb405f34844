"""Tests of cmmlib.potentials: the Gaussian-mixture Gibbs potential is convex and exact."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmmlib.monge_ampere as monge_ampere
from cmmlib import potentials

ANGLES = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
MEANS = 0.9 * np.stack([np.cos(ANGLES), np.sin(ANGLES)], 1)


def test_hessian_bound_and_gibbs_law(key):
    mix = potentials.mixture_potential(MEANS, weights=[0.5, 0.3, 0.2], scale=1.0)
    x = 3.0 * jax.random.normal(key, (2000, 2))
    eig = jnp.linalg.eigvalsh(jax.vmap(jax.hessian(mix.potential))(x))
    assert float(eig.min()) >= mix.strong_convexity - 1e-5
    assert float(eig.max()) <= 1.0 / mix.scale**2 + 1e-4  # float32 rounding far out
    # e^{-w} / Z_w is the mixture density: compare with a direct evaluation
    dens = jnp.exp(-mix.potential(x) - mix.log_normaliser)
    comps = jnp.exp(-0.5 * jnp.sum((x[:, None] - MEANS) ** 2, -1)) / (2 * np.pi)
    np.testing.assert_allclose(dens, comps @ jnp.array([0.5, 0.3, 0.2]), rtol=1e-4, atol=1e-8)
    y = mix.sample_gibbs(key, 20_000)
    np.testing.assert_allclose(y.mean(0), jnp.array([0.5, 0.3, 0.2]) @ MEANS, atol=0.03)


def test_eq9_density_is_normalised():
    mix = potentials.mixture_potential(MEANS, scale=1.0)
    grid = np.linspace(-7, 7, 141)
    pts = jnp.asarray(np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2), jnp.float32)
    dens = np.exp(np.asarray(monge_ampere.log_density(mix.potential, pts)) - mix.log_normaliser)
    assert dens.sum() * (grid[1] - grid[0]) ** 2 == pytest.approx(1.0, abs=1e-2)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="convex"):
        potentials.mixture_potential(3 * MEANS, scale=1.0)
    with pytest.raises(ValueError, match="shape"):
        potentials.mixture_potential(np.zeros(3))
    with pytest.raises(ValueError, match="weights"):
        potentials.mixture_potential(MEANS, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="scale"):
        potentials.mixture_potential(MEANS, scale=0.0)

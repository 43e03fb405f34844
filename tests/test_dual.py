"""Tests of cmmlib.dual: the surrogate's gradient is the Danskin gradient of the OT dual."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmmlib import conjugate, dual, icnn


def test_danskin_gradient_on_quadratic_family(key):
    """w_s(x) = s|x|^2/2 has w_s*(y) = |y|^2/(2s): compare with the closed-form dual gradient."""
    apply = lambda s, z: 0.5 * s * jnp.sum(z**2, -1)
    x = jax.random.normal(key, (100, 2))
    y = 2.0 * jax.random.normal(jax.random.PRNGKey(1), (80, 2))
    s = 1.7
    x_hat = y / s  # grad w_s*(y)
    grad = jax.grad(lambda p: dual.dual_loss(apply, p, x, x_hat))(s)
    exact = 0.5 * jnp.mean(jnp.sum(x**2, -1)) - 0.5 * jnp.mean(jnp.sum(y**2, -1)) / s**2
    assert float(grad) == pytest.approx(float(exact), rel=1e-5)


def test_dual_gradient_matches_full_objective_on_icnn(key):
    """With x_hat the exact maximiser, grad of the surrogate = grad of E w(x) + E w*(y)."""
    module = icnn.ICNN(features=(8, 8), output_init_scale=1.0)
    params = icnn.init_icnn(module, key, 2)
    x = jax.random.normal(key, (64, 2))
    y = jax.random.normal(jax.random.PRNGKey(1), (64, 2))

    def objective(p):  # the dual, differentiated through a solver run to convergence
        w = icnn.potential_fn(module, p)
        x_hat = conjugate.solve(w, y, iterations=150, learning_rate=0.1)
        return jnp.mean(module.apply(p, x)) + jnp.mean(conjugate.conjugate_value(w, y, x_hat))

    w = icnn.potential_fn(module, params)
    x_hat = conjugate.solve(w, y, iterations=150, learning_rate=0.1)
    surrogate = jax.grad(lambda p: dual.dual_loss(module.apply, p, x, x_hat))(params)
    full = jax.grad(objective)(params)
    flat_s, _ = jax.flatten_util.ravel_pytree(surrogate)
    flat_f, _ = jax.flatten_util.ravel_pytree(full)
    np.testing.assert_allclose(flat_s, flat_f, atol=1e-3 * float(jnp.abs(flat_f).max()))
    # no gradient flows into x_hat
    g = jax.grad(lambda xh: dual.dual_loss(module.apply, params, x, xh))(x_hat)
    assert float(jnp.abs(g).max()) == 0.0


def test_bad_shapes_raise():
    apply = lambda p, z: jnp.sum(z, -1)
    with pytest.raises(ValueError, match="x and x_hat"):
        dual.dual_loss(apply, None, jnp.ones((3, 2)), jnp.ones((3, 3)))

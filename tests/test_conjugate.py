"""Tests of cmmlib.conjugate: the solver's optimality conditions, exact quadratics, amortiser."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cmmlib import conjugate, icnn


def _icnn_potential(seed: int, dim: int, activation: str = "elu"):
    module = icnn.ICNN(features=(16, 16), activation=activation, beta=4.0, output_init_scale=1.0)
    return icnn.potential_fn(module, icnn.init_icnn(module, jax.random.PRNGKey(seed), dim))


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**16), activation=st.sampled_from(["elu", "softplus"]))
def test_solution_satisfies_optimality_and_fenchel_young(seed, activation):
    dim, n = 2, 256
    w = _icnn_potential(seed, dim, activation)
    y = 2.0 * jax.random.normal(jax.random.PRNGKey(seed + 1), (n, dim))
    x_hat, info = conjugate.solve(w, y, iterations=3000, tolerance=1e-4, return_info=True)
    residual = jnp.linalg.norm(jax.vmap(jax.grad(w))(x_hat) - y, axis=-1)
    print(f"seed {seed} {activation}: {int(info.iterations)} iterations, max residual {float(residual.max()):.2e}")
    assert float(residual.max()) < 1e-4 * 1.5
    np.testing.assert_allclose(info.grad_norm, residual, atol=1e-5)
    # Fenchel-Young: w*(y) = <x_hat, y> - w(x_hat) is the sup, so no other x does better
    w_star = conjugate.conjugate_value(w, y, x_hat)
    others = x_hat + 0.5 * jax.random.normal(jax.random.PRNGKey(seed + 2), (16, n, dim))
    lower = jnp.sum(others * y, -1) - jax.vmap(jax.vmap(w))(others)
    gap = float((lower - w_star).max())
    assert gap < 1e-5, gap


def test_gradient_of_conjugate_by_finite_differences(key):
    """grad w*(y) = x_hat: central differences of w* along random directions."""
    w = _icnn_potential(7, 2)
    y = jax.random.normal(key, (64, 2))
    v = jax.random.normal(jax.random.PRNGKey(1), (64, 2))
    t = 1e-2
    kw = dict(iterations=3000, tolerance=1e-5, learning_rate=0.03)
    yy = jnp.concatenate([y, y + t * v, y - t * v])
    x_all = conjugate.solve(w, yy, **kw)
    w_star = conjugate.conjugate_value(w, yy, x_all)
    fd = (w_star[64:128] - w_star[128:]) / (2 * t)
    np.testing.assert_allclose(fd, jnp.sum(x_all[:64] * v, -1), atol=2e-3)


def test_quadratic_conjugate_is_exact(key):
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    mu = jnp.array([0.5, -1.0])
    w = lambda x: 0.5 * (x - mu) @ a @ (x - mu)
    y = jax.random.normal(key, (128, 2))
    x_hat, info = conjugate.solve(w, y, iterations=2000, tolerance=1e-6, return_info=True)
    exact = y @ jnp.linalg.inv(a) + mu  # grad w*(y) = A^{-1} y + mu
    np.testing.assert_allclose(x_hat, exact, atol=1e-5)
    w_star = 0.5 * jnp.einsum("ni,ij,nj->n", y, jnp.linalg.inv(a), y) + y @ mu
    np.testing.assert_allclose(conjugate.conjugate_value(w, y, x_hat), w_star, atol=1e-5)
    x_lbfgs = conjugate.solve(w, y, iterations=50, tolerance=1e-6, method="lbfgs")
    np.testing.assert_allclose(x_lbfgs, exact, atol=1e-5)


def test_fixed_budget_and_tolerance_modes(key):
    w = _icnn_potential(3, 2)
    y = jax.random.normal(key, (64, 2))
    x_fixed, info_fixed = conjugate.solve(w, y, iterations=37, return_info=True)
    assert int(info_fixed.iterations) == 37
    x_tol, info_tol = conjugate.solve(w, y, iterations=5000, tolerance=1e-2, return_info=True)
    assert 0 < int(info_tol.iterations) < 5000
    assert float(info_tol.grad_norm.max()) < 1e-2
    path = conjugate.solve_path(w, y, iterations=37)
    assert path.shape == (38, 64, 2)
    np.testing.assert_allclose(path[0], y)
    np.testing.assert_allclose(path[-1], x_fixed, atol=1e-6)


def test_jit_with_traced_parameters(key):
    module = icnn.ICNN(features=(8, 8))
    params = icnn.init_icnn(module, key, 2)
    y = jax.random.normal(key, (32, 2))

    @jax.jit
    def run(p, y):
        return conjugate.solve(icnn.potential_fn(module, p), y, iterations=10, tolerance=1e-3, return_info=True)

    x_hat, info = run(params, y)
    assert x_hat.shape == (32, 2) and info.grad_norm.shape == (32,)


def test_trained_amortizer_saves_iterations(key):
    """A briefly trained amortiser starts the solver closer: fewer iterations to tolerance."""
    w = _icnn_potential(5, 2)
    amortizer = conjugate.Amortizer(features=(64, 64))
    params = amortizer.init(key, jnp.zeros((2,)))
    y_probe = jax.random.normal(jax.random.PRNGKey(1), (256, 2))
    np.testing.assert_allclose(amortizer.apply(params, y_probe), y_probe)  # identity at init
    sample = lambda k, n: 1.5 * jax.random.normal(k, (n, 2))
    params, losses = conjugate.train_amortizer(w, sample, jax.random.PRNGKey(2), amortizer, params,
                                               steps=300, learning_rate=3e-3)
    assert losses.shape == (300,)
    assert float(losses[-1]) < 0.1 * float(losses[0])
    kw = dict(iterations=3000, tolerance=1e-3, learning_rate=0.03, return_info=True)
    _, cold = conjugate.solve(w, y_probe, **kw)
    _, warm = conjugate.solve(w, y_probe, amortizer.apply(params, y_probe), **kw)
    print("iterations to 1e-3: cold", int(cold.iterations), "amortised", int(warm.iterations))
    assert int(warm.iterations) < int(cold.iterations)


def test_amortizer_loss_stops_gradient(key):
    amortizer = conjugate.Amortizer(features=(8,))
    params = amortizer.init(key, jnp.zeros((3,)))
    y = jax.random.normal(key, (10, 3))
    g = jax.grad(lambda xh: conjugate.amortizer_loss(amortizer, params, y, xh))(y + 1.0)
    assert float(jnp.abs(g).max()) == 0.0
    assert float(conjugate.amortizer_loss(amortizer, params, y, y + 1.0)) == pytest.approx(3.0)


@pytest.mark.parametrize(
    "y, kwargs, match",
    [
        (np.ones((5, 3)), {}, "dimension d=3"),
        (np.full((5, 2), np.nan), {}, "NaN"),
        (np.ones(2), {}, "shape"),
        (np.ones((0, 2)), {}, "at least"),
        (np.ones((5, 2)), dict(x_init=np.ones((4, 2))), "x_init"),
        (np.ones((5, 2)), dict(method="newton"), "method"),
        (np.ones((5, 2)), dict(learning_rate=0.0), "learning_rate"),
        (np.ones((5, 2)), dict(tolerance=-1.0), "tolerance"),
        (np.ones((5, 2)), dict(iterations=-3), "iterations"),
    ],
)
def test_bad_inputs_raise(y, kwargs, match):
    w = _icnn_potential(0, 2)
    with pytest.raises(ValueError, match=match):
        conjugate.solve(w, y, **kwargs)


def test_non_scalar_potential_raises():
    with pytest.raises(ValueError, match="scalar"):
        conjugate.solve(lambda x: x, np.ones((4, 2)))


def test_gradient_descent_method(key):
    """method='gd' with step 1/L converges linearly; a step above 2/L does not."""
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    w = lambda x: 0.5 * x @ a @ x
    y = jax.random.normal(key, (64, 2))
    lmax = float(jnp.linalg.eigvalsh(a).max())
    x_hat, info = conjugate.solve(w, y, iterations=500, tolerance=1e-6, method="gd",
                                  learning_rate=1.0 / lmax, return_info=True)
    np.testing.assert_allclose(x_hat, y @ jnp.linalg.inv(a), atol=1e-5)
    assert int(info.iterations) < 100
    _, bad = conjugate.solve(w, y, iterations=50, method="gd", learning_rate=2.5 / lmax, return_info=True)
    assert float(bad.grad_norm.max()) > 1.0


def test_traced_step_and_tolerance(key):
    """learning_rate and tolerance may be traced (e.g. a step 1/lambda_max computed in a jit)."""
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    w = lambda x: 0.5 * x @ a @ x
    y = jax.random.normal(key, (16, 2))
    run = jax.jit(lambda lr, tol: conjugate.solve(w, y, iterations=500, tolerance=tol, method="gd",
                                                  learning_rate=lr, return_info=True))
    x_hat, info = run(1.0 / 3.62, 1e-5)
    assert float(info.grad_norm.max()) < 1e-5
    x_adam = jax.jit(lambda lr: conjugate.solve(w, y, iterations=20, learning_rate=lr))(0.05)
    assert x_adam.shape == y.shape

"""Tests of cmmlib.langevin: lambda_max, MALA exactness, ULA's predicted bias, bad inputs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmmlib import langevin

A = np.array([[4.0, 1.5], [1.5, 1.0]])  # precision; condition number ~ 10
MU = np.array([1.0, -0.5])


def _quadratic(x):
    d = x - MU
    return 0.5 * d @ A @ d


def test_lambda_max_on_quadratic(key):
    y = jax.random.normal(key, (16, 2))
    top = np.linalg.eigvalsh(A).max()
    assert float(langevin.lambda_max(_quadratic, y, key)) == pytest.approx(top, rel=1e-4)
    # a non-quadratic potential: per-point values differ; the quantile is below the max
    w = lambda x: jnp.sum(jnp.cosh(x)) + 0.5 * x @ x
    y = 3.0 * jax.random.normal(key, (256, 2))
    per_point = langevin.lambda_max_per_point(w, y, key)
    exact = 1.0 + jnp.max(jnp.cosh(y), axis=-1)  # Hessian is diagonal: 1 + cosh(y_i)
    # a Rayleigh quotient: a lower bound, slow only when the top two eigenvalues nearly tie
    assert bool(jnp.all(per_point <= exact * (1 + 1e-5)))
    np.testing.assert_allclose(per_point, exact, rtol=1e-2)
    q = langevin.lambda_max(w, y, key, reduction="quantile", quantile=0.5)
    assert float(q) < float(langevin.lambda_max(w, y, key))


def test_mala_matches_gaussian(key):
    cov = np.linalg.inv(A)
    y0 = jax.random.normal(key, (4000, 2))
    y, acc = langevin.mala(_quadratic, jax.random.PRNGKey(1), y0, 400)
    emp_cov = np.cov(np.asarray(y).T)
    print("MALA acceptance", float(acc), "covariance\n", emp_cov, "\nexact\n", cov)
    assert 0.3 < float(acc) < 1.0
    np.testing.assert_allclose(np.asarray(y).mean(0), MU, atol=0.05)
    np.testing.assert_allclose(emp_cov, cov, rtol=0.1, atol=0.02)


def test_ula_matches_predicted_biased_covariance(key):
    y0 = jax.random.normal(key, (4000, 2))
    y, h = langevin.ula(_quadratic, jax.random.PRNGKey(1), y0, 400, return_step=True)
    h = float(h)
    top = np.linalg.eigvalsh(A).max()
    assert h == pytest.approx(1.0 / top, rel=1e-4)
    predicted = langevin.ula_stationary_covariance(A, h)
    exact = np.linalg.inv(A)
    emp_cov = np.cov(np.asarray(y).T)
    print("ULA covariance\n", emp_cov, "\npredicted\n", predicted, "\nexact\n", exact)
    np.testing.assert_allclose(emp_cov, predicted, rtol=0.1, atol=0.02)
    # the bias is real: along the stiffest direction the variance doubles
    v = np.linalg.eigh(A)[1][:, -1]
    assert v @ emp_cov @ v == pytest.approx(2.0 / top, rel=0.1)


def test_ula_stationary_covariance_formula():
    h = 0.1
    c = langevin.ula_stationary_covariance(A, h)
    m = np.eye(2) - h * A
    np.testing.assert_allclose(c, m @ c @ m + 2 * h * np.eye(2), atol=1e-12)
    np.testing.assert_allclose(langevin.ula_stationary_covariance(A, 1e-9), np.linalg.inv(A), rtol=1e-6)
    with pytest.raises(ValueError, match="diverges"):
        langevin.ula_stationary_covariance(A, 2.0)
    with pytest.raises(ValueError, match="positive definite"):
        langevin.ula_stationary_covariance(-A, 0.1)


def test_explicit_step_and_jit(key):
    y0 = jax.random.normal(key, (64, 2))
    run = jax.jit(lambda y: langevin.ula(_quadratic, key, y, 5, step_size=0.05))
    assert run(y0).shape == (64, 2)
    y, acc = jax.jit(lambda y: langevin.mala(_quadratic, key, y, 5))(y0)
    assert y.shape == (64, 2) and acc.shape == ()


@pytest.mark.parametrize("sampler", [langevin.ula, lambda *a, **k: langevin.mala(*a, **k)[0]])
@pytest.mark.parametrize(
    "y0, kwargs, match",
    [
        (np.ones((5, 3)), {}, "dimension d=3"),
        (np.full((5, 2), np.nan), {}, "NaN"),
        (np.ones((5, 2)), dict(step_size=0.0), "step_size"),
        (np.ones((5, 2)), dict(step_size=-0.1), "step_size"),
        (np.ones((5, 2)), dict(step_scale=-1.0), "step_scale"),
        (np.ones((5, 2)), dict(n_steps=-1), "n_steps"),
    ],
)
def test_bad_inputs_raise(key, sampler, y0, kwargs, match):
    kwargs = dict(kwargs)
    n_steps = kwargs.pop("n_steps", 3)
    with pytest.raises(ValueError, match=match):
        sampler(_quadratic, key, y0, n_steps, **kwargs)


def test_bad_reduction_raises(key):
    with pytest.raises(ValueError, match="reduction"):
        langevin.lambda_max(_quadratic, np.ones((3, 2)), key, reduction="mean")


def test_ula_path_shapes_and_validation(key):
    y0 = jax.random.normal(key, (32, 2))
    path, h = langevin.ula_path(_quadratic, key, y0, 20, save_every=5)
    assert path.shape == (5, 32, 2)
    np.testing.assert_allclose(path[0], y0)
    assert float(h) == pytest.approx(1.0 / np.linalg.eigvalsh(A).max(), rel=1e-4)
    with pytest.raises(ValueError, match="save_every"):
        langevin.ula_path(_quadratic, key, y0, 20, save_every=3)

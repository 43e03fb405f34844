"""Closed forms of cmmlib.gaussian against independent computations (SciPy, Gelbrich)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from cmmlib import gaussian as g

FIG1 = np.array([[2.0, 1.8], [1.8, 2.0]])


def _random_spd(seed: int, d: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 4), p=st.sampled_from([0.5, 1 / 3, -0.5, -1.0, 2.0]))
def test_matrix_power_matches_scipy(seed, d, p):
    cov = _random_spd(seed, d)
    expected = np.real(scipy.linalg.fractional_matrix_power(cov, p))
    np.testing.assert_allclose(g.matrix_power(cov, p), expected, rtol=2e-4, atol=2e-4 * np.abs(expected).max())


def test_named_powers():
    np.testing.assert_allclose(g.sqrtm(FIG1), scipy.linalg.sqrtm(FIG1), rtol=1e-5)
    c = np.asarray(g.cbrtm(FIG1))
    np.testing.assert_allclose(c @ c @ c, FIG1, rtol=1e-5)
    np.testing.assert_allclose(g.inv_sqrtm(FIG1) @ g.sqrtm(FIG1), np.eye(2), atol=1e-5)


def test_moment_gibbs_is_inverse_and_maps_back():
    m, cov_u = g.moment_gibbs(FIG1)
    np.testing.assert_allclose(m, 0.0)
    np.testing.assert_allclose(cov_u, np.linalg.inv(FIG1), rtol=1e-5)
    shift = jnp.array([1.0, -2.0])
    m2, _ = g.moment_gibbs(FIG1, shift)
    np.testing.assert_allclose(m2, shift)
    # grad u_m pushes N(m, Sigma^{-1}) to N(0, Sigma): A Sigma^{-1} A^T = Sigma with A = Sigma
    x = jax.random.multivariate_normal(jax.random.PRNGKey(0), shift, cov_u, (100_000,))
    y = g.moment_map(FIG1, shift)(x)
    np.testing.assert_allclose(jnp.mean(y, 0), 0.0, atol=0.03)
    np.testing.assert_allclose(jnp.cov(y.T), FIG1, atol=0.05)
    # the potential is the integral of the map: finite differences
    u = g.moment_potential(FIG1, shift)
    np.testing.assert_allclose(jax.grad(u)(jnp.array([0.3, 0.7])), g.moment_map(FIG1, shift)(jnp.array([0.3, 0.7])), rtol=1e-5)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 4))
def test_prop2_consistency(seed, d):
    cov = _random_spd(seed, d)
    mean = np.random.default_rng(seed + 1).standard_normal(d) * 3
    mu, cov_w = g.conjugate_gibbs(mean, cov)
    mu, cov_w = np.asarray(mu, np.float64), np.asarray(cov_w, np.float64)
    # mean: (Sigma^{1/3} + I) mu = m ; covariance: Sigma^{1/3} Sigma^{1/3} Sigma^{1/3} = Sigma
    np.testing.assert_allclose((cov_w + np.eye(d)) @ mu, mean, rtol=1e-4, atol=1e-4 * np.abs(mean).max())
    np.testing.assert_allclose(cov_w @ cov_w @ cov_w, cov, rtol=1e-3, atol=1e-4 * np.abs(cov).max())
    # grad w* pushes N(mu, cov_w) to N(m, Sigma): an affine map y -> A y + mu with A = Sigma^{1/3}
    t = g.conjugate_map(mean, cov)
    np.testing.assert_allclose(t(jnp.asarray(mu)), mu @ cov_w.T + mu, rtol=1e-4, atol=1e-5)
    # grad w and grad w* are inverse to each other
    x = jnp.asarray(np.random.default_rng(seed).standard_normal((5, d)))
    np.testing.assert_allclose(t(g.conjugate_gradient(mean, cov)(x)), x, rtol=1e-3, atol=1e-3)


def test_prop2_fixed_point_through_gelbrich():
    """grad w is the Gelbrich OT map from rho = N(m, Sigma) to P_w = N(mu, Sigma^{1/3})."""
    mean = np.array([1.0, -3.0])
    mu, cov_w = g.conjugate_gibbs(mean, FIG1)
    x = jnp.array([[0.2, 0.1], [-1.0, 2.0]])
    np.testing.assert_allclose(g.ot_map(mean, FIG1, mu, cov_w)(x), g.conjugate_gradient(mean, FIG1)(x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jax.grad(g.conjugate_potential(mean, FIG1))(x[0]), g.conjugate_gradient(mean, FIG1)(x[0]), rtol=1e-5)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 3))
def test_ot_map_against_gelbrich_formula_and_ott(seed, d):
    s0, s1 = _random_spd(seed, d), _random_spd(seed + 7, d)
    r = np.real(scipy.linalg.sqrtm(s0))
    ri = np.linalg.inv(r)
    expected = ri @ np.real(scipy.linalg.sqrtm(r @ s1 @ r)) @ ri
    a = np.asarray(g.ot_map_matrix(s0, s1), np.float64)
    np.testing.assert_allclose(a, expected, rtol=2e-3, atol=2e-4 * np.abs(expected).max())
    np.testing.assert_allclose(a @ s0 @ a.T, s1, rtol=5e-3, atol=1e-3 * np.abs(s1).max())
    # ott-jax's Gaussian transport agrees
    m0, m1 = np.zeros(d), np.ones(d)
    pts = jnp.asarray(np.random.default_rng(seed).standard_normal((4, d)))
    ott_out = g.to_ott(m0, s0).transport(g.to_ott(m1, s1), pts)
    np.testing.assert_allclose(g.ot_map(m0, s0, m1, s1)(pts), ott_out, rtol=5e-3, atol=5e-3)


def test_jit_compatible():
    mu, cov_w = jax.jit(g.conjugate_gibbs)(jnp.ones(2), jnp.asarray(FIG1))
    np.testing.assert_allclose(cov_w, g.cbrtm(FIG1), rtol=1e-5)


@pytest.mark.parametrize(
    "cov, match",
    [
        (np.array([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "positive"),
        (np.array([[1.0, 1.0], [1.0, 1.0]]), "positive definite"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), "NaN"),
        (np.ones((2, 3)), "square"),
        (np.ones(3), "square"),
    ],
)
def test_bad_covariances(cov, match):
    with pytest.raises(ValueError, match=match):
        g.conjugate_gibbs(np.zeros(cov.shape[0] if cov.ndim else 1), cov)


def test_bad_inputs_elsewhere():
    with pytest.raises(ValueError, match="positive definite"):
        g.moment_gibbs(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="positive definite"):
        g.matrix_power(np.diag([1.0, 0.0]), -0.5)
    g.matrix_power(np.diag([1.0, 0.0]), 0.5)  # singular PSD is fine for positive powers
    with pytest.raises(ValueError, match="positive semi-definite"):
        g.sqrtm(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        g.conjugate_gibbs(np.zeros(3), FIG1)
    with pytest.raises(ValueError, match="NaN"):
        g.conjugate_gibbs(np.array([np.nan, 0.0]), FIG1)
    with pytest.raises(ValueError, match="same shape"):
        g.ot_map_matrix(FIG1, np.eye(3))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        g.moment_gibbs(FIG1, np.zeros(1))


def test_radial_map_to_normal_pushes_a_radial_law_onto_the_standard_normal():
    rng = np.random.default_rng(0)
    d = 3
    # uniform law on the unit ball: radii R = U^(1/d)
    radii = rng.uniform(size=200_000) ** (1 / d)
    T = g.radial_map_to_normal(radii, d)
    direction = rng.normal(size=(50_000, d))
    x = direction / np.linalg.norm(direction, axis=1, keepdims=True) * (rng.uniform(size=(50_000, 1)) ** (1 / d))
    y = np.asarray(T(jnp.asarray(x)))
    np.testing.assert_allclose(y.mean(0), 0.0, atol=0.02)
    np.testing.assert_allclose(np.cov(y.T), np.eye(d), atol=0.03)
    np.testing.assert_allclose(np.mean(np.sum(y**2, 1) < 1.0), 0.1987, atol=0.01)  # chi2_3 CDF at 1
    cos = np.sum(x * y, 1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    assert np.min(cos) > 0.9999  # radial
    with pytest.raises(ValueError, match="radii"):
        g.radial_map_to_normal([-1.0, 2.0], 2)

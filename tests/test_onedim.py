"""1D CDFs, quantiles, Brenier maps and both fixed points (cmmlib.onedim)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cmmlib import onedim as od
from cmmlib.datasets.mixtures1d import RHO_2

N, B, K = 40_000, 4_000, 100


def _gaussian(m, s, n=N, seed=0):
    return m + s * np.random.default_rng(seed).standard_normal(n)


def test_cdf_and_quantile_on_grid_match_scipy():
    grid = jnp.linspace(-6, 6, 4001)
    cdf = od.cdf_on_grid(jnp.exp(-(grid**2) / 2))
    levels = jnp.array([0.01, 0.2, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(od.quantile(levels, cdf, grid), stats.norm.ppf(levels), atol=5e-3)
    np.testing.assert_allclose(cdf[-1], 1.0, atol=1e-6)


def test_empirical_cdf_and_quantile_are_inverse():
    xs = jnp.sort(jnp.asarray(_gaussian(1.0, 2.0, 1000)))
    q = jnp.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(od.empirical_cdf(od.empirical_quantile(q, xs), xs), q, atol=1e-4)  # float32 round-off


@settings(max_examples=10, deadline=None)
@given(m0=st.floats(-3, 3), s0=st.floats(0.2, 5), m1=st.floats(-3, 3), s1=st.floats(0.2, 5))
def test_brenier_map_between_gaussians_is_affine(m0, s0, m1, s1):
    z = np.sort(np.random.default_rng(0).standard_normal(20_000))
    x = jnp.linspace(m0 - s0, m0 + s0, 7)
    t = od.brenier_map(x, jnp.asarray(m0 + s0 * z), jnp.asarray(m1 + s1 * z))
    np.testing.assert_allclose(t, m1 + s1 / s0 * (x - m0), rtol=1e-4, atol=1e-4 * (1 + abs(m1) + s1))


@pytest.mark.parametrize("m, s", [(0.0, 0.1), (0.0, 0.5), (2.0, 0.5), (0.0, 2.0), (2.0, 2.0), (-1.0, 10.0)])
def test_conjugate_fixed_point_on_gaussians(m, s):
    r = od.conjugate_fixed_point(_gaussian(m, s), n_bins=B, n_iter=K)
    sd = s ** (1 / 3)
    assert abs(r.gibbs_mean - m / (1 + s ** (2 / 3))) < 0.05 * sd
    assert abs(r.gibbs_variance / s ** (2 / 3) - 1) < 0.05
    assert r.residual < 0.01 * s
    assert r.history.shape == (K,) and r.history[-1] < 1e-3 * sd
    # the potential is the Prop. 2 quadratic up to a constant, where P_w has mass
    inside = np.abs(r.grid - r.gibbs_mean) < 2 * sd
    expected = (r.grid - m / (1 + s ** (2 / 3))) ** 2 / (2 * s ** (2 / 3))
    diff = (r.potential - expected)[inside]
    assert np.ptp(diff) < 0.1


@pytest.mark.parametrize("s", [0.1, 1.0, 5.0])
def test_moment_fixed_point_on_gaussians(s):
    r = od.moment_fixed_point(_gaussian(0.3, s), n_bins=B, n_iter=K)
    assert abs(r.gibbs_variance * s**2 - 1) < 0.05
    assert abs(r.gibbs_mean) < 0.01 / s
    assert abs(r.shift - 0.3) < 0.05 * s
    y = np.asarray(r.sample(jax.random.PRNGKey(1), N))
    assert abs(y.mean() - 0.3) < 0.05 * s and abs(y.std() / s - 1) < 0.03


def test_plain_conjugate_iteration_diverges_for_wide_rho_and_default_converges():
    x = _gaussian(0.0, 2.0)
    plain = od.conjugate_fixed_point(x, n_bins=B, n_iter=K, relaxation=1.0)
    relaxed = od.conjugate_fixed_point(x, n_bins=B, n_iter=K)
    assert plain.history[-1] > 1.0 and relaxed.history[-1] < 1e-3


def test_uncentred_moment_iteration_drifts():
    x = _gaussian(0.3, 1.0)
    drift = od.moment_fixed_point(x, n_bins=B, n_iter=K, center=False)
    assert abs(drift.gibbs_mean) > 1.0


def test_pushforwards_match_a_mixture():
    x = np.asarray(RHO_2.sample(jax.random.PRNGKey(0), N))
    for fn in (od.conjugate_fixed_point, od.moment_fixed_point):
        r = fn(x, n_bins=B, n_iter=K)
        y = np.sort(np.asarray(r.sample(jax.random.PRNGKey(1), N)))
        w1 = np.mean(np.abs(y - np.sort(x)))
        assert w1 < 0.1, (r.kind, w1)
        assert np.all(np.diff(r.gradient) >= -1e-4)  # convex potential


@pytest.mark.parametrize("fn", [od.conjugate_fixed_point, od.moment_fixed_point])
@pytest.mark.parametrize(
    "samples, kwargs, match",
    [
        (np.array([0.0, np.nan, 1.0]), {}, "NaN"),
        (np.array([]), {}, "at least 2"),
        (np.ones(10), {}, "zero variance"),
        (np.zeros((5, 2)), {}, "shape"),
        (np.arange(10.0), {"n_bins": 1}, "n_bins"),
        (np.arange(10.0), {"n_iter": 0}, "n_iter"),
        (np.arange(10.0), {"grid": (1.0, 0.0)}, "grid"),
    ],
)
def test_bad_inputs(fn, samples, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(samples, **kwargs)


def test_bad_options():
    with pytest.raises(ValueError, match="tails"):
        od.conjugate_fixed_point(np.arange(10.0), tails="quadratic")
    with pytest.raises(ValueError, match="relaxation"):
        od.conjugate_fixed_point(np.arange(10.0), relaxation=1.5)



_count_jit = jax.jit(od._count_sorted, static_argnums=2)
_interp_sorted_jit = jax.jit(od._interp_sorted)
_interp_jit = jax.jit(od._interp)


@settings(max_examples=30, deadline=None)
@given(levels=st.integers(1, 60), block=st.sampled_from([2, 16]), seed=st.integers(0, 2**31 - 1))
def test_merge_count_and_interp_equal_binary_search(levels, block, seed):
    # few distinct values: ties within and between both arrays, queries outside xp's range
    rng = np.random.default_rng(seed)
    x = jnp.asarray(np.sort(rng.integers(-2, levels + 2, 257)), jnp.float32)
    xp = jnp.asarray(np.sort(rng.integers(0, levels, 100)), jnp.float32)
    fp = jnp.asarray(rng.standard_normal(100), jnp.float32)
    np.testing.assert_array_equal(_count_jit(x, xp, block), jnp.searchsorted(xp, x, side="right"))
    np.testing.assert_array_equal(_interp_sorted_jit(x, xp, fp), _interp_jit(x, xp, fp))

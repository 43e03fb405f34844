"""1D CDFs, quantiles, Brenier maps and both fixed points (cmmlib.onedim)."""
import contextlib
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cmmlib import metrics
from cmmlib import onedim as od
from cmmlib.datasets.mixtures1d import RHO_2, Mixture1D

N, B, K = 40_000, 4_000, 100
# an unexpected warning of the fixed points fails the test; expected ones are caught by pytest.warns
pytestmark = pytest.mark.filterwarnings("error::cmmlib.onedim.FixedPointWarning")
SKEWED = Mixture1D(weights=(0.75, 0.25), means=(-1.0, 2.5), stds=(0.4, 1.5))


@contextlib.contextmanager
def _warns(pattern):
    """Expect a FixedPointWarning matching ``pattern`` (others of the same call are allowed)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    messages = [str(w.message) for w in caught if issubclass(w.category, od.FixedPointWarning)]
    assert any(re.search(pattern, m) for m in messages), messages


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
    assert r.converged and r.issues == () and r.tolerance == pytest.approx(od.RESIDUAL_TOL * np.std(_gaussian(m, s)))
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
    with _warns(r"did not converge in n_iter=100 .*relaxation=1 is above the default"):
        plain = od.conjugate_fixed_point(x, n_bins=B, n_iter=K, relaxation=1.0)
    relaxed = od.conjugate_fixed_point(x, n_bins=B, n_iter=K)
    assert plain.history[-1] > 1.0 and relaxed.history[-1] < 1e-3
    assert not plain.converged and relaxed.converged


def test_uncentred_moment_iteration_drifts():
    x = _gaussian(0.3, 1.0)
    # P_u drifts by about -mean/sigma^2 per step until the end of the grid stops it
    with _warns(r"cut off by the grid|did not converge.*use center=True"):
        drift = od.moment_fixed_point(x, n_bins=B, n_iter=K, center=False)
    assert abs(drift.gibbs_mean) > 1.0 and drift.issues


def test_pushforwards_match_a_mixture():
    x = np.asarray(RHO_2.sample(jax.random.PRNGKey(0), N))
    for fn in (od.conjugate_fixed_point, od.moment_fixed_point):
        r = fn(x, n_bins=B, n_iter=K)
        w1 = metrics.w1_1d(r.sample(jax.random.PRNGKey(1), N), x)
        assert w1 < 0.1, (r.kind, w1)
        assert np.all(np.diff(r.gradient) >= 0)  # convex potential, by construction


@pytest.mark.parametrize("fn", [od.conjugate_fixed_point, od.moment_fixed_point])
def test_returned_potential_is_convex_on_the_whole_grid(fn):
    # the potential's own finite differences must be non-decreasing: with the potential integrated
    # in float32 they decreased by up to 0.004 here (0.14 at the paper's 400k samples, 100k bins),
    # float32 round-off of a cumulative sum of size max(w) divided by the cell width
    x = np.asarray(SKEWED.sample(jax.random.PRNGKey(0), N))
    r = fn(x, n_bins=B, n_iter=50)
    slope = np.diff(r.potential) / np.diff(r.grid)
    assert np.diff(slope).min() >= -1e-9 * np.ptp(r.gradient), np.diff(slope).min()
    assert np.all(np.diff(r.gradient) >= 0)
    np.testing.assert_allclose(slope, (r.gradient[1:] + r.gradient[:-1]) / 2, atol=1e-6 * np.ptp(r.gradient))


# --- inputs the grid cannot represent, and results that are not fixed points ----------------
@pytest.mark.parametrize("fn, scale", [(od.conjugate_fixed_point, 1e20), (od.moment_fixed_point, 1e20),
                                       (od.moment_fixed_point, 1e3)])
def test_data_too_wide_for_the_grid_is_an_error(fn, scale):
    # P_w spreads like std^(1/3), P_u like 1/std, while the grid must reach the data (~ std)
    with pytest.raises(ValueError, match=r"cannot resolve the (conjugate|moment) Gibbs factor.*below one cell.*n_bins >="):
        fn(scale * _gaussian(0.0, 1.0), n_bins=B, n_iter=5)


def test_data_too_narrow_or_too_far_for_the_conjugate_grid_is_an_error():
    with pytest.raises(ValueError, match=r"cannot resolve rho: its std 1e-20 is below one cell"):
        od.conjugate_fixed_point(1e-20 * _gaussian(0.0, 1.0), n_bins=B, n_iter=5)
    with pytest.raises(ValueError, match=r"cannot resolve rho"):  # the grid must hold 0 and 1e6
        od.conjugate_fixed_point(_gaussian(1e6, 1.0), n_bins=B, n_iter=5)


def test_coarse_grid_warns():
    with _warns(r"rho \(std 0.001\) spans only 2.5 cells"):
        od.conjugate_fixed_point(_gaussian(0.0, 1e-3), n_bins=B, n_iter=K)
    with _warns(r"Gibbs factor P_w \(std .*\) spans only .* cells"):
        od.conjugate_fixed_point(_gaussian(1000.0, 1.0), n_bins=B, n_iter=K)


def test_user_grid_must_hold_the_data():
    x = _gaussian(0.0, 1.0)
    with pytest.raises(ValueError, match=r"grid \[-1, 1\] does not contain the data range \[-4.\d*, 4.\d*\]"):
        od.conjugate_fixed_point(x, n_bins=B, n_iter=5, grid=(-1.0, 1.0))
    with pytest.raises(ValueError, match="does not contain the data range"):
        od.conjugate_fixed_point(x, n_bins=B, n_iter=5, grid=(10.0, 20.0))


@pytest.mark.parametrize("fn", [od.conjugate_fixed_point, od.moment_fixed_point])
def test_grid_on_the_data_range_warns_that_the_gibbs_factor_is_cut(fn):
    x = _gaussian(0.0, 0.1)  # P_w = N(0, 0.1^(2/3)) and P_u = N(0, 100) reach far beyond the data
    with _warns(r"Gibbs factor P_[wu] is cut off by the grid \[-0.4.*data range \[-0.4"):
        r = fn(x, n_bins=B, n_iter=K, grid=(x.min(), x.max()))
    assert any("cut off" in issue for issue in r.issues)


def test_wide_rho_non_convergence_warns_and_gaussian_start_fixes_it():
    # N(0, 1000^2): the default relaxation alpha = 1/(1 + 100) needs far more than 300 iterations
    # from w_0 = x^2/2 (before: P_w's variance 19% of Prop. 2's 100, silently). 400k samples: the
    # empirical law's own fixed point is 7% off Prop. 2 with 40k (its tails set P_w's variance)
    x = _gaussian(0.0, 1000.0, n=400_000)
    with _warns(r"did not converge in n_iter=300 iterations: residual "
                r"W1\(pushforward, rho\) = [\d.e+]+ against tolerance 10 \(tol=0.01"):
        r = od.conjugate_fixed_point(x, n_bins=20_000, n_iter=300)
    assert not r.converged and r.residual > r.tolerance and r.gibbs_variance < 50
    good = od.conjugate_fixed_point(x, n_bins=20_000, n_iter=300, init="gaussian")
    assert good.converged and good.residual < good.tolerance and abs(good.gibbs_variance / 100 - 1) < 0.05


def test_tolerance_is_the_users():
    x = _gaussian(0.0, 1.0)
    with _warns(r"tol=1e-08"):
        r = od.conjugate_fixed_point(x, n_bins=B, n_iter=K, tol=1e-8)
    assert not r.converged and r.tolerance == pytest.approx(1e-8 * np.std(x))


def test_non_finite_results_raise(monkeypatch):
    def broken(*args, **kwargs):
        dw, history, residual = real(*args, **kwargs)
        return dw.at[3].set(jnp.nan), history, residual

    real = od._conjugate_scan
    monkeypatch.setattr(od, "_conjugate_scan", broken)
    with pytest.raises(FloatingPointError, match="NaN or infinite values on grid"):
        od.conjugate_fixed_point(_gaussian(0.0, 1.0), n_bins=B, n_iter=5)


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
        (np.arange(10.0), {"tol": 0.0}, "tol"),
        (np.arange(10.0), {"tol": float("nan")}, "tol"),
        (np.arange(10.0), {"init": "zero"}, "init"),
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

"""Sinkhorn divergence with the ε rule, the target-vs-target floor, Gaussian-fit W2."""
import jax
import numpy as np
import pytest

from cmmlib import metrics


@pytest.fixture
def cloud(key):
    return jax.random.normal(key, (400, 2))


def test_divergence_of_a_set_with_itself_is_zero(cloud):
    assert abs(metrics.sinkhorn_divergence(cloud, cloud)) < 1e-4


def test_divergence_grows_with_the_shift(cloud, key):
    other = jax.random.normal(jax.random.PRNGKey(7), (400, 2))
    values = [metrics.sinkhorn_divergence(cloud, other + np.array([s, 0.0])) for s in (0.0, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_epsilon_rule(cloud):
    y = cloud + 1.0
    expected = metrics.EPSILON_FRACTION * np.mean(
        np.sum((np.asarray(cloud)[:, None] - np.asarray(y)[None]) ** 2, axis=-1))
    np.testing.assert_allclose(float(metrics.default_epsilon(cloud, y)), expected, rtol=1e-4)


def test_floor_is_positive_and_below_a_unit_shift(key):
    floor = metrics.sinkhorn_floor(lambda k, n: jax.random.normal(k, (n, 2)), key, n=300, n_pairs=2)
    shifted = metrics.sinkhorn_divergence(jax.random.normal(key, (300, 2)),
                                          jax.random.normal(jax.random.PRNGKey(3), (300, 2)) + 1.0)
    assert floor.shape == (2,) and np.all(floor > 0) and np.all(floor < shifted / 3)


def test_gaussian_w2_of_a_translate_is_the_squared_shift(cloud):
    np.testing.assert_allclose(metrics.gaussian_w2(cloud, cloud + np.array([3.0, 4.0])), 25.0, rtol=1e-4)


def test_bad_inputs(cloud):
    with pytest.raises(ValueError):
        metrics.sinkhorn_divergence(cloud, np.zeros((10, 3)))
    with pytest.raises(ValueError):
        metrics.sinkhorn_divergence(np.full((5, 2), np.nan), cloud)
    with pytest.raises(ValueError):
        metrics.sinkhorn_divergence(cloud, cloud, epsilon=-1.0)


# --- degenerate and bad inputs: errors and warnings that name the cause ------------------------
def test_identical_single_point_clouds_give_zero_without_epsilon():
    point = np.full((50, 2), 3.0)
    assert metrics.sinkhorn_divergence(point, point[:10]) == 0.0  # the same Dirac mass twice
    assert metrics.sinkhorn_divergence(point, point, epsilon_fraction=metrics.SHARP_EPSILON_FRACTION) == 0.0


def test_zero_spread_by_underflow_asks_for_epsilon():
    x = np.zeros((20, 2), np.float32)
    y = x.copy()
    y[0, 0] = 1e-30  # differs, but its squared distance underflows float32
    with pytest.raises(ValueError, match="no measurable spread.*pass epsilon explicitly"):
        metrics.sinkhorn_divergence(x, y)


@pytest.mark.parametrize("epsilon", [float("nan"), -1.0, 0.0, float("inf")])
def test_bad_explicit_epsilon_is_named(cloud, epsilon):
    with pytest.raises(ValueError, match=r"epsilon must be a positive finite number, got"):
        metrics.sinkhorn_divergence(cloud, cloud, epsilon=epsilon)


@pytest.mark.parametrize("fraction", [float("nan"), -0.1, 0.0])
def test_bad_epsilon_fraction_is_named(cloud, fraction):
    with pytest.raises(ValueError, match="epsilon_fraction must be a positive finite number"):
        metrics.sinkhorn_divergence(cloud, cloud, epsilon_fraction=fraction)
    with pytest.raises(ValueError, match="either epsilon or epsilon_fraction"):
        metrics.sinkhorn_divergence(cloud, cloud, epsilon=0.1, epsilon_fraction=0.01)


def test_dimension_mismatch_is_named(cloud):
    with pytest.raises(ValueError, match=r"same dimension d: x has shape \(400, 2\), y has shape \(10, 3\)"):
        metrics.sinkhorn_divergence(cloud, np.zeros((10, 3)))


def test_epsilon_fraction_scales_the_rule_and_sharpens(cloud):
    y = jax.random.normal(jax.random.PRNGKey(5), (400, 2)) * np.array([1.0, 0.3])
    eps = float(metrics.mean_squared_distance(cloud, y))
    sharp = metrics.sinkhorn_divergence(cloud, y, epsilon_fraction=metrics.SHARP_EPSILON_FRACTION)
    np.testing.assert_allclose(sharp, metrics.sinkhorn_divergence(cloud, y, epsilon=0.005 * eps), rtol=1e-5)
    coarse = metrics.sinkhorn_divergence(cloud, y)
    np.testing.assert_allclose(coarse, metrics.sinkhorn_divergence(cloud, y, epsilon=0.05 * eps), rtol=1e-5)
    assert sharp > coarse > 0  # a smaller epsilon blurs less: closer to W2^2, larger here
    assert metrics.EPSILON_FRACTION == 0.05 and metrics.SHARP_EPSILON_FRACTION == 0.005


def test_non_convergence_warns(cloud, monkeypatch):
    monkeypatch.setattr(metrics, "MAX_ITERATIONS", 10)
    with pytest.warns(RuntimeWarning, match=r"did not converge for xy.*max_iterations=10.*epsilon"):
        metrics.sinkhorn_divergence(cloud, cloud + 1.0, epsilon=1e-3)


# --- 1D W1 -------------------------------------------------------------------------------------
def test_w1_1d_against_closed_forms_and_scipy():
    from scipy import stats
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(3000), rng.standard_normal(1700) * 2 + 0.5
    np.testing.assert_allclose(metrics.w1_1d(a, b), stats.wasserstein_distance(a, b), rtol=1e-10)
    np.testing.assert_allclose(metrics.w1_1d(a, a + 0.7), 0.7, rtol=1e-12)  # translation
    np.testing.assert_allclose(metrics.w1_1d(a[:, None], a[::-1]), 0.0, atol=1e-15)  # order-free, (n, 1) accepted
    # a sample against a quantile function: N(0, 1) sample against N(0.5, 2^2)'s quantiles
    exact = stats.wasserstein_distance(a, stats.norm(0.5, 2).ppf((np.arange(10**6) + 0.5) / 10**6))
    np.testing.assert_allclose(metrics.w1_1d(a, stats.norm(0.5, 2).ppf), exact, rtol=2e-3)
    # two densities on a grid, as weights: W1 = h * sum |F_p - F_q|
    grid = np.linspace(-6, 6, 1201)
    p, q = np.exp(-grid**2 / 2), np.exp(-(grid - 1) ** 2 / 2)
    h = grid[1] - grid[0]
    by_cdf = h * np.sum(np.abs(np.cumsum(p / p.sum()) - np.cumsum(q / q.sum())))
    np.testing.assert_allclose(metrics.w1_1d(grid, grid, x_weights=p, y_weights=q), by_cdf, rtol=1e-10)
    np.testing.assert_allclose(by_cdf, 1.0, rtol=1e-5)  # a unit shift (tails cut at 6 stds)


def test_w1_1d_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        metrics.w1_1d(np.array([0.0, np.nan]), np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        metrics.w1_1d(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="one weight per point"):
        metrics.w1_1d(np.zeros(3), np.zeros(3), x_weights=np.ones(2))
    with pytest.raises(ValueError, match="non-negative"):
        metrics.w1_1d(np.zeros(3), np.zeros(3), y_weights=-np.ones(3))
    with pytest.raises(ValueError, match="quantile function"):
        metrics.w1_1d(np.zeros(3), lambda q: np.full(len(q), np.nan))

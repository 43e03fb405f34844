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

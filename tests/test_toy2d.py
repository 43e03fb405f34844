"""The 2D toy sets: shapes, standardisation, determinism, errors."""
import jax
import numpy as np
import pytest

from cmmlib.datasets import PAPER_TOY2D, TOY2D_NAMES, toy2d


def test_paper_sets_are_listed():
    assert set(PAPER_TOY2D) <= set(TOY2D_NAMES) and len(PAPER_TOY2D) == 5


@pytest.mark.parametrize("name", TOY2D_NAMES)
def test_shape_dtype_and_standardisation(name, key):
    x = np.asarray(toy2d(name, 20_000, key))
    assert x.shape == (20_000, 2) and x.dtype == np.float32 and np.all(np.isfinite(x))
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(np.mean(np.sum(x**2, axis=1)), 2.0, rtol=0.05)


def test_same_key_same_points_other_key_other_points(key):
    a, b = toy2d("circles", 100, key), toy2d("circles", 100, key)
    c = toy2d("circles", 100, jax.random.PRNGKey(1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_shapes_of_the_sets_differ(key):
    """The circles have a hole; the checkerboard leaves its white cells empty."""
    circles = np.asarray(toy2d("circles", 5000, key))
    assert np.mean(np.linalg.norm(circles, axis=1) < 0.3) < 0.01
    raw = np.asarray(toy2d("checkerboard", 5000, key))
    assert np.mean(np.abs(raw[:, 0]) + np.abs(raw[:, 1]) < 3) > 0.5


@pytest.mark.parametrize("name, n", [("nope", 10), ("circles", 0), ("circles", -3), ("circles", 2.5)])
def test_errors(name, n, key):
    with pytest.raises(ValueError):
        toy2d(name, n, key)

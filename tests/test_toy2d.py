"""The 2D toy sets: shapes, standardisation, determinism, errors."""
import jax
import numpy as np
import pytest

from cmmlib.datasets import PAPER_TOY2D, TOY2D_NAMES, toy2d
from cmmlib.datasets.toy import standardisation


def _raw(name, n, key):
    """Points of ``name`` mapped back to the sampler's own coordinates (undo the standardisation)."""
    centre, scale = standardisation(name)
    return np.asarray(toy2d(name, n, key), np.float64) * scale + centre


def _histogram(x, bins=12, lim=3.0):
    h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=[[-lim, lim], [-lim, lim]])
    return h / len(x)


def test_paper_sets_are_listed(key):
    # the paper's five sets (Figure 4 / Figure 13), in the paper's order, first in TOY2D_NAMES
    assert PAPER_TOY2D == ("circles", "scurve", "checkerboard", "scaled_rotated_scurve", "diag_checkerboard")
    assert TOY2D_NAMES[:5] == PAPER_TOY2D and len(set(TOY2D_NAMES)) == len(TOY2D_NAMES)
    # each draws its own shape: the histograms of any two sets differ by a large total variation
    # (two draws of the same set differ by about 0.02 at this size)
    hists = {name: _histogram(np.asarray(toy2d(name, 20_000, key))) for name in PAPER_TOY2D}
    same = 0.5 * np.abs(hists["circles"] - _histogram(np.asarray(toy2d("circles", 20_000, jax.random.PRNGKey(9))))).sum()
    assert same < 0.1
    for i, a in enumerate(PAPER_TOY2D):
        for b in PAPER_TOY2D[i + 1:]:
            tv = 0.5 * np.abs(hists[a] - hists[b]).sum()
            assert tv > 0.4, (a, b, tv)  # measured: 0.48 to 0.80


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


def _odd_cells(board):
    """Fraction of points in the white cells (odd ``floor(x1) + floor(x2)``), ignoring points within
    1e-4 of a cell border (float32 round-off of the standardisation)."""
    inside = np.all(np.abs(board - np.round(board)) > 1e-4, axis=1)
    parity = (np.floor(board[inside, 0]) + np.floor(board[inside, 1])) % 2
    return float(np.mean(parity == 1)), float(np.mean(inside))


def test_shapes_of_the_sets_differ(key):
    """The circles have a hole and a gap; the checkerboards leave their white cells empty."""
    n = 20_000
    # circles: rings of radii 1/2 and 1 with N(0, 0.05^2) jitter, half of the mass on each
    radius = np.linalg.norm(_raw("circles", n, key), axis=1)
    assert np.mean(radius < 0.3) < 1e-3  # the hole (4 jitter stds inside the inner ring)
    assert np.mean((radius > 0.65) & (radius < 0.85)) < 0.01  # the gap between the rings
    assert abs(np.mean(radius < 0.75) - 0.5) < 0.02  # half on each ring
    # checkerboard: uniform on the 8 black cells of [-2, 2]^2 (even floor(x1) + floor(x2))
    board = _raw("checkerboard", n, key)
    assert np.all(np.abs(board) <= 2 + 1e-4)
    odd, kept = _odd_cells(board)
    assert odd == 0.0 and kept > 0.99
    cells = np.floor(board).astype(int)
    counts = np.unique(cells[:, 0] * 10 + cells[:, 1], return_counts=True)[1]
    assert len(counts) == 8 and np.all(np.abs(counts / n - 1 / 8) < 0.02)  # every black cell is filled
    # diagonal checkerboard: the checkerboard rotated by 45 degrees; rotate back and check again
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    diag = _raw("diag_checkerboard", n, key) @ np.array([[c, -s], [s, c]])  # x R^T R = x
    assert np.all(np.abs(diag) <= 2 + 1e-3)
    odd, kept = _odd_cells(diag)
    assert odd < 1e-3 and kept > 0.99


@pytest.mark.parametrize("name, n", [("nope", 10), ("circles", 0), ("circles", -3), ("circles", 2.5)])
def test_errors(name, n, key):
    with pytest.raises(ValueError):
        toy2d(name, n, key)

"""The evaluation protocol: seeds shared with the CLI, divergences with their floors, sharpness."""
import jax
import numpy as np
import pytest

import cmmlib
from cmmlib import evaluation
from cmmlib.datasets import toy2d
from cmmlib.datasets.toy import standardisation


def _disc_like(name: str, n: int = 4000) -> np.ndarray:
    """A blurred version of the set: what a too-smooth generator produces (a filled blob)."""
    x = np.asarray(toy2d(name, n, jax.random.PRNGKey(5)))
    return x + 0.4 * np.random.default_rng(0).normal(size=x.shape)


@pytest.mark.parametrize("name", ["circles", "checkerboard", "diag_checkerboard", "scurve"])
def test_sharpness_tells_the_data_from_a_blurred_copy(name):
    data = np.asarray(toy2d(name, 4000, jax.random.PRNGKey(6)))
    sharp_data, sharp_blur = evaluation.sharpness(name, data), evaluation.sharpness(name, _disc_like(name))
    assert sharp_data["off_support"] < 0.02, sharp_data
    assert sharp_blur["off_support"] > 5 * max(sharp_data["off_support"], 0.005), (sharp_data, sharp_blur)
    for region in sharp_data.keys() - {"off_support"}:
        assert sharp_blur[region] > 3 * max(sharp_data[region], 0.005), (region, sharp_data, sharp_blur)


def test_named_regions_of_the_circles_and_the_checkerboard():
    centre, scale = standardisation("circles")
    ring = np.stack([np.cos(np.linspace(0, 6, 100)), np.sin(np.linspace(0, 6, 100))], 1)
    hole, gap = 0.1 * ring, 0.75 * ring
    to_std = lambda p: (p - centre) / scale  # noqa: E731
    assert evaluation.toy_regions("circles", to_std(hole)) == {"hole": 1.0, "gap": 0.0}
    assert evaluation.toy_regions("circles", to_std(gap)) == {"hole": 0.0, "gap": 1.0}
    centre, scale = standardisation("checkerboard")
    white, black, far = np.array([[0.5, 1.5]]), np.array([[0.5, 0.5]]), np.array([[3.0, 0.0]])
    regions = [evaluation.toy_regions("checkerboard", (p - centre) / scale) for p in (white, black, far)]
    assert regions == [{"empty_cells": 1.0, "outside": 0.0}, {"empty_cells": 0.0, "outside": 0.0},
                       {"empty_cells": 0.0, "outside": 1.0}]
    assert evaluation.toy_regions("moons", white) == {}


def test_divergences_match_their_floor_on_target_samples():
    n = 256
    floors = evaluation.floors("moons", n, 2)
    fresh = np.asarray(toy2d("moons", 2 * n, jax.random.PRNGKey(11)))
    blurred = _disc_like("moons", 2 * n)
    held = evaluation.toy_batches("moons", n, 2)
    good, bad = evaluation.divergences(fresh, held), evaluation.divergences(blurred, held)
    assert set(floors) == {"coarse", "sharp"}
    for eps in floors:
        assert good[eps] < 3 * floors[eps] and bad[eps] > 2 * good[eps] and bad[eps] > 1.4 * floors[eps], (eps, good, bad)
    with pytest.raises(ValueError, match="generated points"):
        evaluation.divergences(fresh[:n], held)


def test_seed_rule_is_shared():
    a = evaluation.toy_train_set("circles", 10)
    np.testing.assert_array_equal(a, toy2d("circles", 10, jax.random.PRNGKey(evaluation.TRAIN_SEED)))
    held = evaluation.toy_batches("scurve", 5, 2)
    assert not np.allclose(held[0], evaluation.toy_batches("scurve", 5, 2, "floor")[0])
    with pytest.raises(ValueError, match="unknown 2D data set"):
        evaluation.toy_train_set("nope", 3)


def test_curvature_floor_and_radial_curvature_on_known_potentials():
    """On the exact identity start, w = ½‖x‖²: the floor and every radial curvature are 1; with
    the quadratic zeroed, the floor is the strong convexity ε alone."""
    from cmmlib import icnn
    from cmmlib.model import Amortizer, ConjugateMomentModel

    module = icnn.ICNN(features=(8, 8), output_init_scale=0.0)
    params = icnn.init_icnn(module, jax.random.PRNGKey(0), 2)
    model = ConjugateMomentModel(module, params, Amortizer(features=(8,)), None, 2)
    assert evaluation.curvature_floor(model) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(evaluation.radial_curvature(model, np.linspace(0, 2, 5), angle=1.0), 1.0, atol=1e-5)
    zero = {"params": {**params["params"], "quadratic": np.zeros((2, 2), np.float32)}}
    flat = ConjugateMomentModel(module, zero, Amortizer(features=(8,)), None, 2)
    assert evaluation.curvature_floor(flat) == pytest.approx(module.strong_convexity, abs=1e-6)
    np.testing.assert_allclose(evaluation.radial_curvature(flat, np.array([0.5, 1.5])), module.strong_convexity,
                               atol=1e-5)


def test_hessian_eigenvalues_on_the_identity_start_and_on_a_trained_model():
    """On w = ½‖x‖² every eigenvalue is 1; on a trained model each spectrum sits above the
    curvature floor (convexity) and sums to the trace of the Hessian."""
    from cmmlib import icnn
    from cmmlib.model import Amortizer, ConjugateMomentModel

    module = icnn.ICNN(features=(8, 8), output_init_scale=0.0)
    start = ConjugateMomentModel(module, icnn.init_icnn(module, jax.random.PRNGKey(0), 3), Amortizer(features=(8,)),
                                 None, 3)
    points = jax.random.normal(jax.random.PRNGKey(1), (5, 3))
    np.testing.assert_allclose(evaluation.hessian_eigenvalues(start, points), 1.0, atol=1e-5)
    model = cmmlib.zoo.cmfgen("circles", "gibbs", 0)
    x = 2.0 * jax.random.normal(jax.random.PRNGKey(2), (16, 2))
    eig = evaluation.hessian_eigenvalues(model, x)
    assert eig.shape == (16, 2) and eig.dtype == np.float64 and np.all(np.diff(eig, axis=1) >= 0)
    assert eig.min() >= evaluation.curvature_floor(model) * (1 - 1e-4)
    np.testing.assert_allclose(eig.sum(axis=1).mean(), np.trace(np.asarray(evaluation.mean_hessian(model, x))),
                               rtol=1e-4)


def test_weighted_regions_are_masses():
    centre, scale = standardisation("circles")
    points = (np.array([[0.1, 0.0], [0.75, 0.0], [1.0, 0.0]]) - centre) / scale  # hole, gap, ring
    weights = np.array([0.2, 0.5, 0.3])
    assert evaluation.toy_regions("circles", points, weights) == pytest.approx({"hole": 0.2, "gap": 0.5})
    assert evaluation.toy_regions("circles", points, np.full(3, 1 / 3)) == pytest.approx(
        evaluation.toy_regions("circles", points))
    with pytest.raises(ValueError, match="weights"):
        evaluation.toy_regions("circles", points, np.ones(2))


@pytest.mark.parametrize("noise", ["gibbs", "gaussian"])
def test_density_sharpness_of_a_known_model_matches_its_samples(noise):
    """w = |x|^2/2 generates N(0, I) from either noise: the grid integral of its density must
    give the regions' masses that a large N(0, I) sample gives."""
    import jax.numpy as jnp

    from cmmlib.conjugate import Amortizer
    from cmmlib.icnn import ICNN, init_icnn
    from cmmlib.model import ConjugateMomentModel

    icnn = ICNN(features=(4,), output_init_scale=0.0)
    amortizer = Amortizer(features=(4,))
    model = ConjugateMomentModel(icnn, init_icnn(icnn, jax.random.PRNGKey(0), 2), amortizer,
                                 amortizer.init(jax.random.PRNGKey(1), jnp.zeros((2,))), 2, noise=noise)
    sample = np.random.default_rng(0).normal(size=(400_000, 2))
    for name in ("circles", "checkerboard"):
        got, want = evaluation.density_sharpness(model, name, grid_size=201), evaluation.sharpness(name, sample)
        assert got.keys() == want.keys()
        for region in want:
            assert got[region] == pytest.approx(want[region], abs=0.01), (name, region, got, want)

"""CMFMA: the Monge--Ampère residual, its invariances, input checks, and a short fit."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmmlib as cmm
from cmmlib import cmfma
from cmmlib.datasets.energies import ENERGY_NAMES, energy, gaussian_energy
from cmmlib.reference_sampling import box_rejection
from cmmlib.validation import check_box

MEAN = np.array([0.5, -0.5])
COV = np.array([[1.0, 0.6], [0.6, 0.8]])


def _power(cov, p):
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * vals**p) @ vecs.T


def _prop2_potential(mean, cov, scale=1.0):
    """Hand-written Prop. 2: w(x) = ½ (x-μ)ᵀ Σ^{-1/3} (x-μ), μ = (I + Σ^{1/3})^{-1} m."""
    a = jnp.asarray(scale * _power(cov, -1.0 / 3.0), jnp.float32)
    mu = jnp.asarray(np.linalg.solve(np.eye(len(mean)) + _power(cov, 1.0 / 3.0), mean), jnp.float32)
    return lambda x: 0.5 * (x - mu) @ a @ (x - mu)


def _box_points(e, key, n=512):
    return jax.random.uniform(key, (n, e.dim), minval=jnp.asarray(e.low), maxval=jnp.asarray(e.high))


def test_loss_vanishes_at_prop2_quadratic(key):
    e = gaussian_energy(MEAN, COV)
    x = _box_points(e, key)
    r = cmfma.residual(_prop2_potential(MEAN, COV), e, x)
    assert float(jnp.std(r)) < 1e-3 * (1.0 + float(jnp.abs(jnp.mean(r))))
    assert float(cmfma.loss(_prop2_potential(MEAN, COV), e, x, jnp.mean(r))) < 1e-6
    # a wrong curvature leaves a residual that no constant absorbs
    wrong = cmfma.residual(_prop2_potential(MEAN, COV, scale=1.1), e, x)
    assert float(jnp.std(wrong)) > 0.5


def test_residual_shifts_with_the_energy_constant(key):
    icnn = cmm.icnn.ICNN(features=(16, 16), output_init_scale=1.0)
    w = cmm.icnn.potential_fn(icnn, cmm.icnn.init_icnn(icnn, key, 2))
    e = energy("himmelblau")
    x = _box_points(e, jax.random.PRNGKey(1), 64)
    r = cmfma.residual(w, e, x)
    r_shifted = cmfma.residual(w, lambda z: e(z) + 7.0, x)
    np.testing.assert_allclose(r_shifted - r, 7.0, rtol=0, atol=1e-3)
    c = jnp.mean(r)
    np.testing.assert_allclose(cmfma.loss(w, lambda z: e(z) + 7.0, x, c + 7.0), cmfma.loss(w, e, x, c), rtol=1e-4)


def test_non_convex_potential_is_reported(key):
    x = jax.random.normal(key, (8, 2))
    with pytest.raises(ValueError, match="not positive definite"):
        cmfma.residual(lambda z: -0.5 * z @ z, energy("gaussian"), x)


@pytest.mark.parametrize(
    "bad_energy, low, high, match",
    [
        (lambda x: jnp.nan * x[0], -1.0, 1.0, "NaN"),
        (lambda x: jnp.where(x[0] > 0, jnp.inf, x[0] ** 2), -1.0, 1.0, "NaN or inf"),
        (lambda x: x**2, -1.0, 1.0, "scalar"),
        (lambda x: 0.5 * x @ x, 1.0, 1.0, "empty"),
        (lambda x: 0.5 * x @ x, 2.0, -1.0, "empty"),
        (lambda x: 0.5 * x @ x, np.zeros(0), np.zeros(0), "empty"),
        (lambda x: 0.5 * x @ x, None, 1.0, "low and high"),
    ],
)
def test_bad_inputs_are_rejected(key, bad_energy, low, high, match):
    with pytest.raises(ValueError, match=match):
        cmfma.fit(bad_energy, key, low=low, high=high, steps=1, progress=False)


def test_bad_options_are_rejected(key):
    e = energy("rho_1")
    with pytest.raises(ValueError, match="mu"):
        cmfma.fit(e, key, mu="data", steps=1, progress=False)
    with pytest.raises(ValueError, match="steps"):
        cmfma.fit(e, key, steps=2.5, progress=False)
    with pytest.raises(ValueError, match="learning_rate"):
        cmfma.fit(e, key, steps=1, learning_rate=-1.0, progress=False)
    with pytest.raises(ValueError, match="beta"):
        cmfma.fit(e, key, steps=1, icnn=cmm.config.ICNNSettings(features=(4,), activation="softplus", beta=-2.0),
                  progress=False)
    with pytest.raises(ValueError, match="2-dimensional but the box is 1-dimensional"):
        cmfma.fit(energy("rosenbrock"), key, low=-1.0, high=1.0, steps=1, progress=False)
    with pytest.raises(ValueError, match="beyond d=1"):  # JAX would clamp x[1] to x[0] silently
        cmfma.fit(lambda x: x[0] ** 2 + x[1] ** 2, key, low=-1.0, high=1.0, steps=1, progress=False)
    with pytest.raises(ValueError, match="temperature"):
        cmfma.fit(e, key, temperature=0.0, steps=1, progress=False)
    with pytest.raises(ValueError, match="unknown energy"):
        energy("banana-split")


def test_short_fit_moves_towards_prop2(key, tmp_path):
    mean, cov = np.array([0.5]), np.array([[0.36]])
    e = gaussian_energy(mean, cov)
    exact = jax.vmap(jax.grad(_prop2_potential(mean, cov)))
    x = e.exact_sampler(jax.random.PRNGKey(3), 2000)

    def map_error(gradient):
        return float(jnp.sqrt(jnp.mean((gradient - exact(x)) ** 2)))

    model = cmfma.fit(e, key, steps=200, progress=False, batch_size=128,
                      icnn=cmm.config.ICNNSettings(features=(16, 16), activation="softplus", beta=8.0))
    model.save(tmp_path / "ck")
    assert isinstance(model, cmm.model.ConjugateMomentModel)
    assert model.history["loss"].shape == (200,)
    assert model.history["loss"][-20:].mean() < 0.05 * model.history["loss"][:5].mean()
    assert map_error(model.gradient(x)) < 0.5 * map_error(x)  # at init, ∇w = identity
    loaded = cmm.load(tmp_path / "ck")
    np.testing.assert_allclose(loaded.potential(x[:5]), model.potential(x[:5]), rtol=1e-5, atol=1e-6)
    assert loaded.manifest["learner"] == "cmfma" and loaded.manifest["steps"] == 200
    assert loaded.manifest["status"] == "completed" and loaded.manifest["resumed_from"] is None


def test_energies_are_finite_scalars():
    for name in ENERGY_NAMES:
        e = energy(name)
        centre = 0.5 * (jnp.asarray(e.low) + jnp.asarray(e.high))
        value = e(centre)
        assert value.shape == () and bool(jnp.isfinite(value)), name


def test_box_rejection_matches_a_gaussian(key):
    e = gaussian_energy(MEAN, COV)
    x = np.asarray(box_rejection(e, key, 20_000, e.low, e.high, batch_size=5_000))
    np.testing.assert_allclose(x.mean(0), MEAN, atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), COV, atol=0.05)
    with pytest.raises(ValueError, match="empty"):
        box_rejection(e, key, 10, [0.0, 0.0], [1.0, -1.0])


def test_energy_cap_changes_little_mass(key):
    e = energy("rosenbrock")
    lo, hi = check_box(e.low, e.high)
    target, info = cmfma.capped_energy(e, lo, hi, key, 20.0)
    assert info["cap_mass"] < 1e-4 and info["energy_cap"] == 20.0
    x = _box_points(e, key, 256)
    values, capped = jax.vmap(e)(x), jax.vmap(target)(x)
    assert float(capped.max()) <= info["energy_min"] + 20.0 + 1e-3
    np.testing.assert_allclose(capped[values < info["energy_min"] + 19.0], values[values < info["energy_min"] + 19.0])
    assert cmfma.capped_energy(e, lo, hi, key, float("inf"))[0] is e


def test_model_samples_as_regression_points(key):
    """mu="model": the regression points are the model's own samples, which start at the
    identity potential's N(0, I) and must follow the model as it moves towards N(2, 0.25)."""
    e = gaussian_energy([2.0], [[0.25]])
    model = cmfma.fit(e, key, mu="model", steps=300, batch_size=64, progress=False,
                      icnn=cmm.config.ICNNSettings(features=(8,), activation="softplus", beta=4.0))
    assert model.manifest["config"]["mu"] == "model" and model.manifest["status"] == "completed"
    assert model.history["loss"][-20:].mean() < 0.2 * model.history["loss"][:5].mean()
    x = np.asarray(model.sample(jax.random.PRNGKey(5), 2000))[:, 0]
    assert abs(x.mean() - 2.0) < 0.5 * 2.0  # moved at least half-way from N(0, 1)

"""The model interface shared by CMFGen and CMFMA, and its checkpoints."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmmlib as cmm
from cmmlib import checkpoints
from cmmlib.conjugate import Amortizer
from cmmlib.icnn import ICNN, init_icnn
from cmmlib.model import ConjugateMomentModel, SamplingSettings

MEAN = np.array([1.0, -0.5])
COV = np.array([[2.0, 1.8], [1.8, 2.0]])


def gaussian_model(noise="gibbs", **sampling):
    """A model at the Prop. 2 solution of N(MEAN, COV): it generates that Gaussian exactly."""
    icnn = ICNN(features=(8, 8), strong_convexity=0.01, output_init_scale=0.0)
    params = init_icnn(icnn, jax.random.PRNGKey(0), 2, init="gaussian", mean=MEAN, cov=COV)
    amortizer = Amortizer(features=(16,))
    amortizer_params = amortizer.init(jax.random.PRNGKey(1), jnp.zeros((2,)))
    settings = SamplingSettings(**{"n_steps": 400, "step_scale": 0.1, **sampling})
    return ConjugateMomentModel(icnn, params, amortizer, amortizer_params, dim=2, noise=noise,
                                sampling=settings, history={"loss": np.arange(3.0)},
                                manifest={"seed": 0, "steps": 3})


def test_prop2_model_generates_the_gaussian():
    model = gaussian_model()
    x = np.asarray(model.sample(jax.random.PRNGKey(2), 4000))
    assert x.shape == (4000, 2)
    np.testing.assert_allclose(x.mean(0), MEAN, atol=0.12)
    np.testing.assert_allclose(np.cov(x.T), COV, atol=0.25)


def test_log_prob_is_the_gaussian_log_density_up_to_a_constant():
    model = gaussian_model()
    x = jax.random.normal(jax.random.PRNGKey(3), (50, 2)) + MEAN
    diff = x - MEAN
    exact = -0.5 * jnp.einsum("ni,ij,nj->n", diff, jnp.linalg.inv(COV), diff)
    got = model.log_prob(x)
    np.testing.assert_allclose(got - got[0], exact - exact[0], atol=2e-3)


def test_baseline_log_prob_is_the_density_of_its_gaussian_noise_pushed_forward():
    # w = (x - mu)^T A (x - mu) / 2 maps N(0, I) by grad w*(y) = A^-1 y + mu onto N(mu, A^-2)
    model = gaussian_model(noise="gaussian")
    mu, cov_w = cmm.gaussian.conjugate_gibbs(MEAN, COV)
    a = np.linalg.inv(np.asarray(cov_w))
    x = jax.random.normal(jax.random.PRNGKey(3), (50, 2)) + MEAN
    diff = np.asarray(x) - np.asarray(mu)
    exact = -0.5 * np.einsum("ni,ij,nj->n", diff, a @ a, diff)
    got = np.asarray(model.log_prob(x))
    np.testing.assert_allclose(got - got[0], exact - exact[0], atol=2e-3)
    gibbs = np.asarray(gaussian_model().log_prob(x))
    assert np.max(np.abs((gibbs - gibbs[0]) - (got - got[0]))) > 0.1  # another law


def test_log_density_terms_add_up_and_the_volume_term_is_constant_for_a_quadratic():
    model = gaussian_model()
    x = jax.random.normal(jax.random.PRNGKey(3), (50, 2)) + MEAN
    transport, volume = cmm.monge_ampere.log_density_terms(model.w, x)
    np.testing.assert_allclose(transport + volume, model.log_prob(x), rtol=1e-5, atol=1e-5)
    # the Prop. 2 potential is quadratic with Hessian COV^(-1/3): its log det is -log det(COV) / 3
    np.testing.assert_allclose(volume, -np.log(np.linalg.det(COV)) / 3, atol=2e-3)


def test_gradient_inverts_the_transport():
    model = gaussian_model()
    y = jax.random.normal(jax.random.PRNGKey(4), (64, 2))
    np.testing.assert_allclose(model.gradient(model.transport(y)), y, atol=1e-3)


def test_gaussian_noise_baseline_draws_standard_normals():
    y = np.asarray(gaussian_model(noise="gaussian").sample_gibbs(jax.random.PRNGKey(5), 20000))
    np.testing.assert_allclose(y.mean(0), 0.0, atol=0.03)
    np.testing.assert_allclose(np.cov(y.T), np.eye(2), atol=0.05)


def test_save_load_round_trip(tmp_path):
    model = gaussian_model()
    path = model.save(tmp_path / "model")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["icnn"]["class"] == "ICNN"
    loaded = cmm.load(path)
    x = jax.random.normal(jax.random.PRNGKey(6), (10, 2))
    np.testing.assert_allclose(loaded.potential(x), model.potential(x), rtol=1e-6)
    assert loaded.sampling == model.sampling and loaded.noise == "gibbs"
    assert loaded.amortizer == model.amortizer
    np.testing.assert_array_equal(loaded.history["loss"], model.history["loss"])
    assert loaded.manifest["steps"] == 3


def test_crash_during_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    checkpoints.write(path, {"a": np.ones(3)}, {"step": 1})
    real_rename = os.rename

    def crash(src, dst):
        if ".tmp-" in str(src):
            raise OSError("simulated crash")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(OSError, match="simulated crash"):
        checkpoints.write(path, {"a": np.zeros(3)}, {"step": 2})
    monkeypatch.undo()
    arrays, manifest = checkpoints.read(path)
    assert manifest["step"] == 1
    np.testing.assert_array_equal(arrays["a"], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary left behind


def test_bad_input_is_rejected(tmp_path):
    model = gaussian_model()
    with pytest.raises(ValueError, match="dimension"):
        model.potential(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="noise"):
        ConjugateMomentModel(model.icnn, model.params, model.amortizer, model.amortizer_params, 2, noise="uniform")
    with pytest.raises(FileNotFoundError):
        cmm.load(tmp_path / "missing")


def test_log_prob_rejects_a_non_convex_potential():
    from cmmlib import monge_ampere

    with pytest.raises(ValueError, match="positive definite"):
        monge_ampere.log_density(lambda x: -jnp.sum(x**2), jnp.ones((2, 2)))

"""CMFGen: shapes, bad data, NaN guard, exact resume, the CLI, and Prop. 2 on a Gaussian."""
import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmmlib
from cmmlib import cmfgen, config, train
from cmmlib.datasets import toy2d

# one tiny loop shared by the tests (the compiled chunk is cached across them)
TINY = dataclasses.replace(
    config.cmfgen("ci"), steps=20, batch_size=64, chunk=10, checkpoint_every=10, features=(16, 16),
    amortizer_features=(16, 16), sample_lmc_steps=20, sample_solver_iterations=50, n_train=512,
    learning_rate=3e-3, lr_decay=False,
)


@pytest.fixture(scope="module")
def data():
    return np.asarray(toy2d("moons", 512, jax.random.PRNGKey(0)))


def test_fit_returns_a_model_with_history_and_manifest(data, key):
    model = cmfgen.fit(data, key, settings=TINY, progress=False)
    assert isinstance(model, cmmlib.model.ConjugateMomentModel) and model.noise == "gibbs"
    assert all(model.history[k].shape == (20,) for k in cmfgen.HISTORY_KEYS)
    assert np.all(np.isfinite(model.history["loss"])) and np.all(model.history["lambda_max"] > 0)
    assert model.manifest["status"] == "completed" and model.manifest["steps"] == 20
    assert model.sample(key, 7).shape == (7, 2)
    baseline = cmfgen.fit(data, key, steps=10, noise="gaussian", settings=TINY, progress=False)
    assert baseline.noise == "gaussian" and np.all(np.isnan(baseline.history["lambda_max"]))


@pytest.mark.parametrize("bad", [
    np.zeros((100, 2, 1)),                                      # wrong shape
    np.full((100, 2), np.nan),                                  # NaN
    np.stack([np.linspace(0, 1, 100), np.ones(100)], axis=1),   # constant column
    np.random.default_rng(0).normal(size=(10, 2)),              # fewer points than the batch
])
def test_bad_data(bad, key):
    with pytest.raises(ValueError):
        cmfgen.fit(bad, key, settings=TINY, progress=False)


def test_bad_noise(data, key):
    with pytest.raises(ValueError, match="noise"):
        cmfgen.fit(data, key, noise="uniform", settings=TINY, progress=False)


def test_nan_guard_keeps_the_last_good_parameters(data, key):
    huge = data * 1e20  # finite data whose potential overflows: the first loss is infinite
    with pytest.warns(RuntimeWarning, match="non-finite or exploding"):
        model = cmfgen.fit(huge, key, settings=TINY, progress=False)
    assert model.manifest["status"].startswith("stopped")
    cfg = cmfgen.loop_config(TINY, "gibbs")
    init = jax.vmap(lambda k: cmfgen.init_state(cfg, k, 2))(jnp.asarray(key)[None])
    for a, b in zip(jax.tree.leaves(model.params), jax.tree.leaves(init["params"])):
        np.testing.assert_array_equal(a, b[0])


def test_resume_is_exact(data, key, tmp_path):
    full = cmfgen.fit(data, key, settings=TINY, progress=False)
    cmfgen.fit(data, key, steps=10, settings=TINY, checkpoint_dir=tmp_path, progress=False)
    resumed = cmfgen.fit(data, key, settings=TINY, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert resumed.manifest["steps"] == 20
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.history["loss"], resumed.history["loss"])
    with pytest.raises(ValueError, match="cannot resume"):
        cmfgen.fit(data, key, noise="gaussian", settings=TINY, checkpoint_dir=tmp_path, resume=True,
                   progress=False)


def test_cli_writes_a_loadable_checkpoint_with_manifest(tmp_path):
    train.main(["cmfgen", "--dataset", "moons", "--profile", "ci", "--steps", "20", "--out", str(tmp_path),
                "--eval-batches", "1", "--no-progress", "--set", "batch_size=64", "chunk=10",
                "features=(16, 16)", "amortizer_features=(16, 16)", "sample_lmc_steps=20",
                "sample_solver_iterations=50", "eval_size=128", "n_train=512", "learning_rate=3e-3",
                "lr_decay=False"])
    model = cmmlib.load(tmp_path / "moons-gibbs-s0")
    m = model.manifest
    assert m["steps"] == 20 and m["seed"] == 0 and "cmfgen" in m["command"] and m["hardware"]["devices"]
    assert m["metrics"]["sinkhorn_divergence"] > 0 and m["wall_time_s"] > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["rows"][0]["steps"] == 20


def test_gibbs_factor_moves_toward_prop2(key):
    """Cheap version of the chapter's check: on N(m, Σ) the learned Hessian approaches Σ^{-1/3}."""
    cov = np.array([[2.0, 1.8], [1.8, 2.0]])
    x = np.asarray(np.array([1.0, -0.5]) + jax.random.normal(key, (4096, 2)) @ np.linalg.cholesky(cov).T)
    vals, vecs = np.linalg.eigh(cov)
    target = (vecs * vals ** (-1 / 3)) @ vecs.T
    settings = dataclasses.replace(TINY, steps=300)
    model = cmfgen.fit(x, key, settings=settings, progress=False)
    err = np.linalg.norm(np.asarray(cmfgen.mean_hessian(model, x[:256])) - target) / np.linalg.norm(target)
    err_init = np.linalg.norm(np.eye(2) - target) / np.linalg.norm(target)
    assert err < 0.6 * err_init, (err, err_init)


def test_ula_fixed_point_precision_limits():
    cov = np.diag([8.0, 1.0])
    np.testing.assert_allclose(cmfgen.ula_fixed_point_precision(cov, 1e-6), np.diag([0.5, 1.0]), rtol=1e-5)
    with pytest.raises(ValueError):
        cmfgen.ula_fixed_point_precision(cov, 2.0)
    a = np.diag(cmfgen.ula_fixed_point_precision(cov, 1.0))
    np.testing.assert_allclose(cov.diagonal() * a**3 * (1 - a / (2 * a.max())), 1.0, rtol=1e-6)

"""CMFGen: shapes, bad data, the guard, exact resume, the CLI, and Prop. 2 on a Gaussian."""
import functools
import json

import jax
import numpy as np
import pytest

import cmmlib
from cmmlib import cmfgen, config, evaluation, gaussian, train
from cmmlib.datasets import toy2d

# one tiny loop shared by the tests (the compiled chunk is cached across them)
TINY_FIELDS = {
    "steps": 20, "batch_size": 64, "chunk": 10, "checkpoint_every": 10, "icnn.features": (16, 16),
    "amortizer_features": (16, 16), "sampling.n_steps": 20, "sampling.solver_iterations": 300,
    "sampling.solver_tolerance": 1e-3, "optimizer.learning_rate": 3e-3, "optimizer.decay": False,
}
TINY = config.override(config.cmfgen("ci"), TINY_FIELDS)


@pytest.fixture(scope="module")
def data():
    return np.asarray(toy2d("moons", 512, jax.random.PRNGKey(0)))


def test_fit_returns_a_model_with_history_and_manifest(data, key):
    model = cmfgen.fit(data, key, settings=TINY, progress=False)
    assert isinstance(model, cmmlib.model.ConjugateMomentModel) and model.noise == "gibbs"
    assert all(model.history[k].shape == (20,) for k in cmfgen.METRICS)
    assert np.all(np.isfinite(model.history["loss"])) and np.all(model.history["lambda_max"] > 0)
    assert model.manifest["status"] == "completed" and model.manifest["steps"] == 20
    assert model.manifest["resumed_from"] is None and model.manifest["hardware"]["devices"]
    assert model.sample(key, 7).shape == (7, 2)
    baseline = cmfgen.fit(data, key, steps=10, noise="gaussian", settings=TINY, progress=False)
    assert baseline.noise == "gaussian" and np.all(np.isnan(baseline.history["lambda_max"]))


def test_settings_follow_the_dimension():
    assert config.cmfgen("cpu", dim=2) is config.CMFGEN_2D["cpu"]
    images = config.cmfgen("cpu", dim=784)
    assert images is config.CMFGEN_IMAGES["cpu"] and images.icnn.features != config.CMFGEN_2D["cpu"].icnn.features


def test_generate_many_matches_one_model_at_a_time(data, key):
    result = cmfgen.train(np.stack([data, data[::-1]]), jax.random.split(key, 2), 10, settings=TINY, progress=False)
    together = result.generate(jax.random.PRNGKey(3), 16)
    models = result.models()
    for i, k in enumerate(jax.random.split(jax.random.PRNGKey(3), 2)):
        alone = models[i].generate(k, 16)
        np.testing.assert_allclose(together.noise[i], alone.noise, atol=1e-5)
        np.testing.assert_allclose(together.samples[i], alone.samples, atol=1e-4)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((100, 2, 1)), "one data set per key|shape"),
    (np.full((100, 2), np.nan), "NaN"),
    (np.stack([np.linspace(0, 1, 100), np.ones(100)], axis=1), "constant"),
    (np.random.default_rng(0).normal(size=(10, 2)), "fewer than the batch size"),
    (np.array([["a", "b"]] * 100), "numeric"),
])
def test_bad_data(bad, match, key):
    with pytest.raises(ValueError, match=match):
        cmfgen.fit(bad, key, settings=TINY, progress=False)


def test_bad_noise(data, key):
    with pytest.raises(ValueError, match="noise"):
        cmfgen.fit(data, key, noise="uniform", settings=TINY, progress=False)


def test_an_update_that_explodes_keeps_the_state_before_it(data, key):
    exploding = config.override(TINY, {"optimizer.learning_rate": 1e6})
    with pytest.warns(RuntimeWarning, match="non-finite or exploding"):
        model = cmfgen.fit(data, key, settings=exploding, progress=False)
    assert model.manifest["status"].startswith("stopped") and model.manifest["steps"] == 0
    assert len(model.history["loss"]) == 0
    start = cmfgen.fit(data, key, steps=0, settings=TINY, progress=False)
    for a, b in zip(jax.tree.leaves(model.params), jax.tree.leaves(start.params)):
        np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(model.sample(key, 5)))


def test_resume_is_exact_and_refuses_other_settings(data, key, tmp_path):
    full = cmfgen.fit(data, key, settings=TINY, progress=False)
    cmfgen.fit(data, key, steps=10, settings=TINY, checkpoint_dir=tmp_path, progress=False)
    resumed = cmfgen.fit(data, key, settings=TINY, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert resumed.manifest["steps"] == 20 and resumed.manifest["resumed_from"] == 10
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.history["loss"], resumed.history["loss"])
    with pytest.raises(ValueError, match="cannot resume.*noise"):
        cmfgen.fit(data, key, noise="gaussian", settings=TINY, checkpoint_dir=tmp_path, resume=True, progress=False)


def test_cli_trains_evaluates_and_samples(tmp_path):
    sets = [f"{k}={v!r}" for k, v in {**TINY_FIELDS, "steps": 10}.items()]
    train.main(["cmfgen", "--dataset", "circles", "--profile", "ci", "--out", str(tmp_path / "run"),
                "--eval-batches", "1", "--eval-size", "128", "--n-train", "512", "--no-progress", "--set", *sets])
    model = cmmlib.load(tmp_path / "run" / "circles-gibbs-s0")
    m = model.manifest
    assert m["steps"] == 10 and m["seed"] == 0 and "cmfgen" in m["command"] and m["hardware"]["devices"]
    assert m["metrics"]["divergence"]["coarse"] > 0 and {"hole", "gap", "off_support"} <= set(m["metrics"]["sharpness"])
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["rows"][0]["steps"] == 10
    train.main(["sample", str(tmp_path / "run" / "circles-gibbs-s0"), "-n", "9", "--out", str(tmp_path / "s.npz"),
                "--log-prob"])
    out = np.load(tmp_path / "s.npz")
    assert out["samples"].shape == (9, 2) and out["log_prob"].shape == (9,) and np.all(np.isfinite(out["log_prob"]))


def test_cli_rerun_past_an_evaluation_step_keeps_what_it_measured_there(tmp_path):
    sets = [f"{k}={v!r}" for k, v in {**TINY_FIELDS, "steps": 10}.items()]
    argv = ["cmfgen", "--dataset", "circles", "--profile", "ci", "--out", str(tmp_path / "run"), "--eval-at", "5",
            "--eval-batches", "1", "--eval-size", "128", "--n-train", "512", "--no-progress", "--set", *sets]
    train.main(argv)
    first = json.loads((tmp_path / "run" / "metrics.json").read_text())["rows"]
    train.main(argv)  # the checkpoint is at step 10, past the evaluation at step 5
    again = json.loads((tmp_path / "run" / "metrics.json").read_text())["rows"]
    assert [r["steps"] for r in first] == [r["steps"] for r in again] == [5, 10]
    assert again[0] == first[0]


def test_cli_measures_a_model_that_stopped_early_once(tmp_path, monkeypatch):
    # a guard that trips at once: the model stops at step 0 and stays there at every later milestone
    monkeypatch.setattr(cmfgen, "train", functools.partial(cmfgen.train, max_abs_loss=1e-12))
    sets = [f"{k}={v!r}" for k, v in {**TINY_FIELDS, "steps": 10}.items()]
    with pytest.warns(RuntimeWarning, match="stopped at step 0"):
        train.main(["cmfgen", "--dataset", "circles", "--profile", "ci", "--out", str(tmp_path / "run"),
                    "--eval-at", "3", "6", "--eval-batches", "1", "--eval-size", "128", "--n-train", "512",
                    "--no-progress", "--set", *sets])
    rows = json.loads((tmp_path / "run" / "metrics.json").read_text())["rows"]
    assert [(r["steps"], r["status"].split()[0]) for r in rows] == [(0, "stopped")]
    model = cmmlib.load(tmp_path / "run" / "circles-gibbs-s0")  # the final model is still saved
    assert model.manifest["steps"] == 0 and model.manifest["metrics"]["divergence"] == rows[0]["divergence"]


def test_cli_trains_on_a_users_file(tmp_path, data):
    np.savetxt(tmp_path / "mine.csv", data, delimiter=",")
    sets = [f"{k}={v!r}" for k, v in {**TINY_FIELDS, "steps": 10}.items()]
    train.main(["cmfgen", "--data", str(tmp_path / "mine.csv"), "--profile", "ci", "--out", str(tmp_path / "run"),
                "--eval-batches", "1", "--eval-size", "64", "--no-progress", "--set", *sets])
    model = cmmlib.load(tmp_path / "run" / "mine-gibbs-s0")
    assert model.manifest["steps"] == 10 and model.dim == 2


def test_gibbs_factor_moves_toward_prop2(key):
    """Cheap version of the chapter's check: on N(m, Σ) the learned Hessian approaches Σ^{-1/3}."""
    cov = np.array([[2.0, 1.8], [1.8, 2.0]])
    x = np.asarray(np.array([1.0, -0.5]) + jax.random.normal(key, (4096, 2)) @ np.linalg.cholesky(cov).T)
    vals, vecs = np.linalg.eigh(cov)
    target = (vecs * vals ** (-1 / 3)) @ vecs.T
    model = cmfgen.fit(x, key, steps=300, settings=TINY, progress=False)
    err = np.linalg.norm(np.asarray(evaluation.mean_hessian(model, x[:256])) - target) / np.linalg.norm(target)
    err_init = np.linalg.norm(np.eye(2) - target) / np.linalg.norm(target)
    assert err < 0.6 * err_init, (err, err_init)


def test_ula_fixed_point_precision_limits():
    cov = np.diag([8.0, 1.0])
    np.testing.assert_allclose(gaussian.ula_fixed_point_precision(cov, 1e-6), np.diag([0.5, 1.0]), rtol=1e-5)
    with pytest.raises(ValueError):
        gaussian.ula_fixed_point_precision(cov, 2.0)
    a = np.diag(gaussian.ula_fixed_point_precision(cov, 1.0))
    np.testing.assert_allclose(cov.diagonal() * a**3 * (1 - a / (2 * a.max())), 1.0, rtol=1e-6)

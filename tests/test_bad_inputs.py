"""Bad inputs, one class per test: each must give a clear error (or warning) that names the cause,
never a silent NaN or a wrong answer."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cmmlib as cmm
from cmmlib import checkpoints, cmfgen, cmfma, config, train
from cmmlib.datasets.energies import energy, gaussian_energy

KEY = jax.random.PRNGKey(0)
TINY = config.override(config.cmfgen("ci"), {"steps": 2, "batch_size": 16, "chunk": 2, "icnn.features": (4,),
                                             "amortizer_features": (4,)})
DATA = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)


@pytest.mark.parametrize("option, value, match", [
    ("steps", 2.5, "steps must be an integer"),
    ("steps", -5, "steps must be an integer >= 0"),
    ("batch_size", 16.5, "batch_size must be an integer"),
])
def test_counts_are_not_truncated(option, value, match):
    with pytest.raises(ValueError, match=match):
        cmfgen.fit(DATA, KEY, settings=TINY, progress=False, **{option: value})


@pytest.mark.parametrize("field, value, match", [
    ("optimizer.learning_rate", -1e-3, "optimizer.learning_rate must be a positive number"),
    ("langevin.step_scale", 2.5, "below 2"),
    ("icnn.beta", -2.0, "beta must be positive"),
])
def test_learner_options_are_validated_at_the_boundary(field, value, match):
    settings = config.override(TINY, {"icnn.activation": "softplus"}) if field == "icnn.beta" else TINY
    with pytest.raises(ValueError, match=match):
        cmfgen.fit(DATA, KEY, settings=config.override(settings, {field: value}), progress=False)


def test_settings_overrides_name_unknown_fields_and_wrong_types():
    with pytest.raises(ValueError, match="unknown settings field 'optimizer.lr'"):
        config.override(TINY, {"optimizer.lr": 1.0})
    with pytest.raises(ValueError, match="'optimizer.learning_rate' must be of type float"):
        config.override(TINY, {"optimizer.learning_rate": "abc"})
    with pytest.raises(ValueError, match="group of settings"):
        config.override(TINY, {"optimizer": 1.0})


@pytest.mark.parametrize("argv, match", [
    (["cmfgen", "--dataset", "circles", "--out", "x", "--steps", "0"], "positive integer"),
    (["cmfgen", "--dataset", "circles", "--out", "x", "--steps", "-5"], "positive integer"),
    (["cmfgen", "--dataset", "circles", "--out", "x", "--seeds", "0"], "positive integer"),
    (["cmfgen", "--dataset", "circles", "--out", "x", "--set", "optimizer.learning_rate=1e-"], "not a Python literal"),
    (["cmfgen", "--dataset", "circles", "--out", "x", "--set", "optimizer.learning_rate=abc"], "must be of type float"),
    (["cmfgen", "--dataset", "circles", "--out", "x", "--set", "icnn_init=nope"], "icnn_init must be"),
    (["cmfgen", "--dataset", "circles", "--out", "x", "--set", "nope=1"], "unknown settings field"),
    (["cmfgen", "--dataset", "nope", "--out", "x"], "unknown 2D data set"),
    (["cmfgen", "--data", "missing.npy", "--out", "x"], "no file"),
    (["cmfma", "--energy", "nomodule:f", "--low", "0", "--high", "1", "--out", "x"], "cannot load"),
    (["cmfma", "--energy", "math:pi", "--out", "x"], "needs the box"),
    (["sample", "missing", "-n", "5", "--out", "s.txt"], r"\.npy, \.csv or \.npz"),
])
def test_command_line_errors_exit_with_a_message(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        train.main(argv)
    message = str(exc.value.code) + capsys.readouterr().err
    assert exc.value.code != 0 and __import__("re").search(match, message), message


def test_a_corrupt_checkpoint_names_its_path(tmp_path):
    path = tmp_path / "model"
    checkpoints.write(path, {"a": np.ones(3)}, {"kind": "ConjugateMomentModel"})
    (path / checkpoints.ARRAYS).write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match=f"cannot read the checkpoint at {path}"):
        cmm.load(path)
    checkpoints.write(tmp_path / "state", {"a": np.ones(3)}, {"kind": "something else"})
    with pytest.raises(ValueError, match="not a model checkpoint"):
        cmm.load(tmp_path / "state")


def test_an_energy_of_another_dimension_than_its_box():
    with pytest.raises(ValueError, match="beyond d=1"):
        cmfma.fit(lambda x: x[0] ** 2 + x[1] ** 2, KEY, low=-1.0, high=1.0, steps=1, progress=False)
    with pytest.raises(ValueError, match="2-dimensional but the box is 1-dimensional"):
        cmfma.fit(energy("rosenbrock"), KEY, low=-1.0, high=1.0, steps=1, progress=False)


def test_a_model_whose_solver_stops_short_warns():
    model = cmfgen.fit(DATA, KEY, settings=TINY, progress=False)
    model.sampling = config.SamplingSettings(n_steps=2, solver_iterations=1, solver_tolerance=1e-8)
    with pytest.warns(RuntimeWarning, match="above its tolerance"):
        model.sample(KEY, 4)


def test_sample_counts_must_be_positive_integers():
    model = cmfgen.fit(DATA, KEY, steps=0, settings=TINY, progress=False)
    for n in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            model.sample(KEY, n)


def test_cmfma_on_a_non_finite_energy():
    with pytest.raises(ValueError, match="NaN or inf"):
        cmfma.fit(lambda x: jnp.where(x[0] > 0, jnp.inf, x[0] ** 2), KEY, low=-1.0, high=1.0, steps=1, progress=False)
    with pytest.raises(ValueError, match="symmetric positive definite"):
        gaussian_energy([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])


def test_langevin_on_a_concave_potential_names_the_cause():
    with pytest.raises(ValueError, match="not convex"):
        cmm.langevin.ula(lambda y: -0.5 * jnp.sum(y**2), KEY, jnp.ones((4, 2)), 3)


def test_sinkhorn_of_identical_single_point_clouds_is_zero_not_an_epsilon_error():
    x = np.ones((5, 2))
    assert cmm.metrics.sinkhorn_divergence(x, x) == 0.0
    with pytest.raises(ValueError, match="epsilon"):
        cmm.metrics.sinkhorn_divergence(DATA, DATA, epsilon=-1.0)


def test_onedim_fixed_points_refuse_what_they_cannot_resolve():
    with pytest.raises(ValueError, match="grid"):
        cmm.onedim.conjugate_fixed_point(1e20 * DATA[:, 0], n_bins=1000, n_iter=5)
    with pytest.raises(ValueError, match="grid"):
        cmm.onedim.conjugate_fixed_point(DATA[:, 0], n_bins=1000, n_iter=5, grid=(5.0, 6.0))
    with pytest.warns(cmm.onedim.FixedPointWarning):
        cmm.onedim.conjugate_fixed_point(DATA[:, 0] * 1000.0, n_bins=4000, n_iter=3)

"""The training runner: the guard on a run that explodes mid-way, checkpoints, and exact resume
after a real SIGKILL of a training process, for both learners."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmmlib import checkpoints, training


class ToyState(NamedTuple):
    theta: jax.Array


@dataclasses.dataclass(frozen=True)
class Doubling:
    """theta_{k+1} = 2 theta_k + noise; loss = theta_k: explodes past max_abs_loss mid-way."""

    name: str = "doubling"
    metric_names: tuple[str, ...] = ("loss",)

    def init(self, key, data):
        return ToyState(jnp.asarray(1.0))

    def step(self, state, key, data):
        return ToyState(2.0 * state.theta + 0.0 * jax.random.normal(key)), {"loss": state.theta}

    def describe(self):
        return {}


def test_the_guard_keeps_the_last_good_state_of_a_run_that_explodes_mid_way():
    # theta_k = 2^k; with max_abs_loss = 1000, theta_10 = 1024 is the first bad state
    with pytest.warns(RuntimeWarning, match="stopped at step 9"):
        result = training.run(Doubling(), None, jax.random.PRNGKey(0)[None], 50, chunk=4, max_abs_loss=1000.0,
                              progress=False, shared_data=True)
    assert float(result.states.inner.theta[0]) == 2.0**9 and int(result.states.step[0]) == 9
    assert result.info["steps"] == [9] and result.info["status"][0].startswith("stopped")
    history = result.model_history(0)["loss"]
    np.testing.assert_array_equal(history, 2.0 ** np.arange(9))
    assert np.all(np.isnan(result.history["loss"][0, 9:]))


def test_a_non_finite_update_keeps_the_state_it_came_from():
    @dataclasses.dataclass(frozen=True)
    class Overflow(Doubling):
        def step(self, state, key, data):
            return ToyState(jnp.where(state.theta >= 8, jnp.nan, 2.0 * state.theta)), {"loss": state.theta}

    with pytest.warns(RuntimeWarning):
        result = training.run(Overflow(), None, jax.random.PRNGKey(0)[None], 20, chunk=5, progress=False,
                              shared_data=True)
    assert float(result.states.inner.theta[0]) == 8.0 and result.info["steps"] == [3]


def test_other_models_train_on_when_one_is_frozen():
    @dataclasses.dataclass(frozen=True)
    class Scaled(Doubling):
        def init(self, key, data):
            return ToyState(data)

    with pytest.warns(RuntimeWarning, match=r"model\(s\) \[0\]"):
        result = training.run(Scaled(), jnp.asarray([1.0, 1e-9]), jax.random.split(jax.random.PRNGKey(0), 2), 20,
                              chunk=7, max_abs_loss=1000.0, progress=False)
    assert result.info["steps"] == [9, 20]


def test_bad_runner_options():
    for kwargs, match in [({"steps": 2.5}, "steps"), ({"steps": -1}, "steps"), ({"steps": True}, "steps"),
                          ({"steps": 5, "chunk": 0}, "chunk"), ({"steps": 5, "max_abs_loss": 0.0}, "max_abs_loss")]:
        with pytest.raises(ValueError, match=match):
            training.run(Doubling(), None, jax.random.PRNGKey(0)[None], shared_data=True, progress=False, **kwargs)
    with pytest.raises(ValueError, match="keys"):
        training.run(Doubling(), None, jax.random.PRNGKey(0), 5, shared_data=True, progress=False)


def test_an_unwritable_checkpoint_folder_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot write checkpoints"):
        training.run(Doubling(), None, jax.random.PRNGKey(0)[None], 5, checkpoint_dir=blocker / "sub",
                     shared_data=True, progress=False)


def test_resume_reads_the_previous_state_after_a_crash_between_renames(tmp_path):
    kwargs = dict(chunk=3, checkpoint_every=3, max_abs_loss=1e9, shared_data=True, progress=False)
    training.run(Doubling(), None, jax.random.PRNGKey(0)[None], 6, checkpoint_dir=tmp_path, **kwargs)
    state = tmp_path / training.STATE_DIR
    os.rename(state, tmp_path / f".{state.name}.old")  # the crash window of checkpoints.write
    (tmp_path / f".{state.name}.tmp-dead").mkdir()  # and a temporary folder of a killed write
    with pytest.warns(UserWarning, match="previous checkpoint"):
        result = training.run(Doubling(), None, jax.random.PRNGKey(0)[None], 9, checkpoint_dir=tmp_path,
                              resume=True, **kwargs)
    assert result.info["resumed_from"] == 6 and float(result.states.inner.theta[0]) == 2.0**9
    assert not list(tmp_path.glob(".*.tmp-*"))


SCRIPTS = {
    "cmfgen": """
import sys, jax, numpy as np
from cmmlib import cmfgen, config
from cmmlib.datasets import toy2d
settings = config.override(config.cmfgen("ci"), {{"batch_size": 32, "chunk": 10, "icnn.features": (8, 8),
    "amortizer_features": (8,), "langevin.steps": 2, "solver.iterations": 5}})
data = np.asarray(toy2d("moons", 256, jax.random.PRNGKey(0)))
cmfgen.fit(data, jax.random.PRNGKey(1), steps={steps}, settings=settings, checkpoint_dir={folder!r},
           checkpoint_every=10, resume={resume}, progress=False)
""",
    "cmfma": """
import jax
from cmmlib import cmfma, config
from cmmlib.datasets.energies import gaussian_energy
settings = config.override(config.cmfma("ci"), {{"batch_size": 32, "chunk": 10, "amortizer_features": (8,)}})
cmfma.fit(gaussian_energy([0.3], [[0.5]]), jax.random.PRNGKey(1), steps={steps}, settings=settings,
          icnn=config.ICNNSettings(features=(8,), activation="softplus", beta=4.0), checkpoint_dir={folder!r},
          checkpoint_every=10, resume={resume}, progress=False)
""",
}
STEPS = 1500


def _run_until_checkpointed_then_kill(learner: str, folder, tmp_path) -> int:
    script = tmp_path / "train.py"
    script.write_text(SCRIPTS[learner].format(steps=STEPS, folder=str(folder), resume=False))
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    manifest = folder / training.STATE_DIR / checkpoints.MANIFEST
    deadline = time.time() + 600
    try:
        while time.time() < deadline and proc.poll() is None:
            if manifest.exists():
                try:
                    if json.loads(manifest.read_text())["step"] >= 30:
                        break
                except (ValueError, KeyError):  # caught between the write and the rename
                    pass
            time.sleep(0.02)
        assert proc.poll() is None, "the training finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return int(checkpoints.read_manifest(folder / training.STATE_DIR)["step"])


def _in_process(learner: str, folder, resume: bool):
    namespace: dict[str, Any] = {}
    code = SCRIPTS[learner].format(steps=STEPS, folder=str(folder), resume=resume)
    exec(code.replace("cmfgen.fit(", "model = cmfgen.fit(").replace("cmfma.fit(", "model = cmfma.fit("), namespace)
    return namespace["model"]


@pytest.mark.parametrize("learner", ["cmfgen", "cmfma"])
def test_sigkill_then_resume_gives_the_uninterrupted_parameters(learner, tmp_path):
    killed_at = _run_until_checkpointed_then_kill(learner, tmp_path / "killed", tmp_path)
    assert 30 <= killed_at < STEPS
    resumed = _in_process(learner, tmp_path / "killed", resume=True)
    assert resumed.manifest["resumed_from"] == killed_at and resumed.manifest["steps"] == STEPS
    full = _in_process(learner, tmp_path / "full", resume=False)
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree.leaves(full.amortizer_params), jax.tree.leaves(resumed.amortizer_params)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.history["loss"], resumed.history["loss"])

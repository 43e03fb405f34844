"""Data-parallel training (cmmlib.parallel): a 2-device mesh trains the parameters of one device.

JAX fixes its device count when it starts, so the two-device runs happen in a subprocess that runs
this file with two forced CPU host devices (``XLA_FLAGS=--xla_force_host_platform_device_count=2``);
the tests read what it measured. The checks that need no second device run here.
"""
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec

from cmmlib import cmfgen, cmfma, config, parallel, training, train
from cmmlib.datasets import toy2d
from cmmlib.datasets.energies import gaussian_energy

STEPS = 5
SETTINGS = config.override(config.cmfgen("ci"), {
    "steps": STEPS, "batch_size": 32, "chunk": STEPS, "icnn.features": (8, 8), "amortizer_features": (8,),
    "langevin.steps": 2, "langevin.lambda_iterations": 3, "solver.iterations": 5,
})
# Adam divides each gradient component by its own running magnitude: where a component is near zero,
# the order of the batch sum can change its step by up to the learning rate (1e-3, the settings'),
# so single parameters may differ by a fraction of it; the bulk agrees to float32 rounding.
RTOL, ATOL = 1e-4, 1e-4
BULK = 1e-6  # 99th percentile of |difference|


def _parameters(result: cmfgen.TrainResult) -> np.ndarray:
    inner = result.run.states.inner
    return np.concatenate([np.ravel(leaf) for leaf in jax.tree.leaves((inner.params, inner.amortizer_params))])


def _two_device_runs() -> dict:
    """CMFGen for STEPS steps from one key: on one device, on a 2-device mesh, and on one device with
    other data batches (the control); then a one-device checkpoint resumed on the mesh for STEPS more
    steps, against one device throughout. Returns what the tests check. Runs under two host devices."""
    assert len(jax.devices()) == 2, jax.devices()
    data = np.asarray(toy2d("moons", 256, jax.random.PRNGKey(0)))
    keys = jax.random.PRNGKey(0)[None]
    mesh = parallel.data_mesh(2)

    def run(points: np.ndarray, steps: int = STEPS, **options) -> cmfgen.TrainResult:
        # decay_steps=STEPS keeps one learner, so every run reuses the two compiled chunks
        return cmfgen.train(points, keys, steps, settings=SETTINGS, decay_steps=STEPS, progress=False, **options)

    one = run(data)
    with jax.set_mesh(mesh):
        two = run(data)
        try:
            run(data, batch_size=31)
            divisibility_error = None
        except ValueError as err:
            divisibility_error = str(err)
    control = run(data[np.random.default_rng(0).permutation(len(data))])  # same start, other batches
    with tempfile.TemporaryDirectory() as folder:
        run(data, checkpoint_dir=folder)
        with jax.set_mesh(mesh):
            resumed = run(data, 2 * STEPS, checkpoint_dir=folder, resume=True)
    straight = run(data, 2 * STEPS)
    with jax.set_mesh(mesh):   # the points a learner draws inside its step are split too
        drawn = jax.jit(lambda x: parallel.shard_batch(2.0 * x))(np.ones((32, 2), np.float32))
    unsplit = jax.jit(lambda x: parallel.shard_batch(2.0 * x))(np.ones((32, 2), np.float32))
    inner = two.run.states.inner
    leaves = jax.tree.leaves((inner.params, inner.opt_state, inner.amortizer_params, inner.amortizer_opt_state))
    return {
        "difference": np.abs(_parameters(two) - _parameters(one)).tolist(),
        "control": np.abs(_parameters(control) - _parameters(one)).tolist(),
        "one": _parameters(one).tolist(),
        "resumed_difference": np.abs(_parameters(resumed) - _parameters(straight)).tolist(),
        "straight": _parameters(straight).tolist(),
        "resumed_from": resumed.info["resumed_from"],
        "loss": [one.history["loss"][0].tolist(), two.history["loss"][0].tolist()],
        "particles_spec": list(inner.particles.sharding.spec),
        "particles_devices": len(inner.particles.sharding.device_set),
        "replicated": [bool(leaf.sharding.is_fully_replicated) for leaf in leaves],
        "data_parallel": two.info["data_parallel"],
        "one_device_manifest": one.info["data_parallel"],
        "divisibility_error": divisibility_error,
        "drawn_spec": list(drawn.sharding.spec), "drawn_devices": len(drawn.sharding.device_set),
        "unsplit_devices": len(unsplit.sharding.device_set),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("parallel") / "runs.json"
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "CMM_PROFILE": "ci",
           # two CPU devices; LLVM's cheaper optimisation level halves the compile time of the tiny programs
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0"}
    subprocess.run([sys.executable, __file__, str(out)], env=env, check=True, timeout=600)
    return json.loads(out.read_text())


def test_a_two_device_mesh_trains_the_parameters_of_one_device(runs):
    difference, one = np.asarray(runs["difference"]), np.asarray(runs["one"])
    assert np.all(difference <= ATOL + RTOL * np.abs(one)), difference.max()
    assert np.quantile(difference, 0.99) < BULK
    np.testing.assert_allclose(runs["loss"][1], runs["loss"][0], rtol=1e-5, atol=1e-6)


def test_a_one_device_checkpoint_resumes_on_the_mesh(runs):
    difference, straight = np.asarray(runs["resumed_difference"]), np.asarray(runs["straight"])
    assert runs["resumed_from"] == STEPS
    assert np.all(difference <= ATOL + RTOL * np.abs(straight)), difference.max()
    assert np.quantile(difference, 0.99) < BULK


def test_other_batches_on_a_device_would_fail_that_tolerance(runs):
    """The negative control: one device, the same start, the data set permuted, so the same indices
    draw other points, as a device drawing its own batch would: far outside the tolerance."""
    control, one = np.asarray(runs["control"]), np.asarray(runs["one"])
    assert np.mean(control > ATOL + RTOL * np.abs(one)) > 0.3
    assert np.quantile(control, 0.99) > 100 * BULK


def test_parameters_are_replicated_and_the_particles_split(runs):
    assert runs["particles_spec"] == [None, parallel.AXIS] and runs["particles_devices"] == 2
    assert all(runs["replicated"])
    assert runs["data_parallel"] == {"axis": "data", "devices": 2, "device_kinds": ["cpu"], "platform": "cpu",
                                     "processes": 1}
    assert runs["one_device_manifest"] is None


def test_points_drawn_inside_a_step_are_split_on_a_mesh_only(runs):
    assert runs["drawn_spec"] == [parallel.AXIS] and runs["drawn_devices"] == 2
    assert runs["unsplit_devices"] == 1


def test_the_batch_must_divide_among_the_devices(runs):
    assert "multiple of 2, got 31" in runs["divisibility_error"]


def test_layout_of_a_cmfma_state():
    energy = gaussian_energy([0.5, -0.5], [[1.0, 0.6], [0.6, 0.8]])
    icnn = config.ICNNSettings(features=(4,), activation="softplus", beta=4.0)
    settings = dataclasses.replace(config.cmfma("ci"), batch_size=8, icnn=icnn)
    learner = cmfma.CMFMA(settings, icnn, energy, tuple(map(float, energy.low)), tuple(map(float, energy.high)),
                          "model", 0.0)
    state = jax.eval_shape(learner.init, jax.random.PRNGKey(0))
    specs = parallel.partition_specs(state)
    assert specs.particles == PartitionSpec(parallel.AXIS) and specs.c == PartitionSpec()
    params = jax.tree.leaves(specs.params, is_leaf=lambda s: isinstance(s, PartitionSpec))
    assert params and all(s == PartitionSpec() for s in params)
    stacked = parallel.partition_specs(training.RunState(state, None, None, None), leading=1)
    assert stacked.inner.particles == PartitionSpec(None, parallel.AXIS)


def test_bad_meshes_and_device_counts():
    n = len(jax.devices())
    with pytest.raises(ValueError, match=f"devices={n + 1}, but JAX sees {n}"):
        parallel.data_mesh(n + 1)
    with pytest.raises(ValueError, match="devices must be an integer"):
        parallel.data_mesh(0)
    assert parallel.active_mesh() is None
    with jax.set_mesh(Mesh(np.asarray(jax.devices()[:1]), ("model",))):
        with pytest.raises(ValueError, match="axis named 'data'"):
            parallel.active_mesh()


def test_cli_device_options(tmp_path):
    with pytest.raises(SystemExit, match="--devices: devices="):
        train.main(["cmfgen", "--dataset", "moons", "--out", str(tmp_path), "--devices", str(len(jax.devices()) + 1)])
    with pytest.raises(SystemExit, match="need --distributed"):
        train.main(["cmfma", "rosenbrock", "--out", str(tmp_path), "--process-id", "0"])


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(_two_device_runs()))

"""Chapter 7's protocol (cmmlib.face_protocol) and the script that applies it to any checkpoints."""
import dataclasses
import json
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest

import cmmlib as cmm
from cmmlib import face_protocol
from cmmlib.datasets import OfflineFallbackWarning

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = cmm.config.chapter7("ci")


@pytest.fixture(scope="module")
def data():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OfflineFallbackWarning)  # offline: the stand-in faces
        return face_protocol.load(CHAPTER)


def test_load_smooths_the_faces_with_the_protocol_seeds(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OfflineFallbackWarning)
        faces = cmm.datasets.cartoon("test", size=CHAPTER.size)
    d = 3 * CHAPTER.size ** 2
    assert data.x_train.shape == (9000, d) and data.x_test.shape == (1000, d)
    assert data.x_train.dtype == np.float32
    assert data.source == cmm.datasets.cartoon_source()
    noise = (data.x_test - faces) / CHAPTER.smooth_sigma
    expected = jax.random.normal(jax.random.PRNGKey(face_protocol.SMOOTH_TEST_SEED), faces.shape)
    np.testing.assert_allclose(noise, np.asarray(expected), atol=1e-3)
    for attributes, x in ((data.attributes_train, data.x_train), (data.attributes_test, data.x_test)):
        assert set(CHAPTER.classifier_attributes) <= set(attributes)
        assert all(len(values) == len(x) for values in attributes.values())


def test_references_are_the_held_out_floor_and_the_moment_matched_gaussian(data):
    refs = face_protocol.references(data, 64)
    assert list(refs) == ["held-out real", "moment-matched Gaussian"]
    np.testing.assert_array_equal(refs["held-out real"], data.x_test[:64])
    np.testing.assert_array_equal(refs["moment-matched Gaussian"], face_protocol.references(data, 64)["moment-matched Gaussian"])
    assert refs["moment-matched Gaussian"].shape == (64, data.x_train.shape[1])
    for n in (0, len(data.x_test) + 1):
        with pytest.raises(ValueError, match="held-out faces"):
            face_protocol.references(data, n)


def test_classifier_needs_the_attributes_it_reads(data):
    chapter = dataclasses.replace(CHAPTER, classifier_attributes=("hair_color", "no_such_attribute"))
    with pytest.raises(ValueError, match="no_such_attribute"):
        face_protocol.classifier(data, chapter)


def test_the_script_measures_a_checkpoint_with_the_chapters_protocol(tmp_path):
    model = cmm.zoo.cmfgen(f"cartoon{CHAPTER.size}", "gibbs", 0)
    folder = cmm.checkpoints.asset(f"cmfgen/{cmm.zoo.model_name(f'cartoon{CHAPTER.size}', 'gibbs', 0)}")
    out = tmp_path / "faces.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate_face_checkpoints.py"),
                           f"shipped={folder}", "--profile", "ci", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(out.read_text())
    rows = {row["label"]: row for row in record["rows"]}
    assert list(rows) == ["held-out real", "moment-matched Gaussian", "shipped"]
    assert record["n"] == CHAPTER.n_generated and record["profile"] == "ci"
    assert rows["shipped"]["steps"] == model.manifest["steps"] and rows["shipped"]["noise"] == "gibbs"
    for row in rows.values():
        assert np.isfinite(row["frechet"]) and row["nn_distance"] > 0
    # the held-out faces are the floor, as in the chapter
    assert rows["held-out real"]["frechet"] < min(rows["shipped"]["frechet"], rows["moment-matched Gaussian"]["frechet"])
    assert np.isfinite(rows["shipped"]["noise_frechet"])


def test_the_script_refuses_a_malformed_model_argument(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate_face_checkpoints.py"),
                           "no-equals-sign", "--out", str(tmp_path / "x.json")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "LABEL=FOLDER" in proc.stderr


def test_generate_uses_the_protocol_key_and_warns_at_the_caller():
    model = cmm.zoo.cmfgen(f"cartoon{CHAPTER.size}", "gaussian", 0)
    model.sampling = dataclasses.replace(model.sampling, solver_iterations=1)  # cannot converge
    with pytest.warns(RuntimeWarning, match="conjugate solver stopped") as record:
        generated = face_protocol.generate(model, 4)
    assert record[0].filename == __file__  # the reader's line, not the library's
    with pytest.warns(RuntimeWarning):
        direct = model.generate(jax.random.PRNGKey(face_protocol.SAMPLE_SEED), 4)
    np.testing.assert_array_equal(generated.noise, direct.noise)

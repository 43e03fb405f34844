"""cmmlib.results: the chapters' verdicts, written atomically and read back for the report."""
import numpy as np
import pytest

from cmmlib import results
from cmmlib.results import Claim


def test_record_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
    claim = Claim(item="Figure 4", paper="sharp rings", measured="34% in the gap", status="partly",
                  why="fewer steps", values={"gap": np.float32(0.3412345), "n": np.int64(4096)})
    path = results.record("04_cmfgen_2d", [claim])
    assert path == tmp_path / "04_cmfgen_2d.json"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind
    loaded = results.load(["04_cmfgen_2d"])["04_cmfgen_2d"]
    assert loaded["claims"][0]["values"] == {"gap": 0.3412, "n": 4096}
    assert loaded["claims"][0]["status"] == "partly" and loaded["profile"] in ("ci", "cpu", "paper")
    assert "backend" in loaded["hardware"]


def test_bad_claims_and_missing_records(tmp_path, monkeypatch):
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
    with pytest.raises(ValueError, match="status"):
        Claim(item="x", paper="y", measured="z", status="done")
    with pytest.raises(ValueError, match="measured"):
        Claim(item="x", paper="y", measured=" ", status="partly")
    with pytest.raises(ValueError, match="chapter"):
        results.record("../evil", [Claim("x", "y", "z", "partly")])
    with pytest.raises(ValueError, match="non-empty"):
        results.record("01", [])
    with pytest.raises(TypeError, match="not a number"):
        results.record("01", [Claim("x", "y", "z", "partly", values={"bad": object()})])
    with pytest.raises(FileNotFoundError, match="run those chapters first"):
        results.load(["01", "02"])
    (tmp_path / "03.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        results.load(["03"])
    with pytest.raises(ValueError, match="NaN|JSON|Out of range"):
        results.record("05", [Claim("x", "y", "z", "partly", values={"nan": float("nan")})])
    assert not (tmp_path / "05.json").exists()


def test_default_folder_is_per_profile(monkeypatch, tmp_path):
    monkeypatch.delenv(results.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert results.folder("cpu") == tmp_path / "cmm-book" / "results" / "cpu"

"""The benchmark command line: its JSON report (schema, units, atomic write) and its help.

No timing is asserted here: speed targets live in ``make bench``, which prints ratios against
baselines timed in the same process.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmmlib import bench
from cmmlib.bench import __main__ as cli
from cmmlib.bench import _report

ROOT = Path(__file__).resolve().parents[1]


def _check_units(tree, where="results", key=""):
    """Every float figure carries a unit suffix (see cmmlib.bench._report.UNITS); the floats of a
    list take the unit of the list's name."""
    if isinstance(tree, float):
        assert _report.unit_of(key), f"{where} = {tree} has no unit suffix"
    elif isinstance(tree, dict):
        for k, value in tree.items():
            _check_units(value, f"{where}.{k}", k)
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            _check_units(value, f"{where}[{i}]", key)


def _check_report(report, names, quick):
    assert report["schema"] == _report.SCHEMA
    assert report["complete"] is True and report["quick"] is quick
    assert report["command"].startswith("python -m cmmlib.bench")
    assert report["date_utc"].endswith("Z")
    hw = report["hardware"]
    assert hw["cpu_count"] >= 1 and hw["cpu_model"] and hw["devices"]
    assert "gpu" in hw and "load_average_1min" in hw
    for package in ("python", "jax", "jaxlib", "ott-jax", "flax", "optax", "numpy", "cmmlib"):
        assert report["versions"][package], package
    assert "cmmlib_commit" in report["versions"]
    assert set(report["units"]) == set(_report.UNITS)
    assert report["notes"], "the report says how to read absolute times"
    assert list(report["benchmarks"]) == names
    for name, entry in report["benchmarks"].items():
        assert entry["about"] == cli.summary(name)
        assert entry["wall_s"] > 0
        assert entry["results"], name
        _check_units(entry["results"], name)
    assert report["total_wall_s"] >= sum(e["wall_s"] for e in report["benchmarks"].values()) * 0.99


def test_quick_run_writes_a_complete_report(tmp_path):
    out = tmp_path / "sub" / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "cmmlib.bench", "onedim", "--quick", "--json", str(out),
                           "--note", "test run"], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "CMM_PROFILE": "ci"}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out}" in proc.stdout
    report = json.loads(out.read_text())
    _check_report(report, ["onedim"], quick=True)
    assert report["notes"][0] == "test run"
    assert report["command"] == f"python -m cmmlib.bench onedim --quick --json {out} --note 'test run'"
    assert sorted(p.name for p in out.parent.iterdir()) == ["bench.json"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # readable as any file the user writes


def test_shipped_report_is_complete_and_loads(monkeypatch):
    monkeypatch.delenv(bench.ENV_VAR, raising=False)
    report, path = bench.load_report()
    assert path == bench.SHIPPED_REPORT
    _check_report(report, cli.available(), quick=False)


def test_load_report_follows_the_environment(tmp_path, monkeypatch):
    shipped = json.loads(bench.SHIPPED_REPORT.read_text())
    mine = tmp_path / "mine.json"
    _report.write(mine, {**shipped, "date_utc": "2000-01-01T00:00:00Z"})
    monkeypatch.setenv(bench.ENV_VAR, str(mine))
    report, path = bench.load_report()
    assert path == mine.resolve() and report["date_utc"] == "2000-01-01T00:00:00Z"
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a cmmlib.bench report"):
        bench.load_report(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="make bench"):
        bench.load_report(tmp_path / "none.json")


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    _report.write(path, {"a": 1})

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_report.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        _report.write(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}  # the old report is intact
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # and the temporary file removed


def test_to_json_makes_plain_numbers():
    import numpy as np

    out = _report.to_json({"a_s": np.float32(0.5), "n": np.int64(3), "t": (1, 2), "nan_x": float("nan"),
                           "arr": np.arange(2), "ok": np.bool_(True)})
    assert out == {"a_s": 0.5, "n": 3, "t": [1, 2], "nan_x": None, "arr": [0, 1], "ok": True}
    assert type(out["n"]) is int and type(out["ok"]) is bool


def test_unit_suffixes():
    assert _report.unit_of("median_s") == "_s"
    assert _report.unit_of("samples_per_s") == "_per_s"
    assert _report.unit_of("speedup_x") == "_x"
    assert _report.unit_of("divergence") == "_divergence"
    assert _report.unit_of("speedup") is None


def test_help_lists_every_benchmark_with_what_it_measures():
    proc = subprocess.run([sys.executable, "-m", "cmmlib.bench", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = cli.available()
    assert {"onedim", "core", "cmfgen", "scaling", "sampling", "inpaint", "quality"} <= set(names)
    for name in names:
        line = next((l for l in proc.stdout.splitlines() if l.strip().startswith(name + " ")), None)
        assert line is not None, f"{name} missing from --help"
        assert cli.summary(name)[:40] in " ".join(proc.stdout.split()), name
        assert " min]" in line, f"{name}: no measured duration in --help"
    for option in ("--quick", "--json", "--note"):
        assert option in proc.stdout


def test_unknown_benchmark_is_refused(capsys):
    with pytest.raises(SystemExit):
        cli.main(["nope", "--json", os.devnull])
    assert "unknown benchmark" in capsys.readouterr().err

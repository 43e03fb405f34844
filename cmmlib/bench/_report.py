"""The JSON report of ``python -m cmmlib.bench``: where it ran, with what, and every figure.

A report is one JSON object::

    {"schema": 1, "command": ..., "date_utc": ..., "quick": false, "complete": true,
     "notes": [...], "hardware": {...}, "versions": {...}, "units": {...},
     "benchmarks": {name: {"about": ..., "wall_s": ..., "results": {...}}}, "total_wall_s": ...}

Units are carried by the names of the figures: every float in ``results`` ends with one of the
suffixes of :data:`UNITS` or is named by one (``median_s`` is in seconds, ``speedup_x`` a
ratio, ``divergence`` a Sinkhorn divergence); integers are
counts (batch sizes, dimensions, widths, iterations). It is written atomically (a temporary file
in the same folder, then ``os.replace``), after each benchmark, so an interrupted run leaves a
valid report of what finished, with ``"complete": false``.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import atomic

SCHEMA = 1

#: unit of a float figure, by the end of its name
UNITS = {
    "_s": "seconds (wall clock; a median or best of repeats after a warm-up, compilation excluded)",
    "_per_s": "per second",
    "_x": "ratio (times)",
    "_bytes": "bytes (XLA's estimate of the compiled program's peak memory)",
    "_residual": "largest conjugate residual max_i |grad w(x_i) - y_i|, in the units of y",
    "_tolerance": "the residual tolerance a solve runs to, in the units of y",
    "_divergence": "Sinkhorn divergence (ott-jax; epsilon from the data's scale, cmmlib.metrics)",
    "_fraction": "fraction (between 0 and 1)",
    "_w1": "Wasserstein-1 distance, in the units of the data",
    "_lambda_max": "largest eigenvalue of the Hessian of w over the batch (power iteration)",
}

_PACKAGES = {"jax": "jax", "jaxlib": "jaxlib", "ott-jax": "ott-jax", "flax": "flax", "optax": "optax",
             "numpy": "numpy", "cmmlib": "cmmlib"}


def unit_of(name: str) -> str | None:
    """The suffix of :data:`UNITS` that ``name`` ends with (the longest), or is without its
    underscore (``"residual"``), or ``None``."""
    matches = [suffix for suffix in UNITS if name.endswith(suffix) or name == suffix[1:]]
    return max(matches, key=len) if matches else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def hardware() -> dict[str, Any]:
    """CPU model and count, JAX backend and devices (the GPU's name when there is one), platform,
    and the 1-minute load average (how busy the machine was)."""
    import jax

    devices = jax.devices()
    accelerators = [getattr(d, "device_kind", str(d)) for d in devices if d.platform != "cpu"]
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "backend": jax.default_backend(),
        "devices": [getattr(d, "device_kind", str(d)) for d in devices],
        "gpu": accelerators[0] if accelerators else None,
        "platform": platform.platform(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def versions() -> dict[str, Any]:
    """Python and package versions, and the git commit of this checkout (``dirty``: uncommitted
    changes anywhere in the working tree)."""
    out: dict[str, Any] = {"python": platform.python_version()}
    for label, dist in _PACKAGES.items():
        try:
            out[label] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[label] = None
    commit = _git("rev-parse", "HEAD")
    out["cmmlib_commit"] = commit
    status = _git("status", "--porcelain") if commit else None
    out["cmmlib_dirty"] = bool(status) if status is not None else None
    return out


def new_report(command: str, quick: bool, notes: list[str]) -> dict[str, Any]:
    """A report with its header filled in and no benchmark yet."""
    return {
        "schema": SCHEMA, "command": command,
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": quick, "complete": False, "notes": list(notes),
        "hardware": hardware(), "versions": versions(), "units": dict(UNITS),
        "benchmarks": {}, "total_wall_s": 0.0,
    }


def to_json(value: Any) -> Any:
    """``value`` with NumPy/JAX scalars and arrays as plain numbers and lists, tuples as lists,
    and non-finite floats as ``None`` (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) or (hasattr(value, "shape") and np.shape(value) == ()):
        x = float(value)
        return x if np.isfinite(x) else None
    if hasattr(value, "shape"):
        return to_json(np.asarray(value).tolist())
    return value


def write(path: str | os.PathLike, report: Mapping[str, Any]) -> Path:
    """Write ``report`` as JSON to ``path`` atomically (:func:`cmmlib.atomic.write_json`);
    creates the folder. Returns the path."""
    return atomic.write_json(path, to_json(report))


def command_line(argv: list[str] | None) -> str:
    """The command, quoted for a POSIX shell: ``python -m cmmlib.bench`` and its arguments."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "cmmlib.bench", *args])

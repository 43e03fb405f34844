"""Checkpoints: small, atomic, self-describing files of arrays plus a JSON manifest.

A checkpoint is a folder holding

* ``arrays.msgpack`` -- a pytree (nested dicts) of arrays, serialised by flax;
* ``manifest.json``  -- what produced it: format version, kind, command, seed, steps, wall time,
  hardware, metrics, and whatever the writer adds (module configurations, settings).

Writes are atomic: the folder is written under a temporary name beside its destination and
swapped in with renames, so a crash leaves either the old checkpoint or the new one, never a
half-written one. :func:`save` / :func:`load` store a whole
:class:`cmmlib.model.ConjugateMomentModel`; :func:`write` / :func:`read` any pytree (training
states for exact resumption).
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import serialization

FORMAT_VERSION = 1
ARRAYS = "arrays.msgpack"
MANIFEST = "manifest.json"


def hardware() -> dict[str, Any]:
    """Where the code runs: JAX backend and devices, CPU count, platform, versions."""
    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "devices": [getattr(d, "device_kind", str(d)) for d in devices],
        "device_count": len(devices),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
    }


def _to_builtin(value: Any) -> Any:
    """Make numpy scalars and arrays JSON-serialisable."""
    if isinstance(value, dict):
        return {str(k): _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_builtin(v) for v in value]
    if isinstance(value, (np.generic, jax.Array)) or isinstance(value, np.ndarray):
        arr = np.asarray(value)
        return arr.item() if arr.ndim == 0 else arr.tolist()
    return value


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(path: str | os.PathLike, arrays: Any, manifest: dict[str, Any]) -> Path:
    """Atomically write the pytree ``arrays`` and the dict ``manifest`` to the folder ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    old = path.parent / f".{path.name}.old"
    tmp.mkdir()
    try:
        state = serialization.to_state_dict(jax.device_get(arrays))
        for name, data in (
            (ARRAYS, serialization.msgpack_serialize(state)),
            (MANIFEST, json.dumps({"format_version": FORMAT_VERSION, **_to_builtin(manifest)}, indent=2).encode()),
        ):
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            os.rename(path, old)
        os.rename(tmp, path)
        _fsync_dir(path.parent)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not path.exists():  # put the previous checkpoint back
            os.rename(old, path)
        raise
    return path


def _resolve(path: Path) -> Path:
    if (path / MANIFEST).exists():
        return path
    old = path.parent / f".{path.name}.old"
    if (old / MANIFEST).exists():  # a crash between the two renames of write()
        warnings.warn(f"{path} is missing; reading the previous checkpoint {old}", stacklevel=3)
        return old
    raise FileNotFoundError(f"no checkpoint at {path} (expected {path / MANIFEST})")


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the checkpoint at ``path``."""
    return json.loads((_resolve(Path(path)) / MANIFEST).read_text())


def read(path: str | os.PathLike, target: Any = None) -> tuple[Any, dict[str, Any]]:
    """Read ``(arrays, manifest)``; with ``target`` (a pytree of the same structure, e.g. an
    optimiser state), the arrays are restored into that structure."""
    folder = _resolve(Path(path))
    manifest = json.loads((folder / MANIFEST).read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{folder}: checkpoint format {manifest.get('format_version')} is not {FORMAT_VERSION}")
    state = serialization.msgpack_restore((folder / ARRAYS).read_bytes())
    arrays = state if target is None else serialization.from_state_dict(target, state)
    return arrays, manifest


def save(model: Any, path: str | os.PathLike) -> Path:
    """Save a :class:`cmmlib.model.ConjugateMomentModel` (atomic)."""
    arrays, manifest = model.to_checkpoint()
    return write(path, arrays, manifest)


def load(path: str | os.PathLike) -> Any:
    """Load a model saved by :func:`save` (also ``cmmlib.load``)."""
    from .model import ConjugateMomentModel

    arrays, manifest = read(path)
    return ConjugateMomentModel.from_checkpoint(arrays, manifest)


def asset(name: str) -> Path:
    """Path of a checkpoint shipped with the package (``cmmlib/assets/checkpoints/<name>``)."""
    return Path(__file__).parent / "assets" / "checkpoints" / name

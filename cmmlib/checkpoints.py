"""Checkpoints: small, atomic, self-describing files of arrays plus a JSON manifest.

A checkpoint is a folder holding

* ``arrays.msgpack`` -- a pytree (nested dicts) of arrays, serialised by flax;
* ``manifest.json``  -- what produced it: format version, kind, command, seed, steps, wall time,
  hardware, metrics, and whatever the writer adds (module configurations, settings).

Writes are atomic: the folder is written under a temporary name beside its destination and
swapped in with renames, so a crash leaves either the old checkpoint or the new one, never a
half-written one; temporary folders left by a killed write are removed by the next write.
:func:`write` / :func:`read` store any pytree (models, training states for exact resumption);
the model owns its own format (:meth:`cmmlib.model.ConjugateMomentModel.save`, ``cmmlib.load``).
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


def to_builtin(value: Any) -> Any:
    """``value`` with numpy scalars and arrays (and tuples) made JSON-serialisable."""
    if isinstance(value, dict):
        return {str(k): to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
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


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that files can be written in it (raise early,
    before a long training, rather than at its first checkpoint)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OSError(f"cannot write checkpoints to {folder}: {err}") from err
    return folder


def _remove_stale_temporaries(path: Path) -> None:
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def write(path: str | os.PathLike, arrays: Any, manifest: dict[str, Any]) -> Path:
    """Atomically write the pytree ``arrays`` and the dict ``manifest`` to the folder ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    old = path.parent / f".{path.name}.old"
    tmp.mkdir()
    try:
        state = serialization.to_state_dict(jax.device_get(arrays))
        for name, data in (
            (ARRAYS, serialization.msgpack_serialize(state)),
            (MANIFEST, json.dumps({"format_version": FORMAT_VERSION, **to_builtin(manifest)}, indent=2).encode()),
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


def exists(path: str | os.PathLike) -> bool:
    """True when a checkpoint can be read at ``path`` (itself, or the previous one that a crash
    between the two renames of :func:`write` left as ``.<name>.old``)."""
    path = Path(path)
    return (path / MANIFEST).exists() or (path.parent / f".{path.name}.old" / MANIFEST).exists()


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the checkpoint at ``path``."""
    return json.loads((_resolve(Path(path)) / MANIFEST).read_text())


def read(path: str | os.PathLike, target: Any = None) -> tuple[Any, dict[str, Any]]:
    """Read ``(arrays, manifest)``; with ``target`` (a pytree of the same structure, e.g. an
    optimiser state), the arrays are restored into that structure."""
    folder = _resolve(Path(path))
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"checkpoint format {manifest.get('format_version')} is not {FORMAT_VERSION}")
        state = serialization.msgpack_restore((folder / ARRAYS).read_bytes())
        arrays = state if target is None else serialization.from_state_dict(target, state)
    except Exception as err:  # noqa: BLE001 - msgpack, json and flax raise many kinds
        raise ValueError(f"cannot read the checkpoint at {folder}: {type(err).__name__}: {err}") from err
    return arrays, manifest


def asset(name: str) -> Path:
    """Path of a checkpoint shipped with the package (``cmmlib/assets/checkpoints/<name>``)."""
    return Path(__file__).parent / "assets" / "checkpoints" / name

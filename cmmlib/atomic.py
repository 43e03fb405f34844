"""Files written so that a crash never leaves a half-written one: a temporary file beside the
destination, flushed to disk, then renamed into place with ``os.replace`` (atomic on POSIX and
Windows). Readers see the old file or the new one, never a mix."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator


@contextlib.contextmanager
def writing(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """``with writing(path) as f:`` -- a file ``f`` open on a temporary file beside ``path``
    (``mode`` ``"wb"`` or ``"w"``), flushed to disk and renamed to ``path`` when the block ends
    normally; when it raises, the temporary file is removed and ``path`` left as it was. Creates
    the folder; the file gets a plain ``open()``'s permissions, not ``mkstemp``'s 0600."""
    if mode not in ("wb", "w"):
        raise ValueError(f'mode must be "wb" or "w", got {mode!r}')
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder; return ``path``."""
    with writing(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def write_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """Write ``arrays`` to the compressed ``.npz`` file ``path`` atomically; return ``path``."""
    import numpy as np

    with writing(path) as f:
        np.savez_compressed(f, **arrays)
    return Path(path)


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """Write ``value`` as indented JSON (no NaN or infinity: they are not JSON) atomically."""
    return write_text(path, json.dumps(value, indent=1, allow_nan=False) + "\n")

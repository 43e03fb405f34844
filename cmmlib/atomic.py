"""Files written so that a crash never leaves a half-written one: a temporary file beside the
destination, flushed to disk, then renamed into place with ``os.replace`` (atomic on POSIX and
Windows). Readers see the old file or the new one, never a mix."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the permissions of a plain open(), not mkstemp's private 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """Write ``value`` as indented JSON (no NaN or infinity: they are not JSON) atomically."""
    return write_text(path, json.dumps(value, indent=1, allow_nan=False) + "\n")

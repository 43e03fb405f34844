"""Fetching, caching and unpacking of the image data sets, safely and atomically.

Every file written here appears whole or not at all: downloads and archives go to a temporary
file or folder beside their destination and are renamed into place (``os.replace``) once
checked. Nothing is fetched when the environment variable ``CMM_OFFLINE`` is set (``1``,
``true`` or ``yes``), and a failed connection gives up after :data:`FETCH_TIMEOUT` seconds, so
that the offline fallbacks of the loaders are fast.

* :func:`cache_dir` -- where data are cached: ``$CMM_DATA``, else ``~/.cache/cmmlib``.
* :func:`fetch` -- download one URL with a progress bar, checking its size and hashes.
* :func:`safe_extract_tar` -- unpack a tar archive, refusing unsafe members.
* :class:`OfflineFallbackWarning` -- the warning of every loader that falls back to shipped or
  generated data.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from tqdm.auto import tqdm

from .. import atomic

FETCH_TIMEOUT = 10.0  # seconds before a silent connection is given up
_CHUNK = 1 << 20  # bytes read at a time
_TRUE = ("1", "true", "yes")


class OfflineFallbackWarning(UserWarning):
    """A loader could not use the real data set and returns shipped or generated data instead."""


class DownloadError(RuntimeError):
    """A file could not be downloaded (offline, no connection, HTTP error)."""


class IntegrityError(ValueError):
    """A downloaded or shipped file is truncated or does not match its recorded checksum."""


def cache_dir() -> Path:
    """The folder of cached data: ``$CMM_DATA`` when set, else ``~/.cache/cmmlib`` (not created)."""
    root = os.environ.get("CMM_DATA")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "cmmlib"


def offline() -> bool:
    """True when ``CMM_OFFLINE`` asks the loaders never to touch the network."""
    return os.environ.get("CMM_OFFLINE", "").strip().lower() in _TRUE


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``algorithm``: any name of :mod:`hashlib`)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _open_url(url: str, timeout: float):
    """Open ``url`` for reading, or raise :class:`DownloadError` (offline, refused, HTTP error)."""
    if offline():
        raise DownloadError(f"not downloading {url}: CMM_OFFLINE is set")
    try:
        return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - URLs are constants
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DownloadError(f"could not download {url}: {error}") from error


def _copy_stream(response, out: BinaryIO, url: str, digests: dict, total: int | None,
                 progress: bool) -> int:
    """Copy ``response`` into ``out``, updating ``digests`` and a progress bar; bytes copied."""
    copied = 0
    with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
              disable=not progress, leave=False) as bar:
        while True:
            try:
                block = response.read(_CHUNK)
            except (OSError, ValueError) as error:  # includes http.client.IncompleteRead
                raise IntegrityError(f"download of {url} was cut after {copied} bytes: {error}") \
                    from error
            if not block:
                return copied
            out.write(block)
            for digest in digests.values():
                digest.update(block)
            copied += len(block)
            bar.update(len(block))


def _check_download(url: str, copied: int, size: int | None, digests: dict,
                    expected: dict) -> None:
    """Raise :class:`IntegrityError` when the size or a digest differs from what is expected."""
    if size is not None and copied != size:
        raise IntegrityError(f"download of {url} is truncated or wrong: expected {size} bytes, "
                             f"got {copied}")
    for name, want in expected.items():
        got = digests[name].hexdigest()
        if got != want.lower():
            raise IntegrityError(f"checksum mismatch for {url}: expected {name} {want}, got {got}")


def fetch(url: str, dest: str | os.PathLike, *, sha256: str | None = None,
          md5: str | None = None, size: int | None = None, timeout: float = FETCH_TIMEOUT,
          progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` atomically and return ``dest``.

    The bytes go to a temporary file beside ``dest``; its length is checked against ``size``
    (or the server's ``Content-Length``) and its digests against ``sha256`` / ``md5`` when
    given; only then is it renamed to ``dest``. On any failure the temporary file is removed
    and ``dest`` is left as it was.

    Raises :class:`DownloadError` when the URL cannot be opened (``CMM_OFFLINE`` set, no
    network, HTTP error) and :class:`IntegrityError` on a truncated download or a checksum
    mismatch (the message names the URL and the expected and actual values).
    """
    dest = Path(dest)
    expected = {name: value for name, value in (("sha256", sha256), ("md5", md5)) if value}
    digests = {name: hashlib.new(name) for name in expected}
    response = _open_url(url, timeout)
    with response, atomic.writing(dest) as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        copied = _copy_stream(response, out, url, digests, size or total, progress)
        _check_download(url, copied, size if size is not None else total, digests, expected)
    return dest


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be extracted, or None when it is a plain file or folder."""
    if member.name.startswith(("/", "\\")) or PureWindowsPath(member.name).drive:
        return "absolute path"
    if ".." in PurePosixPath(member.name).parts:
        return "path escaping the target folder ('..')"
    if member.issym() or member.islnk():
        return f"link to {member.linkname!r}"
    if not (member.isfile() or member.isdir()):
        return "device, FIFO or other special file"
    return None


def _checked_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """All members of ``archive``; ValueError naming the first unsafe one."""
    members = archive.getmembers()
    for member in members:
        reason = _unsafe_reason(member)
        if reason is not None:
            raise ValueError(f"refusing tar member {member.name!r}: {reason}")
    return members


def safe_extract_tar(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Unpack the tar archive ``archive`` (any compression) into the new folder ``target``.

    Every member is checked before anything is written: absolute paths, ``..`` escapes,
    symbolic and hard links, devices and FIFOs raise a ValueError naming the member. The
    archive is unpacked into a temporary folder beside ``target`` and renamed to it at the end,
    so a truncated or corrupt archive (ValueError) leaves no ``target`` behind. ``target`` must
    not exist yet.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise FileNotFoundError(f"no archive at {archive}")
    if target.exists():
        raise FileExistsError(f"extraction target {target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _extract_all(archive, tmp)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _extract_all(archive: Path, folder: Path) -> None:
    """Check every member of ``archive``, then unpack it into the existing ``folder``."""
    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(archive) as tar:
            members = _checked_members(tar)
            tar.extractall(folder, members=members, **extra)
            # tar stops reading at its end-of-archive blocks; read the compressed stream to its
            # end so that gzip, bz2 and xz check their trailers (CRC, length) too
            while tar.fileobj.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise ValueError(f"archive {archive} is truncated or corrupt: {error}") from error

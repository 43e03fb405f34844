"""Cartoon Set faces for chapter 6: ``(n, size * size * 3)`` float32 RGB images in [0, 1].

Sources, in this order (see :func:`cartoon_source`):

1. ``archive=``: a local ``cartoonset10k.tgz`` (errors, never a fallback, when it is bad);
2. the archive cached in ``<cache>/cartoon/`` by an earlier download;
3. a download from Google's Cartoon Set page (https://google.github.io/cartoonset/, CC BY 4.0),
   tried at :data:`CARTOON_URLS`. No checksum is published: the SHA-256 of the first download
   is recorded beside it (``cartoonset10k.tgz.sha256``) and checked whenever it is unpacked;
4. otherwise (``CMM_OFFLINE`` set, no network): the procedural stand-in of
   :mod:`.cartoon_standin`, with an :class:`~.download.OfflineFallbackWarning`. It is NOT the
   Cartoon Set; :func:`cartoon_source` says which source is used, for figure titles.

Processing of the real set. The archive is unpacked safely (:func:`~.download.safe_extract_tar`)
into a temporary folder; it must hold :data:`CARTOON_COUNT` PNG images ``csX.png`` (500 x 500
RGBA), each with a ``csX.csv`` of 18 attribute lines ``"name", variant, n_variants`` (10 artwork
attributes: chin_length, eye_angle, eye_lashes, eye_lid, eyebrow_shape, eyebrow_weight,
face_shape, facial_hair, glasses, hair; 4 colours: eye_color, face_color, glasses_color,
hair_color; 4 proportions: eye_eyebrow_distance, eye_slant, eyebrow_thickness, eyebrow_width).
Each image is composited onto white, cropped to :data:`CROP_BOX` (the central 400 x 400 of the
500 x 500 image, where the face and hair lie, dropping the white margin) and resized to
``size`` x ``size`` with Lanczos filtering. The result is cached as
``<cache>/cartoon/cartoonset_<sha256[:16]>_v1_<size>.npz`` (uint8). Both sources are split by
:func:`_split`: 9,000 train / 1,000 test for 10,000 faces.
"""
from __future__ import annotations

import csv
import os
import tarfile
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from . import cartoon_standin
from .. import atomic
from .download import (
    DownloadError,
    IntegrityError,
    OfflineFallbackWarning,
    cache_dir,
    fetch,
    file_digest,
    offline,
    safe_extract_tar,
)

CARTOON_URLS = (
    "https://storage.googleapis.com/cartoonset_public_files/cartoonset10k.tgz",
    "https://storage.cloud.google.com/cartoonset_public_files/cartoonset10k.tgz",
)
ARCHIVE_NAME = "cartoonset10k.tgz"
CARTOON_COUNT = 10_000
N_ATTRIBUTES = 18
CROP_BOX = (0.1, 0.1, 0.9, 0.9)  # left, top, right, bottom, as fractions of the image side
TEST_FRACTION = 0.1
SPLIT_SEED = 20240602
STANDIN_SEED = 0

_PROCESSING_VERSION = 1  # names the processed files: bump it when CROP_BOX or decoding change
SOURCE_REAL = "cartoonset10k"
SOURCE_STANDIN = "procedural stand-in"
_UNREACHABLE: dict[Path, str] = {}  # cache folder -> why the download failed in this process


def _folder() -> Path:
    """The cache folder of the Cartoon Set files."""
    return cache_dir() / "cartoon"


def read_attributes(path: Path) -> dict[str, int]:
    """The attribute variants of one ``csX.csv`` (lines ``"name", variant, n_variants``)."""
    attributes = {}
    with open(path, newline="") as stream:
        for row in csv.reader(stream, skipinitialspace=True):
            if not row:
                continue
            try:
                name, variant, count = row[0], int(row[1]), int(row[2])
            except (IndexError, ValueError) as error:
                raise ValueError(f"{path.name}: bad attribute line {row!r}") from error
            if len(row) != 3 or not 0 <= variant < count:
                raise ValueError(f"{path.name}: bad attribute line {row!r}")
            attributes[name] = variant
    if len(attributes) != N_ATTRIBUTES:
        raise ValueError(f"{path.name}: {len(attributes)} attributes, expected {N_ATTRIBUTES}")
    return attributes


def decode_face(path: Path, size: int) -> np.ndarray:
    """One PNG as ``(size, size, 3)`` uint8: on white, cropped to :data:`CROP_BOX`, resized."""
    try:
        with Image.open(path) as image:
            image.load()
            rgba = image.convert("RGBA")
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot decode the image {path.name}: {error}") from error
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    width, height = rgb.size
    left, top, right, bottom = CROP_BOX
    box = (round(left * width), round(top * height), round(right * width), round(bottom * height))
    return np.asarray(rgb.crop(box).resize((size, size), Image.Resampling.LANCZOS,
                                           reducing_gap=3.0))


def _pairs(root: Path, expected_count: int | None) -> list[tuple[Path, Path]]:
    """The ``(csX.png, csX.csv)`` pairs under ``root``, sorted by name, after counting them."""
    pngs = sorted((p for p in root.rglob("*.png") if not p.name.startswith(".")),
                  key=lambda p: p.name)
    csvs = [p for p in root.rglob("*.csv") if not p.name.startswith(".")]
    if expected_count is not None and len(pngs) != expected_count:
        raise ValueError(f"the archive holds {len(pngs)} PNG images, expected {expected_count}")
    if not pngs:
        raise ValueError("the archive holds no PNG image")
    missing = [p.name for p in pngs if not p.with_suffix(".csv").is_file()]
    if missing or len(csvs) != len(pngs):
        raise ValueError(f"{len(pngs)} PNG images but {len(csvs)} CSV files; images without "
                         f"attributes: {missing[:5]}")
    return [(p, p.with_suffix(".csv")) for p in pngs]


def _decode_folder(root: Path, size: int,
                   expected_count: int | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images ``(n, size * size * 3)`` uint8 and attributes (name -> (n,)) of an unpacked set."""
    pairs = _pairs(root, expected_count)
    images = np.empty((len(pairs), size * size * 3), dtype=np.uint8)
    table = []
    for i, (png, attributes) in enumerate(tqdm(pairs, desc="Cartoon Set", leave=False)):
        images[i] = decode_face(png, size).reshape(-1)
        table.append(read_attributes(attributes))
    names = sorted(table[0])
    for (png, _), row in zip(pairs, table, strict=True):
        if sorted(row) != names:
            raise ValueError(f"{png.stem}.csv: attribute names differ from {pairs[0][0].stem}.csv")
    return images, {name: np.array([row[name] for row in table], np.int32) for name in names}


def _processed_path(digest: str, size: int) -> Path:
    """Where the set of the archive of SHA-256 ``digest`` is cached at ``size``."""
    return _folder() / f"cartoonset_{digest[:16]}_v{_PROCESSING_VERSION}_{size}.npz"


def _process(archive: Path, digest: str, size: int, expected_count: int | None) -> Path:
    """Unpack ``archive`` (SHA-256 ``digest``), decode it and cache the result; its path."""
    target = _processed_path(digest, size)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        root = safe_extract_tar(archive, Path(tmp) / "set")
        images, attributes = _decode_folder(root, size, expected_count)
    arrays = {f"attr_{name}": values for name, values in attributes.items()}
    return atomic.write_npz(target, images=images, **arrays)


def _download(folder: Path) -> Path:
    """Download the archive into ``folder``, record its SHA-256 and return its path."""
    if offline():
        raise DownloadError("CMM_OFFLINE is set")
    dest, reasons = folder / ARCHIVE_NAME, []
    for url in CARTOON_URLS:
        try:
            fetch(url, dest)
        except DownloadError as error:
            reasons.append(str(error))
            continue
        if tarfile.is_tarfile(dest):
            atomic.write_text(dest.with_name(ARCHIVE_NAME + ".sha256"), file_digest(dest))
            return dest
        dest.unlink()
        reasons.append(f"{url} did not send a tar archive")
    raise DownloadError("; ".join(reasons))


def _cached_archive(folder: Path) -> tuple[Path, str] | None:
    """The downloaded archive and its recorded SHA-256, downloading it when possible."""
    archive, record = folder / ARCHIVE_NAME, folder / (ARCHIVE_NAME + ".sha256")
    if not (archive.is_file() and record.is_file()) and folder not in _UNREACHABLE:
        try:
            _download(folder)
        except DownloadError as error:
            _UNREACHABLE[folder] = str(error)
    if not (archive.is_file() and record.is_file()):
        return None
    return archive, record.read_text().strip()


def _check_recorded(archive: Path, recorded: str) -> None:
    """IntegrityError when the cached archive's SHA-256 is not the one of its first download."""
    digest = file_digest(archive)
    if digest != recorded:
        raise IntegrityError(f"the cached {archive} changed since its download: sha256 expected "
                             f"{recorded}, got {digest}; delete it to download it again")


def _real_npz(archive: str | os.PathLike | None, size: int,
              expected_count: int | None) -> Path | None:
    """The processed npz of the real set (``archive`` or the cached download), or None."""
    if archive is not None:
        archive = Path(archive)
        if not archive.is_file():
            raise FileNotFoundError(f"no Cartoon Set archive at {archive}")
        return _process(archive, file_digest(archive), size, expected_count)
    cached = _cached_archive(_folder())
    if cached is None:
        return None
    path, recorded = cached
    if not _processed_path(recorded, size).is_file():
        _check_recorded(path, recorded)
    return _process(path, recorded, size, expected_count)


def _standin_npz(size: int) -> Path:
    """The cached stand-in set of :data:`CARTOON_COUNT` faces at ``size``, made when missing."""
    target = _folder() / f"standin_v{cartoon_standin.VERSION}_seed{STANDIN_SEED}_{size}.npz"
    if not target.is_file():
        images, attributes = cartoon_standin.standin_faces(CARTOON_COUNT, size, STANDIN_SEED)
        arrays = {f"attr_{name}": values for name, values in attributes.items()}
        atomic.write_npz(target, images=images, **arrays)
    return target


def _split(n: int, split: str) -> np.ndarray:
    """Indices of ``split`` among ``n`` faces: a seeded permutation, its first tenth for test."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_test = int(n * TEST_FRACTION)
    return order[:n_test] if split == "test" else order[n_test:]


def cartoon_source(archive: str | os.PathLike | None = None) -> str:
    """The source :func:`cartoon` uses: :data:`SOURCE_REAL` or :data:`SOURCE_STANDIN`.

    Without ``archive`` and without a cached download, this tries the download.
    """
    if archive is not None or _cached_archive(_folder()) is not None:
        return SOURCE_REAL
    return SOURCE_STANDIN


def cartoon(split: str = "train", size: int = 32, archive: str | os.PathLike | None = None, *,
            return_attributes: bool = False, expected_count: int | None = CARTOON_COUNT):
    """Cartoon faces of ``split`` as ``(n, size * size * 3)`` float32 RGB in [0, 1].

    ``archive``: a local ``cartoonset10k.tgz`` (else the cached or downloaded one, else the
    stand-in, with an :class:`~.download.OfflineFallbackWarning`). ``expected_count``: the
    number of images the archive must hold (None: any). With ``return_attributes``, returns
    ``(images, attributes)``, attributes a dict name -> ``(n,)`` int32 variant indices (the
    Cartoon Set's 18, or the stand-in's :data:`~.cartoon_standin.STANDIN_ATTRIBUTES`).
    Images are flattened row-major from ``(size, size, 3)``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    path = _real_npz(archive, size, expected_count)
    if path is None:
        warnings.warn(f"the Cartoon Set is not available ({_UNREACHABLE.get(_folder())}): using "
                      "cmmlib's procedural stand-in faces (cartoon_standin), NOT the Cartoon Set; "
                      "pass archive= a local cartoonset10k.tgz", OfflineFallbackWarning,
                      stacklevel=2)
        path = _standin_npz(size)
    with np.load(path) as data:
        every = data["images"]
        index = _split(len(every), split)
        images = every[index] / np.float32(255.0)
        attributes = {key[5:]: data[key][index] for key in data.files if key.startswith("attr_")}
    return (images, attributes) if return_attributes else images

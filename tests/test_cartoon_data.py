"""Cartoon Set loader on tiny archives made here, safe extraction, and the procedural stand-in."""
import io
import os
import re
import tarfile
import warnings

import numpy as np
import pytest
from PIL import Image

from cmmlib.datasets import cartoon_data, cartoon_standin, download
from cmmlib.datasets.download import IntegrityError, OfflineFallbackWarning

NAMES = ("chin_length", "eye_angle", "eye_lashes", "eye_lid", "eyebrow_shape", "eyebrow_weight",
         "face_shape", "facial_hair", "glasses", "hair", "eye_color", "face_color",
         "glasses_color", "hair_color", "eye_eyebrow_distance", "eye_slant",
         "eyebrow_thickness", "eyebrow_width")
N_FACES, SIDE = 10, 40


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder and no network."""
    monkeypatch.setenv("CMM_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("CMM_OFFLINE", "1")
    return tmp_path / "cache"


def _png(index: int) -> bytes:
    """A transparent 40x40 RGBA image with an opaque square of red ``20 * index`` in its centre."""
    pixels = np.zeros((SIDE, SIDE, 4), dtype=np.uint8)
    pixels[8:32, 8:32] = (20 * index, 0, 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _csv(index: int) -> bytes:
    """18 attribute lines; ``hair`` is the face's index."""
    lines = [f'"{name}", {index if name == "hair" else 1}, {111 if name == "hair" else 3}'
             for name in NAMES]
    return ("\n".join(lines) + "\n").encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _archive(path, n=N_FACES, replace=None, extra=()):
    """A cartoonset10k-like .tgz of ``n`` faces; ``replace``: name -> bytes; ``extra``: TarInfos."""
    replace = replace or {}
    with tarfile.open(path, "w:gz") as tar:
        for i in range(n):
            for suffix, data in ((".png", _png(i)), (".csv", _csv(i))):
                name = f"cartoonset10k/cs{1000 + i}{suffix}"
                _add(tar, name, replace.get(name, data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return path


def _no_results(cache_folder):
    """No processed npz and no temporary folder or file was left in the cache."""
    folder = cache_folder / "cartoon"
    return not folder.exists() or os.listdir(folder) == []


def test_tiny_archive_loads(cache, tmp_path):
    archive = _archive(tmp_path / "set.tgz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", OfflineFallbackWarning)
        x, attributes = cartoon_data.cartoon("train", 8, archive, return_attributes=True,
                                             expected_count=N_FACES)
        xt, attributes_t = cartoon_data.cartoon("test", 8, archive, return_attributes=True,
                                                expected_count=N_FACES)
    assert x.shape == (9, 8 * 8 * 3) and xt.shape == (1, 8 * 8 * 3) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() == 1.0
    assert sorted(attributes) == sorted(NAMES)
    hair = np.concatenate([attributes["hair"], attributes_t["hair"]])
    assert sorted(hair.tolist()) == list(range(N_FACES))  # train and test are disjoint
    images = x.reshape(-1, 8, 8, 3)
    # transparent pixels became white; the centre keeps each face's own red (same order as CSVs)
    np.testing.assert_allclose(images[:, 0, 0], 1.0, atol=0.02)
    np.testing.assert_allclose(images[:, 4, 4, 0], 20 * attributes["hair"] / 255, atol=0.02)
    np.testing.assert_allclose(images[:, 4, 4, 1:], 0.0, atol=0.02)
    assert cartoon_data.cartoon_source(archive) == cartoon_data.SOURCE_REAL
    npz = [p for p in os.listdir(cache / "cartoon")]
    assert len(npz) == 1 and npz[0].startswith("cartoonset_") and npz[0].endswith("_8.npz")


def test_processed_archive_is_cached(cache, tmp_path, monkeypatch):
    archive = _archive(tmp_path / "set.tgz")
    first = cartoon_data.cartoon("train", 6, archive, expected_count=N_FACES)

    def refuse(*args):
        raise AssertionError("the archive was unpacked again")

    monkeypatch.setattr(cartoon_data, "safe_extract_tar", refuse)
    np.testing.assert_array_equal(cartoon_data.cartoon("train", 6, archive, expected_count=None),
                                  first)


def test_count_and_pairs_are_checked(cache, tmp_path):
    archive = _archive(tmp_path / "set.tgz")
    with pytest.raises(ValueError, match="holds 10 PNG images, expected 10000"):
        cartoon_data.cartoon("train", 8, archive)
    lonely = tmp_path / "lonely.tgz"
    with tarfile.open(lonely, "w:gz") as tar:
        _add(tar, "cartoonset10k/cs1.png", _png(1))
    with pytest.raises(ValueError, match="images without attributes: \\['cs1.png'\\]"):
        cartoon_data.cartoon("train", 8, lonely, expected_count=1)
    assert _no_results(cache)


def _member(name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.mark.parametrize("make, reason", [
    (lambda tmp: _member("../evil.txt", tarfile.REGTYPE), "path escaping"),
    (lambda tmp: _member("cartoonset10k/../../evil.txt", tarfile.REGTYPE), "path escaping"),
    (lambda tmp: _member(str(tmp / "evil.txt"), tarfile.REGTYPE), "absolute path"),
    (lambda tmp: _member("cartoonset10k/link", tarfile.SYMTYPE, "/etc/passwd"), "link to"),
    (lambda tmp: _member("cartoonset10k/hard", tarfile.LNKTYPE, "cartoonset10k/cs1000.png"),
     "link to"),
    (lambda tmp: _member("cartoonset10k/dev", tarfile.CHRTYPE), "device"),
])
def test_unsafe_members_are_refused(cache, tmp_path, make, reason):
    work = tmp_path / "work"
    work.mkdir()
    member = make(work)
    archive = _archive(tmp_path / "evil.tgz", n=2, extra=[member])
    expected = f"refusing tar member '{re.escape(member.name)}': {reason}"
    with pytest.raises(ValueError, match=expected):
        download.safe_extract_tar(archive, work / "out")
    assert os.listdir(work) == []  # no target, no temporary folder, no evil.txt beside them
    assert not (tmp_path / "evil.txt").exists()
    with pytest.raises(ValueError, match="refusing tar member"):
        cartoon_data.cartoon("train", 8, archive, expected_count=None)
    assert _no_results(cache)


def test_truncated_archive_is_a_clear_error(cache, tmp_path):
    good = _archive(tmp_path / "set.tgz").read_bytes()
    truncated = tmp_path / "truncated.tgz"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated.tgz is truncated or corrupt"):
        cartoon_data.cartoon("train", 8, truncated, expected_count=None)
    assert _no_results(cache)
    target = tmp_path / "out"
    with pytest.raises(ValueError, match="truncated or corrupt"):
        download.safe_extract_tar(truncated, target)
    assert not target.exists() and sorted(os.listdir(tmp_path)) == [
        "cache", "set.tgz", "truncated.tgz"]


def test_corrupt_png_is_a_clear_error(cache, tmp_path):
    broken = _png(3)[: len(_png(3)) // 2]
    archive = _archive(tmp_path / "set.tgz", replace={"cartoonset10k/cs1003.png": broken})
    with pytest.raises(ValueError, match="cannot decode the image cs1003.png"):
        cartoon_data.cartoon("train", 8, archive, expected_count=N_FACES)
    assert _no_results(cache)


def test_bad_attribute_file_is_a_clear_error(cache, tmp_path):
    archive = _archive(tmp_path / "set.tgz",
                       replace={"cartoonset10k/cs1002.csv": b'"hair", 200, 111\n'})
    with pytest.raises(ValueError, match="cs1002.csv: bad attribute line"):
        cartoon_data.cartoon("train", 8, archive, expected_count=N_FACES)


def test_cached_download_is_checked_against_its_recorded_hash(cache, tmp_path):
    folder = cache / "cartoon"
    folder.mkdir(parents=True)
    archive = _archive(folder / cartoon_data.ARCHIVE_NAME)
    record = folder / (cartoon_data.ARCHIVE_NAME + ".sha256")
    record.write_text("0" * 64)
    with pytest.raises(IntegrityError, match="changed since its download"):
        cartoon_data.cartoon("train", 8, expected_count=N_FACES)
    record.write_text(download.file_digest(archive))
    assert cartoon_data.cartoon_source() == cartoon_data.SOURCE_REAL
    assert cartoon_data.cartoon("test", 8, expected_count=N_FACES).shape == (1, 192)


def test_download_records_the_hash_and_skips_non_archives(cache, tmp_path, monkeypatch):
    page = tmp_path / "login.html"
    page.write_text("<html>sign in</html>")
    archive = _archive(tmp_path / "set.tgz")
    monkeypatch.delenv("CMM_OFFLINE")
    monkeypatch.setattr(cartoon_data, "CARTOON_URLS", (page.as_uri(), archive.as_uri()))
    x = cartoon_data.cartoon("train", 8, expected_count=N_FACES)
    assert x.shape == (9, 192)
    record = cache / "cartoon" / (cartoon_data.ARCHIVE_NAME + ".sha256")
    assert record.read_text() == download.file_digest(archive)


def test_standin_fallback_warns_and_is_cached(cache):
    assert cartoon_data.cartoon_source() == cartoon_data.SOURCE_STANDIN
    with pytest.warns(OfflineFallbackWarning, match="NOT the Cartoon Set"):
        xt, attributes = cartoon_data.cartoon("test", 8, return_attributes=True)
    assert xt.shape == (1000, 192) and xt.dtype == np.float32
    assert xt.min() >= 0.0 and xt.max() == 1.0
    assert set(attributes) == set(cartoon_standin.STANDIN_ATTRIBUTES)
    with pytest.warns(OfflineFallbackWarning):
        x = cartoon_data.cartoon("train", 8)
    assert x.shape == (9000, 192)
    assert len(np.unique(np.concatenate([x, xt]), axis=0)) == 10_000  # all faces differ
    assert [p.startswith("standin_") for p in os.listdir(cache / "cartoon")] == [True]


def test_standin_is_deterministic_and_labelled():
    images, attributes = cartoon_standin.standin_faces(40, 16, seed=3)
    again, _ = cartoon_standin.standin_faces(40, 16, seed=3)
    prefix, _ = cartoon_standin.standin_faces(5, 16, seed=3)
    other, _ = cartoon_standin.standin_faces(40, 16, seed=4)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(images[:5], prefix)
    assert not np.array_equal(images, other)
    assert images.shape == (40, 16 * 16 * 3) and images.dtype == np.uint8
    faces = images.reshape(40, 16, 16, 3)
    assert (faces[:, 0, 0] == 255).all()  # drawn on white
    assert (faces[:, 8, 8] < 250).any(axis=-1).all()  # a face in the centre
    for name, count in cartoon_standin.STANDIN_ATTRIBUTES.items():
        assert attributes[name].min() >= 0 and attributes[name].max() < count
    assert len(np.unique(attributes["hair"])) > 3


def test_standin_attributes_change_the_picture(monkeypatch):
    index = next(i for i in range(100) if cartoon_standin.draw_face(0, i, 32)[1]["glasses"] == 0)
    image, attributes = cartoon_standin.draw_face(0, index, 32)
    original = cartoon_standin._draw_attributes

    def with_sunglasses(rng):
        return {**original(rng), "glasses": 3}

    monkeypatch.setattr(cartoon_standin, "_draw_attributes", with_sunglasses)
    changed, changed_attributes = cartoon_standin.draw_face(0, index, 32)
    assert changed_attributes == {**attributes, "glasses": 3}
    assert not np.array_equal(image, changed)


@pytest.mark.parametrize("cut", [1, 8, 200])
def test_archive_cut_anywhere_is_a_clear_error(cache, tmp_path, cut):
    # a cut inside the gzip trailer (CRC, length) leaves every tar member readable: only reading
    # the compressed stream to its end finds it
    good = _archive(tmp_path / "set.tgz").read_bytes()
    cut_copy = tmp_path / "cut.tgz"
    cut_copy.write_bytes(good[:-cut])
    with pytest.raises(ValueError, match="cut.tgz is truncated or corrupt"):
        cartoon_data.cartoon("train", 8, cut_copy, expected_count=None)
    assert _no_results(cache)


def test_flipped_byte_fails_the_crc_check(cache, tmp_path):
    damaged = bytearray(_archive(tmp_path / "set.tgz").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    target = tmp_path / "damaged.tgz"
    target.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="damaged.tgz is truncated or corrupt"):
        download.safe_extract_tar(target, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="truncated or corrupt"):
        cartoon_data.cartoon("train", 8, target, expected_count=None)
    assert _no_results(cache)

"""Tests of cmmlib.image_metrics: classifier features, Fréchet distance, nearest neighbours."""
import warnings

import jax
import numpy as np
import pytest
import scipy.linalg

from cmmlib import image_metrics as im


# ----------------------------------------------------------------------------------------------
# Fréchet distance
# ----------------------------------------------------------------------------------------------
def _closed_form(mu_a, cov_a, mu_b, cov_b):
    """Reference value with scipy.linalg.sqrtm (an implementation independent of the module's)."""
    root_a = scipy.linalg.sqrtm(cov_a).real
    cross = scipy.linalg.sqrtm(root_a @ cov_b @ root_a).real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                 - 2 * np.trace(cross))


def test_frechet_zero_for_identical_sets():
    x = np.random.default_rng(0).normal(size=(500, 6)) @ np.diag([3.0, 1, 1, 0.5, 0.1, 2])
    assert im.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    # a rank-deficient cloud (constant column, duplicated column) is still ~0, and real
    y = np.column_stack([x, np.ones(500), x[:, 0]])
    assert im.frechet_distance(y, y) == pytest.approx(0.0, abs=1e-8)


def test_frechet_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(1)
    d, n = 4, 400_000
    a_factor, b_factor = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    cov_a, cov_b = a_factor @ a_factor.T + 0.1 * np.eye(d), b_factor @ b_factor.T + 0.1 * np.eye(d)
    mu_a, mu_b = rng.normal(size=d), rng.normal(size=d)
    xa = mu_a + rng.normal(size=(n, d)) @ np.linalg.cholesky(cov_a).T
    xb = mu_b + rng.normal(size=(n, d)) @ np.linalg.cholesky(cov_b).T
    expected = _closed_form(mu_a, cov_a, mu_b, cov_b)
    # the trace term matters: dropping it (or using elementwise square roots) is far off
    assert abs(expected - np.sum((mu_a - mu_b) ** 2)) > 1.0
    assert im.frechet_distance(xa, xb) == pytest.approx(expected, rel=0.02)
    # diagonal covariances: d^2 = |dmu|^2 + sum (sqrt(a_i) - sqrt(b_i))^2 exactly
    va, vb = np.array([4.0, 1.0, 0.25]), np.array([1.0, 9.0, 0.25])
    za = rng.normal(size=(n, 3)) * np.sqrt(va)
    zb = 1.0 + rng.normal(size=(n, 3)) * np.sqrt(vb)
    assert im.frechet_distance(za, zb) == pytest.approx(3.0 + 1.0 + 4.0, rel=0.02)


def test_frechet_is_symmetric_and_positive():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    b = 0.5 + rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    ab, ba = im.frechet_distance(a, b), im.frechet_distance(b, a)
    assert ab > 0.1
    assert ab == pytest.approx(ba, rel=1e-9)


def test_frechet_validates_inputs():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(50, 3))
    with pytest.raises(ValueError, match="dimension"):
        im.frechet_distance(a, rng.normal(size=(50, 4)))
    with pytest.raises(ValueError, match="shape"):
        im.frechet_distance(a[:, 0], a[:, 0])
    bad = a.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        im.frechet_distance(a, bad)
    with pytest.warns(RuntimeWarning, match="singular"):
        im.frechet_distance(a[:3], a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        im.frechet_distance(a, a + 1)  # n > k: no warning


# ----------------------------------------------------------------------------------------------
# nearest neighbours
# ----------------------------------------------------------------------------------------------
def test_nearest_neighbours_match_brute_force():
    rng = np.random.default_rng(4)
    reference = rng.uniform(0, 3, size=(1037, 128)).astype(np.float32)
    x = rng.uniform(0, 3, size=(301, 128)).astype(np.float32)
    x[:7] = reference[[5, 1036, 0, 500, 999, 3, 1024]]  # exact copies: distance exactly 0
    x[7] = 1e-3  # near the origin: zero-padded reference rows would be its "neighbours"
    brute = np.sqrt(((x[:, None, :].astype(np.float64) - reference[None]) ** 2).sum(-1))
    # block sizes that divide neither n nor m (padding must not create fake neighbours)
    dist, idx = im.nearest_neighbour_distances(x, reference, batch=64, reference_batch=100,
                                               return_index=True)
    assert dist.shape == (301,) and idx.shape == (301,)
    np.testing.assert_allclose(np.asarray(dist), brute.min(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(idx), brute.argmin(axis=1))
    np.testing.assert_array_equal(np.asarray(dist[:7]), 0.0)
    # default block sizes give the same answer
    np.testing.assert_allclose(np.asarray(im.nearest_neighbour_distances(x, reference)),
                               brute.min(axis=1), rtol=1e-5, atol=1e-6)


def test_nearest_neighbours_validate_inputs():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="dimension"):
        im.nearest_neighbour_distances(x, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="batch"):
        im.nearest_neighbour_distances(x, x, batch=0)
    with pytest.raises(ValueError, match="NaN"):
        im.nearest_neighbour_distances(np.full((2, 3), np.nan), x)


# ----------------------------------------------------------------------------------------------
# moment-matched Gaussian
# ----------------------------------------------------------------------------------------------
def test_moment_matched_gaussian_matches_two_moments():
    rng = np.random.default_rng(5)
    data = rng.exponential(size=(3000, 5)) @ rng.normal(size=(5, 5)) + 3.0
    data = np.column_stack([data, np.full(3000, 0.5)])  # a constant pixel: singular covariance
    samples = np.asarray(im.moment_matched_gaussian(data, jax.random.PRNGKey(0), 100_000))
    assert samples.shape == (100_000, 6) and np.all(np.isfinite(samples))
    scale = np.sqrt(np.diag(np.cov(data, rowvar=False)).max())
    np.testing.assert_allclose(samples.mean(0), data.mean(0), atol=0.02 * scale)
    np.testing.assert_allclose(np.cov(samples, rowvar=False), np.cov(data, rowvar=False),
                               atol=0.03 * scale ** 2)
    assert samples[:, -1].std() < 1e-2  # the constant pixel stays (nearly) constant
    again = im.moment_matched_gaussian(data, jax.random.PRNGKey(0), 100_000)
    np.testing.assert_array_equal(samples, np.asarray(again))
    with pytest.raises(ValueError, match="n must be"):
        im.moment_matched_gaussian(data, jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="ridge"):
        im.moment_matched_gaussian(data, jax.random.PRNGKey(0), 3, ridge=-1.0)


# ----------------------------------------------------------------------------------------------
# classifier
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist14():
    from cmmlib import datasets

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CMM_OFFLINE", "1")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xtr, ytr = datasets.mnist("train", size=14, return_labels=True)
            xte, yte = datasets.mnist("test", size=14, return_labels=True)
    model = im.train_classifier(xtr, ytr, jax.random.PRNGKey(0), steps=600, batch_size=128,
                                learning_rate=2e-3)
    return model, xtr, ytr, xte, yte


def test_classifier_learns_mnist(mnist14):
    model, xtr, ytr, xte, yte = mnist14
    assert model.losses.shape == (600,) and model.losses[-50:].mean() < model.losses[:50].mean()
    assert im.accuracy(model, xte, yte) > 0.90
    feats = im.features(model, xte[:100])
    assert feats.shape == (100, 128) and model.feature_dim == 128
    proba = np.asarray(im.predict_proba(model, xte[:100]))
    assert proba.shape == (100, 10)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(im.confidence(model, xte[:100])), proba.max(1),
                               rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(im.predict(model, xte[:100])), proba.argmax(1))
    # one head: the mix of predicted digits is close to the true mix
    freq = im.class_frequencies(model, xte)
    assert freq.shape == (10,) and 0.5 * np.abs(freq - np.bincount(yte, minlength=10) / len(yte)).sum() < 0.05
    # a wrong-label check: shuffled labels give chance-level accuracy
    assert im.accuracy(model, xte, np.roll(yte, 1)) < 0.3


def test_frechet_orders_real_gaussian_noise(mnist14):
    model, xtr, _, xte, _ = mnist14
    n = xte.shape[0]
    train = im.features(model, xtr)
    gauss = im.moment_matched_gaussian(xtr, jax.random.PRNGKey(1), n)
    noise = jax.random.uniform(jax.random.PRNGKey(2), xte.shape)
    real = im.frechet_distance(im.features(model, xte), train)
    second_moments = im.frechet_distance(im.features(model, gauss), train)
    uniform = im.frechet_distance(im.features(model, noise), train)
    assert real < second_moments < uniform
    assert 3 * real < second_moments
    # the classifier is more confident on real digits than on the Gaussian baseline
    assert float(im.confidence(model, xte).mean()) > float(im.confidence(model, gauss).mean())


def test_classifier_is_deterministic_and_multi_head():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2000, 16)).astype(np.float32)
    attrs = {"sign": (x[:, 0] > 0).astype(np.int32), "argmax": np.argmax(x[:, 1:4], axis=1)}
    kw = dict(steps=200, batch_size=64, learning_rate=5e-3, hidden=(32, 16))
    model = im.train_classifier(x, attrs, jax.random.PRNGKey(3), **kw)
    assert model.heads == {"sign": 2, "argmax": 3} and model.multi_head
    acc = im.accuracy(model, x, attrs)
    assert set(acc) == {"sign", "argmax"} and min(acc.values()) > 0.9
    proba = im.predict_proba(model, x[:10])
    assert proba["sign"].shape == (10, 2) and proba["argmax"].shape == (10, 3)
    assert im.confidence(model, x[:10], head="argmax").shape == (10,)
    assert im.features(model, x[:10]).shape == (10, 16)
    # per-attribute accuracy really is per attribute: corrupt one attribute only
    acc_bad = im.accuracy(model, x, {"sign": attrs["sign"], "argmax": (attrs["argmax"] + 1) % 3})
    assert acc_bad["sign"] == acc["sign"] and acc_bad["argmax"] < 0.1
    # class frequencies are those of the predictions, per head
    freq = im.class_frequencies(model, x, "argmax")
    np.testing.assert_allclose(freq, np.bincount(np.asarray(im.predict(model, x, "argmax")), minlength=3) / len(x))
    assert freq.shape == (3,) and abs(freq.sum() - 1) < 1e-12 and np.abs(freq - np.bincount(attrs["argmax"]) / len(x)).sum() < 0.2
    assert im.class_frequencies(model, x[x[:, 0] > 0], "sign")[1] > 0.9
    with pytest.raises(ValueError, match="name the head"):
        im.class_frequencies(model, x)
    with pytest.raises(ValueError, match="head must be one of"):
        im.class_frequencies(model, x, "colour")
    same = im.train_classifier(x, attrs, jax.random.PRNGKey(3), **kw)
    np.testing.assert_array_equal(model.losses, same.losses)
    other = im.train_classifier(x, attrs, jax.random.PRNGKey(4), **kw)
    assert not np.array_equal(model.losses, other.losses)


def test_shift_augmentation_translates_images():
    rng = np.random.default_rng(7)
    imgs = rng.uniform(0.1, 1.0, size=(64, 5, 4, 3)).astype(np.float32)
    out = np.asarray(im._shift_images(imgs.reshape(64, -1), jax.random.PRNGKey(0), (5, 4, 3), 1))
    out = out.reshape(64, 5, 4, 3)
    seen = set()
    for src, dst in zip(imgs, out):
        padded = np.pad(src, ((1, 1), (1, 1), (0, 0)))
        matches = [(dy, dx) for dy in range(3) for dx in range(3)
                   if np.array_equal(padded[dy:dy + 5, dx:dx + 4], dst)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 9  # all offsets in [-1, 1]^2 occur
    assert im._image_shape(196, None) == (14, 14, 1)
    assert im._image_shape(32 * 32 * 3, None) == (32, 32, 3)
    with pytest.raises(ValueError, match="image shape"):
        im._image_shape(10, None)


def test_classifier_validates_inputs():
    x = np.zeros((10, 4), np.float32)
    y = np.arange(10) % 2
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="shape"):
        im.train_classifier(x, y[:9], key, steps=1)
    with pytest.raises(ValueError, match="integer"):
        im.train_classifier(x, y + 0.5, key, steps=1)
    with pytest.raises(ValueError, match="non-negative"):
        im.train_classifier(x, y - 1, key, steps=1)
    with pytest.raises(ValueError, match="out of range"):
        im.train_classifier(x, y * 3, key, steps=1, n_classes=2)
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN"):
        im.train_classifier(bad, y, key, steps=1)
    with pytest.raises(ValueError, match="steps"):
        im.train_classifier(x, y, key, steps=0)
    with pytest.raises(ValueError, match="shift"):
        im.train_classifier(x, y, key, steps=1, shift=-1)


def test_evaluation_validates_inputs(mnist14):
    model, xtr, ytr, _, _ = mnist14
    with pytest.raises(ValueError, match="dimension"):
        im.features(model, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        im.features(model, np.full((3, 196), np.nan))
    with pytest.raises(ValueError, match="multi-head|one-head"):
        im.accuracy(model, xtr[:10], {"label": ytr[:10]})
    with pytest.raises(ValueError, match="head must be"):
        im.confidence(model, xtr[:10], head="nope")

"""The shared pieces of chapters 6 and 7: half-image masks, masked errors, reference imputations
and the measured comparison of image sets."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmmlib import image_metrics as im
from cmmlib import inpaint


def test_half_masks_hide_half_of_the_pixels_with_all_their_channels():
    size = 6
    masks = inpaint.half_masks(size, channels=3, seed=1)
    assert list(masks) == list(inpaint.HALF_MASKS)
    for name, mask in masks.items():
        assert mask.shape == (size * size * 3,) and mask.dtype == bool
        pixels = mask.reshape(size, size, 3)
        assert np.all(pixels == pixels[..., :1]), name  # the three channels of a pixel together
        assert pixels[..., 0].sum() == size * size // 2, name
    top = masks["top"].reshape(size, size, 3)[..., 0]
    assert top[: size // 2].all() and not top[size // 2:].any()
    left = masks["left"].reshape(size, size, 3)[..., 0]
    assert left[:, : size // 2].all() and not left[:, size // 2:].any()
    assert np.array_equal(masks["top"], ~masks["bottom"]) and np.array_equal(masks["left"], ~masks["right"])
    assert np.array_equal(inpaint.half_masks(size, 3, seed=1)["random"], masks["random"])
    assert not np.array_equal(inpaint.half_masks(size, 3, seed=2)["random"], masks["random"])


def test_grey_half_masks_match_the_row_major_layout():
    masks = inpaint.half_masks(4)
    assert np.array_equal(masks["top"], np.arange(16) < 8)
    assert np.array_equal(masks["right"], np.tile([False, False, True, True], 4))


@pytest.mark.parametrize("size, channels", [(1, 1), (0, 3), (4, 0), (4.0, 1)])
def test_half_masks_reject_bad_sizes(size, channels):
    with pytest.raises(ValueError):
        inpaint.half_masks(size, channels)


def test_masked_rmse_counts_only_the_hidden_coordinates():
    truth = np.zeros((2, 4))
    guess = np.array([[3.0, 100.0, 0.0, 0.0], [4.0, -100.0, 0.0, 0.0]])
    mask = np.array([True, False, False, False])
    assert inpaint.masked_rmse(guess, truth, mask) == pytest.approx(np.sqrt(12.5))
    with pytest.raises(ValueError, match="hides no coordinate"):
        inpaint.masked_rmse(guess, truth, np.zeros(4, bool))
    with pytest.raises(ValueError, match="same shape"):
        inpaint.masked_rmse(guess[:1], truth, mask)


def test_reference_fills_use_the_visible_half():
    reference = np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]], np.float32)
    x = np.array([[0.9, 1.0, np.nan, np.nan], [0.1, 0.0, np.nan, np.nan]], np.float32)
    mask = np.array([False, False, True, True])
    fills = inpaint.reference_fills(x, mask, reference)
    assert set(fills) == {"mean image", "nearest neighbour"}
    np.testing.assert_array_equal(fills["nearest neighbour"][:, 2:], [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(fills["mean image"][:, 2:], 0.5)
    for fill in fills.values():  # the visible coordinates are x's own
        np.testing.assert_array_equal(fill[:, :2], x[:, :2])
    with pytest.raises(ValueError, match="hide some coordinates"):
        inpaint.reference_fills(x, np.ones(4, bool), reference)
    with pytest.raises(ValueError, match="need x"):
        inpaint.reference_fills(x, mask[:3], reference)


def test_compare_image_sets_ranks_real_images_above_noise():
    rng = np.random.default_rng(0)
    centres = rng.uniform(size=(3, 27)).astype(np.float32)
    labels = rng.integers(0, 3, 600)
    x = np.clip(centres[labels] + 0.05 * rng.standard_normal((600, 27)), 0, 1).astype(np.float32)
    colour = rng.integers(0, 2, 600)
    clf = im.train_classifier(x[:500], {"kind": labels[:500], "colour": colour[:500]},
                              jax.random.PRNGKey(0), steps=200, hidden=(32, 16))
    sets = {"real": x[500:], "noise": rng.uniform(size=(100, 27)).astype(np.float32)}
    out = im.compare_image_sets(clf, sets, x[:500])
    assert set(out) == {"real", "noise"}
    assert set(out["real"]) == {"frechet", "confidence", "nn_distance"}
    assert out["real"]["frechet"] < out["noise"]["frechet"]
    assert out["real"]["nn_distance"] < out["noise"]["nn_distance"]
    assert 0.0 < out["noise"]["confidence"] <= 1.0
    again = im.compare_image_sets(clf, sets, x[:500], reference_features=im.features(clf, x[:500]))
    assert again["real"]["frechet"] == pytest.approx(out["real"]["frechet"])


def test_hutchinson_survives_conjugate_gradients_that_converge_early():
    # two distinct Hessian eigenvalues: CG converges in two iterations; iterating on with a zero
    # tolerance divided an underflowed residual by itself and returned NaN (seen on a face model)
    d = 200
    scales = jnp.where(jnp.arange(d) % 7 == 0, 0.05, 1.0)
    w = lambda x: 0.5 * jnp.sum(scales * x ** 2)  # noqa: E731
    x = jnp.linspace(-1.0, 1.0, d)
    for seed in range(3):
        g = inpaint.logdet_gradient(w, x, jax.random.PRNGKey(seed), method="hutchinson", cg_iters=20)
        np.testing.assert_allclose(g, 0.0, atol=1e-6)  # log det of a constant Hessian is constant

r"""Chapter 7's measurement protocol for faces, in one place: data, seeds, classifier, references.

Chapter 7 and ``scripts/evaluate_face_checkpoints.py`` (which measures models of other settings
on the chapter's terms) both call these functions, so their numbers cannot drift apart.

**Data.** The faces of :func:`cmmlib.datasets.cartoon` at ``chapter.size``, smoothed as in the
paper by :math:`x + \sigma \varepsilon`, :math:`\varepsilon \sim N(0, I)`,
:math:`\sigma` = ``chapter.smooth_sigma`` (:func:`cmmlib.datasets.smooth`), which makes the
data absolutely continuous: the training faces with ``PRNGKey(SMOOTH_TRAIN_SEED)``, the
held-out ones with ``PRNGKey(SMOOTH_TEST_SEED)``.

**Classifier.** :func:`cmmlib.image_metrics.train_classifier` on the smoothed training faces,
one head per attribute of ``chapter.classifier_attributes``, for ``chapter.classifier_steps``
steps from ``PRNGKey(CLASSIFIER_SEED)``.

**References.** The two sets every model is measured beside, ``n`` images each: the first
``n`` held-out faces (the floor a perfect generator would reach) and samples of
:math:`N(\bar x, \operatorname{cov}(x))` fitted to the training faces
(:func:`cmmlib.image_metrics.moment_matched_gaussian`, ``PRNGKey(GAUSSIAN_SEED)``): what the
first two moments alone give.

**Samples.** Each model draws its ``n`` images with ``PRNGKey(SAMPLE_SEED)``
(:func:`generate`), so that two models of one architecture see the same Langevin keys.
"""
from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import jax
import numpy as np

from . import image_metrics
from .config import Chapter7Settings
from .datasets import cartoon, cartoon_source, smooth

__all__ = ["SMOOTH_TRAIN_SEED", "SMOOTH_TEST_SEED", "CLASSIFIER_SEED", "GAUSSIAN_SEED", "SAMPLE_SEED",
           "FaceData", "load", "classifier", "references", "generate"]

SMOOTH_TRAIN_SEED, SMOOTH_TEST_SEED, CLASSIFIER_SEED, GAUSSIAN_SEED, SAMPLE_SEED = 0, 1, 3, 4, 7


class FaceData(NamedTuple):
    """The smoothed faces of the protocol, ``(n, 3 size²)`` float32, with their attributes
    (``{name: (n,)}`` int32), and ``source``: ``"cartoonset10k"`` or the stand-in's name
    (:func:`cmmlib.datasets.cartoon_source`)."""

    x_train: np.ndarray
    attributes_train: dict[str, np.ndarray]
    x_test: np.ndarray
    attributes_test: dict[str, np.ndarray]
    source: str


def load(chapter: Chapter7Settings, archive: Any = None) -> FaceData:
    """The training and held-out faces at ``chapter.size``, smoothed by ``chapter.smooth_sigma``.

    ``archive``: a local ``cartoonset10k.tgz``, as for :func:`cmmlib.datasets.cartoon` (without
    one and offline, the stand-in faces, with an ``OfflineFallbackWarning``).
    """
    faces_train, attributes_train = cartoon("train", size=chapter.size, archive=archive, return_attributes=True)
    faces_test, attributes_test = cartoon("test", size=chapter.size, archive=archive, return_attributes=True)
    x_train = smooth(faces_train, jax.random.PRNGKey(SMOOTH_TRAIN_SEED), chapter.smooth_sigma)
    x_test = smooth(faces_test, jax.random.PRNGKey(SMOOTH_TEST_SEED), chapter.smooth_sigma)
    return FaceData(np.asarray(x_train), attributes_train, np.asarray(x_test), attributes_test,
                    cartoon_source(archive))


def classifier(data: FaceData, chapter: Chapter7Settings) -> image_metrics.ClassifierModel:
    """The classifier whose features measure image sets: one head per ``chapter.classifier_attributes``."""
    missing = [name for name in chapter.classifier_attributes if name not in data.attributes_train]
    if missing:
        raise ValueError(f"the faces carry no attribute {missing}; they have {sorted(data.attributes_train)}")
    heads = {name: data.attributes_train[name] for name in chapter.classifier_attributes}
    return image_metrics.train_classifier(data.x_train, heads, jax.random.PRNGKey(CLASSIFIER_SEED),
                                          steps=chapter.classifier_steps)


def references(data: FaceData, n: int) -> dict[str, np.ndarray]:
    """``{"held-out real": (n, d), "moment-matched Gaussian": (n, d)}``: the sets beside every model."""
    if not 1 <= n <= len(data.x_test):
        raise ValueError(f"n must be in [1, {len(data.x_test)}] (the held-out faces), got {n}")
    gaussian = image_metrics.moment_matched_gaussian(data.x_train, jax.random.PRNGKey(GAUSSIAN_SEED), n)
    return {"held-out real": data.x_test[:n], "moment-matched Gaussian": np.asarray(gaussian)}


def generate(model: Any, n: int) -> Any:
    """``n`` images of ``model`` (a :class:`cmmlib.model.ConjugateMomentModel`) drawn with the
    protocol's key: its :class:`~cmmlib.model.Generated` (noise, samples, solver residuals).
    A warning of the model's (an unconverged conjugate solve) is raised again at the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generated = model.generate(jax.random.PRNGKey(SAMPLE_SEED), n)
    for warning in caught:
        warnings.warn(warning.message, warning.category, stacklevel=2)
    return generated

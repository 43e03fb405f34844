r"""Measuring generated images in a classifier's features (chapters 6 and 7).

The usual image scores (FID, Inception score) use the features of an Inception network, whose
weights cannot be downloaded here. This module builds the same kind of measurement from the
book's own data: a small classifier is trained on *real* images (digit labels for MNIST, one
head per attribute for the cartoon faces) and generated images are then compared with real
ones in the classifier's penultimate layer.

Pieces
------
* :class:`Classifier` / :func:`train_classifier` -- an MLP :math:`x \mapsto h(x) \in
  \mathbb{R}^k` (ReLU layers ``hidden``; :math:`h` is the last hidden layer, ``k = hidden[-1]``)
  followed by one linear softmax head per label (``{name: n_classes}``), trained with Adam on
  the summed cross-entropies :math:`\sum_{\text{heads}} -\log p_{\text{head}}(y \mid x)`.
  Training is one jitted :func:`jax.lax.scan`; minibatches are drawn with replacement from
  ``jax.random.fold_in(key, step)``, so the result is a function of ``key`` alone.
* :func:`features` (:math:`h(x)`, shape ``(n, k)``), :func:`predict_proba`, :func:`accuracy`
  and :func:`confidence` (:math:`\max_c p(c \mid x)`: how sure the classifier is that a
  generated image is *some* digit).
* :func:`frechet_distance` -- the Fréchet (2-Wasserstein) distance between Gaussian fits of two
  feature clouds, the formula of FID:

  .. math:: d_F^2 = \|\mu_a-\mu_b\|^2 + \operatorname{tr}\big(\Sigma_a + \Sigma_b
            - 2(\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2})^{1/2}\big).

* :func:`nearest_neighbour_distances` -- each image's Euclidean distance to its nearest
  training image, for memorisation checks (compare generated -> train with held-out real ->
  train: a generator that copies its training set sits far below the held-out curve).
* :func:`moment_matched_gaussian` -- samples of :math:`N(\operatorname{mean}(x),
  \operatorname{cov}(x))`: what matching the first two moments alone gives, the baseline that
  a generator must beat.

Scores measured in this classifier's features are comparable with each other (same
classifier, same reference set, same sample sizes), never with published FIDs.
"""
from __future__ import annotations

import math
import warnings
from functools import partial
from typing import Any, Mapping, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from cmmlib.validation import as_points, check_finite, check_points

__all__ = [
    "SINGLE_HEAD",
    "compare_image_sets",
    "Classifier",
    "ClassifierModel",
    "train_classifier",
    "features",
    "logits",
    "predict_proba",
    "predict",
    "accuracy",
    "confidence",
    "frechet_distance",
    "nearest_neighbour_distances",
    "moment_matched_gaussian",
]

SINGLE_HEAD = "label"  # the head's name when ``labels`` is one array (MNIST digits)
EVAL_BATCH = 4096  # rows per forward pass in features / predict_proba


# ----------------------------------------------------------------------------------------------
# classifier
# ----------------------------------------------------------------------------------------------
class Classifier(nn.Module):
    """MLP with shared ReLU layers ``hidden`` and one linear head per ``(name, n_classes)``.

    ``__call__(x)`` returns ``(features, {name: logits})``: ``features`` is the last hidden
    layer, shape ``(n, hidden[-1])``; ``logits[name]`` has shape ``(n, n_classes)``.
    """

    hidden: tuple[int, ...] = (256, 128)
    heads: tuple[tuple[str, int], ...] = ((SINGLE_HEAD, 10),)

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        h = x
        for i, width in enumerate(self.hidden):
            h = nn.relu(nn.Dense(width, name=f"hidden_{i}")(h))
        return h, {name: nn.Dense(n, name=f"head_{name}")(h) for name, n in self.heads}


class ClassifierModel(NamedTuple):
    """A trained :class:`Classifier`.

    Attributes:
      params: flax parameters.
      module: the :class:`Classifier` (its ``heads`` give names and class counts).
      multi_head: False when trained on one label array: then :func:`predict_proba`,
        :func:`accuracy` and :func:`confidence` return arrays / floats, not dicts.
      losses: ``(steps,)`` training loss (summed cross-entropy of a minibatch) per step.
      dim: input dimension ``d``.
    """

    params: Any
    module: Classifier
    multi_head: bool
    losses: np.ndarray
    dim: int

    @property
    def heads(self) -> dict[str, int]:
        """``{name: n_classes}``."""
        return dict(self.module.heads)

    @property
    def feature_dim(self) -> int:
        """``k``, the width of :func:`features`."""
        return self.module.hidden[-1]


def _as_labels(labels: Any, n: int, name: str = "labels") -> tuple[dict[str, np.ndarray], bool]:
    """``labels`` (one ``(n,)`` array or a dict of them) as ``({name: int array}, multi_head)``."""
    multi = isinstance(labels, Mapping)
    items = dict(labels) if multi else {SINGLE_HEAD: labels}
    if not items:
        raise ValueError(f"{name} is an empty dict: give at least one attribute")
    out = {}
    for key, value in items.items():
        what = f"{name}[{key!r}]" if multi else name
        arr = np.asarray(value)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(f"{what} must have shape ({n},), one label per image, "
                             f"got shape {arr.shape}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise ValueError(f"{what} must hold integer class indices")
        elif arr.dtype.kind not in "iub":
            raise ValueError(f"{what} must hold integer class indices, got dtype {arr.dtype}")
        if arr.size and arr.min() < 0:
            raise ValueError(f"{what} must be non-negative class indices, got {arr.min()}")
        out[str(key)] = arr.astype(np.int32)
    return out, multi


def _as_float64(x: Any, name: str, dim: int | None = None, min_points: int = 2) -> np.ndarray:
    """``(n, d)`` finite points as a float64 NumPy array (no round trip through float32)."""
    return check_points(np.asarray(x, dtype=np.float64), name, dim, min_points)


def _as_images(x: Any, name: str, dim: int | None = None, min_points: int = 1) -> jax.Array:
    """``(n, d)`` finite images as float32 (see :func:`~cmmlib.validation.as_points`)."""
    x = as_points(x, name, dim=dim, min_points=min_points)
    return jnp.asarray(x, dtype=jnp.float32)


def _shift_images(x: jax.Array, key: jax.Array, image_shape: tuple[int, int, int],
                  shift: int) -> jax.Array:
    """Translate each flattened image by a uniform integer offset in ``[-shift, shift]^2``.

    Pixels moved in from outside are 0 (the background of MNIST; black for colour images).
    """
    h, w, c = image_shape
    imgs = jnp.pad(x.reshape(-1, h, w, c), ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    offsets = jax.random.randint(key, (x.shape[0], 2), 0, 2 * shift + 1)

    def crop(img, off):
        return jax.lax.dynamic_slice(img, (off[0], off[1], 0), (h, w, c))

    return jax.vmap(crop)(imgs, offsets).reshape(x.shape)


@partial(jax.jit, static_argnames=("module", "steps", "batch_size", "image_shape", "shift"))
def _train(module: Classifier, params: Any, x: jax.Array, ys: dict[str, jax.Array],
           key: jax.Array, learning_rate: jax.Array, *, steps: int, batch_size: int,
           image_shape: tuple[int, int, int] | None, shift: int):
    optimizer = optax.adam(learning_rate)

    def loss_fn(p, xb, yb):
        _, out = module.apply(p, xb)
        return sum(optax.softmax_cross_entropy_with_integer_labels(out[k], yb[k]).mean()
                   for k in out)

    def step(carry, t):
        p, state = carry
        batch_key, shift_key = jax.random.split(jax.random.fold_in(key, t))
        idx = jax.random.randint(batch_key, (batch_size,), 0, x.shape[0])
        xb = x[idx]
        if shift:
            xb = _shift_images(xb, shift_key, image_shape, shift)
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, {k: v[idx] for k, v in ys.items()})
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), loss

    (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)), jnp.arange(steps))
    return params, losses


def _image_shape(d: int, image_shape: Sequence[int] | None) -> tuple[int, int, int]:
    """``(h, w, c)`` of flattened images of dimension ``d`` (see :func:`train_classifier`)."""
    if image_shape is None:
        for channels in (1, 3):
            side = math.isqrt(d // channels)
            if d % channels == 0 and side * side * channels == d:
                return side, side, channels
        raise ValueError(f"cannot infer the image shape of d={d} (not s**2 nor 3 s**2): "
                         "pass image_shape=(height, width[, channels])")
    shape = tuple(int(v) for v in image_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or min(shape) < 1 or math.prod(shape) != d:
        raise ValueError(f"image_shape {tuple(image_shape)} does not match d={d}")
    return shape


def train_classifier(x: Any, labels: Any, key: jax.Array, *, steps: int = 4000,
                     batch_size: int = 128, learning_rate: float = 1e-3,
                     hidden: Sequence[int] = (256, 128),
                     n_classes: int | Mapping[str, int] | None = None, shift: int = 0,
                     image_shape: Sequence[int] | None = None) -> ClassifierModel:
    """Train a :class:`Classifier` on real images ``x`` ``(n, d)`` with Adam.

    Minimises the summed softmax cross-entropy of all heads on minibatches of ``batch_size``
    images drawn with replacement (step ``t`` uses ``fold_in(key, t)``): deterministic for a
    given ``key``.

    Measured on the shipped offline MNIST subset (8,000 train / 2,000 test), 2-core CPU
    shared with other jobs, ``hidden=(256, 128)``, ``batch_size=128``: 14 x 14 with
    ``shift=1`` and 4,000 steps reaches 97.7% test accuracy (95.8% without shift), 28 x 28
    with ``shift=2`` 98.0% (95.8% without); 25-60 s of training each. For the aligned cartoon
    faces use ``shift=0`` (translations with black fill hurt there).

    Args:
      x: ``(n, d)`` images (flattened), finite.
      labels: ``(n,)`` integer classes (one head, named :data:`SINGLE_HEAD`), or a dict
        ``{attribute: (n,) integer classes}`` (one head per attribute, features shared).
      key: PRNG key (initialisation and minibatches).
      steps, batch_size, learning_rate: Adam's schedule (constant step size).
      hidden: widths of the ReLU layers; the last one is the feature dimension ``k``.
      n_classes: classes per head (int for one head, dict for several); default
        ``max(label) + 1`` of the training labels.
      shift: data augmentation: each training image is translated by a random integer offset
        in ``[-shift, shift]`` pixels along both axes (zero fill); 0 (default) turns it off.
      image_shape: ``(height, width)`` or ``(height, width, channels)`` of the flattened
        images (row-major, channels last), needed by ``shift``. Default: ``(s, s)`` when
        ``d = s**2`` (grey), ``(s, s, 3)`` when ``d = 3 s**2`` (RGB).
    """
    x = _as_images(x, "x", min_points=2)
    ys, multi = _as_labels(labels, x.shape[0])
    hidden = tuple(int(w) for w in hidden)
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must be a non-empty sequence of positive widths, got {hidden}")
    for value, what in ((steps, "steps"), (batch_size, "batch_size")):
        if int(value) != value or value < 1:
            raise ValueError(f"{what} must be a positive integer, got {value}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive finite number, got {learning_rate}")
    if n_classes is None:
        counts = {k: int(v.max()) + 1 for k, v in ys.items()}
    elif isinstance(n_classes, Mapping):
        if set(n_classes) != set(ys):
            raise ValueError(f"n_classes has keys {sorted(n_classes)}, labels {sorted(ys)}")
        counts = {k: int(n_classes[k]) for k in ys}
    else:
        if multi:
            raise ValueError("with several label heads, n_classes must be a dict name -> count")
        counts = {SINGLE_HEAD: int(n_classes)}
    for k, v in ys.items():
        if counts[k] < 2:
            raise ValueError(f"head {k!r} needs at least 2 classes, got {counts[k]}")
        if v.max() >= counts[k]:
            raise ValueError(f"head {k!r}: label {v.max()} is out of range for {counts[k]} classes")
    shift = int(shift)
    if shift < 0:
        raise ValueError(f"shift must be a non-negative integer, got {shift}")
    shape = _image_shape(x.shape[1], image_shape) if shift else None
    module = Classifier(hidden=hidden, heads=tuple(counts.items()))
    init_key, batch_key = jax.random.split(key)
    params = module.init(init_key, x[:1])
    params, losses = _train(module, params, x, {k: jnp.asarray(v) for k, v in ys.items()},
                            batch_key, jnp.float32(learning_rate), steps=int(steps),
                            batch_size=int(batch_size), image_shape=shape, shift=shift)
    losses = np.asarray(losses)
    if not np.all(np.isfinite(losses)):
        raise FloatingPointError("classifier training diverged (non-finite loss): lower "
                                 "learning_rate")
    return ClassifierModel(params, module, multi, losses, int(x.shape[1]))


@partial(jax.jit, static_argnames=("module",))
def _forward(module: Classifier, params: Any, x: jax.Array):
    return module.apply(params, x)


def _batched_forward(model: ClassifierModel, x: Any, name: str = "x"):
    if not isinstance(model, ClassifierModel):
        raise ValueError(f"model must be a ClassifierModel, got {type(model).__name__}")
    x = _as_images(x, name, dim=model.dim)
    feats, outs = [], {k: [] for k in model.heads}
    for start in range(0, x.shape[0], EVAL_BATCH):
        h, out = _forward(model.module, model.params, x[start:start + EVAL_BATCH])
        feats.append(h)
        for k in outs:
            outs[k].append(out[k])
    return jnp.concatenate(feats), {k: jnp.concatenate(v) for k, v in outs.items()}


def _select(model: ClassifierModel, values: dict[str, Any], head: str | None):
    if head is not None:
        if head not in values:
            raise ValueError(f"head must be one of {sorted(values)}, got {head!r}")
        return values[head]
    return values if model.multi_head else values[SINGLE_HEAD]


def features(model: ClassifierModel, x: Any) -> jax.Array:
    """Penultimate-layer features :math:`h(x)` (last ReLU layer), shape ``(n, k)``."""
    return _batched_forward(model, x)[0]


def logits(model: ClassifierModel, x: Any, head: str | None = None):
    """Logits ``(n, n_classes)`` of ``head`` (default: the only head, or a dict of all heads)."""
    return _select(model, _batched_forward(model, x)[1], head)


def predict_proba(model: ClassifierModel, x: Any, head: str | None = None):
    r"""Class probabilities :math:`\operatorname{softmax}(\text{logits})`, ``(n, n_classes)``.

    One head: an array. Several heads: a dict ``{name: (n, n_c)}``, or the array of ``head``.
    """
    out = {k: jax.nn.softmax(v, axis=-1) for k, v in _batched_forward(model, x)[1].items()}
    return _select(model, out, head)


def predict(model: ClassifierModel, x: Any, head: str | None = None):
    """Most probable class, ``(n,)`` int (dict for several heads, like :func:`predict_proba`)."""
    out = {k: jnp.argmax(v, axis=-1) for k, v in _batched_forward(model, x)[1].items()}
    return _select(model, out, head)


def class_frequencies(model: ClassifierModel, x: Any, head: str | None = None) -> np.ndarray:
    r"""Fraction of the images ``x`` ``(n, d)`` predicted in each class of ``head``: the
    ``(n_classes,)`` vector :math:`f_c = \frac1n \#\{i : \hat y(x_i) = c\}`, summing to 1. The
    total-variation distance :math:`\frac12 \sum_c |f_c - g_c|` between two sets' frequencies
    says how far a generator's mix of classes is from the real one (0: the same mix).
    ``head`` is required for a multi-head model."""
    if head is None and model.multi_head:
        raise ValueError(f"name the head of a multi-head model, one of {sorted(model.heads)}")
    predicted = np.asarray(predict(model, x, head))
    return np.bincount(predicted, minlength=model.heads[head or SINGLE_HEAD]) / predicted.shape[0]


def accuracy(model: ClassifierModel, x: Any, labels: Any):
    """Fraction of ``x`` whose predicted class equals ``labels``.

    ``labels``: ``(n,)`` for a one-head model (returns a float), or a dict ``{attribute:
    (n,)}`` for a multi-head model (returns ``{attribute: accuracy}``, for the attributes given).
    """
    n = np.shape(x)[0] if np.ndim(x) >= 1 else 0
    ys, multi = _as_labels(labels, n)
    if multi != model.multi_head:
        raise ValueError("labels must be a dict {attribute: (n,)} for a multi-head model and one "
                         "(n,) array for a one-head model")
    unknown = set(ys) - set(model.heads)
    if unknown:
        raise ValueError(f"labels has attributes {sorted(unknown)} the model has no head for; "
                         f"heads: {sorted(model.heads)}")
    preds = {k: np.asarray(jnp.argmax(v, axis=-1))
             for k, v in _batched_forward(model, x)[1].items()}
    scores = {k: float(np.mean(preds[k] == v)) for k, v in ys.items()}
    return scores if multi else scores[SINGLE_HEAD]


def confidence(model: ClassifierModel, x: Any, head: str | None = None):
    r"""The classifier's confidence :math:`\max_c p(c \mid x)`, shape ``(n,)``.

    Near 1: the image looks clearly like one class; near ``1 / n_classes``: like none. Several
    heads: a dict ``{name: (n,)}``, or the array of ``head``.

    Caveat: a ReLU MLP is over-confident far from its data (uniform-noise images get a mean
    confidence of 0.8-0.97 on MNIST); compare generated images with real test images and with
    baselines, never read it as an absolute score.
    """
    out = {k: jnp.max(jax.nn.softmax(v, axis=-1), axis=-1)
           for k, v in _batched_forward(model, x)[1].items()}
    return _select(model, out, head)


# ----------------------------------------------------------------------------------------------
# Fréchet distance
# ----------------------------------------------------------------------------------------------
def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix by ``eigh``; eigenvalues < 0 set to 0."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(feat_a: Any, feat_b: Any) -> float:
    r"""Fréchet distance (squared) between Gaussian fits of two feature clouds, as in FID.

    .. math:: d_F^2 = \|\mu_a-\mu_b\|^2 + \operatorname{tr}\Sigma_a + \operatorname{tr}\Sigma_b
              - 2\operatorname{tr}(\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2})^{1/2},

    with :math:`(\mu, \Sigma)` the empirical mean and covariance (``ddof=1``) of ``feat_a``
    ``(n_a, k)`` and ``feat_b`` ``(n_b, k)``. This is :math:`W_2^2` between the two Gaussians
    (Bures--Wasserstein); it is symmetric in ``a, b`` and 0 for identical clouds. Like FID it is
    *squared* (no outer square root).

    Numerics: float64 NumPy; both square roots are symmetric square roots by ``eigh``
    (:math:`S^{1/2} = V \operatorname{diag}(\sqrt{\max(\lambda, 0)}) V^\top`), so the
    tiny negative eigenvalues of rank-deficient or rounded covariances are clipped to 0 instead
    of producing the complex parts ``scipy.linalg.sqrtm`` returns. The cross term uses the
    symmetrised :math:`\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2}` (PSD), and the result is clipped
    at 0. The estimate is biased upwards for finite ``n`` (FID's bias): compare only scores
    computed with the same sample sizes. Warns when ``n <= k`` (singular covariance).
    """
    a = _as_float64(feat_a, "feat_a")
    b = _as_float64(feat_b, "feat_b", dim=a.shape[1])
    k = a.shape[1]
    for name, arr in (("feat_a", a), ("feat_b", b)):
        if arr.shape[0] <= k:
            warnings.warn(f"{name} has n={arr.shape[0]} <= k={k} points: its covariance is "
                          "singular and the Fréchet distance is dominated by estimation error; "
                          "use n well above k", RuntimeWarning, stacklevel=2)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _psd_sqrt(cov_a)
    cross = root_a @ cov_b @ root_a
    cross_values = np.linalg.eigvalsh((cross + cross.T) / 2)
    trace_cross = float(np.sum(np.sqrt(np.clip(cross_values, 0.0, None))))
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                  - 2.0 * trace_cross)
    return max(value, 0.0)


# ----------------------------------------------------------------------------------------------
# nearest neighbours
# ----------------------------------------------------------------------------------------------
@partial(jax.jit, static_argnames=("batch", "reference_batch"))
def _nearest(x: jax.Array, reference: jax.Array, *, batch: int, reference_batch: int):
    n, m, d = x.shape[0], reference.shape[0], x.shape[1]
    n_pad, m_pad = -n % batch, -m % reference_batch
    xs = jnp.pad(x, ((0, n_pad), (0, 0))).reshape(-1, batch, d)
    refs = jnp.pad(reference, ((0, m_pad), (0, 0))).reshape(-1, reference_batch, d)
    ref_sq = jnp.sum(reference ** 2, axis=1)
    ref_sq = jnp.pad(ref_sq, (0, m_pad), constant_values=jnp.inf).reshape(-1, reference_batch)
    offsets = jnp.arange(refs.shape[0]) * reference_batch

    def one_query_block(q):
        q_sq = jnp.sum(q ** 2, axis=1)

        def scan_ref(carry, block):
            best, best_idx = carry
            r, r_sq, offset = block
            d2 = q_sq[:, None] + r_sq[None, :] - 2.0 * (q @ r.T)
            j = jnp.argmin(d2, axis=1)
            cand = jnp.take_along_axis(d2, j[:, None], axis=1)[:, 0]
            better = cand < best
            return (jnp.where(better, cand, best), jnp.where(better, j + offset, best_idx)), None

        init = (jnp.full((batch,), jnp.inf, q.dtype), jnp.zeros((batch,), jnp.int32))
        (_, idx), _ = jax.lax.scan(scan_ref, init, (refs, ref_sq, offsets))
        # exact distance to the chosen neighbour (no cancellation: duplicates give exactly 0)
        dist = jnp.sqrt(jnp.sum((q - reference[idx]) ** 2, axis=1))
        return dist, idx

    dist, idx = jax.lax.map(one_query_block, xs)
    return dist.reshape(-1)[:n], idx.reshape(-1)[:n]


def nearest_neighbour_distances(x: Any, reference: Any, batch: int = 512,
                                reference_batch: int = 4096, return_index: bool = False):
    r"""Euclidean distance of each row of ``x`` to its nearest row of ``reference``.

    .. math:: \operatorname{nn}(x_i) = \min_j \|x_i - r_j\|_2, \qquad \text{shape } (n,).

    For memorisation checks: compare the distances of generated images to the training set
    with those of held-out real images to the training set.

    Memory: queries are processed ``batch`` rows at a time against ``reference_batch`` rows of
    the reference at a time (a :func:`jax.lax.scan` keeping the running minimum), so at most
    ``batch * reference_batch`` squared distances exist at once (2M floats by default) whatever
    ``n`` and ``m``. The search uses :math:`\|x\|^2 + \|r\|^2 - 2x\cdot r` in float32; the
    returned distance is recomputed directly as :math:`\|x_i - r_{j^*}\|` for the chosen
    :math:`j^*`, so exact copies give exactly 0. Among near-ties (squared gaps ~1e-6 of the
    squared norms) the neighbour found may not be the exact minimiser.

    Args:
      x: ``(n, d)`` queries. reference: ``(m, d)``.
      batch, reference_batch: block sizes (positive ints).
      return_index: also return the ``(n,)`` index of the nearest reference row.
    """
    x = _as_images(x, "x")
    reference = _as_images(reference, "reference", dim=x.shape[1])
    for value, what in ((batch, "batch"), (reference_batch, "reference_batch")):
        if int(value) != value or value < 1:
            raise ValueError(f"{what} must be a positive integer, got {value}")
    batch = min(int(batch), x.shape[0])
    reference_batch = min(int(reference_batch), reference.shape[0])
    dist, idx = _nearest(x, reference, batch=batch, reference_batch=reference_batch)
    return (dist, idx) if return_index else dist


# ----------------------------------------------------------------------------------------------
# moment-matched Gaussian baseline
# ----------------------------------------------------------------------------------------------
def moment_matched_gaussian(x: Any, key: jax.Array, n: int, ridge: float = 1e-6) -> jax.Array:
    r"""``n`` samples of :math:`N(\bar x, \hat\Sigma + \text{ridge}\, I)`, shape ``(n, d)``.

    :math:`\bar x` and :math:`\hat\Sigma` (``ddof=1``) are the empirical mean and covariance of
    ``x`` ``(m, d)``: the Gaussian with the data's first two moments, i.e. what second moments
    alone can generate. Samples are :math:`\bar x + V\operatorname{diag}(\sqrt{\max(\lambda,0)
    + \text{ridge}})\, z` with :math:`\hat\Sigma = V\operatorname{diag}(\lambda)V^\top` (float64
    ``eigh``) and :math:`z \sim N(0, I)` from ``key``; the eigendecomposition handles
    rank-deficient covariances (``m <= d``, MNIST's constant border pixels) that a Cholesky
    factorisation would reject, and ``ridge`` >= 0 adds a little isotropic variance.
    Returned as float32; values are not clipped to [0, 1].
    """
    data = _as_float64(x, "x")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be a non-negative finite number, got {ridge}")
    mean = data.mean(axis=0)
    cov = np.atleast_2d(np.cov(data, rowvar=False))
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    factor = vectors * np.sqrt(np.clip(values, 0.0, None) + ridge)
    z = jax.random.normal(key, (int(n), data.shape[1]), dtype=jnp.float32)
    samples = jnp.asarray(mean, jnp.float32) + z @ jnp.asarray(factor.T, jnp.float32)
    check_finite(samples, "moment_matched_gaussian samples")
    return samples


# ----------------------------------------------------------------------------------------------
# the measured comparison of chapters 6 and 7
# ----------------------------------------------------------------------------------------------
def compare_image_sets(model: ClassifierModel, sets: Mapping[str, Any], reference: Any,
                       reference_features: Any = None) -> dict[str, dict[str, float]]:
    """Measure each image set of ``sets`` (``{name: (n, d)}``) against the real ``reference``
    images ``(m, d)`` (a training set), in the classifier ``model``'s features.

    Returns ``{name: {"frechet", "confidence", "nn_distance"}}``: the Fréchet distance
    (:func:`frechet_distance`) between the set's features and the reference's; the mean
    :func:`confidence` (averaged over the heads of a multi-head model); and the median distance
    of the set's images to their nearest reference image (:func:`nearest_neighbour_distances`,
    in pixel space). ``reference_features``: :func:`features` of ``reference`` when already
    computed.
    """
    reference_features = features(model, reference) if reference_features is None else reference_features
    out = {}
    for name, images in sets.items():
        conf = confidence(model, images)
        conf = np.mean([np.mean(v) for v in conf.values()]) if isinstance(conf, dict) else np.mean(conf)
        out[name] = {
            "frechet": frechet_distance(features(model, images), reference_features),
            "confidence": float(conf),
            "nn_distance": float(np.median(nearest_neighbour_distances(images, reference))),
        }
    return out

"""Run profiles and every hyper-parameter of the book, in one place.

One switch chooses the scale of every chapter: the environment variable ``CMM_PROFILE``.

* ``ci``    -- tiny runs that execute every chapter on 2 CPU cores within CI's budget;
* ``cpu``   -- the default without a GPU: good figures in minutes;
* ``paper`` -- the default on a GPU: the paper's scale.

Each area of the book has a frozen dataclass of settings and one instance per profile;
``settings = cmmlib.config.onedim()`` returns the instance of the active profile, and
``cmmlib.config.onedim("paper")`` a named one. Notebooks never hard-code these numbers.
"""
from __future__ import annotations

import dataclasses
import os
from typing import TypeVar

PROFILES = ("ci", "cpu", "paper")
ENV_VAR = "CMM_PROFILE"

T = TypeVar("T")


def default_profile() -> str:
    """``paper`` when JAX sees an accelerator, ``cpu`` otherwise."""
    import jax

    return "cpu" if jax.default_backend() == "cpu" else "paper"


def profile_name(profile: str | None = None) -> str:
    """Resolve a profile: the argument, else ``$CMM_PROFILE``, else :func:`default_profile`."""
    name = profile if profile is not None else os.environ.get(ENV_VAR) or default_profile()
    name = name.strip().lower()
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {PROFILES} (set {ENV_VAR})")
    return name


def _select(table: dict[str, T], profile: str | None) -> T:
    return table[profile_name(profile)]


def _per_profile(ci: T, cpu: T, paper: T) -> dict[str, T]:
    return {"ci": ci, "cpu": cpu, "paper": paper}


# --------------------------------------------------------------------------------------------
# Chapter 2: the 1D fixed points (cmmlib.onedim)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class OneDimSettings:
    """Scale of chapters 1-2 (the paper's 1D runs: 400k samples, 100k bins, 300 iterations).

    ``n_samples``/``n_bins``/``n_iter``: the fixed points on rho_1 and rho_2; ``n_gaussian``:
    samples per Gaussian check (chapters 1 and 2); ``sigmas``/``means``: the Gaussians
    N(m, sigma^2) of the stability study and checks; ``sigma_curve``: the sigma axis of the
    spread plots (from ``sigma_curve[0]`` to ``sigma_curve[1]``, ``sigma_curve[2]`` points).
    """

    n_samples: int
    n_bins: int
    n_iter: int
    n_gaussian: int = 100_000
    sigmas: tuple[float, ...] = (0.1, 0.5, 2.0, 10.0)
    means: tuple[float, ...] = (0.0, 2.0)
    sigma_curve: tuple[float, float, int] = (0.05, 20.0, 60)


ONEDIM = _per_profile(
    ci=OneDimSettings(n_samples=100_000, n_bins=10_000, n_iter=150, n_gaussian=50_000),
    cpu=OneDimSettings(n_samples=400_000, n_bins=100_000, n_iter=300, n_gaussian=200_000),
    paper=OneDimSettings(n_samples=400_000, n_bins=100_000, n_iter=300, n_gaussian=400_000),
)


def onedim(profile: str | None = None) -> OneDimSettings:
    return _select(ONEDIM, profile)


# --------------------------------------------------------------------------------------------
# Chapter 3: sampling from a known conjugate moment potential (icnn, conjugate, langevin)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SamplingChapterSettings:
    """Scale of Chapter 3 (LMC + conjugate solver on known potentials).

    n_particles: Langevin chains (and solver points) per experiment.
    n_langevin_steps: LMC steps from N(0, I) to the Gibbs law.
    step_scales: values of s in h = s / lambda_max for the step-size trade-off.
    trace_steps: LMC steps recorded in the step-size trade-off (error vs steps).
    solver_iterations: the paper's Adam budget (cosine decay from solver_lr).
    solver_tolerance: gradient-norm tolerance for "run to tolerance" solves.
    solver_lr: Adam's initial step from a cold start (the paper: 0.1).
    amortized_lr: Adam's initial step from the amortiser's start.
    amortizer_features: widths of the amortiser MLP.
    amortizer_steps, amortizer_batch, amortizer_lr: its brief regression training.
    grid_size: points per axis of the density grid (eq. 9 check).
    n_divergence: points per cloud in the Sinkhorn divergences (their cost grows as its square).
    seed: base PRNG seed of the chapter.
    """

    n_particles: int
    n_langevin_steps: int
    step_scales: tuple[float, ...]
    trace_steps: int
    solver_iterations: int
    solver_tolerance: float
    solver_lr: float
    amortized_lr: float
    amortizer_features: tuple[int, ...]
    amortizer_steps: int
    amortizer_batch: int
    amortizer_lr: float
    grid_size: int
    n_divergence: int
    seed: int = 0


_SAMPLING_COMMON = dict(
    step_scales=(0.1, 0.25, 0.5, 1.0, 1.5),
    solver_iterations=100,
    solver_tolerance=1e-4,
    solver_lr=0.1,
    amortized_lr=0.03,
    amortizer_batch=256,
    amortizer_lr=1e-3,
)

SAMPLING = _per_profile(
    ci=SamplingChapterSettings(n_particles=2_000, n_langevin_steps=300, trace_steps=200,
                               amortizer_features=(64, 64, 64), amortizer_steps=400,
                               grid_size=201, n_divergence=2_000, **_SAMPLING_COMMON),
    cpu=SamplingChapterSettings(n_particles=10_000, n_langevin_steps=1_000, trace_steps=400,
                                amortizer_features=(128, 128, 128), amortizer_steps=2_000,
                                grid_size=401, n_divergence=4_096, **_SAMPLING_COMMON),
    paper=SamplingChapterSettings(n_particles=50_000, n_langevin_steps=2_000, trace_steps=1_000,
                                  amortizer_features=(128, 128, 128), amortizer_steps=5_000,
                                  grid_size=801, n_divergence=10_000, **_SAMPLING_COMMON),
)


def sampling(profile: str | None = None) -> SamplingChapterSettings:
    return _select(SAMPLING, profile)



# --------------------------------------------------------------------------------------------
# The learners' building blocks (cmmlib.training, cmmlib.cmfgen, cmmlib.cmfma)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ICNNSettings:
    """The convex potential :class:`cmmlib.icnn.ICNN`: hidden ``features``, ``activation``
    (``"elu"`` or ``"softplus"`` of sharpness ``beta``), the floor ``strong_convexity``
    :math:`\\varepsilon\\|x\\|^2/2`, the spread of the first layer's biases, and whether the
    hidden layers have ``quadratic_inputs``."""

    features: tuple[int, ...] = (64, 64, 64, 64)
    activation: str = "elu"
    beta: float = 1.0
    strong_convexity: float = 0.05
    first_bias_scale: float = 1.0
    quadratic_inputs: bool = True


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    """Adam (``b1``, ``b2``) at ``learning_rate``; with ``decay`` the rate follows a cosine down
    to ``final_fraction`` of itself over the run; ``grad_clip`` clips the global gradient norm."""

    learning_rate: float = 1e-3
    decay: bool = True
    final_fraction: float = 0.01
    b1: float = 0.9
    b2: float = 0.999
    grad_clip: float | None = None


@dataclasses.dataclass(frozen=True)
class LangevinSettings:
    """The training chains: ``steps`` ULA steps per training step of size
    :math:`h = ` ``step_scale`` :math:`/\\lambda_{\\max}`, ``lambda_iterations`` power iterations,
    :math:`\\lambda_{\\max}` the batch maximum (``lambda_quantile=None``, the paper) or a quantile."""

    steps: int = 5
    step_scale: float = 0.25
    lambda_iterations: int = 10
    lambda_quantile: float | None = None


@dataclasses.dataclass(frozen=True)
class SolverSettings:
    """The conjugate solve inside a training step: ``iterations`` Adam steps from the amortiser's
    start, initial step ``learning_rate`` (cosine-decayed), a fixed budget (no host sync)."""

    iterations: int = 20
    learning_rate: float = 0.03


@dataclasses.dataclass(frozen=True)
class SamplingSettings:
    """How a trained model generates (:func:`cmmlib.model.generate`).

    Attributes:
      n_steps: Langevin steps from the initial noise (uniform on ``[-init_scale, init_scale]^d``).
      step_scale: Langevin step ``h = step_scale / λ_max(∇²w)``, re-estimated after half the
        steps (the paper: 1; smaller values reduce the ULA bias, see chapter 3).
      solver_iterations: budget of the conjugate solver; it is also the length of the cosine
        decay of its step, so a budget much larger than needed is cheap (it stops at
        ``solver_tolerance``) while a short one decays the step to zero before convergence.
      solver_tolerance: the solver stops once ``max |∇w(x) - y| < solver_tolerance``.
      solver_learning_rate: initial Adam step of the solver (from the amortised start).
      init_scale: half-width of the uniform initial noise of the chains.
    """

    n_steps: int = 1000
    step_scale: float = 0.25
    solver_iterations: int = 1000
    solver_tolerance: float = 1e-4
    solver_learning_rate: float = 0.03
    init_scale: float = 2.0


def override(settings: T, assignments: dict[str, object]) -> T:
    """``settings`` with fields replaced; nested fields by dotted names
    (``{"optimizer.learning_rate": 3e-3, "batch_size": 1024}``). Unknown names raise."""
    for path, value in assignments.items():
        settings = _replace_path(settings, path.split("."), value, path)
    return settings


def _replace_path(obj, parts: list[str], value, path: str):
    names = {f.name: f for f in dataclasses.fields(obj)}
    if parts[0] not in names:
        raise ValueError(f"unknown settings field {path!r} (fields of {type(obj).__name__}: {sorted(names)})")
    if len(parts) == 1:
        current = getattr(obj, parts[0])
        if dataclasses.is_dataclass(current):
            raise ValueError(f"{path!r} is a group of settings; set one of its fields, e.g. {path}."
                             f"{dataclasses.fields(current)[0].name}")
        if isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        if current is not None and not isinstance(value, (type(current), int) if isinstance(current, float)
                                                  else type(current)):
            raise ValueError(f"{path!r} must be of type {type(current).__name__}, got {value!r}")
        return dataclasses.replace(obj, **{parts[0]: value})
    return dataclasses.replace(obj, **{parts[0]: _replace_path(getattr(obj, parts[0]), parts[1:], value, path)})


# --------------------------------------------------------------------------------------------
# CMFGen (cmmlib.cmfgen) and chapter 4
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CMFGenSettings:
    """CMFGen (Algorithm 1) and its generative-ICNN baseline.

    Each of ``steps`` training steps draws ``batch_size`` data points, moves the warm-started
    particles by ``langevin``, solves the conjugate by ``solver`` from the amortiser (widths
    ``amortizer_features``), and takes one ``optimizer`` step on the ICNN (``icnn``) and one
    ``amortizer_optimizer`` step on the amortiser. Steps run in jitted ``lax.scan`` chunks of
    ``chunk`` steps; with a folder, the training state is checkpointed every
    ``checkpoint_every`` steps. ``sampling``: how the trained model generates. ``icnn_init``:
    how the start :math:`w = \\tfrac12\\|x\\|^2` is made: ``"identity"``, exactly, by the ICNN's
    learnable quadratic; ``"identity_units"``, by fitting the ICNN's units to it
    (:func:`cmmlib.icnn.fit_identity`, ``identity_fit_steps`` Adam steps), the quadratic zero.
    """

    steps: int
    batch_size: int
    icnn: ICNNSettings = ICNNSettings()
    icnn_init: str = "identity"
    identity_fit_steps: int = 1000
    amortizer_features: tuple[int, ...] = (128, 128, 128)
    optimizer: OptimizerSettings = OptimizerSettings()
    amortizer_optimizer: OptimizerSettings = OptimizerSettings(decay=False)
    langevin: LangevinSettings = LangevinSettings()
    solver: SolverSettings = SolverSettings()
    sampling: SamplingSettings = SamplingSettings(solver_iterations=500)
    chunk: int = 250
    checkpoint_every: int = 2500


#: dimension from which CMFGen's defaults are the image ones
IMAGE_DIM = 64

# 2D: softplus units of sharpness 10 (chapter 4 measured them against ELU units at equal budget, both
# methods, five sets, two seeds: less mass where the data has none on every set)
_ICNN_2D = ICNNSettings(activation="softplus", beta=10.0)
CMFGEN_2D = _per_profile(
    ci=CMFGenSettings(steps=100, batch_size=256, chunk=50, icnn=_ICNN_2D,
                      sampling=SamplingSettings(n_steps=200, solver_iterations=500)),
    cpu=CMFGenSettings(steps=10_000, batch_size=512, icnn=_ICNN_2D),
    paper=CMFGenSettings(steps=100_000, batch_size=512, icnn=_ICNN_2D,
                         sampling=SamplingSettings(n_steps=2000, solver_iterations=500)),
)

# Images (the paper's Table 2 where the text keeps it: batch 512, 50,000 steps, amortiser 3x256 at
# lr 5e-4; the ICNN widths were lost and are this book's choice). ELU units: chapter 7 measured the 2D
# default (softplus, beta 10) on faces at 1,000 steps; its faces lose the pixel noise but also variety,
# and their Frechet distance doubles (the baseline's collapses to one face).
_IMAGE_SAMPLING = SamplingSettings(n_steps=500, solver_iterations=5000, solver_tolerance=1e-3, init_scale=1.0)
CMFGEN_IMAGES = _per_profile(
    ci=CMFGenSettings(steps=20, batch_size=64, chunk=10, icnn=ICNNSettings(features=(64, 64)),
                      amortizer_features=(64, 64), amortizer_optimizer=OptimizerSettings(5e-4, decay=False),
                      sampling=dataclasses.replace(_IMAGE_SAMPLING, n_steps=50)),
    cpu=CMFGenSettings(steps=10_000, batch_size=256, chunk=100, icnn=ICNNSettings(features=(256,) * 4),
                       amortizer_features=(256,) * 3, amortizer_optimizer=OptimizerSettings(5e-4, decay=False),
                       sampling=_IMAGE_SAMPLING, checkpoint_every=500),
    paper=CMFGenSettings(steps=50_000, batch_size=512, chunk=250, icnn=ICNNSettings(features=(512,) * 5),
                         amortizer_features=(256,) * 3, amortizer_optimizer=OptimizerSettings(5e-4, decay=False),
                         sampling=_IMAGE_SAMPLING, checkpoint_every=2500),
)


def cmfgen(profile: str | None = None, dim: int = 2) -> CMFGenSettings:
    """CMFGen's settings for data of dimension ``dim``: the 2D ones below :data:`IMAGE_DIM`,
    the image ones from it."""
    return _select(CMFGEN_2D if dim < IMAGE_DIM else CMFGEN_IMAGES, profile)


@dataclasses.dataclass(frozen=True)
class Chapter4Settings:
    """Chapter 4: ``n_train`` training points per data set, ``eval_size`` held-out points per
    divergence (the paper: 2048), ``n_seeds`` seeds for Figure 13, ``retrain`` to retrain instead
    of loading the shipped checkpoints, ``demo_steps`` for the short training that shows the
    engine at work (0: none), ``gaussian_steps`` for the model of the Prop. 2 check on a 2D
    Gaussian when it is retrained (otherwise the shipped ``cmfgen/prop2_gaussian-gibbs-s0``),
    ``fit_demo_steps`` for the short supervised fit of the circles' exact map, and the
    tolerances of its checks."""

    n_train: int
    eval_size: int
    n_seeds: int
    retrain: bool
    demo_steps: int
    gaussian_steps: int
    fit_demo_steps: int = 1000
    tol_prop2: float = 0.08


CHAPTER4 = _per_profile(
    ci=Chapter4Settings(n_train=4096, eval_size=512, n_seeds=2, retrain=False, demo_steps=100, gaussian_steps=1500,
                        fit_demo_steps=200),
    cpu=Chapter4Settings(n_train=50_000, eval_size=2048, n_seeds=2, retrain=False, demo_steps=0, gaussian_steps=1500),
    paper=Chapter4Settings(n_train=100_000, eval_size=2048, n_seeds=5, retrain=True, demo_steps=1000,
                           gaussian_steps=5000),
)


def chapter4(profile: str | None = None) -> Chapter4Settings:
    return _select(CHAPTER4, profile)


# --------------------------------------------------------------------------------------------
# CMFMA (cmmlib.cmfma) and chapter 5
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CMFMASettings:
    """CMFMA: the Monge--Ampère regression of a conjugate moment potential on an energy.

    ``steps`` Adam steps (``optimizer``) on batches of ``batch_size`` points of μ; the ICNN is
    ``icnn`` in 2D and above and ``icnn_1d`` (smooth softplus: second derivatives matter) in
    1D, where ``steps_1d`` apply. The regression target is the energy capped at
    ``energy_cap`` above its minimum on the box (``inf``: none); with a finite
    ``temperature`` the points of μ are weighted by :math:`e^{-(E-E_{\\min})/T}`. The amortiser
    (``amortizer_features``, ``amortizer_optimizer``) regresses on the free pairs
    :math:`(\\nabla w(x), x)`. With ``mu="model"``, μ is the model's own samples: ``langevin``
    moves warm-started particles, ``solver`` maps them. ``sampling``: how the model generates.
    """

    steps: int
    steps_1d: int
    batch_size: int
    icnn: ICNNSettings = ICNNSettings()
    icnn_1d: ICNNSettings = ICNNSettings(features=(32, 32, 32), activation="softplus", beta=8.0)
    optimizer: OptimizerSettings = OptimizerSettings(1e-2, final_fraction=0.05, grad_clip=100.0)
    amortizer_features: tuple[int, ...] = (128, 128, 128)
    amortizer_optimizer: OptimizerSettings = OptimizerSettings(decay=False)
    energy_cap: float = 20.0
    temperature: float = float("inf")
    langevin: LangevinSettings = LangevinSettings()
    solver: SolverSettings = SolverSettings()
    sampling: SamplingSettings = SamplingSettings(step_scale=0.1, solver_iterations=500)
    chunk: int = 250
    checkpoint_every: int = 2500


CMFMA = _per_profile(
    ci=CMFMASettings(steps=200, steps_1d=200, batch_size=256, chunk=50,
                     sampling=SamplingSettings(n_steps=300, step_scale=0.1, solver_iterations=500)),
    cpu=CMFMASettings(steps=5000, steps_1d=4000, batch_size=512),
    paper=CMFMASettings(steps=500_000, steps_1d=100_000, batch_size=1024,
                        sampling=SamplingSettings(n_steps=2000, step_scale=0.1, solver_iterations=500)),
)


def cmfma(profile: str | None = None) -> CMFMASettings:
    return _select(CMFMA, profile)


@dataclasses.dataclass(frozen=True)
class Chapter5Settings:
    """Chapter 5: ``steps_gaussian`` for the Gaussian energy, the softplus sharpness
    ``beta_rho_2`` of the wide mixture ρ₂, the temperature ``temperature_2d`` of the three 2D
    benchmarks, ``eval_size`` samples per divergence, ``grid_size`` points per axis of the
    figures, ``retrain`` to retrain instead of loading the shipped checkpoints, ``demo_steps``
    for the short training that the ci profile runs too, and the tolerances of its checks
    (``tol_*``; looser in ``ci``, which draws fewer samples): ``tol_improvement`` bounds the
    divergence of the generated samples relative to that of the initial model's :math:`N(0, I)`."""

    steps_gaussian: int
    eval_size: int
    grid_size: int
    retrain: bool
    demo_steps: int
    tol_gaussian: float
    tol_map_1d: float
    tol_divergence_ratio: float
    tol_improvement: float
    beta_rho_2: float = 2.0
    temperature_2d: float = 5.0


CHAPTER5 = _per_profile(
    ci=Chapter5Settings(steps_gaussian=500, eval_size=512, grid_size=80, retrain=False, demo_steps=100,
                        tol_gaussian=0.25, tol_map_1d=0.3, tol_divergence_ratio=80.0, tol_improvement=0.25),
    cpu=Chapter5Settings(steps_gaussian=3000, eval_size=2048, grid_size=200, retrain=False, demo_steps=250,
                         tol_gaussian=0.1, tol_map_1d=0.15, tol_divergence_ratio=80.0, tol_improvement=0.25),
    paper=Chapter5Settings(steps_gaussian=10_000, eval_size=2048, grid_size=200, retrain=True, demo_steps=1000,
                           tol_gaussian=0.05, tol_map_1d=0.1, tol_divergence_ratio=10.0, tol_improvement=0.1),
)


def chapter5(profile: str | None = None) -> Chapter5Settings:
    return _select(CHAPTER5, profile)


# --------------------------------------------------------------------------------------------
# Chapter 6: MNIST
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ImageChapterSettings:
    """What the image chapters share: images of ``size × size`` pixels, smoothed by Gaussian
    noise of standard deviation ``smooth_sigma``; ``retrain`` to retrain instead of loading the
    shipped checkpoints, ``demo_steps`` for the short training that every profile runs;
    ``n_generated`` images per method for the measurements; the classifier
    (``classifier_steps``) whose features measure them; in-painting of ``n_inpaint`` held-out
    images for ``inpaint_steps`` steps, its log-det term ``inpaint_logdet`` (``"exact"``, or the
    ``"hutchinson"`` estimate of its gradient: about 60 times cheaper at d = 196); and the
    tolerances of the checks: ``tol_accuracy`` (the classifier's), ``tol_frechet_vs_gaussian``
    (the largest Fréchet-distance ratio of CMFGen to the moment-matched Gaussian that passes)
    and ``tol_inpaint_vs_mean`` (in-painting error over the mean image's)."""

    size: int
    smooth_sigma: float
    retrain: bool
    demo_steps: int
    n_generated: int
    classifier_steps: int
    n_inpaint: int
    inpaint_steps: int
    inpaint_logdet: str
    tol_accuracy: float
    tol_frechet_vs_gaussian: float
    tol_inpaint_vs_mean: float


@dataclasses.dataclass(frozen=True)
class Chapter6Settings(ImageChapterSettings):
    """Chapter 6 (MNIST, ``size`` divides 28): the fields of :class:`ImageChapterSettings`."""


CHAPTER6 = _per_profile(
    ci=Chapter6Settings(size=14, smooth_sigma=0.01, retrain=False, demo_steps=20, n_generated=256,
                        classifier_steps=300, n_inpaint=8, inpaint_steps=100, inpaint_logdet="exact", tol_accuracy=0.85,
                        tol_frechet_vs_gaussian=1.0, tol_inpaint_vs_mean=1.0),
    cpu=Chapter6Settings(size=14, smooth_sigma=0.01, retrain=False, demo_steps=50, n_generated=1000,
                         classifier_steps=2000, n_inpaint=64, inpaint_steps=300, inpaint_logdet="hutchinson",
                         tol_accuracy=0.95,
                         tol_frechet_vs_gaussian=1.0, tol_inpaint_vs_mean=1.0),
    paper=Chapter6Settings(size=28, smooth_sigma=0.01, retrain=True, demo_steps=200, n_generated=5000,
                           classifier_steps=4000, n_inpaint=256, inpaint_steps=500, inpaint_logdet="hutchinson",
                           tol_accuracy=0.97,
                           tol_frechet_vs_gaussian=1.0, tol_inpaint_vs_mean=1.0),
)


def chapter6(profile: str | None = None) -> Chapter6Settings:
    return _select(CHAPTER6, profile)


# Chapter 7: Cartoon faces
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Chapter7Settings(ImageChapterSettings):
    """Chapter 7 (cartoon faces, colour: ``3 size²`` dimensions; checkpoints
    ``cartoon<size>-<noise>-s0``): the fields of :class:`ImageChapterSettings`, with the
    classifier's heads on ``classifier_attributes`` (names the Cartoon Set and the stand-in
    share), its accuracy checked on ``accuracy_attribute``, and ``tol_frechet_vs_baseline``, the
    largest Fréchet ratio of CMFGen to the baseline that passes (1 is the paper's claim; the
    ``ci`` and ``cpu`` values, like their ``tol_frechet_vs_gaussian``, bound what the shipped
    1,000-step models measured, so they catch a regression, not confirm the claim)."""

    classifier_attributes: tuple[str, ...]
    accuracy_attribute: str
    tol_frechet_vs_baseline: float


_FACE_ATTRIBUTES = ("hair_color", "face_color", "face_shape", "hair", "glasses")
CHAPTER7 = _per_profile(
    ci=Chapter7Settings(size=12, smooth_sigma=0.01, retrain=False, demo_steps=10, n_generated=256,
                        classifier_steps=300, classifier_attributes=_FACE_ATTRIBUTES,
                        accuracy_attribute="hair_color", n_inpaint=8, inpaint_steps=60,
                        inpaint_logdet="hutchinson", tol_accuracy=0.8, tol_frechet_vs_gaussian=50.0,
                        tol_frechet_vs_baseline=1.25, tol_inpaint_vs_mean=1.0),
    cpu=Chapter7Settings(size=12, smooth_sigma=0.01, retrain=False, demo_steps=30, n_generated=1000,
                         classifier_steps=2000, classifier_attributes=_FACE_ATTRIBUTES,
                         accuracy_attribute="hair_color", n_inpaint=16, inpaint_steps=200,
                         inpaint_logdet="hutchinson", tol_accuracy=0.85, tol_frechet_vs_gaussian=50.0,
                         tol_frechet_vs_baseline=1.1, tol_inpaint_vs_mean=1.0),
    paper=Chapter7Settings(size=32, smooth_sigma=0.01, retrain=True, demo_steps=200, n_generated=5000,
                           classifier_steps=4000, classifier_attributes=_FACE_ATTRIBUTES,
                           accuracy_attribute="hair_color", n_inpaint=256, inpaint_steps=500,
                           inpaint_logdet="hutchinson", tol_accuracy=0.9, tol_frechet_vs_gaussian=1.0,
                           tol_frechet_vs_baseline=1.0, tol_inpaint_vs_mean=1.0),
)


def chapter7(profile: str | None = None) -> Chapter7Settings:
    return _select(CHAPTER7, profile)

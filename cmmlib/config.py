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
                               grid_size=201, **_SAMPLING_COMMON),
    cpu=SamplingChapterSettings(n_particles=10_000, n_langevin_steps=1_000, trace_steps=400,
                                amortizer_features=(128, 128, 128), amortizer_steps=2_000,
                                grid_size=401, **_SAMPLING_COMMON),
    paper=SamplingChapterSettings(n_particles=50_000, n_langevin_steps=2_000, trace_steps=1_000,
                                  amortizer_features=(128, 128, 128), amortizer_steps=5_000,
                                  grid_size=801, **_SAMPLING_COMMON),
)


def sampling(profile: str | None = None) -> SamplingChapterSettings:
    return _select(SAMPLING, profile)



# --------------------------------------------------------------------------------------------
# Chapter 4: CMFGen in 2D (cmmlib.cmfgen)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CMFGenSettings:
    """CMFGen (Algorithm 1) and its generative-ICNN baseline in 2D, and chapter 4's evaluation.

    Training: ``steps`` iterations of batch ``batch_size``; each runs ``lmc_steps`` ULA steps of
    size ``step_scale / λ_max`` on the warm-started particles (``lambda_iterations`` power
    iterations), ``solver_iterations`` Adam steps of the conjugate solver from the amortiser
    at ``solver_learning_rate``, one Adam step on the ICNN (``learning_rate``) and one on the
    amortiser (``amortizer_learning_rate``). Steps run in jitted ``lax.scan`` chunks of
    ``chunk`` steps; a checkpoint every ``checkpoint_every`` steps when a folder is given.
    Sampling: ``sample_lmc_steps`` ULA steps from uniform noise, the solver run to
    ``sample_solver_tolerance`` (at most ``sample_solver_iterations``).
    Chapter: ``eval_size`` held-out points per divergence (the paper: 2048), ``n_seeds`` seeds
    for Figure 13, ``retrain`` to retrain instead of loading the shipped checkpoints,
    ``demo_steps`` for the short training that the ci profile runs as well,
    ``gaussian_steps`` for the Prop. 2 check on a 2D Gaussian; ``n_train`` training points
    drawn per data set. ``lambda_quantile``: ``None`` takes λ_max as the batch maximum (the
    paper), else that quantile of the per-particle values; ``lr_decay`` decays the ICNN's
    learning rate by a cosine to 1% over ``steps``.
    """

    steps: int
    n_train: int
    batch_size: int
    chunk: int
    learning_rate: float
    amortizer_learning_rate: float
    lmc_steps: int
    step_scale: float
    lambda_iterations: int
    solver_iterations: int
    solver_learning_rate: float
    features: tuple[int, ...]
    amortizer_features: tuple[int, ...]
    checkpoint_every: int
    sample_lmc_steps: int
    sample_solver_iterations: int
    sample_solver_tolerance: float
    eval_size: int
    n_seeds: int
    retrain: bool
    demo_steps: int
    gaussian_steps: int
    lambda_quantile: float | None = None
    lr_decay: bool = False


_CMFGEN_COMMON = dict(
    batch_size=512, chunk=250, learning_rate=1e-3, amortizer_learning_rate=1e-3, lmc_steps=5,
    step_scale=0.25, lambda_iterations=10, solver_iterations=20, solver_learning_rate=0.03,
    features=(64, 64, 64, 64), amortizer_features=(128, 128, 128), checkpoint_every=2500,
    sample_solver_iterations=500, sample_solver_tolerance=1e-4, lr_decay=True,
)

CMFGEN = _per_profile(
    ci=CMFGenSettings(**{**_CMFGEN_COMMON, "batch_size": 256, "chunk": 50}, steps=100, n_train=4096,
                      sample_lmc_steps=200, eval_size=512, n_seeds=2, retrain=False, demo_steps=100,
                      gaussian_steps=1500),
    cpu=CMFGenSettings(**_CMFGEN_COMMON, steps=10_000, n_train=50_000, sample_lmc_steps=1000, eval_size=2048, n_seeds=2,
                       retrain=False, demo_steps=300, gaussian_steps=3000),
    paper=CMFGenSettings(**_CMFGEN_COMMON, steps=100_000, n_train=100_000, sample_lmc_steps=2000, eval_size=2048,
                         n_seeds=5, retrain=True, demo_steps=1000, gaussian_steps=5000),
)


def cmfgen(profile: str | None = None) -> CMFGenSettings:
    return _select(CMFGEN, profile)



# --------------------------------------------------------------------------------------------
# Chapter 5: CMFMA (cmmlib.cmfma)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CMFMASettings:
    """CMFMA: the Monge--Ampère regression of a conjugate moment potential on an energy.

    Training: ``steps_1d`` / ``steps_2d`` / ``steps_gaussian`` Adam steps (``learning_rate``,
    cosine-decayed to ``lr_final_fraction`` of it, gradients clipped to norm ``grad_clip``) on
    batches of ``batch_size`` points of μ, in jitted ``lax.scan`` chunks of ``chunk`` steps; a
    checkpoint every ``checkpoint_every`` steps when a folder is given. The regression target is
    the energy capped at ``energy_cap`` above its minimum on the box; on the 2D benchmarks the
    points of μ are weighted by :math:`e^{-E/T}`, ``T = temperature_2d``. ICNN: softplus with
    sharpness ``beta_1d`` and widths ``features_1d`` in 1D (smooth second derivatives), ELU
    and ``features_2d`` in 2D, floor ``strong_convexity``. The amortiser
    (``amortizer_features``, ``amortizer_learning_rate``) regresses on the free pairs
    :math:`(\\nabla w(x), x)`. With ``mu="model"``, μ is the model's own samples:
    ``lmc_steps`` ULA steps (``step_scale``) on warm-started particles, then
    ``solver_iterations`` conjugate steps. Sampling: ``sample_lmc_steps`` ULA steps of size
    ``sample_step_scale / λ_max``, solver to ``sample_solver_tolerance``.
    Chapter: ``eval_size`` samples per divergence, ``grid_size`` points per axis of the
    figures, ``retrain`` to retrain instead of loading the shipped checkpoints,
    ``demo_steps`` for the short training that the ci profile runs too, and the tolerances
    of its checks (``tol_*``; looser in ``ci``, which draws fewer samples): ``tol_improvement``
    bounds the divergence of the generated samples relative to that of the initial model's
    :math:`N(0, I)`.
    """

    steps_1d: int
    steps_2d: int
    steps_gaussian: int
    batch_size: int
    chunk: int
    learning_rate: float
    lr_final_fraction: float
    grad_clip: float
    features_1d: tuple[int, ...]
    beta_1d: float
    beta_rho_2: float
    features_2d: tuple[int, ...]
    strong_convexity: float
    energy_cap: float
    temperature_2d: float
    amortizer_features: tuple[int, ...]
    amortizer_learning_rate: float
    lmc_steps: int
    step_scale: float
    solver_iterations: int
    checkpoint_every: int
    sample_lmc_steps: int
    sample_step_scale: float
    sample_solver_iterations: int
    sample_solver_tolerance: float
    eval_size: int
    grid_size: int
    retrain: bool
    demo_steps: int
    tol_gaussian: float
    tol_map_1d: float
    tol_divergence_ratio: float
    tol_improvement: float


_CMFMA_COMMON = dict(
    batch_size=512, chunk=250, learning_rate=1e-2, lr_final_fraction=0.05, grad_clip=100.0,
    features_1d=(32, 32, 32), beta_1d=8.0, beta_rho_2=2.0, features_2d=(64, 64, 64, 64),
    strong_convexity=0.05, energy_cap=20.0, temperature_2d=5.0,
    amortizer_features=(128, 128, 128), amortizer_learning_rate=1e-3, lmc_steps=5,
    step_scale=0.25, solver_iterations=20, checkpoint_every=2500, sample_step_scale=0.1,
    sample_solver_iterations=500, sample_solver_tolerance=1e-4, grid_size=200,
)

CMFMA = _per_profile(
    ci=CMFMASettings(**{**_CMFMA_COMMON, "batch_size": 256, "chunk": 50, "grid_size": 80},
                     steps_1d=200, steps_2d=200, steps_gaussian=500, sample_lmc_steps=300, eval_size=512, retrain=False,
                     demo_steps=100, tol_gaussian=0.25, tol_map_1d=0.3, tol_divergence_ratio=80.0,
                     tol_improvement=0.25),
    cpu=CMFMASettings(**_CMFMA_COMMON, steps_1d=4000, steps_2d=5000, steps_gaussian=3000,
                      sample_lmc_steps=1000, eval_size=2048, retrain=False, demo_steps=250,
                      tol_gaussian=0.1, tol_map_1d=0.15, tol_divergence_ratio=80.0,
                      tol_improvement=0.25),
    paper=CMFMASettings(**{**_CMFMA_COMMON, "batch_size": 1024}, steps_1d=100_000, steps_2d=500_000,
                        steps_gaussian=10_000, sample_lmc_steps=2000, eval_size=2048, retrain=True,
                        demo_steps=1000, tol_gaussian=0.05, tol_map_1d=0.1, tol_divergence_ratio=10.0,
                        tol_improvement=0.1),
)


def cmfma(profile: str | None = None) -> CMFMASettings:
    return _select(CMFMA, profile)

r"""CMFMA: learning a conjugate moment potential from an energy, by Monge--Ampère regression.

Given an energy :math:`E` with :math:`\rho \propto e^{-E}` (known up to its normalising
constant), a conjugate moment potential :math:`w` of :math:`\rho` solves the Monge--Ampère
equation (9), :math:`\rho(x) = e^{-w(\nabla w(x))} \det \nabla^2 w(x) / Z_w`. Taking logs, the
*residual*

.. math::

   r_\theta(x) = \log\det\nabla^2 w_\theta(x) - w_\theta(\nabla w_\theta(x)) + E(x)

is constant, equal to :math:`\log Z_w - \log Z_E`, at a solution. CMFMA fits an ICNN
:math:`w_\theta` and a scalar :math:`c` by

.. math::

   \min_{\theta, c}\; \mathbb{E}_{x\sim\mu}\big(r_\theta(x) - c\big)^2,

with :math:`\mu` uniform on a box :math:`[\ell, h]` (low dimension) or the model's own samples
:math:`\nabla w_\theta^* \sharp P_{w_\theta}` held fixed (``mu="model"``). Hessians are exact
(``jax.hessian``) and their log-determinant goes through a Cholesky factorisation
(:mod:`cmmlib.monge_ampere`). The learned :math:`c` estimates :math:`\log(Z_w / Z_E)`.

:func:`fit` returns a :class:`cmmlib.model.ConjugateMomentModel`, the same interface as
``cmmlib.cmfgen.fit``: sample by Langevin on :math:`w` then :math:`\nabla w^*`, score by eq. (9).
The amortiser :math:`H_\phi \approx \nabla w^*` costs no conjugate solve here: every training
point gives the exact pair :math:`H_\phi(\nabla w(x)) \approx x`.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from . import checkpoints, config, conjugate, langevin
from .conjugate import Amortizer
from .icnn import ICNN, init_icnn, potential_fn
from .model import ConjugateMomentModel, SamplingSettings
from .monge_ampere import check_positive_definite, log_density_one
from .validation import as_points, check_box, check_positive, is_concrete

Potential = Callable[[jax.Array], jax.Array]
MUS = ("uniform", "model")


# -- the regression ---------------------------------------------------------------------------
def residual_one(w: Potential, energy: Potential, x: jax.Array) -> jax.Array:
    r""":math:`r(x) = \log\det\nabla^2 w(x) - w(\nabla w(x)) + E(x)` at one point ``(d,)``."""
    return log_density_one(w, x) + energy(x)


def residual(w: Potential, energy: Potential, x: jax.Array) -> jax.Array:
    r"""The Monge--Ampère residual :math:`r(x_i)` on a batch ``x (n, d)``; returns ``(n,)``.

    Constant (:math:`= \log Z_w - \log Z_E`) exactly when :math:`w` solves eq. (9) for
    :math:`\rho \propto e^{-E}`. Raises ``ValueError`` on concrete inputs where a Hessian of
    ``w`` is not positive definite or the energy is not finite.
    """
    x = as_points(x, "x")
    values = jax.jit(jax.vmap(lambda z: residual_one(w, energy, z)))(x)
    if is_concrete(values):
        energies = np.asarray(jax.jit(jax.vmap(energy))(x))
        if not np.all(np.isfinite(energies)):
            raise ValueError(f"the energy is not finite at {int((~np.isfinite(energies)).sum())} point(s)")
        check_positive_definite(values, x)
    return values


def loss(w: Potential, energy: Potential, x: jax.Array, c: jax.Array) -> jax.Array:
    r"""CMFMA's loss :math:`\frac1n\sum_i (r(x_i) - c)^2` on a batch ``x (n, d)`` (scalar)."""
    return jnp.mean((residual(w, energy, x) - c) ** 2)


# -- input checks -----------------------------------------------------------------------------
def check_energy(energy: Potential, low: np.ndarray, high: np.ndarray, key: jax.Array, n: int = 256) -> None:
    """Raise ``ValueError`` unless ``energy`` maps a point ``(d,)`` of the box to a finite scalar.

    Probes ``n`` uniform points of the box.
    """
    if not callable(energy):
        raise ValueError(f"energy must be callable, got {type(energy).__name__}")
    d = low.size
    probe = jax.random.uniform(key, (n, d), minval=low, maxval=high)
    try:
        one = energy(probe[0])
    except Exception as err:  # noqa: BLE001 - any failure means the energy does not fit
        raise ValueError(f"the energy cannot be evaluated at a point of shape ({d},): {err}") from err
    if jnp.shape(one) != ():
        raise ValueError(f"the energy must return a scalar for one point of shape ({d},), got shape {jnp.shape(one)}")
    values = np.asarray(jax.jit(jax.vmap(energy))(probe))
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"the energy returned NaN or inf at {int(bad.sum())} of {n} points of the box, "
            f"e.g. at x = {np.asarray(probe)[np.argmax(bad)]}"
        )


# -- training ---------------------------------------------------------------------------------
def _capped(energy: Potential, low: np.ndarray, high: np.ndarray, key: jax.Array, cap: float,
            n: int = 65_536) -> tuple[Potential, dict[str, float]]:
    """The regression target ``min(E, E_min + cap)`` and what capping changes.

    Returns the capped energy and ``{"energy_cap", "energy_min", "cap_mass"}``, where
    ``cap_mass`` is the fraction of the capped law's mass (on the box) that capping added,
    estimated on ``n`` uniform points.
    """
    probe = jax.random.uniform(key, (n, low.size), minval=low, maxval=high)
    values = np.asarray(jax.jit(jax.vmap(energy))(probe), np.float64)
    e_min = float(values.min())
    if cap == float("inf"):
        return energy, {"energy_cap": None, "energy_min": e_min}
    check_positive(cap, "energy_cap")
    capped = np.minimum(values, e_min + cap)
    added = float(np.sum(np.exp(-(capped - e_min)) - np.exp(-(values - e_min))) / np.sum(np.exp(-(capped - e_min))))
    level = jnp.asarray(e_min + cap, jnp.float32)

    def target(x: jax.Array) -> jax.Array:
        return jnp.minimum(energy(x), level)

    return target, {"energy_cap": float(cap), "energy_min": e_min, "cap_mass": added}


@dataclasses.dataclass(frozen=True)
class _Setup:
    icnn: ICNN
    amortizer: Amortizer
    energy: Potential
    low: jax.Array
    high: jax.Array
    batch_size: int
    mu: str
    temperature: float
    energy_min: float
    lmc_steps: int
    step_scale: float
    solver_iterations: int


def _draw(setup: _Setup, key: jax.Array, state: dict[str, Any]) -> tuple[jax.Array, jax.Array]:
    """A batch of μ: uniform on the box, or the model's own samples (stop-gradient).

    Returns ``(x, particles)``; with ``mu="model"`` the particles are the warm-started Gibbs
    chains after this step's Langevin moves.
    """
    if setup.mu == "uniform":
        d = setup.low.shape[0]
        x = jax.random.uniform(key, (setup.batch_size, d), minval=setup.low, maxval=setup.high)
        return x, state["particles"]
    w = potential_fn(setup.icnn, state["params"])
    y = langevin.ula(w, key, state["particles"], setup.lmc_steps, step_scale=setup.step_scale)
    x0 = setup.amortizer.apply(state["amortizer_params"], y)
    x = conjugate.solve(w, y, x0, iterations=setup.solver_iterations, learning_rate=0.03)
    return jax.lax.stop_gradient(x), y


def _make_chunk(setup: _Setup, optimizer, amortizer_optimizer, length: int):
    """A jitted function running ``length`` training steps by ``lax.scan``."""

    def objective(trainable, x):
        w = potential_fn(setup.icnn, trainable["params"])
        r = jax.vmap(lambda z: residual_one(w, setup.energy, z))(x)
        if setup.temperature == float("inf"):
            return jnp.mean((r - trainable["c"]) ** 2), r
        # reweighting by e^{-E/T} is a change of μ: same solutions, more points where ρ has mass
        weights = jax.lax.stop_gradient(jnp.exp(-(jax.vmap(setup.energy)(x) - setup.energy_min) / setup.temperature))
        return jnp.sum(weights * (r - trainable["c"]) ** 2) / jnp.sum(weights), r

    def step(state, key):
        x, particles = _draw(setup, key, state)
        trainable = {"params": state["params"], "c": state["c"]}
        (value, r), grads = jax.value_and_grad(objective, has_aux=True)(trainable, x)
        finite = jnp.isfinite(value) & jnp.all(
            jnp.asarray([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))
        updates, opt_state = optimizer.update(grads, state["opt_state"], trainable)
        new = optax.apply_updates(trainable, updates)
        keep = lambda a, b: jax.tree.map(lambda u, v: jnp.where(finite, u, v), a, b)  # noqa: E731
        trainable = keep(new, trainable)
        opt_state = keep(opt_state, state["opt_state"])
        # amortiser: exact pairs H(∇w(x)) ≈ x, no conjugate solve needed
        w = potential_fn(setup.icnn, trainable["params"])
        y = jax.lax.stop_gradient(jax.vmap(jax.grad(w))(x))
        a_value, a_grads = jax.value_and_grad(
            lambda p: conjugate.amortizer_loss(setup.amortizer, p, y, x))(state["amortizer_params"])
        a_updates, a_opt_state = amortizer_optimizer.update(a_grads, state["amortizer_opt_state"])
        new_state = {
            **state, **trainable, "opt_state": opt_state, "particles": particles,
            "amortizer_params": optax.apply_updates(state["amortizer_params"], a_updates),
            "amortizer_opt_state": a_opt_state,
        }
        metrics = {
            "loss": value, "residual_std": jnp.std(r), "c": trainable["c"],
            "amortizer_loss": a_value, "skipped": (~finite).astype(jnp.int32),
        }
        return new_state, metrics

    @jax.jit
    def chunk(state, key):
        return jax.lax.scan(step, state, jax.random.split(key, length))

    return chunk


def _all_finite(tree: Any) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(leaf)))) for leaf in jax.tree.leaves(tree))


def fit(
    energy: Potential,
    key: jax.Array,
    low: Any = None,
    high: Any = None,
    *,
    steps: int | None = None,
    profile: str | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    mu: str = "uniform",
    features: tuple[int, ...] | None = None,
    activation: str | None = None,
    beta: float | None = None,
    init: str = "identity",
    init_mean: Any = None,
    init_cov: Any = None,
    energy_cap: float | None = None,
    temperature: float = float("inf"),
    checkpoint: str | Path | None = None,
    progress: bool = True,
    command: str | None = None,
) -> ConjugateMomentModel:
    r"""Learn a conjugate moment potential of :math:`\rho \propto e^{-E}` by CMFMA.

    Args:
      energy: ``E(x: (d,)) -> scalar``; an :class:`cmmlib.datasets.energies.Energy` also gives
        the box.
      key: PRNG key.
      low, high: corners of the box of μ (scalars or ``(d,)``); default: the energy's box.
      steps: training steps (default: the profile's ``steps_1d`` or ``steps_2d``).
      profile: settings profile (:func:`cmmlib.config.cmfma`); default: ``$CMM_PROFILE``.
      batch_size, learning_rate: override the profile's.
      mu: ``"uniform"`` on the box, or ``"model"``: the model's own samples
        :math:`\nabla w^*\sharp P_w` (Langevin + conjugate solver, stop-gradient).
      features, activation, beta: the ICNN (default: softplus(``beta_1d``) with
        ``features_1d`` in 1D, ELU with ``features_2d`` otherwise).
      init: ``"identity"`` (:math:`w = \|x\|^2/2`) or ``"gaussian"`` (Prop. 2 of
        ``init_mean``, ``init_cov``), see :func:`cmmlib.icnn.init_icnn`.
      energy_cap: regress on :math:`\min(E, E_{\min} + \text{cap})` instead of :math:`E`, with
        :math:`E_{\min}` the smallest energy on a probe of the box (default: the profile's
        ``energy_cap``; ``float("inf")`` for none). The capped density differs from
        :math:`\rho` by a mass of order :math:`e^{-\text{cap}}` times the box's volume (measured:
        ``manifest["cap_mass"]``), but the regression no longer chases energies of hundreds
        where :math:`\rho` has no mass.
      temperature: when finite, weight the points of μ by :math:`e^{-(E - E_{\min})/T}`: a change of
        μ (same exact solutions, whose loss is zero for any μ) that puts the regression where
        :math:`\rho` has its mass; ``inf`` (default): the paper's plain uniform μ.
      checkpoint: folder to save the model to, every ``checkpoint_every`` steps and at the end.
      progress: show a progress bar.
      command: the command line recorded in the manifest.

    Returns:
      A :class:`cmmlib.model.ConjugateMomentModel`; ``history`` holds per-step ``loss``,
      ``residual_std``, ``c``, ``amortizer_loss``, ``skipped`` (non-finite steps skipped);
      ``manifest["log_normaliser_ratio"]`` is the learned :math:`c \approx \log(Z_w/Z_E)`.
    """
    settings = config.cmfma(profile)
    if mu not in MUS:
        raise ValueError(f"mu must be one of {MUS}, got {mu!r}")
    lo, hi = check_box(low if low is not None else getattr(energy, "low", None),
                 high if high is not None else getattr(energy, "high", None))
    dim = lo.size
    k_check, k_init, k_amort, k_particles, k_train = jax.random.split(key, 5)
    check_energy(energy, lo, hi, k_check)
    target, cap_info = _capped(energy, lo, hi, k_check, settings.energy_cap if energy_cap is None else energy_cap)
    steps = (settings.steps_1d if dim == 1 else settings.steps_2d) if steps is None else steps
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    batch_size = settings.batch_size if batch_size is None else batch_size
    learning_rate = settings.learning_rate if learning_rate is None else learning_rate
    check_positive(batch_size, "batch_size")
    check_positive(learning_rate, "learning_rate")

    icnn = ICNN(
        features=tuple(features or (settings.features_1d if dim == 1 else settings.features_2d)),
        activation=activation or ("softplus" if dim == 1 else "elu"),
        beta=float(beta if beta is not None else (settings.beta_1d if dim == 1 else 1.0)),
        strong_convexity=settings.strong_convexity,
    )
    amortizer = Amortizer(features=tuple(settings.amortizer_features))
    params = init_icnn(icnn, k_init, dim, init=init, mean=init_mean, cov=init_cov)
    amortizer_params = amortizer.init(k_amort, jnp.zeros((1, dim)))
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    setup = _Setup(icnn, amortizer, target, jnp.asarray(lo, jnp.float32), jnp.asarray(hi, jnp.float32),
                   int(batch_size), mu, float(temperature), cap_info["energy_min"],
                   settings.lmc_steps, settings.step_scale, settings.solver_iterations)

    # c starts at the mean residual of a first batch, which also checks the initial Hessians
    x_first = jax.random.uniform(k_particles, (int(batch_size), dim), minval=lo, maxval=hi)
    c0 = jnp.mean(residual(potential_fn(icnn, params), target, x_first))
    schedule = optax.cosine_decay_schedule(learning_rate, steps, alpha=settings.lr_final_fraction)
    optimizer = optax.chain(optax.clip_by_global_norm(settings.grad_clip), optax.adam(schedule))
    amortizer_optimizer = optax.adam(settings.amortizer_learning_rate)
    trainable = {"params": params, "c": c0}
    state = {
        **trainable, "opt_state": optimizer.init(trainable),
        "amortizer_params": amortizer_params,
        "amortizer_opt_state": amortizer_optimizer.init(amortizer_params),
        "particles": x_first,
    }

    sampling = SamplingSettings(
        n_steps=settings.sample_lmc_steps, step_scale=settings.sample_step_scale,
        solver_iterations=settings.sample_solver_iterations,
        solver_tolerance=settings.sample_solver_tolerance,
        init_scale=float(np.max(np.abs(np.concatenate([lo, hi])))),
    )
    manifest = {
        "learner": "cmfma", "command": command or " ".join(sys.argv),
        "energy": getattr(energy, "name", getattr(energy, "__name__", "custom")),
        "low": lo.tolist(), "high": hi.tolist(), "mu": mu, "init": init,
        "temperature": None if temperature == float("inf") else float(temperature),
        "batch_size": int(batch_size), "learning_rate": float(learning_rate),
        "key": np.asarray(jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
                          else key).tolist(),
        "profile": config.profile_name(profile), "hardware": checkpoints.hardware(), **cap_info,
    }

    def model_of(state, history, done, wall):
        return ConjugateMomentModel(
            icnn, state["params"], amortizer, state["amortizer_params"], dim, noise="gibbs",
            sampling=sampling, history={k: np.concatenate(v) for k, v in history.items()},
            manifest={**manifest, "steps": done, "wall_time_s": round(wall, 2),
                      "log_normaliser_ratio": float(state["c"]),
                      "final_loss": float(history["loss"][-1][-1]) if history else None},
        )

    chunk_size = min(settings.chunk, steps)
    runners: dict[int, Any] = {}
    history: dict[str, list[np.ndarray]] = {}
    done, start = 0, time.perf_counter()
    bar = tqdm(total=steps, desc=f"CMFMA {manifest['energy']}", disable=not progress, leave=False)
    while done < steps:
        length = min(chunk_size, steps - done)
        if length not in runners:
            runners[length] = _make_chunk(setup, optimizer, amortizer_optimizer, length)
        k_train, k_chunk = jax.random.split(k_train)
        new_state, metrics = runners[length](state, k_chunk)
        if not _all_finite(new_state["params"]):
            warnings.warn(f"CMFMA: non-finite parameters after step {done + length}; "
                          f"keeping the last good ones (step {done}) and stopping", stacklevel=2)
            break
        state = new_state
        for name, values in metrics.items():
            history.setdefault(name, []).append(np.asarray(values))
        done += length
        bar.update(length)
        bar.set_postfix(loss=f"{float(metrics['loss'][-1]):.3g}")
        if checkpoint is not None and (done % settings.checkpoint_every < length or done == steps):
            model_of(state, history, done, time.perf_counter() - start).save(checkpoint)
    bar.close()
    return model_of(state, history, done, time.perf_counter() - start)


# -- evaluation -------------------------------------------------------------------------------
def gibbs_density_1d(model: ConjugateMomentModel, grid: Any) -> np.ndarray:
    r"""The learned Gibbs factor :math:`e^{-w}/Z_w` on a uniform 1D ``grid (B,)``, normalised there."""
    grid = np.asarray(grid, dtype=np.float64)
    w = np.asarray(model.potential(jnp.asarray(grid[:, None], jnp.float32)), dtype=np.float64)
    p = np.exp(-(w - w.min()))
    return p / (p.sum() * (grid[1] - grid[0]))


def onedim_distances(model: ConjugateMomentModel, fixed_point: Any, x: Any) -> dict[str, float]:
    r"""Distances between a 1D CMFMA model and a fixed-point solution (:mod:`cmmlib.onedim`).

    Args:
      model: a 1D model.
      fixed_point: a :class:`cmmlib.onedim.FixedPointResult` of kind ``"conjugate"``.
      x: ``(n,)`` samples of :math:`\rho`.

    Returns:
      ``map``: :math:`\|w'_\theta - w'_{\rm fp}\|_{L^2(\rho)} / \mathrm{std}_\rho(w'_{\rm fp})`
      (the Brenier maps, free of the additive constant);
      ``potential``: the same for the potentials, each centred by its :math:`\rho`-mean;
      ``gibbs_w1``: :math:`W_1` between the two Gibbs factors, :math:`\int |F_\theta - F_{\rm fp}|`
      on the fixed point's grid.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    pts = jnp.asarray(x[:, None], jnp.float32)
    grad = np.asarray(model.gradient(pts))[:, 0]
    grad_fp = np.interp(x, fixed_point.grid, fixed_point.gradient)
    w = np.asarray(model.potential(pts), np.float64)
    w_fp = np.interp(x, fixed_point.grid, fixed_point.potential)
    w, w_fp = w - w.mean(), w_fp - w_fp.mean()
    grid = np.asarray(fixed_point.grid, np.float64)
    h = grid[1] - grid[0]
    cdf = np.cumsum(gibbs_density_1d(model, grid)) * h
    cdf_fp = np.cumsum(fixed_point.gibbs_density) * h
    return {
        "map": float(np.sqrt(np.mean((grad - grad_fp) ** 2)) / np.std(grad_fp)),
        "potential": float(np.sqrt(np.mean((w - w_fp) ** 2)) / np.std(w_fp)),
        "gibbs_w1": float(np.sum(np.abs(cdf - cdf_fp)) * h),
    }


def learned_energy(model: ConjugateMomentModel, x: Any) -> np.ndarray:
    r"""The learned energy :math:`w(\nabla w(x)) - \log\det\nabla^2 w(x) + c` on ``x (n, d)``.

    Equals :math:`E(x)` where the residual is the constant :math:`c` (the model's learned
    ``log_normaliser_ratio``); ``(n,)``.
    """
    c = float(model.manifest.get("log_normaliser_ratio", 0.0))
    return -np.asarray(model.log_prob(x)) + c


# -- the chapter's models ---------------------------------------------------------------------
def training_options(name: str, profile: str | None = None) -> dict[str, Any]:
    """Options of :func:`fit` for a named energy beyond the profile's defaults.

    ``rho_2`` (spread over ``[-10, 9.5]``) uses the smoother softplus ``beta_rho_2``; the
    Gaussian trains ``steps_gaussian`` steps on the uncapped energy (its residual is bounded on
    the box, and capping would break the exact Prop. 2 solution); the three 2D benchmarks weight
    the points of μ by :math:`e^{-E/T}`, ``T = temperature_2d``.
    """
    settings = config.cmfma(profile)
    if name == "rho_2":
        return {"beta": settings.beta_rho_2}
    if name == "gaussian":
        return {"steps": settings.steps_gaussian, "energy_cap": float("inf")}
    if name in ("rosenbrock", "himmelblau", "six_hump_camel"):
        return {"temperature": settings.temperature_2d}
    return {}


def checkpoint_path(name: str) -> Path:
    """Folder of the shipped checkpoint of the named energy."""
    return checkpoints.asset(f"cmfma_{name}")


def pretrained(name: str, *, retrain: bool = False, profile: str | None = None, seed: int = 0,
               **options: Any) -> ConjugateMomentModel:
    """The model of the named energy: the shipped checkpoint, or a fresh :func:`fit` when
    ``retrain`` is set or no checkpoint is shipped (``options`` override
    :func:`training_options`)."""
    from .datasets.energies import energy as named_energy

    path = checkpoint_path(name)
    if not retrain and (path / checkpoints.MANIFEST).exists():
        return checkpoints.load(path)
    return fit(named_energy(name), jax.random.PRNGKey(seed), profile=profile,
               **{**training_options(name, profile), **options})


# -- command line (registered by cmmlib.train as the ``cmfma`` subcommand) -------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m cmmlib.train cmfma``."""
    from .datasets.energies import ENERGY_NAMES

    parser.add_argument("energy", choices=ENERGY_NAMES, help="the energy E of rho ~ exp(-E)")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint folder (default: cmmlib/assets/checkpoints/cmfma_<energy>)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the profile's)")
    parser.add_argument("--profile", default=None, help="ci | cpu | paper (default: $CMM_PROFILE)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mu", choices=MUS, default="uniform", help="law of the regression points")
    parser.add_argument("--beta", type=float, default=None,
                        help="softplus sharpness in 1D (default: the profile's, see training_options)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> Path:
    """Train CMFMA on a named energy and save the checkpoint; returns its folder."""
    from .datasets.energies import energy as named_energy

    out = args.out or checkpoint_path(args.energy)
    options = training_options(args.energy, args.profile)
    options.update({k: v for k, v in (("steps", args.steps), ("beta", args.beta)) if v is not None})
    model = fit(named_energy(args.energy), jax.random.PRNGKey(args.seed), profile=args.profile, mu=args.mu,
                checkpoint=out, progress=not args.no_progress, command=getattr(args, "command", None),
                **options)
    print(f"saved {out} ({model.manifest['steps']} steps, {model.manifest['wall_time_s']} s, "
          f"final loss {model.manifest['final_loss']:.4g})", flush=True)
    return out


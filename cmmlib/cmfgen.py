r"""CMFGen: learn a conjugate moment potential from samples (Algorithm 1 of the paper).

Given samples of :math:`\rho`, CMFGen looks for a convex :math:`w_\theta` (an ICNN) that is the
Brenier potential from :math:`\rho` to its own Gibbs law :math:`P_{w_\theta}\propto e^{-w_\theta}`,
i.e. a fixed point of :math:`w \mapsto \Phi(w)` = Brenier potential from :math:`\rho` to
:math:`P_w`. Each training step takes one stochastic step of that fixed-point iteration::

    X  ← minibatch of data (batch B)                              # samples of ρ
    h  ← step_scale / λ_max(∇²w_θ) on the particles Y             # power iteration, HVPs
    Y  ← K ULA steps on w_θ from Y (warm start)                   # ≈ P_{w_θ}
    X̂  ← ∇w_θ*(Y): conjugate solver started at H_φ(Y)            # generated samples, for free
    θ  ← Adam step on  mean w_θ(X) − mean w_θ(stopgrad X̂)         # neural OT dual (Danskin)
    φ  ← Adam step on  mean ‖H_φ(Y) − stopgrad X̂‖²                # amortiser regression

The dual step is the semi-dual of OT from :math:`\rho` to the *current* :math:`P_{w_\theta}`
(held fixed for that step): its gradient :math:`E_\rho\nabla_\theta w - E_{P_w}\nabla_\theta
w(\hat x)` is zero exactly when :math:`\nabla w^*\sharp P_w = \rho`.

``noise="gaussian"`` is the *generative-ICNN baseline*: the same loop, network and solver,
with :math:`Y \sim N(0, I)` drawn fresh each step (no Langevin): then :math:`w_\theta` is the
Brenier potential from :math:`\rho` to :math:`N(0, I)`, and the only difference between the two
methods is the noise law.

Engineering. Steps run in jitted ``lax.scan`` chunks; several models (seeds, data sets of the
same size) train together under ``vmap`` in one compiled program (:func:`fit_many`). A step
whose loss or gradient is not finite, or whose loss exceeds ``max_abs_loss``, freezes that
model at its last good state; training then stops with a warning that says where. With a
``checkpoint_dir`` the whole training state (parameters, optimiser states, particles, PRNG key,
history) is written atomically every ``checkpoint_every`` steps, and ``resume=True`` continues
from it bit-for-bit as an uninterrupted run with the same key would.
"""
from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from . import checkpoints, conjugate, dual, langevin
from .config import CMFGenSettings, cmfgen as cmfgen_settings
from .conjugate import Amortizer
from .icnn import ICNN, init_icnn, potential_fn
from .model import ConjugateMomentModel, SamplingSettings

NOISES = ("gibbs", "gaussian")
STATE_DIR = "training_state"
HISTORY_KEYS = ("loss", "amortizer_loss", "lambda_max", "residual", "moment_error")


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    """Everything static about a training loop (hashable: it keys the compiled programs)."""

    icnn: ICNN
    amortizer: Amortizer
    noise: str
    batch_size: int
    learning_rate: float
    amortizer_learning_rate: float
    lmc_steps: int
    step_scale: float
    lambda_iterations: int
    solver_iterations: int
    solver_learning_rate: float
    lambda_quantile: float | None
    decay_steps: int | None
    max_abs_loss: float

    def optimisers(self) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
        """Adam for ``w_θ`` (cosine-decayed to 1% over ``decay_steps`` when given) and ``H_φ``."""
        lr = (self.learning_rate if self.decay_steps is None
              else optax.cosine_decay_schedule(self.learning_rate, self.decay_steps, alpha=0.01))
        return optax.adam(lr), optax.adam(self.amortizer_learning_rate)


def _check_data(data: Any, batch_size: int) -> jnp.ndarray:
    """Validate training data ``(n, d)``: finite, no constant column, ``n >= batch_size``."""
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"data must have shape (n, d), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"data must be numeric, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"data contains {int(np.size(arr) - np.isfinite(arr).sum())} NaN or infinite value(s)")
    if arr.shape[0] < batch_size:
        raise ValueError(f"data has {arr.shape[0]} points, fewer than the batch size {batch_size}")
    spread = arr.max(axis=0) - arr.min(axis=0)
    if np.any(spread <= 0):
        raise ValueError(f"data column(s) {np.flatnonzero(spread <= 0).tolist()} are constant: "
                         "ρ must be absolutely continuous")
    return jnp.asarray(arr, jnp.float32)


def init_state(cfg: LoopConfig, key: jax.Array, dim: int) -> dict[str, Any]:
    """Fresh training state: ``w = ½‖x‖²`` (so ``P_w = N(0, I)``), identity amortiser,
    particles ``Y ~ N(0, I)``."""
    k_icnn, k_amort, k_particles, k_loop = jax.random.split(key, 4)
    params = init_icnn(cfg.icnn, k_icnn, dim, init="identity")
    amort_params = cfg.amortizer.init(k_amort, jnp.zeros((dim,), jnp.float32))
    opt, amort_opt = cfg.optimisers()
    particles = jax.random.normal(k_particles, (cfg.batch_size, dim))
    return {
        "params": params,
        "opt_state": opt.init(params),
        "amortizer_params": amort_params,
        "amortizer_opt_state": amort_opt.init(amort_params),
        "particles": particles,
        "generated": particles,
        "key": k_loop,
        "step": jnp.zeros((), jnp.int32),
        "ok": jnp.ones((), bool),
    }


def _moment_error(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
    """``‖m_x − m_y‖² + ‖C_x − C_y‖_F²``: a cheap, jit-able first/second-moment mismatch."""
    mx, my = x.mean(0), y.mean(0)
    cx, cy = (x - mx).T @ (x - mx) / x.shape[0], (y - my).T @ (y - my) / y.shape[0]
    return jnp.sum((mx - my) ** 2) + jnp.sum((cx - cy) ** 2)


def _train_step(cfg: LoopConfig, data: jnp.ndarray, state: dict[str, Any]):
    """One iteration of Algorithm 1 on one model; returns ``(state, metrics)``."""
    opt, amort_opt = cfg.optimisers()
    key, k_data, k_lambda, k_lmc = jax.random.split(state["key"], 4)
    params, amort_params = state["params"], state["amortizer_params"]
    dim = data.shape[1]
    x = data[jax.random.randint(k_data, (cfg.batch_size,), 0, data.shape[0])]
    w = potential_fn(cfg.icnn, params)

    if cfg.noise == "gibbs":
        reduction = {"reduction": "max"} if cfg.lambda_quantile is None else {
            "reduction": "quantile", "quantile": cfg.lambda_quantile}
        lam = langevin.lambda_max(w, state["particles"], k_lambda, n_iter=cfg.lambda_iterations, **reduction)
        y = langevin.ula(w, k_lmc, state["particles"], cfg.lmc_steps, step_size=cfg.step_scale / lam)
    else:
        lam = jnp.asarray(jnp.nan, jnp.float32)
        y = jax.random.normal(k_lmc, (cfg.batch_size, dim))

    x0 = cfg.amortizer.apply(amort_params, y)
    x_hat = jax.lax.stop_gradient(conjugate.solve(
        w, y, x0, iterations=cfg.solver_iterations, learning_rate=cfg.solver_learning_rate))

    loss, grads = jax.value_and_grad(lambda p: dual.dual_loss(cfg.icnn.apply, p, x, x_hat))(params)
    updates, opt_state = opt.update(grads, state["opt_state"], params)
    new_params = optax.apply_updates(params, updates)

    def amort_loss_fn(ap):
        return jnp.mean(jnp.sum((cfg.amortizer.apply(ap, y) - x_hat) ** 2, axis=-1))

    amort_loss, amort_grads = jax.value_and_grad(amort_loss_fn)(amort_params)
    amort_updates, amort_opt_state = amort_opt.update(amort_grads, state["amortizer_opt_state"], amort_params)

    residual = jnp.mean(jnp.linalg.norm(jax.vmap(jax.grad(w))(x_hat) - y, axis=-1))
    finite = jnp.isfinite(loss) & jnp.isfinite(optax.global_norm(grads)) & jnp.isfinite(amort_loss)
    good = state["ok"] & finite & (jnp.abs(loss) < cfg.max_abs_loss)
    candidate = {
        "params": new_params,
        "opt_state": opt_state,
        "amortizer_params": optax.apply_updates(amort_params, amort_updates),
        "amortizer_opt_state": amort_opt_state,
        "particles": y,
        "generated": x_hat,
        "key": key,
        "step": state["step"] + 1,
        "ok": good,
    }
    frozen = {**state, "ok": good}
    new_state = jax.tree.map(lambda a, b: jnp.where(good, a, b), candidate, frozen)
    metrics = {
        "loss": loss, "amortizer_loss": amort_loss, "lambda_max": lam, "residual": residual,
        "moment_error": _moment_error(x_hat, x),
    }
    return new_state, metrics


@functools.lru_cache(maxsize=32)
def _chunk_fn(cfg: LoopConfig, n_steps: int):
    """Jitted ``(data (M,n,d), states (M,...)) -> (states, metrics (M, n_steps))``: a
    ``lax.scan`` of ``n_steps`` steps, vmapped over the M models."""

    def one_model(data, state):
        return jax.lax.scan(lambda s, _: _train_step(cfg, data, s), state, None, length=n_steps)

    return jax.jit(jax.vmap(one_model))


def loop_config(settings: CMFGenSettings, noise: str, batch_size: int | None = None,
                max_abs_loss: float = 1e6, decay_steps: int | None = None) -> LoopConfig:
    """The :class:`LoopConfig` of a profile's settings (ICNN and amortiser included); with
    ``settings.lr_decay`` the learning rate decays over ``decay_steps`` (default ``settings.steps``)."""
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
    batch = settings.batch_size if batch_size is None else int(batch_size)
    if batch < 2:
        raise ValueError(f"batch_size must be at least 2, got {batch}")
    return LoopConfig(
        icnn=ICNN(features=tuple(settings.features)),
        amortizer=Amortizer(features=tuple(settings.amortizer_features)),
        noise=noise, batch_size=batch,
        learning_rate=settings.learning_rate, amortizer_learning_rate=settings.amortizer_learning_rate,
        lmc_steps=settings.lmc_steps, step_scale=settings.step_scale,
        lambda_iterations=settings.lambda_iterations, solver_iterations=settings.solver_iterations,
        solver_learning_rate=settings.solver_learning_rate, lambda_quantile=settings.lambda_quantile,
        decay_steps=(decay_steps or settings.steps) if settings.lr_decay else None,
        max_abs_loss=float(max_abs_loss),
    )


def _save_state(folder: Path, states: Any, history: dict[str, np.ndarray], manifest: dict[str, Any]) -> None:
    checkpoints.write(folder / STATE_DIR, {"states": states, "history": history},
                      {**manifest, "kind": "CMFGenTrainingState"})


def _load_state(folder: Path, template: Any, manifest: dict[str, Any]) -> tuple[Any, dict[str, np.ndarray]]:
    saved = checkpoints.read_manifest(folder / STATE_DIR)
    for field in ("noise", "loop", "n_models", "data_shape"):
        if saved.get(field) != manifest.get(field):
            raise ValueError(f"cannot resume from {folder}: {field} was {saved.get(field)!r}, "
                             f"now {manifest.get(field)!r}")
    empty = {k: np.zeros(0, np.float32) for k in HISTORY_KEYS}
    arrays, _ = checkpoints.read(folder / STATE_DIR, target={"states": template, "history": empty})
    states = jax.tree.map(jnp.asarray, arrays["states"])
    history = {k: np.asarray(v) for k, v in arrays["history"].items()}
    return states, history


class TrainResult(NamedTuple):
    """What :func:`train` returns: the loop, the settings, the stacked final states (leading
    model axis M), the per-step history ``(M, steps)`` per key, and the run's manifest."""

    cfg: LoopConfig
    settings: CMFGenSettings
    states: dict[str, Any]
    history: dict[str, np.ndarray]
    info: dict[str, Any]

    def models(self) -> list[ConjugateMomentModel]:
        """One :class:`~cmmlib.model.ConjugateMomentModel` per trained model."""
        dim = self.states["particles"].shape[-1]
        return [_to_model(self.cfg, self.settings, dim, jax.tree.map(lambda a, i=i: a[i], self.states),
                          {k: v[i] for k, v in self.history.items()}, {**self.info, "model_index": i})
                for i in range(self.states["particles"].shape[0])]


def train(
    data: Any,
    keys: jax.Array,
    steps: int | None = None,
    noise: str = "gibbs",
    profile: str | None = None,
    batch_size: int | None = None,
    *,
    settings: CMFGenSettings | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    max_abs_loss: float = 1e6,
    manifest: dict[str, Any] | None = None,
    decay_steps: int | None = None,
) -> TrainResult:
    """Train M models at once (one compiled program, ``vmap`` over models): a :class:`TrainResult`.

    Args:
      data: ``(n, d)`` samples shared by all models, or ``(M, n, d)``: one data set per model.
      keys: ``(M, 2)`` PRNG keys, one per model (e.g. ``jax.random.split(key, M)``).
      steps: training steps (default: the profile's ``steps``).
      noise: ``"gibbs"`` (CMFGen) or ``"gaussian"`` (the generative-ICNN baseline).
      profile: ``ci`` / ``cpu`` / ``paper`` (default: ``$CMM_PROFILE``), see :mod:`cmmlib.config`.
      batch_size: overrides the profile's batch size.
      settings: a :class:`~cmmlib.config.CMFGenSettings` overriding the profile.
      checkpoint_dir: folder for the atomic training-state checkpoint.
      resume: continue from ``checkpoint_dir``'s training state when there is one.
      progress: show a tqdm bar with the running loss and λ_max.
      max_abs_loss: a dual loss larger than this in absolute value counts as exploding.
      manifest: extra entries for the models' manifests (command, seed, data set name...).
      decay_steps: horizon of the learning-rate decay (``settings.lr_decay``); default: the
        steps of this call. Pass the final step count when training in stages (resume).

    Returns:
      a :class:`TrainResult`; its ``models()`` carry ``history`` (per-step arrays of
      ``HISTORY_KEYS``) and ``manifest`` (steps, wall time, hardware, settings, status).
    """
    settings = settings if settings is not None else cmfgen_settings(profile)
    total = int(settings.steps if steps is None else steps)
    if total < 0:
        raise ValueError(f"steps must be >= 0, got {total}")
    cfg = loop_config(settings, noise, batch_size, max_abs_loss, decay_steps or max(total, 1))
    keys = jnp.asarray(keys)
    if keys.ndim != 2:
        raise ValueError(f"keys must have shape (M, 2) (one PRNG key per model), got {keys.shape}")
    n_models = keys.shape[0]
    arr = np.asarray(data)
    stacked = arr.ndim == 3
    if stacked and arr.shape[0] != n_models:
        raise ValueError(f"data has {arr.shape[0]} data sets for {n_models} keys")
    sets = [_check_data(a, cfg.batch_size) for a in (arr if stacked else [arr])]
    data_stack = jnp.stack(sets) if stacked else jnp.broadcast_to(sets[0], (n_models, *sets[0].shape))
    dim = data_stack.shape[-1]

    run_manifest = {
        **(manifest or {}), "noise": noise, "n_models": n_models, "data_shape": list(data_stack.shape[1:]),
        "loop": {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("icnn", "amortizer")},
        "settings": dataclasses.asdict(settings),
    }
    states = jax.vmap(lambda k: init_state(cfg, k, dim))(keys)
    history = {k: np.zeros((n_models, 0), np.float32) for k in HISTORY_KEYS}
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    wall_before = 0.0
    if resume and folder is not None and (folder / STATE_DIR).exists():
        states, history = _load_state(folder, states, run_manifest)
        wall_before = float(checkpoints.read_manifest(folder / STATE_DIR).get("wall_time_s", 0.0))

    start = time.perf_counter()
    done = int(np.asarray(states["step"]).max()) if n_models else 0
    bar = tqdm(total=total, initial=min(done, total), disable=not progress, desc=f"cmfgen[{noise}]")
    status = "completed"
    while done < total:
        n_chunk = min(settings.chunk, total - done)
        states, metrics = _chunk_fn(cfg, n_chunk)(data_stack, states)
        metrics = jax.device_get(metrics)
        history = {k: np.concatenate([history[k], metrics[k]], axis=1) for k in HISTORY_KEYS}
        done += n_chunk
        bar.update(n_chunk)
        postfix = {"loss": f"{np.mean(metrics['loss'][:, -1]):.4f}"}
        if noise == "gibbs":
            postfix["lambda_max"] = f"{np.mean(metrics['lambda_max'][:, -1]):.3g}"
        bar.set_postfix(postfix)
        ok = np.asarray(states["ok"])
        wall = wall_before + time.perf_counter() - start
        if not ok.all():
            bad_steps = np.asarray(states["step"])
            status = (f"stopped: non-finite or exploding loss (|loss| > {max_abs_loss:g}) in model(s) "
                      f"{np.flatnonzero(~ok).tolist()} after step(s) {bad_steps[~ok].tolist()}; "
                      "their last good parameters are kept")
            warnings.warn(f"CMFGen {status}", RuntimeWarning, stacklevel=2)
            break
        if folder is not None and (done % settings.checkpoint_every == 0 or done == total):
            _save_state(folder, states, history, {**run_manifest, "step": done, "wall_time_s": wall})
    bar.close()
    wall = wall_before + time.perf_counter() - start
    info = {**run_manifest, "steps": done, "wall_time_s": wall, "status": status,
            "hardware": checkpoints.hardware()}
    return TrainResult(cfg, settings, states, history, info)


def fit_many(data: Any, keys: jax.Array, steps: int | None = None, noise: str = "gibbs",
             profile: str | None = None, batch_size: int | None = None,
             **options: Any) -> list[ConjugateMomentModel]:
    """Train M models at once (``vmap``; arguments of :func:`train`); returns M
    :class:`~cmmlib.model.ConjugateMomentModel`."""
    return train(data, keys, steps, noise, profile, batch_size, **options).models()


def sample_stacked(cfg: LoopConfig, sampling: SamplingSettings, params: Any, amortizer_params: Any,
                   key: jax.Array, n: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Generate from M stacked models at once (one program, ``vmap``), as
    :meth:`ConjugateMomentModel.sample` does for one: noise (ULA from uniform noise, two legs,
    or ``N(0, I)``), then the conjugate solver to tolerance from the amortiser.

    Args:
      params, amortizer_params: pytrees with a leading model axis M.
      key: one PRNG key (split per model).
      n: samples per model.

    Returns:
      ``(noise (M, n, d), samples (M, n, d))``.
    """
    n_models = jax.tree.leaves(params)[0].shape[0]
    dim = params["params"]["linear"].shape[-1]
    return _sample_fn(cfg, sampling, int(n), dim)(params, amortizer_params, jax.random.split(key, n_models))


@functools.lru_cache(maxsize=16)
def _sample_fn(cfg: LoopConfig, s: SamplingSettings, n: int, dim: int):
    def one(params, amort_params, key):
        k_init, k1, k2 = jax.random.split(key, 3)
        w = potential_fn(cfg.icnn, params)
        if cfg.noise == "gaussian":
            y = jax.random.normal(k_init, (n, dim))
        else:
            y = jax.random.uniform(k_init, (n, dim), minval=-s.init_scale, maxval=s.init_scale)
            half = max(s.n_steps // 2, 1)
            y = langevin.ula(w, k1, y, half, step_scale=s.step_scale)
            y = langevin.ula(w, k2, y, max(s.n_steps - half, 0), step_scale=s.step_scale)
        x0 = cfg.amortizer.apply(amort_params, y)
        x = conjugate.solve(w, y, x0, iterations=s.solver_iterations, tolerance=s.solver_tolerance,
                            learning_rate=s.solver_learning_rate)
        return y, x

    return jax.jit(jax.vmap(one))


def mean_hessian(model: ConjugateMomentModel, x: jnp.ndarray) -> jnp.ndarray:
    """Average Hessian ``mean_i ∇²w_θ(x_i)`` over points ``x`` (n, d): ``(d, d)``. On Gaussian
    data the conjugate moment potential is quadratic (Prop. 2), so this is its precision."""
    return jnp.mean(jax.vmap(jax.hessian(model.w))(jnp.asarray(x)), axis=0)


def ula_fixed_point_precision(cov: Any, step_scale: float) -> np.ndarray:
    r"""The precision ``A`` CMFGen converges to on ``N(m, Σ)`` data when it samples ``P_w`` by ULA
    with ``h = step_scale / λ_max(A)``: the fixed point of the *biased* sampler.

    ULA on ``½ yᵀAy`` has stationary covariance ``A^{-1}(I − hA/2)^{-1}`` (chapter 3); pushing it
    by ``∇w* = A^{-1}`` must give ``Σ``: ``A^{-1}(I − hA/2)^{-1}A^{-1} = Σ``, i.e. along each
    eigenvector of ``Σ`` (eigenvalue ``σ``) ``σ a³ (1 − h a/2) = 1``. ``step_scale → 0`` gives
    Prop. 2, ``A = Σ^{-1/3}``. The stiffest direction (smallest ``σ``) has ``a = a_max`` and
    ``h a_max = s``, so ``a_max = (σ_min (1 − s/2))^{-1/3}`` in closed form; the others solve
    ``σ a³ (1 − h a/2) = 1`` on ``(0, a_max]``, where the left side increases (bisection).
    Needs ``0 < step_scale < 2``; returns ``(d, d)``.
    """
    if not 0 < step_scale < 2:
        raise ValueError(f"ULA is stable only for 0 < step_scale < 2, got {step_scale}")
    sig, vecs = np.linalg.eigh(np.asarray(cov, np.float64))
    if sig.min() <= 0:
        raise ValueError("cov must be positive definite")
    a_max = (sig.min() * (1 - step_scale / 2)) ** (-1.0 / 3.0)
    h = step_scale / a_max
    lo, hi = np.zeros_like(sig), np.full_like(sig, a_max)
    for _ in range(100):
        mid = (lo + hi) / 2
        below = sig * mid**3 * (1 - h * mid / 2) < 1
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (vecs * ((lo + hi) / 2)) @ vecs.T


def sampling_settings(settings: CMFGenSettings) -> SamplingSettings:
    """How a trained model generates, from the profile's settings."""
    return SamplingSettings(
        n_steps=settings.sample_lmc_steps, step_scale=settings.step_scale,
        solver_iterations=settings.sample_solver_iterations,
        solver_tolerance=settings.sample_solver_tolerance,
        solver_learning_rate=settings.solver_learning_rate,
    )


def _to_model(cfg: LoopConfig, settings: CMFGenSettings, dim: int, state: dict[str, Any],
              history: dict[str, np.ndarray], manifest: dict[str, Any]) -> ConjugateMomentModel:
    return ConjugateMomentModel(
        icnn=cfg.icnn, params=state["params"], amortizer=cfg.amortizer,
        amortizer_params=state["amortizer_params"], dim=dim, noise=cfg.noise,
        sampling=sampling_settings(settings), history=history, manifest=manifest,
    )


def fit(
    data: Any,
    key: jax.Array,
    steps: int | None = None,
    noise: str = "gibbs",
    profile: str | None = None,
    batch_size: int | None = None,
    **options: Any,
) -> ConjugateMomentModel:
    """Learn a conjugate moment potential from samples ``data`` (n, d) by CMFGen.

    ``noise="gaussian"`` trains the generative-ICNN baseline instead (same loop, fresh
    ``N(0, I)`` noise). ``options`` are those of :func:`fit_many` (``settings``,
    ``checkpoint_dir``, ``resume``, ``progress``, ``max_abs_loss``, ``manifest``).
    Returns a :class:`~cmmlib.model.ConjugateMomentModel`.
    """
    return fit_many(data, jnp.asarray(key)[None], steps, noise, profile, batch_size, **options)[0]


__all__ = ["fit", "fit_many", "train", "TrainResult", "sample_stacked", "mean_hessian",
           "ula_fixed_point_precision", "loop_config", "init_state", "sampling_settings",
           "LoopConfig", "NOISES", "HISTORY_KEYS"]

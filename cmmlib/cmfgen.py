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

:class:`CMFGen` is the learner (``init``/``step``); :func:`cmmlib.training.run` trains it (M
models under ``vmap``, guard, checkpoints, exact resume).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import conjugate, dual, langevin, parallel, training, validation
from .config import CMFGenSettings, cmfgen as cmfgen_settings
from .icnn import fit_identity, init_icnn, potential_fn
from .model import NOISES, ConjugateMomentModel, Networks

METRICS = ("loss", "amortizer_loss", "lambda_max", "residual", "moment_error")


class CMFGenState(NamedTuple):
    """One model's training state: ICNN and amortiser parameters with their optimiser states,
    and the warm-started Langevin ``particles (B, d)``."""

    params: Any
    opt_state: Any
    amortizer_params: Any
    amortizer_opt_state: Any
    particles: jax.Array


def _moment_error(x: jax.Array, y: jax.Array) -> jax.Array:
    """``‖m_x − m_y‖² + ‖C_x − C_y‖_F²``: a cheap first/second-moment mismatch."""
    mx, my = x.mean(0), y.mean(0)
    cx, cy = (x - mx).T @ (x - mx) / x.shape[0], (y - my).T @ (y - my) / y.shape[0]
    return jnp.sum((mx - my) ** 2) + jnp.sum((cx - cy) ** 2)


@dataclasses.dataclass(frozen=True)
class CMFGen(Networks):
    """The CMFGen learner (or its baseline, ``noise="gaussian"``) on data of dimension ``dim``;
    ``settings.steps`` is the horizon of the learning-rate decay. ``data`` is an ``(n, d)`` array."""

    settings: CMFGenSettings
    noise: str
    dim: int
    name: str = "cmfgen"
    metric_names: tuple[str, ...] = METRICS

    def __post_init__(self) -> None:
        if self.noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")

    @property
    def icnn_settings(self):
        return self.settings.icnn

    def describe(self) -> dict[str, Any]:
        """What determines the training steps (compared on resume): not the chunking, the
        checkpoint period or the sampling settings; the decay horizon only when a rate decays."""
        s = dataclasses.asdict(self.settings)
        for name in ("chunk", "checkpoint_every", "sampling"):
            s.pop(name)
        if not (self.settings.optimizer.decay or self.settings.amortizer_optimizer.decay):
            s.pop("steps")
        return {"noise": self.noise, "dim": self.dim, "settings": s}

    def init(self, key: jax.Array, data: jax.Array) -> CMFGenState:
        """``w ≈ ½‖x‖²`` (so ``P_w ≈ N(0, I)``; ``settings.icnn_init``), identity amortiser,
        particles ``Y ~ N(0, I)``."""
        k_icnn, k_amort, k_particles = jax.random.split(key, 3)
        params = init_icnn(self.icnn, k_icnn, self.dim, init="identity")
        if self.settings.icnn_init == "identity_units":
            params = fit_identity(self.icnn, params, jax.random.fold_in(k_icnn, 1), data,
                                  steps=self.settings.identity_fit_steps)
        amortizer_params = self.amortizer.init(k_amort, jnp.zeros((self.dim,), jnp.float32))
        opt, amort_opt = self.optimizers()
        particles = jax.random.normal(k_particles, (self.settings.batch_size, self.dim))
        return CMFGenState(params, opt.init(params), amortizer_params, amort_opt.init(amortizer_params), particles)

    def step(self, state: CMFGenState, key: jax.Array, data: jax.Array) -> tuple[CMFGenState, dict[str, jax.Array]]:
        """One iteration of Algorithm 1 (module docstring)."""
        s, opt_pair = self.settings, self.optimizers()
        k_data, k_lambda, k_lmc = jax.random.split(key, 3)
        x = parallel.shard_batch(data[jax.random.randint(k_data, (s.batch_size,), 0, data.shape[0])])
        w = potential_fn(self.icnn, state.params)
        if self.noise == "gibbs":
            lam = langevin.lambda_max(
                w, state.particles, k_lambda, n_iter=s.langevin.lambda_iterations,
                **({"reduction": "max"} if s.langevin.lambda_quantile is None
                   else {"reduction": "quantile", "quantile": s.langevin.lambda_quantile}))
            y = langevin.ula(w, k_lmc, state.particles, s.langevin.steps, step_size=s.langevin.step_scale / lam)
        else:
            lam = jnp.asarray(jnp.nan, jnp.float32)
            y = jax.random.normal(k_lmc, (s.batch_size, self.dim))
        x_hat = jax.lax.stop_gradient(conjugate.solve(
            w, y, self.amortizer.apply(state.amortizer_params, y), method="adam", tolerance=None,
            iterations=s.solver.iterations, learning_rate=s.solver.learning_rate))
        loss, grads = jax.value_and_grad(lambda p: dual.dual_loss(self.icnn.apply, p, x, x_hat))(state.params)
        updates, opt_state = opt_pair[0].update(grads, state.opt_state, state.params)
        amortizer_params, amortizer_opt_state, amortizer_loss = training.regression_step(
            self.amortizer.apply, opt_pair[1], state.amortizer_params, state.amortizer_opt_state, y, x_hat)
        metrics = {
            "loss": loss, "amortizer_loss": amortizer_loss, "lambda_max": lam,
            "residual": jnp.mean(jnp.linalg.norm(jax.vmap(jax.grad(w))(x_hat) - y, axis=-1)),
            "moment_error": _moment_error(x_hat, x),
        }
        new = CMFGenState(optax.apply_updates(state.params, updates), opt_state, amortizer_params,
                          amortizer_opt_state, y)
        return new, metrics


class TrainResult(NamedTuple):
    """What :func:`train` returns: the learner, the runner's :class:`~cmmlib.training.TrainResult`."""

    learner: CMFGen
    run: training.TrainResult

    @property
    def history(self) -> dict[str, np.ndarray]:
        return self.run.history

    @property
    def info(self) -> dict[str, Any]:
        return self.run.info

    def models(self) -> list[ConjugateMomentModel]:
        """One :class:`~cmmlib.model.ConjugateMomentModel` per trained model."""
        lr = self.learner
        states = self.run.states.inner
        return [ConjugateMomentModel(
            lr.icnn, jax.tree.map(lambda a, i=i: a[i], states.params), lr.amortizer,
            jax.tree.map(lambda a, i=i: a[i], states.amortizer_params), lr.dim, noise=lr.noise,
            sampling=lr.settings.sampling, history=self.run.model_history(i),
            manifest=training.model_manifest(self.run, i)) for i in range(states.particles.shape[0])]

    def generate(self, key: jax.Array, n: int):
        """Noise and samples of every model at once (:func:`cmmlib.model.generate_many`)."""
        from .model import Architecture, generate_many

        lr, states = self.learner, self.run.states.inner
        arch = Architecture(lr.icnn, lr.amortizer, lr.dim, lr.noise)
        return generate_many(arch, lr.settings.sampling, states.params, states.amortizer_params, key, n)


def train(
    data: Any,
    keys: jax.Array,
    steps: int | None = None,
    noise: str = "gibbs",
    profile: str | None = None,
    batch_size: int | None = None,
    *,
    settings: CMFGenSettings | None = None,
    decay_steps: int | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = True,
    max_abs_loss: float = 1e6,
    manifest: dict[str, Any] | None = None,
) -> TrainResult:
    """Train M models at once (one compiled program, ``vmap`` over models).

    Args:
      data: ``(n, d)`` samples shared by all models, or ``(M, n, d)``: one data set per model.
      keys: ``(M, 2)`` PRNG keys, one per model (e.g. ``jax.random.split(key, M)``).
      steps: training steps (default: the settings').
      noise: ``"gibbs"`` (CMFGen) or ``"gaussian"`` (the generative-ICNN baseline).
      profile: ``ci`` / ``cpu`` / ``paper`` (default: ``$CMM_PROFILE``), see :mod:`cmmlib.config`;
        the settings are those suited to the data's dimension (:func:`cmmlib.config.cmfgen`).
      batch_size: overrides the settings' batch size.
      settings: a :class:`~cmmlib.config.CMFGenSettings` instead of the profile's.
      decay_steps: horizon of the learning-rate decay (default: ``steps``); give the final
        count when training in stages.
      checkpoint_dir, checkpoint_every, resume: atomic training-state checkpoints (default
        period: the settings') and exact resume, see :func:`cmmlib.training.run`.
      progress: show a progress bar.
      max_abs_loss: a dual loss larger than this in absolute value counts as exploding.
      manifest: extra entries for the models' manifests (command, seed, data set name...).
    """
    arr = np.asarray(data)
    dim = arr.shape[-1] if arr.ndim in (2, 3) else 0
    settings = settings if settings is not None else cmfgen_settings(profile, dim=max(dim, 1))
    if batch_size is not None:
        settings = dataclasses.replace(settings, batch_size=batch_size)
    steps = validation.check_count(settings.steps if steps is None else steps)
    decay = validation.check_count(decay_steps or max(steps, 1), "decay_steps", 1)
    settings = validation.check_learner_settings(dataclasses.replace(settings, steps=decay))
    keys = jnp.asarray(keys)
    if keys.ndim != 2:
        raise ValueError(f"keys must have shape (M, 2) (one PRNG key per model), got {keys.shape}")
    stacked = arr.ndim == 3
    if stacked and arr.shape[0] != keys.shape[0]:
        raise ValueError(f"data of shape {arr.shape} holds {arr.shape[0]} data sets for {keys.shape[0]} keys: "
                         "give (n, d) data shared by all models or one data set per key")
    sets = [validation.check_samples(a, settings.batch_size) for a in (arr if stacked else [arr])]
    learner = CMFGen(settings, noise, sets[0].shape[1])
    return TrainResult(learner, training.run(
        learner, jnp.asarray(np.stack(sets) if stacked else sets[0]), keys, steps, chunk=settings.chunk,
        checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every or settings.checkpoint_every,
        resume=resume, progress=progress, max_abs_loss=max_abs_loss, shared_data=not stacked,
        manifest={**(manifest or {}), "profile": profile}))


def fit_many(data: Any, keys: jax.Array, steps: int | None = None, noise: str = "gibbs",
             profile: str | None = None, batch_size: int | None = None, **options: Any) -> list[ConjugateMomentModel]:
    """Train M models at once (arguments of :func:`train`); returns M models."""
    return train(data, keys, steps, noise, profile, batch_size, **options).models()


def fit(data: Any, key: jax.Array, steps: int | None = None, noise: str = "gibbs", profile: str | None = None,
        batch_size: int | None = None, **options: Any) -> ConjugateMomentModel:
    """Learn a conjugate moment potential from samples ``data`` (n, d) by CMFGen.

    ``noise="gaussian"`` trains the generative-ICNN baseline instead (same loop, fresh
    ``N(0, I)`` noise). Settings suit ``d`` (2D sets, images) unless ``settings=`` is given;
    ``options`` are those of :func:`train` (``checkpoint_dir``, ``checkpoint_every``,
    ``resume``, ``progress``, ``max_abs_loss``, ``manifest``...). The model's manifest records
    ``steps``, ``status``, wall time, hardware and ``resumed_from``.
    """
    key = jnp.asarray(key)
    if key.shape != (2,):
        raise ValueError(f"key must be one PRNG key of shape (2,), got shape {key.shape}")
    if np.ndim(data) != 2:
        raise ValueError(f"data must have shape (n, d), got shape {np.shape(data)}")
    return fit_many(data, key[None], steps, noise, profile, batch_size, **options)[0]


__all__ = ["CMFGen", "CMFGenState", "TrainResult", "train", "fit", "fit_many", "NOISES", "METRICS"]

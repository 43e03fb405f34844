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

:class:`CMFMA` is the learner (``init``/``step``), trained by :func:`cmmlib.training.run`;
:func:`fit` returns a :class:`cmmlib.model.ConjugateMomentModel`, the same interface as
``cmmlib.cmfgen.fit``: sample by Langevin on :math:`w` then :math:`\nabla w^*`, score by eq. (9).
The amortiser :math:`H_\phi \approx \nabla w^*` costs no conjugate solve here: every training
point gives the exact pair :math:`H_\phi(\nabla w(x)) \approx x`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import config, conjugate, langevin, parallel, training, validation
from .icnn import init_icnn, potential_fn
from .model import ConjugateMomentModel, Networks
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


# -- training ---------------------------------------------------------------------------------
def capped_energy(energy: Potential, low: np.ndarray, high: np.ndarray, key: jax.Array, cap: float,
                  n: int = 65_536) -> tuple[Potential, dict[str, float | None]]:
    """The regression target ``min(E, E_min + cap)`` and what capping changes.

    Returns the capped energy and ``{"energy_cap", "energy_min", "cap_mass"}``, where
    ``cap_mass`` is the fraction of the capped law's mass (on the box) that capping added,
    estimated on ``n`` uniform points.
    """
    probe = jax.random.uniform(key, (n, low.size), minval=low, maxval=high)
    values = np.asarray(jax.jit(jax.vmap(energy))(probe), np.float64)
    e_min = float(values.min())
    if cap == float("inf"):
        return energy, {"energy_cap": None, "energy_min": e_min, "cap_mass": 0.0}
    check_positive(cap, "energy_cap")
    capped = np.minimum(values, e_min + cap)
    added = float(np.sum(np.exp(-(capped - e_min)) - np.exp(-(values - e_min))) / np.sum(np.exp(-(capped - e_min))))
    level = jnp.asarray(e_min + cap, jnp.float32)

    def target(x: jax.Array) -> jax.Array:
        return jnp.minimum(energy(x), level)

    return target, {"energy_cap": float(cap), "energy_min": e_min, "cap_mass": added}


class CMFMAState(NamedTuple):
    """One model's training state: ICNN parameters and the constant ``c`` with their optimiser
    state, the amortiser with its own, and the Gibbs ``particles`` (used by ``mu="model"``)."""

    params: Any
    c: jax.Array
    opt_state: Any
    amortizer_params: Any
    amortizer_opt_state: Any
    particles: jax.Array


@dataclasses.dataclass(frozen=True)
class CMFMA(Networks):
    """The CMFMA learner: regress eq. (9)'s residual to a constant on points of μ (module
    docstring). ``energy`` is the (capped) target, ``low``/``high`` the box, ``energy_min``
    the reference of the weights :math:`e^{-(E - E_{\\min})/T}`; ``settings.steps`` is the
    decay horizon. It needs no data (``data=None``)."""

    settings: config.CMFMASettings
    icnn_settings: config.ICNNSettings
    energy: Potential
    low: tuple[float, ...]
    high: tuple[float, ...]
    mu: str
    energy_min: float
    init_kind: str = "identity"
    init_mean: tuple[float, ...] | None = None
    init_cov: tuple[tuple[float, ...], ...] | None = None
    name: str = "cmfma"
    metric_names: tuple[str, ...] = ("loss", "residual_std", "c", "amortizer_loss")

    @property
    def dim(self) -> int:
        return len(self.low)


    def describe(self) -> dict[str, Any]:
        s = dataclasses.asdict(self.settings)
        for name in ("chunk", "checkpoint_every", "sampling", "icnn", "icnn_1d", "steps_1d"):
            s.pop(name)
        return {"icnn": dataclasses.asdict(self.icnn_settings), "settings": s, "low": self.low, "high": self.high,
                "mu": self.mu, "energy_min": self.energy_min, "init": self.init_kind}

    def _uniform(self, key: jax.Array) -> jax.Array:
        return parallel.shard_batch(jax.random.uniform(key, (self.settings.batch_size, self.dim),
                                                       minval=jnp.asarray(self.low), maxval=jnp.asarray(self.high)))

    def _residuals(self, params: Any, x: jax.Array) -> jax.Array:
        w = potential_fn(self.icnn, params)
        return jax.vmap(lambda z: residual_one(w, self.energy, z))(x)

    def init(self, key: jax.Array, data: Any = None) -> CMFMAState:
        """The ICNN at ``init_kind``, ``c`` at the mean residual of a first uniform batch (also
        the first particles), identity amortiser."""
        k_init, k_amort, k_first = jax.random.split(key, 3)
        params = init_icnn(self.icnn, k_init, self.dim, init=self.init_kind,
                           mean=None if self.init_mean is None else np.asarray(self.init_mean),
                           cov=None if self.init_cov is None else np.asarray(self.init_cov))
        x = self._uniform(k_first)
        c = jnp.mean(self._residuals(params, x))
        amortizer_params = self.amortizer.init(k_amort, jnp.zeros((1, self.dim)))
        opt, amort_opt = self.optimizers()
        return CMFMAState(params, c, opt.init({"params": params, "c": c}), amortizer_params,
                          amort_opt.init(amortizer_params), x)

    def _draw(self, key: jax.Array, state: CMFMAState) -> tuple[jax.Array, jax.Array]:
        """A batch of μ (uniform on the box, or the model's own samples, stop-gradient) and the
        particles after this step's Langevin moves."""
        if self.mu == "uniform":
            return self._uniform(key), state.particles
        s = self.settings
        w = potential_fn(self.icnn, state.params)
        y = langevin.ula(w, key, state.particles, s.langevin.steps, step_scale=s.langevin.step_scale)
        x = conjugate.solve(w, y, self.amortizer.apply(state.amortizer_params, y), method="adam", tolerance=None,
                            iterations=s.solver.iterations, learning_rate=s.solver.learning_rate)
        return jax.lax.stop_gradient(x), y

    def step(self, state: CMFMAState, key: jax.Array, data: Any = None) -> tuple[CMFMAState, dict[str, jax.Array]]:
        """One Adam step on the (weighted) squared deviation of the residual from ``c``, and one
        amortiser step on the exact pairs :math:`H_\\phi(\\nabla w(x)) \\approx x`."""
        opt, amort_opt = self.optimizers()
        x, particles = self._draw(key, state)
        temperature = self.settings.temperature

        def objective(trainable):
            r = self._residuals(trainable["params"], x)
            if temperature == float("inf"):
                return jnp.mean((r - trainable["c"]) ** 2), r
            # weighting by e^{-E/T} is a change of μ: same solutions, more points where ρ has mass
            weights = jax.lax.stop_gradient(jnp.exp(-(jax.vmap(self.energy)(x) - self.energy_min) / temperature))
            return jnp.sum(weights * (r - trainable["c"]) ** 2) / jnp.sum(weights), r

        trainable = {"params": state.params, "c": state.c}
        (value, r), grads = jax.value_and_grad(objective, has_aux=True)(trainable)
        updates, opt_state = opt.update(grads, state.opt_state, trainable)
        trainable = optax.apply_updates(trainable, updates)
        w = potential_fn(self.icnn, trainable["params"])
        y = jax.lax.stop_gradient(jax.vmap(jax.grad(w))(x))
        amortizer_params, amortizer_opt_state, a_value = training.regression_step(
            self.amortizer.apply, amort_opt, state.amortizer_params, state.amortizer_opt_state, y, x)
        new = CMFMAState(trainable["params"], trainable["c"], opt_state, amortizer_params, amortizer_opt_state,
                         particles)
        return new, {"loss": value, "residual_std": jnp.std(r), "c": state.c, "amortizer_loss": a_value}


MUS = ("uniform", "model")


def fit(
    energy: Potential,
    key: jax.Array,
    low: Any = None,
    high: Any = None,
    *,
    steps: int | None = None,
    profile: str | None = None,
    settings: config.CMFMASettings | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    mu: str = "uniform",
    icnn: config.ICNNSettings | None = None,
    init: str = "identity",
    init_mean: Any = None,
    init_cov: Any = None,
    energy_cap: float | None = None,
    temperature: float | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = True,
    max_abs_loss: float = 1e8,
    manifest: dict[str, Any] | None = None,
) -> ConjugateMomentModel:
    r"""Learn a conjugate moment potential of :math:`\rho \propto e^{-E}` by CMFMA.

    Args:
      energy: ``E(x: (d,)) -> scalar``; an :class:`cmmlib.datasets.energies.Energy` also gives
        the box.
      key: PRNG key.
      low, high: corners of the box of μ (scalars or ``(d,)``); default: the energy's box.
      steps: training steps (default: the settings' ``steps_1d`` in 1D, ``steps`` otherwise).
      profile: settings profile (:func:`cmmlib.config.cmfma`); default: ``$CMM_PROFILE``.
      settings: a :class:`~cmmlib.config.CMFMASettings` instead of the profile's.
      batch_size, learning_rate: override the settings'.
      mu: ``"uniform"`` on the box, or ``"model"``: the model's own samples
        :math:`\nabla w^*\sharp P_w` (Langevin + conjugate solver, stop-gradient).
      icnn: the ICNN's :class:`~cmmlib.config.ICNNSettings` (default: the settings' ``icnn_1d``
        in 1D, ``icnn`` otherwise).
      init: ``"identity"`` (:math:`w = \|x\|^2/2`) or ``"gaussian"`` (Prop. 2 of
        ``init_mean``, ``init_cov``), see :func:`cmmlib.icnn.init_icnn`.
      energy_cap: regress on :math:`\min(E, E_{\min} + \text{cap})` instead of :math:`E`, with
        :math:`E_{\min}` the smallest energy on a probe of the box (default: the settings';
        ``float("inf")`` for none). The capped density differs from :math:`\rho` by a mass of
        order :math:`e^{-\text{cap}}` times the box's volume (``manifest["cap_mass"]``), but
        the regression no longer chases energies of hundreds where :math:`\rho` has no mass.
      temperature: when finite, weight the points of μ by :math:`e^{-(E - E_{\min})/T}`: a
        change of μ (same exact solutions) that puts the regression where :math:`\rho` has its
        mass; ``inf``: the paper's plain uniform μ (default: the settings').
      checkpoint_dir, checkpoint_every, resume: training-state checkpoints and exact resume
        (:func:`cmmlib.training.run`).
      progress: show a progress bar.
      max_abs_loss: a loss larger than this in absolute value counts as exploding.
      manifest: extra entries for the model's manifest (command, energy name...).

    Returns:
      A :class:`cmmlib.model.ConjugateMomentModel`; ``history`` holds per-step ``loss``,
      ``residual_std``, ``c``, ``amortizer_loss``; ``manifest["log_normaliser_ratio"]`` is the
      learned :math:`c \approx \log(Z_w / Z_E)`.
    """
    settings = settings if settings is not None else config.cmfma(profile)
    if mu not in MUS:
        raise ValueError(f"mu must be one of {MUS}, got {mu!r}")
    lo, hi = check_box(low if low is not None else getattr(energy, "low", None),
                       high if high is not None else getattr(energy, "high", None))
    dim = lo.size
    k_check, k_train = jax.random.split(key)
    validation.check_energy(energy, lo, hi, k_check)
    changes = {k: v for k, v in (("batch_size", batch_size), ("energy_cap", energy_cap),
                                 ("temperature", temperature)) if v is not None}
    if learning_rate is not None:
        changes["optimizer"] = dataclasses.replace(settings.optimizer, learning_rate=learning_rate)
    steps = validation.check_count((settings.steps_1d if dim == 1 else settings.steps) if steps is None else steps)
    icnn = icnn or (settings.icnn_1d if dim == 1 else settings.icnn)
    settings = validation.check_learner_settings(dataclasses.replace(settings, steps=max(steps, 1), icnn=icnn,
                                                                     **changes))
    if not settings.temperature > 0:
        raise ValueError(f"temperature must be positive, got {settings.temperature}")
    target, cap_info = capped_energy(energy, lo, hi, k_check, settings.energy_cap)
    learner = CMFMA(settings, icnn, target, tuple(map(float, lo)), tuple(map(float, hi)), mu, cap_info["energy_min"],
                    init, None if init_mean is None else tuple(np.asarray(init_mean, float).tolist()),
                    None if init_cov is None else tuple(map(tuple, np.asarray(init_cov, float).tolist())))
    # the initial Hessians must be positive definite on the box (a concrete check, with a clear error)
    first = learner.init(jax.random.split(k_train)[0])
    residual(potential_fn(learner.icnn, first.params), target, first.particles)

    sampling = dataclasses.replace(settings.sampling, init_scale=float(np.max(np.abs(np.concatenate([lo, hi])))))
    result = training.run(learner, None, k_train[None], steps, chunk=settings.chunk, checkpoint_dir=checkpoint_dir,
                          checkpoint_every=checkpoint_every or settings.checkpoint_every, resume=resume,
                          progress=progress, max_abs_loss=max_abs_loss, shared_data=True,
                          manifest={**(manifest or {}), "profile": profile, **cap_info,
                                    "energy": getattr(energy, "name", getattr(energy, "__name__", "custom"))})
    state = jax.tree.map(lambda a: a[0], result.states.inner)
    info = training.model_manifest(result, 0)
    history = result.model_history(0)
    info.update(log_normaliser_ratio=float(state.c),
                final_loss=float(history["loss"][-1]) if len(history["loss"]) else None)
    return ConjugateMomentModel(learner.icnn, state.params, learner.amortizer, state.amortizer_params, dim,
                                noise="gibbs", sampling=sampling, history=history, manifest=info)


__all__ = ["CMFMA", "CMFMAState", "fit", "residual", "residual_one", "loss", "capped_energy", "MUS"]

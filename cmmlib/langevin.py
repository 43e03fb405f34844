r"""Langevin Monte Carlo on a convex potential: sampling the Gibbs law :math:`P_w \propto e^{-w}`.

Both samplers share one proposal, an Euler step of the Langevin diffusion
:math:`dY_t = -\nabla w(Y_t)\,dt + \sqrt 2\, dB_t`:

.. math::

   y' = y - h \nabla w(y) + \sqrt{2h}\, \xi, \qquad \xi \sim N(0, I).

**ULA** (unadjusted Langevin algorithm) always moves to :math:`y'`. The step rule is
:math:`h = s / \lambda_{\max}(\nabla^2 w)` (:cite:`dalalyan2017theoretical`; the paper:
:math:`s = 1`), :math:`\lambda_{\max}` estimated on the batch by power iteration with
Hessian--vector products (:func:`step_size_rule`). ULA is biased: on
:math:`w(y) = \tfrac12 y^\top A y` it is a Gaussian AR(1) chain whose stationary variance along
an eigenvalue :math:`\lambda` of :math:`A` is :math:`1 / (\lambda (1 - h\lambda/2))`
(:func:`ula_stationary_covariance`), so :math:`h = 1/\lambda_{\max}` doubles the variance of the
stiffest direction, and :math:`h\lambda_{\max} \ge 2` diverges.

**MALA** (:cite:`roberts1996exponential`) accepts :math:`y'` with the Metropolis--Hastings
probability

.. math::

   \alpha(y, y') = \min\Big\{1,\ e^{-w(y') + w(y)}\,\frac{q(y \mid y')}{q(y' \mid y)}\Big\},
   \qquad q(a \mid b) \propto \exp\Big(-\frac{\|a - b + h\nabla w(b)\|^2}{4h}\Big),

which leaves :math:`P_w` exactly invariant for every :math:`h > 0`.

The module follows blackjax's layout (``MALAState``, ``MALAInfo``, ``one_step``): a typed
:class:`LangevinState` caches :math:`w` and :math:`\nabla w` at the chains' positions (so each
step evaluates them once, at the proposal), the kernels :func:`ula_step` and :func:`mala_step`
map ``(w, key, state, h) -> (state, info)``, and :func:`run_chain` scans a kernel. The
functions :func:`ula`, :func:`ula_path` and :func:`mala` wrap them for arrays of points.
Throughout, ``w`` is a potential of ONE point, ``(d,) -> ()``; the functions vmap it over the
``n`` chains of a batch ``(n, d)``.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import validation

Potential = Callable[[jax.Array], jax.Array]
REDUCTIONS = ("max", "quantile")


class LangevinState(NamedTuple):
    r"""The chains and the potential's value and gradient at them (computed once per step).

    Attributes:
      position: ``(n, d)`` positions :math:`y_i`.
      value: ``(n,)`` :math:`w(y_i)`.
      gradient: ``(n, d)`` :math:`\nabla w(y_i)`.
    """

    position: jax.Array
    value: jax.Array
    gradient: jax.Array


class LangevinInfo(NamedTuple):
    r"""What one transition did, per chain.

    Attributes:
      acceptance_rate: ``(n,)`` the Metropolis--Hastings probability :math:`\alpha(y, y')`
        (0 where it is NaN; ones for ULA).
      is_accepted: ``(n,)`` bool, whether the chain moved to its proposal (all True for ULA).
    """

    acceptance_rate: jax.Array
    is_accepted: jax.Array


class ChainResult(NamedTuple):
    """What :func:`run_chain` returns.

    Attributes:
      state: the final :class:`LangevinState`.
      acceptance_rate: ``()`` fraction of accepted proposals over chains and steps (0 when
        ``n_steps == 0``; 1 for ULA).
      path: ``(n_steps // thin, n, d)`` positions after every ``thin`` steps (the initial
        positions excluded), or ``None`` when ``thin`` is ``None``.
    """

    state: LangevinState
    acceptance_rate: jax.Array
    path: jax.Array | None


Kernel = Callable[[Potential, jax.Array, LangevinState, jax.Array], tuple[LangevinState, LangevinInfo]]


def _hvp(w: Potential, y: jax.Array, v: jax.Array) -> jax.Array:
    """Hessian--vector product :math:`\\nabla^2 w(y) v` (forward over reverse)."""
    return jax.jvp(jax.grad(w), (y,), (v,))[1]


def lambda_max_per_point(w: Potential, y: jax.Array, key: jax.Array, n_iter: int = 20) -> jax.Array:
    r"""Largest Hessian eigenvalue :math:`\lambda_{\max}(\nabla^2 w(y_i))` per point: ``(n,)``.

    Power iteration :math:`v \leftarrow Hv / \|Hv\|` from a random start, then the Rayleigh
    quotient :math:`v^\top H v` (a lower bound that converges to :math:`\lambda_{\max}`, since
    :math:`H \succeq 0` for convex :math:`w`).
    """
    y = _check_points(w, y, "y")
    v0 = jax.random.normal(key, y.shape, y.dtype)
    v0 = v0 / jnp.linalg.norm(v0, axis=-1, keepdims=True)

    def one(yi, vi):
        def body(_, v):
            hv = _hvp(w, yi, v)
            return hv / (jnp.linalg.norm(hv) + 1e-30)

        v = jax.lax.fori_loop(0, n_iter, body, vi)
        return v @ _hvp(w, yi, v)

    return jax.vmap(one)(y, v0)


def lambda_max(
    w: Potential,
    y: jax.Array,
    key: jax.Array,
    n_iter: int = 20,
    *,
    reduction: str = "max",
    quantile: float = 0.9,
) -> jax.Array:
    r"""Largest eigenvalue of :math:`\nabla^2 w` over the batch ``y (n, d)``: a scalar.

    Args:
      w: potential of one point ``(d,) -> ()``.
      y: ``(n, d)`` points.
      key: PRNG key for the power iterations' starts.
      n_iter: power iterations per point.
      reduction: ``"max"`` (the worst point: the safe ULA step) or ``"quantile"`` (the
        ``quantile`` of the per-point values; the project's prototype saw the batch maximum grow
        to 100--300 during training, which freezes the particles).
      quantile: in ``[0, 1]``, used by ``reduction="quantile"``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {quantile}")
    lam = lambda_max_per_point(w, y, key, n_iter)
    return jnp.max(lam) if reduction == "max" else jnp.quantile(lam, quantile)


def step_size_rule(
    w: Potential,
    y: jax.Array,
    key: jax.Array,
    step_scale: float | jax.Array = 1.0,
    *,
    reduction: str = "max",
    quantile: float = 0.9,
    n_iter: int = 20,
) -> jax.Array:
    r"""The step :math:`h = s / \lambda_{\max}(\nabla^2 w)` on the batch ``y (n, d)``: a scalar.

    :math:`s` is ``step_scale``; :math:`\lambda_{\max}` is :func:`lambda_max` (``key``,
    ``n_iter``, ``reduction``, ``quantile``). ULA is stable for :math:`s < 2` when
    :math:`\lambda_{\max}` bounds the Hessian along the chains.

    Raises:
      ValueError: on concrete inputs, when :math:`\lambda_{\max} \le 0` (``w`` is not convex at
        ``y``: there is no Langevin step) or is not finite.

    Under a transformation (``jax.jit``, ``vmap``, ``lax.scan``) nothing can be raised: an
    invalid :math:`\lambda_{\max}` gives :math:`h = \text{NaN}`, which turns the chains to NaN
    (never a negative or infinite step). Jitted callers that need a guaranteed step must pass
    ``step_size`` to the samplers.
    """
    validation.check_positive(step_scale, "step_scale")
    lam = lambda_max(w, y, key, n_iter, reduction=reduction, quantile=quantile)
    if validation.is_concrete(lam):
        value = float(lam)
        if not np.isfinite(value):
            raise ValueError(f"the largest Hessian eigenvalue of w is not finite ({value}) at these points")
        if value <= 0:
            raise ValueError(f"w is not convex at these points: largest Hessian eigenvalue {value:.3g} <= 0")
        return step_scale / lam
    return jnp.where((lam > 0) & jnp.isfinite(lam), step_scale / lam, jnp.nan)


def init(w: Potential, position: jax.Array) -> LangevinState:
    """The state of chains at ``position (n, d)``: :math:`w` and :math:`\\nabla w` evaluated there."""
    return _init(w, _check_points(w, position, "position"))


def _init(w: Potential, position: jax.Array) -> LangevinState:
    value, gradient = jax.vmap(jax.value_and_grad(w))(position)
    return LangevinState(position, value, gradient)


def langevin_proposal(w: Potential, key: jax.Array, state: LangevinState, h: jax.Array) -> LangevinState:
    r"""The Euler--Maruyama proposal :math:`y' = y - h\nabla w(y) + \sqrt{2h}\,\xi` for every chain.

    ``xi = jax.random.normal(key, position.shape)``; returns the state at :math:`y'`
    (with :math:`w(y')`, :math:`\nabla w(y')`).
    """
    y = state.position
    xi = jax.random.normal(key, y.shape, y.dtype)
    return _init(w, y - h * state.gradient + jnp.sqrt(2.0 * h) * xi)


def ula_step(w: Potential, key: jax.Array, state: LangevinState, h: jax.Array) -> tuple[LangevinState, LangevinInfo]:
    """One ULA transition: every chain moves to its :func:`langevin_proposal` (``key`` draws ξ)."""
    new_state = langevin_proposal(w, key, state, h)
    ones = jnp.ones_like(state.value)
    return new_state, LangevinInfo(ones, ones.astype(bool))


def mala_step(w: Potential, key: jax.Array, state: LangevinState, h: jax.Array) -> tuple[LangevinState, LangevinInfo]:
    r"""One MALA transition: :func:`langevin_proposal`, accepted with probability :math:`\alpha(y, y')`.

    ``key`` is split into the proposal's key and the key of the uniforms :math:`u`; a chain
    moves when :math:`\log u < \log \alpha` (a NaN ratio rejects).
    """
    k_noise, k_accept = jax.random.split(key)
    prop = langevin_proposal(w, k_noise, state, h)

    def log_q(a: jax.Array, b: LangevinState) -> jax.Array:
        return -jnp.sum((a - b.position + h * b.gradient) ** 2, axis=-1) / (4.0 * h)

    log_ratio = -prop.value + state.value + log_q(state.position, prop) - log_q(prop.position, state)
    accept = jnp.log(jax.random.uniform(k_accept, state.value.shape)) < log_ratio
    new_state = jax.tree.map(
        lambda p, s: jnp.where(accept.reshape(accept.shape + (1,) * (p.ndim - 1)), p, s), prop, state
    )
    probability = jnp.where(jnp.isnan(log_ratio), 0.0, jnp.exp(jnp.minimum(log_ratio, 0.0)))
    return new_state, LangevinInfo(probability, accept)


def run_chain(
    kernel: Kernel,
    w: Potential,
    key: jax.Array,
    state: LangevinState,
    n_steps: int,
    h: float | jax.Array,
    *,
    thin: int | None = None,
) -> ChainResult:
    """``n_steps`` transitions ``state, info = kernel(w, k, state, h)`` with ``lax.scan``.

    Keys: ``thin=None`` uses ``jax.random.split(key, n_steps)``, one per step. With ``thin``,
    the chain runs in blocks of ``thin`` steps, block ``b`` being ``run_chain`` from the key
    ``jax.random.split(key, n_steps // thin)[b]``, and the positions after every block are
    kept: a thinned run is a different draw from the unthinned one (this is :func:`ula_path`'s
    historic key discipline).

    Args:
      kernel: :func:`ula_step`, :func:`mala_step`, or any ``(w, key, state, h) -> (state, info)``.
      w: potential of one point ``(d,) -> ()``.
      key: PRNG key.
      state: the chains, e.g. :func:`init` ``(w, y0)``.
      n_steps: number of transitions, a non-negative Python int.
      h: step size, a positive scalar (may be traced).
      thin: ``None``, or a positive divisor of ``n_steps``.

    Returns:
      :class:`ChainResult` ``(state, acceptance_rate, path)``.
    """
    _check_n_steps(n_steps)
    _check_thin(thin, n_steps, "thin")
    h = jnp.asarray(h, state.position.dtype)
    zero = jnp.asarray(0.0)

    def body(carry, k):
        state, accepted = carry
        state, info = kernel(w, k, state, h)
        return (state, accepted + jnp.mean(info.is_accepted)), None

    if thin is None:
        # the last step is a scan of its own: under jit XLA inlines a one-step loop, so when the
        # caller keeps only the final positions (ula) the value and gradient there are dropped
        # (n gradient evaluations, not n + 1); a scan, not a plain call, keeps eager numbers
        # identical to the fused loop's
        keys = jax.random.split(key, n_steps)
        carry, _ = jax.lax.scan(body, (state, zero), keys[:-1])
        (state, accepted), _ = jax.lax.scan(body, carry, keys[max(n_steps - 1, 0) :])
        return ChainResult(state, accepted / max(n_steps, 1), None)

    def block(carry, k):
        carry, _ = jax.lax.scan(body, carry, jax.random.split(k, thin))
        return carry, carry[0].position

    (state, accepted), path = jax.lax.scan(block, (state, zero), jax.random.split(key, n_steps // thin))
    return ChainResult(state, accepted / max(n_steps, 1), path)


def _check_points(w: Potential, y: Any, name: str) -> jax.Array:
    y = validation.as_points(y, name)
    if validation.is_concrete(y):
        validation.check_potential(w, y.shape[1])
    return y


def _check_n_steps(n_steps: Any) -> None:
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative int, got {n_steps!r}")


def _check_thin(thin: Any, n_steps: int, name: str) -> None:
    if thin is not None and (not isinstance(thin, (int, np.integer)) or thin < 1 or n_steps % thin):
        raise ValueError(f"{name} must be a positive divisor of n_steps={n_steps}, got {thin!r}")


def _check_steps(n_steps: Any, step_size: Any, step_scale: Any) -> None:
    _check_n_steps(n_steps)
    validation.check_positive(step_size, "step_size")
    validation.check_positive(step_scale, "step_scale")


def _resolve_step(
    w: Potential,
    y0: jax.Array,
    key: jax.Array,
    step_size: Any,
    step_scale: Any,
    reduction: str,
    quantile: float,
    warn_unstable: bool,
) -> jax.Array:
    """``step_size`` as an array, or :func:`step_size_rule` on ``y0`` when it is ``None``.

    ``warn_unstable``: when ``step_size``, ``y0`` and ``key`` are concrete, estimate
    :math:`\\lambda_{\\max}` (one extra :func:`lambda_max`) and warn if
    :math:`h\\lambda_{\\max} \\ge 2` (ULA diverges). Skipped under transformations.
    """
    if step_size is None:
        return step_size_rule(w, y0, key, step_scale, reduction=reduction, quantile=quantile)
    h = jnp.asarray(step_size, y0.dtype)
    if warn_unstable and all(validation.is_concrete(a) for a in (h, y0, key)):
        lam = lambda_max(w, y0, key)
        if validation.is_concrete(lam) and float(h) * float(lam) >= 2.0:
            warnings.warn(
                f"unstable ULA step: step_size * lambda_max = {float(h) * float(lam):.3g} >= 2 "
                f"(lambda_max = {float(lam):.3g} on y0); the chains will diverge",
                RuntimeWarning,
                stacklevel=3,
            )
    return h


def _start(w, key, y0, n_steps, step_size, step_scale, reduction, quantile, *, warn_unstable):
    """The wrappers' common start: checked ``y0``, the chain's key and the step ``h`` (its
    estimate uses the first half of ``split(key)``, as the wrappers always have)."""
    _check_steps(n_steps, step_size, step_scale)
    y0 = _check_points(w, y0, "y0")
    lam_key, key = jax.random.split(key)
    return y0, key, _resolve_step(w, y0, lam_key, step_size, step_scale, reduction, quantile,
                                  warn_unstable=warn_unstable)


def ula(
    w: Potential,
    key: jax.Array,
    y0: jax.Array,
    n_steps: int,
    step_size: float | jax.Array | None = None,
    *,
    step_scale: float = 1.0,
    reduction: str = "max",
    quantile: float = 0.9,
    return_step: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""``n_steps`` of ULA from ``y0 (n, d)``: ``(n, d)`` (and the step :math:`h` if ``return_step``).

    ``step_size=None``: :math:`h = ` :func:`step_size_rule` ``(w, y0, k, step_scale)`` with
    ``reduction``, ``quantile`` (raises when ``w`` is not convex at ``y0``; NaN under ``jit``).
    An explicit concrete ``step_size`` with :math:`h\lambda_{\max} \ge 2` warns
    (``RuntimeWarning``; this costs one :func:`lambda_max` on ``y0``, skipped under ``jit``).
    Keys: ``k, key = jax.random.split(key)``, then :func:`run_chain` with :func:`ula_step`.
    Works inside ``jit``/``vmap``/``scan`` with a traced ``step_size`` or ``step_scale``.
    """
    y0, key, h = _start(w, key, y0, n_steps, step_size, step_scale, reduction, quantile, warn_unstable=True)
    y = run_chain(ula_step, w, key, _init(w, y0), n_steps, h).state.position
    return (y, h) if return_step else y


def ula_path(
    w: Potential,
    key: jax.Array,
    y0: jax.Array,
    n_steps: int,
    step_size: float | jax.Array | None = None,
    *,
    save_every: int = 1,
    step_scale: float = 1.0,
    reduction: str = "max",
    quantile: float = 0.9,
) -> tuple[jax.Array, jax.Array]:
    """ULA as :func:`ula`, keeping the chains every ``save_every`` steps (:func:`run_chain`'s ``thin``).

    Returns:
      ``(path (n_steps // save_every + 1, n, d), h)``; ``path[0]`` is ``y0``.
    """
    _check_thin(save_every, n_steps, "save_every")
    y0, key, h = _start(w, key, y0, n_steps, step_size, step_scale, reduction, quantile, warn_unstable=True)
    path = run_chain(ula_step, w, key, _init(w, y0), n_steps, h, thin=save_every).path
    return jnp.concatenate([y0[None], path], axis=0), h


def mala(
    w: Potential,
    key: jax.Array,
    y0: jax.Array,
    n_steps: int,
    step_size: float | jax.Array | None = None,
    *,
    step_scale: float = 1.0,
    reduction: str = "max",
    quantile: float = 0.9,
) -> tuple[jax.Array, jax.Array]:
    r"""``n_steps`` of MALA from ``y0 (n, d)``: ``(y (n, d), acceptance_rate ())``.

    :func:`run_chain` with :func:`mala_step`; the acceptance rate is the fraction of accepted
    proposals over chains and steps. Step rule and keys as in :func:`ula`; a large explicit
    step does not diverge here (MALA rejects), so it is not checked.
    """
    y0, key, h = _start(w, key, y0, n_steps, step_size, step_scale, reduction, quantile, warn_unstable=False)
    chain = run_chain(mala_step, w, key, _init(w, y0), n_steps, h)
    return chain.state.position, chain.acceptance_rate


def ula_stationary_covariance(precision: Any, step_size: float) -> np.ndarray:
    r"""Stationary covariance of ULA on :math:`w(y) = \tfrac12 (y-m)^\top A (y-m)`: ``(d, d)``.

    The chain :math:`y_{k+1} - m = (I - hA)(y_k - m) + \sqrt{2h}\xi_k` has stationary covariance
    :math:`C = (I - hA) C (I - hA) + 2h I`, i.e. :math:`1 / (\lambda (1 - h\lambda/2))` along each
    eigenvector of :math:`A` (eigenvalue :math:`\lambda`); it exists when
    :math:`0 < h\lambda_{\max} < 2`. :math:`h \to 0` gives :math:`A^{-1}`.
    """
    a = np.asarray(precision, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"precision must be a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or not np.allclose(a, a.T):
        raise ValueError("precision must be finite and symmetric")
    validation.check_positive(step_size, "step_size")
    vals, vecs = np.linalg.eigh(a)
    if vals.min() <= 0:
        raise ValueError("precision must be positive definite")
    if step_size * vals.max() >= 2:
        raise ValueError(f"ULA diverges: step_size * lambda_max = {step_size * vals.max():.3g} >= 2")
    return (vecs / (vals * (1.0 - 0.5 * step_size * vals))) @ vecs.T


__all__ = [
    "LangevinState",
    "LangevinInfo",
    "ChainResult",
    "init",
    "langevin_proposal",
    "ula_step",
    "mala_step",
    "run_chain",
    "step_size_rule",
    "lambda_max",
    "lambda_max_per_point",
    "ula",
    "ula_path",
    "mala",
    "ula_stationary_covariance",
]

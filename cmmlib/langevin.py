r"""Langevin Monte Carlo on a convex potential: sampling the Gibbs law :math:`P_w \propto e^{-w}`.

**ULA** (unadjusted Langevin algorithm):

.. math::

   y_{k+1} = y_k - h \nabla w(y_k) + \sqrt{2h}\, \xi_k, \qquad \xi_k \sim N(0, I),

with the step rule :math:`h = s / \lambda_{\max}(\nabla^2 w)` (:cite:`dalalyan2017theoretical`;
the paper: :math:`s = 1`), :math:`\lambda_{\max}` estimated on the batch by power iteration
with Hessian--vector products. ULA is biased: on :math:`w(y) = \tfrac12 y^\top A y` it is a
Gaussian AR(1) chain whose stationary variance along an eigenvalue :math:`\lambda` of
:math:`A` is :math:`1 / (\lambda (1 - h\lambda/2))` (:func:`ula_stationary_covariance`), so
:math:`h = 1/\lambda_{\max}` doubles the variance of the stiffest direction.

**MALA** (:cite:`roberts1996exponential`) adds a Metropolis--Hastings accept/reject step to the
same proposal and samples :math:`P_w` exactly (in the limit of many steps).
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import validation
from .conjugate import check_potential

Potential = Callable[[jax.Array], jax.Array]
REDUCTIONS = ("max", "quantile")


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


def _check_points(w: Potential, y: Any, name: str) -> jax.Array:
    y = validation.as_points(y, name)
    if validation.is_concrete(y):
        check_potential(w, y.shape[1])
    return y


def _check_steps(n_steps: Any, step_size: Any, step_scale: Any) -> None:
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative int, got {n_steps!r}")
    validation.check_positive(step_size, "step_size")
    validation.check_positive(step_scale, "step_scale")


def _step_size(w, y0, key, step_size, step_scale, reduction, quantile):
    if step_size is not None:
        return jnp.asarray(step_size, y0.dtype)
    return step_scale / lambda_max(w, y0, key, reduction=reduction, quantile=quantile)


def ula(
    w: Potential,
    key: jax.Array,
    y0: jax.Array,
    n_steps: int,
    step_size: float | None = None,
    *,
    step_scale: float = 1.0,
    reduction: str = "max",
    quantile: float = 0.9,
    return_step: bool = False,
):
    r"""``n_steps`` of ULA from ``y0 (n, d)``: ``(n, d)`` (and the step :math:`h` if ``return_step``).

    ``step_size=None``: :math:`h = ` ``step_scale`` :math:`/ \lambda_{\max}`, estimated on ``y0``
    with :func:`lambda_max` (``reduction``, ``quantile``).
    """
    _check_steps(n_steps, step_size, step_scale)
    y0 = _check_points(w, y0, "y0")
    lam_key, key = jax.random.split(key)
    h = _step_size(w, y0, lam_key, step_size, step_scale, reduction, quantile)
    y = _ula_steps(w, key, y0, n_steps, h)
    return (y, h) if return_step else y


def _ula_steps(w: Potential, key: jax.Array, y0: jax.Array, n_steps: int, h: jax.Array) -> jax.Array:
    grad_w = jax.vmap(jax.grad(w))

    def step(y, k):
        xi = jax.random.normal(k, y.shape, y.dtype)
        return y - h * grad_w(y) + jnp.sqrt(2.0 * h) * xi, None

    y, _ = jax.lax.scan(step, y0, jax.random.split(key, n_steps))
    return y


def ula_path(
    w: Potential,
    key: jax.Array,
    y0: jax.Array,
    n_steps: int,
    step_size: float | None = None,
    *,
    save_every: int = 1,
    step_scale: float = 1.0,
    reduction: str = "max",
    quantile: float = 0.9,
) -> tuple[jax.Array, jax.Array]:
    """ULA as :func:`ula`, keeping the chains every ``save_every`` steps.

    Returns:
      ``(path (n_steps // save_every + 1, n, d), h)``; ``path[0]`` is ``y0``.
    """
    _check_steps(n_steps, step_size, step_scale)
    if not isinstance(save_every, int) or save_every < 1 or n_steps % save_every:
        raise ValueError(f"save_every must be a positive divisor of n_steps={n_steps}, got {save_every!r}")
    y0 = _check_points(w, y0, "y0")
    lam_key, key = jax.random.split(key)
    h = _step_size(w, y0, lam_key, step_size, step_scale, reduction, quantile)

    def chunk(y, k):
        y = _ula_steps(w, k, y, save_every, h)
        return y, y

    _, ys = jax.lax.scan(chunk, y0, jax.random.split(key, n_steps // save_every))
    return jnp.concatenate([y0[None], ys], axis=0), h


def mala(
    w: Potential,
    key: jax.Array,
    y0: jax.Array,
    n_steps: int,
    step_size: float | None = None,
    *,
    step_scale: float = 1.0,
    reduction: str = "max",
    quantile: float = 0.9,
) -> tuple[jax.Array, jax.Array]:
    r"""``n_steps`` of MALA from ``y0 (n, d)``: ``(y (n, d), acceptance_rate)``.

    Proposal :math:`y' = y - h\nabla w(y) + \sqrt{2h}\xi`, accepted with probability
    :math:`\min\{1, e^{-w(y') + w(y)}\, q(y \mid y') / q(y' \mid y)\}`,
    :math:`q(a \mid b) \propto \exp(-\|a - b + h \nabla w(b)\|^2 / (4h))`. The acceptance rate
    is averaged over chains and steps. Step rule as in :func:`ula`.
    """
    _check_steps(n_steps, step_size, step_scale)
    y0 = _check_points(w, y0, "y0")
    lam_key, key = jax.random.split(key)
    h = _step_size(w, y0, lam_key, step_size, step_scale, reduction, quantile)
    value_and_grad = jax.vmap(jax.value_and_grad(w))

    def log_q(a, b, grad_b):
        return -jnp.sum((a - b + h * grad_b) ** 2, axis=-1) / (4.0 * h)

    def step(carry, k):
        y, wy, gy, accepted = carry
        k_noise, k_acc = jax.random.split(k)
        prop = y - h * gy + jnp.sqrt(2.0 * h) * jax.random.normal(k_noise, y.shape, y.dtype)
        wp, gp = value_and_grad(prop)
        log_ratio = -wp + wy + log_q(y, prop, gp) - log_q(prop, y, gy)
        accept = jnp.log(jax.random.uniform(k_acc, wy.shape)) < log_ratio
        y = jnp.where(accept[:, None], prop, y)
        wy = jnp.where(accept, wp, wy)
        gy = jnp.where(accept[:, None], gp, gy)
        return (y, wy, gy, accepted + jnp.mean(accept)), None

    wy0, gy0 = value_and_grad(y0)
    (y, _, _, accepted), _ = jax.lax.scan(
        step, (y0, wy0, gy0, jnp.asarray(0.0)), jax.random.split(key, n_steps)
    )
    return y, accepted / max(int(n_steps), 1)


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


__all__ = ["lambda_max", "lambda_max_per_point", "ula", "ula_path", "mala", "ula_stationary_covariance"]

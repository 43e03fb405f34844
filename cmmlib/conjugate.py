r"""The conjugate solver :math:`\nabla w^*(y)` and its amortisation.

For a strictly convex :math:`w`, the Legendre transform and its gradient are

.. math::

   w^*(y) = \sup_x \langle x, y\rangle - w(x), \qquad
   \nabla w^*(y) = \hat x(y) = \arg\max_x \langle x, y\rangle - w(x) = (\nabla w)^{-1}(y),

(Danskin's theorem). :func:`solve` finds :math:`\hat x` for a batch of points by minimising
:math:`f_y(x) = w(x) - \langle x, y\rangle` (gradient :math:`\nabla w(x) - y`), one independent
problem per point, with Adam and a cosine-decayed step (the paper's solver: 100 iterations
from 0.1 down to ``alpha * 0.1``) or L-BFGS. The solver is started from an *amortiser*
:math:`H_\phi(y)` trained by regression on the solutions (:cite:`amos2023amortizing`):
:class:`Amortizer` and :func:`amortizer_loss`.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from . import validation

Potential = Callable[[jax.Array], jax.Array]
METHODS = ("adam", "gd", "lbfgs")


class ConjugateInfo(NamedTuple):
    """Diagnostics of :func:`solve`.

    Attributes:
      iterations: int scalar array, the iterations run (L-BFGS: the most over the points).
      grad_norm: ``(n,)`` final residuals :math:`\\|\\nabla w(\\hat x_i) - y_i\\|`.
    """

    iterations: jax.Array
    grad_norm: jax.Array


def check_potential(w: Potential, dim: int, name: str = "w") -> None:
    """Raise ``ValueError`` unless ``w`` maps a point of shape ``(dim,)`` to a scalar.

    Uses :func:`jax.eval_shape` (nothing is computed).
    """
    try:
        out = jax.eval_shape(w, jax.ShapeDtypeStruct((dim,), jnp.float32))
    except Exception as err:  # noqa: BLE001 -- flax and jax raise their own shape errors
        raise ValueError(f"{name} cannot be evaluated at points of dimension d={dim}: {err}") from err
    if getattr(out, "shape", None) != ():
        raise ValueError(f"{name} must map a point (d,) to a scalar, got output shape {out.shape}")


def _check_inputs(w: Potential, y: Any, x_init: Any) -> tuple[jax.Array, jax.Array]:
    y = validation.as_points(y, "y")
    if validation.is_concrete(y):
        check_potential(w, y.shape[1])
    if x_init is None:
        return y, y
    x_init = validation.as_points(x_init, "x_init")
    if x_init.shape != y.shape:
        raise ValueError(f"x_init must have the shape of y {tuple(y.shape)}, got {tuple(x_init.shape)}")
    return y, x_init


def _residual_fn(w: Potential, y: jax.Array) -> Callable[[jax.Array], jax.Array]:
    grad_w = jax.vmap(jax.grad(w))
    return lambda x: grad_w(x) - y


def _optimizer(method: str, learning_rate: float, alpha: float, iterations: int) -> optax.GradientTransformation:
    if method == "gd":
        return optax.sgd(learning_rate)
    schedule = optax.cosine_decay_schedule(learning_rate, max(int(iterations), 1), alpha=alpha)
    return optax.adam(schedule)


@functools.partial(jax.jit, static_argnums=(0, 6, 7, 8))
def _solve_first_order(w, y, x0, learning_rate, alpha, tol, iterations, method, use_tolerance):
    tolerance = tol if use_tolerance else None
    residual = _residual_fn(w, y)
    opt = _optimizer(method, learning_rate, alpha, iterations)

    def step(carry):
        k, x, state, g = carry
        updates, state = opt.update(g, state, x)
        if tolerance is not None:  # points already within tolerance stay where they are
            active = jnp.linalg.norm(g, axis=-1, keepdims=True) >= tolerance
            updates = jnp.where(active, updates, 0.0)
        x = optax.apply_updates(x, updates)
        return k + 1, x, state, residual(x)

    carry = (jnp.asarray(0), x0, opt.init(x0), residual(x0))
    if tolerance is None:
        carry = jax.lax.fori_loop(0, iterations, lambda _, c: step(c), carry)
    else:
        def cond(c):
            k, _, _, g = c
            return (k < iterations) & (jnp.max(jnp.linalg.norm(g, axis=-1)) >= tolerance)

        carry = jax.lax.while_loop(cond, step, carry)
    k, x, _, g = carry
    return x, ConjugateInfo(k, jnp.linalg.norm(g, axis=-1))


@functools.partial(jax.jit, static_argnums=(0, 4))
def _solve_lbfgs(w, y, x0, tol, iterations):
    """Per-point L-BFGS (zoom line search), vmapped; ``tol < 0``: the full budget."""
    opt = optax.lbfgs()

    def one(yi, xi):
        f = lambda x: w(x) - x @ yi
        value_and_grad = optax.value_and_grad_from_state(f)

        def step(c):
            k, x, state, _ = c
            value, grad = value_and_grad(x, state=state)
            updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=f)
            x = optax.apply_updates(x, updates)
            return k + 1, x, state, jnp.linalg.norm(jax.grad(f)(x))

        def cond(c):
            k, _, _, gn = c
            return (k < iterations) & (gn >= tol)

        c0 = (jnp.asarray(0), xi, opt.init(xi), jnp.linalg.norm(jax.grad(f)(xi)))
        k, x, _, gn = jax.lax.while_loop(cond, step, c0)
        return x, k, gn

    x, k, gn = jax.vmap(one)(y, x0)
    return x, ConjugateInfo(jnp.max(k), gn)


def solve(
    w: Potential,
    y: jax.Array,
    x_init: jax.Array | None = None,
    *,
    iterations: int = 100,
    tolerance: float | None = None,
    learning_rate: float = 0.1,
    alpha: float = 1e-4,
    method: str = "adam",
    return_info: bool = False,
):
    r"""Batched gradients of the conjugate: :math:`\hat x_i = \nabla w^*(y_i)`.

    Each :math:`\hat x_i = \arg\min_x w(x) - \langle x, y_i\rangle` is found independently.

    Args:
      w: the potential, a function of one point ``(d,) -> ()`` (vmapped here).
      y: ``(n, d)`` points.
      x_init: ``(n, d)`` starting points (e.g. the amortiser's :math:`H_\phi(y)`); default ``y``.
      iterations: the iteration budget (``method="adam"``: also the length of the cosine decay).
      tolerance: ``None``: run exactly ``iterations`` steps; else stop as soon as
        :math:`\max_i \|\nabla w(x_i) - y_i\| <` ``tolerance`` (``lax.while_loop``); points
        already within tolerance are frozen meanwhile, since Adam's normalised steps (about
        ``learning_rate`` long whatever the gradient) would otherwise push them out again.
        L-BFGS: per point.
      learning_rate: Adam's initial step, cosine-decayed to ``alpha * learning_rate``. The
        paper's 0.1 suits a cold start; from a good amortised start it throws the start away:
        the project's prototype measured a residual of 0.088 after 10 steps at 0.1 versus 0.024
        at 0.03. Use about 0.03 from an amortised start.
      alpha: final fraction of the cosine decay.
      method: ``"adam"`` (the paper's), ``"gd"`` (gradient descent
        :math:`x \leftarrow x - \eta(\nabla w(x) - y)` with the constant step
        :math:`\eta =` ``learning_rate``; converges for :math:`\eta < 2/L` when
        :math:`\nabla^2 w \preceq L I`, linearly at rate :math:`1 - \eta\mu` on a
        :math:`\mu`-strongly convex :math:`w`: far fewer iterations than Adam when a curvature
        bound is known, e.g. from :func:`cmmlib.langevin.lambda_max`), or ``"lbfgs"``
        (``optax.lbfgs`` per point, vmapped; no step size).
      return_info: also return a :class:`ConjugateInfo`.

    Returns:
      ``x_hat (n, d)``, or ``(x_hat, info)`` when ``return_info``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative int, got {iterations!r}")
    validation.check_positive(learning_rate, "learning_rate")
    validation.check_positive(tolerance, "tolerance")
    if validation.is_concrete(alpha) and not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    y, x0 = _check_inputs(w, y, x_init)
    if method in ("adam", "gd"):
        tol = 0.0 if tolerance is None else tolerance
        x, info = _solve_first_order(w, y, x0, learning_rate, alpha, tol, iterations, method,
                                     tolerance is not None)
    else:
        x, info = _solve_lbfgs(w, y, x0, -1.0 if tolerance is None else tolerance, iterations)
    return (x, info) if return_info else x


def solve_path(
    w: Potential,
    y: jax.Array,
    x_init: jax.Array | None = None,
    *,
    iterations: int = 100,
    learning_rate: float = 0.1,
    alpha: float = 1e-4,
    method: str = "adam",
) -> jax.Array:
    """The iterates of :func:`solve` (fixed budget): ``(iterations + 1, n, d)``, start first.

    ``method``: ``"adam"`` or ``"gd"``, as in :func:`solve`.

    The "denoising" view of sampling: noise :math:`y` is moved, step by step, onto
    :math:`\\nabla w^*(y)`.
    """
    if not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative int, got {iterations!r}")
    if method not in ("adam", "gd"):
        raise ValueError(f"solve_path supports method 'adam' or 'gd', got {method!r}")
    validation.check_positive(learning_rate, "learning_rate")
    y, x0 = _check_inputs(w, y, x_init)
    residual = _residual_fn(w, y)
    opt = _optimizer(method, learning_rate, alpha, iterations)

    def step(carry, _):
        x, state = carry
        updates, state = opt.update(residual(x), state, x)
        x = optax.apply_updates(x, updates)
        return (x, state), x

    _, xs = jax.lax.scan(step, (x0, opt.init(x0)), None, length=iterations)
    return jnp.concatenate([x0[None], xs], axis=0)


def conjugate_value(w: Potential, y: jax.Array, x_hat: jax.Array) -> jax.Array:
    r""":math:`w^*(y_i) = \langle \hat x_i, y_i\rangle - w(\hat x_i)` for ``(n, d)`` inputs; ``(n,)``.

    Exact at the maximiser; for any other ``x_hat`` a lower bound (Fenchel--Young).
    """
    y = validation.as_points(y, "y")
    x_hat = validation.as_points(x_hat, "x_hat")
    if x_hat.shape != y.shape:
        raise ValueError(f"x_hat must have the shape of y {tuple(y.shape)}, got {tuple(x_hat.shape)}")
    return jnp.sum(x_hat * y, axis=-1) - jax.vmap(w)(x_hat)


def residual_norm(w: Potential, y: jax.Array, x: jax.Array) -> jax.Array:
    r"""Optimality residuals :math:`\|\nabla w(x_i) - y_i\|` of candidate points ``x (n, d)``: ``(n,)``."""
    return jnp.linalg.norm(_residual_fn(w, y)(x), axis=-1)


class Amortizer(nn.Module):
    r"""The amortised conjugate :math:`H_\phi(y) \approx \nabla w^*(y)`: a residual MLP.

    :math:`H_\phi(y) = y + \mathrm{MLP}_\phi(y)` with the last layer zero-initialised, so
    :math:`H_\phi` starts at the identity, which is :math:`\nabla w^*` for
    :math:`w = \tfrac12\|x\|^2`. ``(..., d) -> (..., d)``.
    """

    features: Sequence[int] = (128, 128, 128)
    activation: Callable[[jax.Array], jax.Array] = jax.nn.gelu

    @nn.compact
    def __call__(self, y: jax.Array) -> jax.Array:
        h = y
        for width in self.features:
            h = self.activation(nn.Dense(width)(h))
        out = nn.Dense(y.shape[-1], kernel_init=nn.initializers.zeros, bias_init=nn.initializers.zeros)(h)
        return y + out


def amortizer_loss(amortizer: Amortizer, params: Any, y: jax.Array, x_hat: jax.Array) -> jax.Array:
    r"""Regression loss :math:`\frac1n\sum_i \|H_\phi(y_i) - \mathrm{sg}(\hat x_i)\|^2` (scalar)."""
    pred = amortizer.apply(params, y)
    return jnp.mean(jnp.sum((pred - jax.lax.stop_gradient(x_hat)) ** 2, axis=-1))




def train_amortizer(
    w: Potential,
    sample: Callable[[jax.Array, int], jax.Array],
    key: jax.Array,
    amortizer: Amortizer,
    params: Any = None,
    *,
    steps: int,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    solver_iterations: int = 30,
    solver_lr: float = 0.03,
) -> tuple[Any, jax.Array]:
    r"""Fit :math:`H_\phi` to a fixed potential ``w`` by regression on solver outputs.

    Each step draws ``y = sample(key, batch_size)``, solves from :math:`H_\phi(y)` for
    ``solver_iterations`` Adam steps (``solver_lr``), and takes one Adam step
    (``learning_rate``) on :func:`amortizer_loss` -- the amortiser half of CMFGen's loop, with
    ``w`` held fixed. One ``lax.scan`` over the steps.

    Returns:
      ``(params, losses (steps,))``.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    init_key, key = jax.random.split(key)
    if params is None:
        dim = jax.eval_shape(lambda k: sample(k, 1), init_key).shape[-1]
        params = amortizer.init(init_key, jnp.zeros((dim,), jnp.float32))
    opt = optax.adam(learning_rate)

    def step(carry, k):
        params, state = carry
        y = sample(k, batch_size)
        x_hat = solve(w, y, amortizer.apply(params, y), iterations=solver_iterations,
                      learning_rate=solver_lr)
        loss, grads = jax.value_and_grad(lambda p: amortizer_loss(amortizer, p, y, x_hat))(params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    run = jax.jit(lambda p, s, ks: jax.lax.scan(step, (p, s), ks))
    (params, _), losses = run(params, opt.init(params), jax.random.split(key, steps))
    return params, losses


__all__ = [
    "ConjugateInfo", "solve", "solve_path", "conjugate_value", "residual_norm", "Amortizer",
    "amortizer_loss", "train_amortizer", "check_potential",
]

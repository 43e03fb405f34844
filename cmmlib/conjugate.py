r"""The conjugate solver :math:`\nabla w^*(y)` and its amortisation.

For a strictly convex :math:`w`, the Legendre transform and its gradient are

.. math::

   w^*(y) = \sup_x \langle x, y\rangle - w(x), \qquad
   \nabla w^*(y) = \hat x(y) = \arg\max_x \langle x, y\rangle - w(x) = (\nabla w)^{-1}(y),

(Danskin's theorem). :func:`solve` finds :math:`\hat x` for a batch of points by minimising
:math:`f_y(x) = w(x) - \langle x, y\rangle` (gradient :math:`\nabla w(x) - y`), one independent
problem per point, and returns how far it got (:class:`ConjugateOutput`). By default it runs
Barzilai--Borwein gradient steps with a non-monotone line search until every residual
:math:`\|\nabla w(\hat x_i) - y_i\|` is below a tolerance relative to the scale of ``y``, and
warns when it stops short. The paper's solver (Adam, cosine-decayed step, a fixed budget of 100
iterations from 0.1 down to ``alpha * 0.1``), plain gradient descent and L-BFGS are options.
The solver is started from an *amortiser* :math:`H_\phi(y)` trained by regression on the
solutions (:cite:`amos2023amortizing`): :class:`Amortizer` and :func:`amortizer_loss`.
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import validation

Potential = Callable[[jax.Array], jax.Array]
METHODS = ("bb", "gd", "adam", "lbfgs")
#: the iteration budget when ``iterations`` is not given (Adam: the paper's cosine schedule).
DEFAULT_ITERATIONS = {"bb": 1000, "gd": 5000, "adam": 100, "lbfgs": 200}
#: ``tolerance="auto"`` is ``RELATIVE_TOLERANCE * max(1, rms(y))`` (see :func:`default_tolerance`).
RELATIVE_TOLERANCE = 1e-4
_BB_MEMORY = 10          # non-monotone line search: compare with the worst of the last 10 values
_ARMIJO = 1e-4           # sufficient decrease constant
_POWER_ITERATIONS = 10   # curvature estimate of method="gd" without a learning_rate
_TANGENT_BATCH = 32     # implicit derivatives: Hessian columns computed this many at a time


class ConjugateOutput(NamedTuple):
    r"""What :func:`solve` found, and whether it converged (like ott-jax's ``SinkhornOutput``).

    Attributes:
      x: ``(n, d)`` the solutions :math:`\hat x_i \approx \nabla w^*(y_i)`.
      iterations: int scalar array, the iterations run (each one gradient of ``w`` at every
        point; L-BFGS: the most over the points).
      residual: ``(n,)`` final residuals :math:`\|\nabla w(\hat x_i) - y_i\|`.
      converged: bool scalar array, ``max(residual) < tolerance``.
      tolerance: scalar array, the tolerance ``converged`` is judged by: the one asked for, or
        with ``tolerance="auto"`` / ``None`` the rule of :func:`default_tolerance`.
    """

    x: jax.Array
    iterations: jax.Array
    residual: jax.Array
    converged: jax.Array
    tolerance: jax.Array

    @property
    def grad_norm(self) -> jax.Array:
        """Alias of :attr:`residual` (the name used by earlier versions)."""
        return self.residual


#: Earlier name of :class:`ConjugateOutput` (``solve(..., return_info=True)`` returns one).
ConjugateInfo = ConjugateOutput


def default_tolerance(y: jax.Array) -> jax.Array:
    r"""The ``tolerance="auto"`` rule: ``1e-4 * max(1, rms(y))``, with
    :math:`\mathrm{rms}(y) = (\frac1n \sum_i \|y_i\|^2)^{1/2}`.

    A residual :math:`\|\nabla w(x) - y\|` is a gradient error: this asks for four significant
    digits relative to the typical size of the targets :math:`y_i = \nabla w(\hat x_i)` (and an
    absolute ``1e-4`` below unit scale), well above float32 round-off. Works on traced ``y``.
    """
    rms = jnp.sqrt(jnp.mean(jnp.sum(jnp.square(y), axis=-1)))
    return RELATIVE_TOLERANCE * jnp.maximum(1.0, rms)


def _check_inputs(w: Potential, y: Any, x_init: Any) -> tuple[jax.Array, jax.Array]:
    y = validation.as_points(y, "y")
    if validation.is_concrete(y):
        validation.check_potential(w, y.shape[1])
    if x_init is None:
        return y, y
    x_init = validation.as_points(x_init, "x_init")
    if x_init.shape != y.shape:
        raise ValueError(f"x_init must have the shape of y {tuple(y.shape)}, got {tuple(x_init.shape)}")
    return y, x_init


def _check_iterations(iterations: Any) -> None:
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"iterations must be a non-negative int, got {iterations!r}")


def _residual_fn(w: Potential, y: jax.Array) -> Callable[[jax.Array], jax.Array]:
    grad_w = jax.vmap(jax.grad(w))
    return lambda x: grad_w(x) - y


def _optimizer(method: str, learning_rate: float, alpha: float,
               iterations: int) -> optax.GradientTransformation:
    if method == "gd":
        return optax.sgd(learning_rate)
    schedule = optax.cosine_decay_schedule(learning_rate, max(int(iterations), 1), alpha=alpha)
    return optax.adam(schedule)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _curvature(w: Potential, x: jax.Array, n_iter: int = _POWER_ITERATIONS) -> jax.Array:
    r"""Per point :math:`\lambda_{\max}(\nabla^2 w(x_i))` by power iteration on Hessian--vector
    products (a lower estimate, exact in the limit for convex ``w``): ``(n,)``.

    (:func:`cmmlib.langevin.lambda_max_per_point` is the public one; ``langevin`` imports this
    module, so the solver keeps its own.)
    """
    hvp = jax.vmap(lambda xi, vi: jax.jvp(jax.grad(w), (xi,), (vi,))[1])
    v = jax.random.normal(jax.random.PRNGKey(0), x.shape, x.dtype)
    v = v / jnp.linalg.norm(v, axis=-1, keepdims=True)

    def body(_, v):
        hv = hvp(x, v)
        return hv / (jnp.linalg.norm(hv, axis=-1, keepdims=True) + 1e-30)

    v = jax.lax.fori_loop(0, n_iter, body, v)
    return jnp.sum(v * hvp(x, v), axis=-1)


def _tangent_solve(g: Callable[[jax.Array], jax.Array], rhs: jax.Array) -> jax.Array:
    """Solve ``g(v) = rhs`` for the linearised residual ``g(v)_i = H_i v_i``, ``H_i`` the Hessian
    of ``w`` at the solution ``i``: the ``n`` blocks ``(d, d)`` by ``d`` products with broadcast
    basis vectors (``_TANGENT_BATCH`` at a time), then a batched dense solve. (Conjugate
    gradients would avoid the ``n d^2`` numbers, but ``jax.scipy.sparse.linalg.cg`` cannot be
    transposed inside ``lax.custom_root``: reverse mode fails.)"""
    n, d = rhs.shape
    basis = jnp.broadcast_to(jnp.eye(d, dtype=rhs.dtype)[:, None, :], (d, n, d))
    columns = jax.vmap(g)(basis) if d <= _TANGENT_BATCH else jax.lax.map(g, basis, batch_size=_TANGENT_BATCH)
    blocks = jnp.transpose(columns, (1, 2, 0))  # blocks[i, :, j] = H_i e_j
    return jnp.linalg.solve(blocks, rhs[..., None])[..., 0]


def _implicit(w: Potential, y: jax.Array, x0: jax.Array, run: Callable) -> tuple[jax.Array, Any]:
    r"""``run(x0) -> (x, aux)`` solves :math:`\nabla w(x_i) = y_i`; return it differentiable
    by the implicit function theorem (``lax.custom_root``): :math:`\partial\hat x =
    -(\nabla^2 w)^{-1}\,\partial(\nabla w - y)`, w.r.t. ``y`` and anything ``w`` closes over
    (e.g. network parameters). The loops themselves (``while_loop``) are not differentiable."""
    residual = _residual_fn(w, y)

    def solve(_, x0):  # integer aux outputs trip custom_root's tangents (jax 0.10): count in floats
        x, (k, res) = run(x0)
        return x, (k.astype(jnp.float32), res)

    x, (k, res) = jax.lax.custom_root(residual, x0, solve, _tangent_solve, has_aux=True)
    return x, (jax.lax.stop_gradient(k).astype(jnp.int32), res)


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
    if tolerance is None:  # unrolled: differentiable step by step, as it always was
        k, x, _, g = jax.lax.fori_loop(0, iterations, lambda _, c: step(c), carry)
        return x, k, jnp.linalg.norm(g, axis=-1)

    def run(x0):
        def cond(c):
            k, _, _, g = c
            return (k < iterations) & (jnp.max(jnp.linalg.norm(g, axis=-1)) >= tolerance)

        k, x, _, g = jax.lax.while_loop(cond, step, (jnp.asarray(0), x0, opt.init(x0), residual(x0)))
        return x, (k, jnp.linalg.norm(g, axis=-1))

    x, (k, res) = _implicit(w, y, x0, run)
    return x, k, res


@functools.partial(jax.jit, static_argnums=(0, 5))
def _solve_bb(w, y, x0, step0, tol, iterations):
    r"""Barzilai--Borwein gradient descent per point, with a non-monotone line search.

    Every point runs its own iteration on :math:`f_i(x) = w(x) - \langle x, y_i\rangle`, all of
    them in one batched gradient evaluation per iteration: a trial :math:`x - \eta_i g_i` is
    accepted when :math:`f_i` falls below the largest of its last ``_BB_MEMORY`` accepted values
    by :math:`10^{-4}\eta_i\|g_i\|^2` (Grippo--Lampariello--Lucidi, as in Raydan's global BB;
    a few ulps of slack so that float32 round-off near the optimum cannot stall it); the next
    step is then the alternating BB step (:math:`s^\top s/s^\top u` on odd, :math:`s^\top
    u/u^\top u` on even iterations, :math:`s` the move and :math:`u` the change of gradient).
    A rejected trial costs one iteration and shrinks :math:`\eta_i` by a safeguarded quadratic
    interpolation (a factor in [0.1, 0.5]). Points whose residual is below ``tol`` are frozen.
    ``step0 <= 0``: the first step is the Cauchy step :math:`\|g\|^2 / g^\top \nabla^2 w\, g`
    (one Hessian--vector product). ``tol = 0``: the full budget.
    """
    return _implicit(w, y, x0, functools.partial(_bb_loop, w, y, step0, tol, iterations))


def _bb_loop(w, y, step0, tol, iterations, x0):
    value_and_grad = jax.vmap(jax.value_and_grad(w))
    eps = jnp.finfo(y.dtype).eps

    def evaluate(x):
        value, grad = value_and_grad(x)
        xy = jnp.sum(x * y, axis=-1)
        slack = 16.0 * eps * (jnp.abs(value) + jnp.abs(xy))
        return value - xy, grad - y, slack

    f0, g0, _ = evaluate(x0)
    gg0 = jnp.sum(g0 * g0, axis=-1)
    hg = jax.vmap(lambda xi, vi: jax.jvp(jax.grad(w), (xi,), (vi,))[1])(x0, g0)
    curv = jnp.sum(g0 * hg, axis=-1)
    cauchy = jnp.where((curv > 0) & jnp.isfinite(curv), gg0 / jnp.where(curv > 0, curv, 1.0), 1.0)
    step = jnp.where(step0 > 0, jnp.broadcast_to(step0, gg0.shape).astype(y.dtype), cauchy)
    step = jnp.clip(jnp.where(gg0 > 0, step, 1.0), 1e-12, 1e12)
    history = jnp.broadcast_to(f0[:, None], (f0.shape[0], _BB_MEMORY))

    def body(carry):
        k, x, f, g, step, history = carry
        gg = jnp.sum(g * g, axis=-1)
        active = jnp.sqrt(gg) >= tol
        s = -step[:, None] * g
        f_t, g_t, slack = evaluate(x + s)
        reference = jnp.max(history, axis=-1)
        finite = jnp.isfinite(f_t) & jnp.all(jnp.isfinite(g_t), axis=-1)
        accept = active & finite & (f_t <= reference - _ARMIJO * step * gg + slack)
        u = g_t - g
        su = jnp.sum(s * u, axis=-1)
        bb = jnp.where(k % 2 == 0, step * step * gg / jnp.where(su > 0, su, 1.0),
                       su / jnp.maximum(jnp.sum(u * u, axis=-1), 1e-30))
        bb = jnp.where((su > 0) & jnp.isfinite(bb), bb, step)
        # rejected: minimiser of the quadratic through f(x), f'(x) along -g and f(x + s)
        denominator = 2.0 * (f_t - f + step * gg)
        ratio = step * gg / jnp.where(denominator > 0, denominator, 1.0)
        shrunk = step * jnp.clip(jnp.where(finite & (denominator > 0), ratio, 0.1), 0.1, 0.5)
        new_step = jnp.clip(jnp.where(accept, bb, jnp.where(active, shrunk, step)), 1e-12, 1e12)
        x = jnp.where(accept[:, None], x + s, x)
        f = jnp.where(accept, f_t, f)
        g = jnp.where(accept[:, None], g_t, g)
        rolled = jnp.concatenate([history[:, 1:], f_t[:, None]], axis=-1)
        history = jnp.where(accept[:, None], rolled, history)
        return k + 1, x, f, g, new_step, history

    def cond(carry):
        k, _, _, g, _, _ = carry
        return (k < iterations) & (jnp.max(jnp.linalg.norm(g, axis=-1)) >= tol)

    carry = (jnp.asarray(0), x0, f0, g0, step, history)
    k, x, _, g, _, _ = jax.lax.while_loop(cond, body, carry)
    return x, (k, jnp.linalg.norm(g, axis=-1))


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

    def run(x0):
        x, k, gn = jax.vmap(one)(y, x0)
        return x, (jnp.max(k), gn)

    return _implicit(w, y, x0, run)


def solve(
    w: Potential,
    y: jax.Array,
    x_init: jax.Array | None = None,
    *,
    iterations: int | None = None,
    tolerance: float | str | None = "auto",
    learning_rate: float | None = None,
    alpha: float = 1e-4,
    method: str = "bb",
    return_info: bool = False,
    return_output: bool = False,
):
    r"""Batched gradients of the conjugate: :math:`\hat x_i = \nabla w^*(y_i)`.

    Each :math:`\hat x_i = \arg\min_x w(x) - \langle x, y_i\rangle` is found independently.
    With the defaults the solver runs until every residual
    :math:`\|\nabla w(\hat x_i) - y_i\|` is below ``1e-4 * max(1, rms(y))``; a concrete call
    that stops short (budget spent) warns with a ``RuntimeWarning``; inside ``jax.jit`` nothing
    is printed and :attr:`ConjugateOutput.converged` tells.

    Args:
      w: the potential, a function of one point ``(d,) -> ()`` (vmapped here).
      y: ``(n, d)`` points.
      x_init: ``(n, d)`` starting points (e.g. the amortiser's :math:`H_\phi(y)`); default ``y``.
      iterations: the iteration budget, in batched gradient evaluations (``"bb"``: a rejected
        line-search trial counts as one); ``None``: :data:`DEFAULT_ITERATIONS` of the method
        (``"bb"``: 1000). ``method="adam"``: also the length of the cosine decay.
      tolerance: ``"auto"`` (default): :func:`default_tolerance` of ``y``; a positive number: that
        absolute tolerance; either way the solver stops as soon as
        :math:`\max_i \|\nabla w(x_i) - y_i\| <` tolerance (``lax.while_loop``) and points
        already within it are frozen meanwhile (Adam's normalised steps, about
        ``learning_rate`` long whatever the gradient, would otherwise push them out again;
        L-BFGS: per point). ``None``: run exactly ``iterations`` steps, never warn (``converged``
        is then judged by the ``"auto"`` rule).
      learning_rate: ``"bb"``: the first step (``None``: the Cauchy step
        :math:`\|g\|^2/g^\top\nabla^2 w\,g`; later steps are Barzilai--Borwein's).
        ``"adam"``: the initial step, cosine-decayed to ``alpha * learning_rate`` (``None``: the
        paper's 0.1, which suits a cold start; from a good amortised start it throws the start
        away: the project's prototype measured a residual of 0.088 after 10 steps at 0.1 versus
        0.024 at 0.03, so use about 0.03 there). ``"gd"``: the constant step (``None``:
        :math:`1/\hat\lambda` with :math:`\hat\lambda` the largest Hessian eigenvalue found by
        power iteration at the starting points). ``"lbfgs"``: unused.
      alpha: final fraction of Adam's cosine decay.
      method: ``"bb"`` (default; Barzilai--Borwein steps with a non-monotone line search, per
        point: no step size to tune, safe far from the solution, fast on ill-conditioned
        potentials), ``"gd"`` (gradient descent :math:`x \leftarrow x - \eta(\nabla w(x) - y)`;
        converges for :math:`\eta < 2/L` when :math:`\nabla^2 w \preceq L I`, linearly at rate
        :math:`1 - \eta\mu` on a :math:`\mu`-strongly convex :math:`w`; diverges above
        :math:`2/L`), ``"adam"`` (the paper's, with the cosine schedule; ``method="adam",
        tolerance=None`` is the fixed-budget solver of the training loops), or ``"lbfgs"``
        (``optax.lbfgs`` per point, vmapped).
      return_info: also return the :class:`ConjugateOutput`: ``(x_hat, output)``.
      return_output: return only the :class:`ConjugateOutput` (``output.x`` is ``x_hat``).

    Differentiation: the fixed-budget first-order path (``method="adam"`` or ``"gd"`` with
    ``tolerance=None``) is differentiated step by step through its unrolled loop, as before.
    Every other path is differentiated by the implicit function theorem
    (``lax.custom_root``): :math:`\partial \hat x = -(\nabla^2 w(\hat x))^{-1}
    \partial(\nabla w)(\hat x)`, with respect to ``y`` and to whatever ``w`` closes over; this
    builds the ``n`` Hessian blocks ``(d, d)`` (``d`` Hessian--vector products), only when
    differentiated. CMFGen does not need it (Danskin: ``stop_gradient`` on :math:`\hat x`).

    Returns:
      ``x_hat (n, d)``; ``(x_hat, output)`` when ``return_info``; ``output`` when
      ``return_output``.

    Raises:
      ValueError: bad shapes, NaN or infinite inputs, a non-positive ``tolerance`` or
        ``learning_rate``, a negative ``iterations``, an unknown ``method``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if iterations is None:
        iterations = DEFAULT_ITERATIONS[method]
    _check_iterations(iterations)
    iterations = int(iterations)
    if isinstance(tolerance, str):
        if tolerance != "auto":
            raise ValueError(f"tolerance must be 'auto', None or a positive number, got {tolerance!r}")
    else:
        validation.check_positive(tolerance, "tolerance")
    validation.check_positive(learning_rate, "learning_rate")
    if validation.is_concrete(alpha) and not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if return_info and return_output:
        raise ValueError("pass return_info=True (returns (x, output)) or return_output=True, not both")
    y, x0 = _check_inputs(w, y, x_init)

    reported = default_tolerance(y) if tolerance is None or isinstance(tolerance, str) else tolerance
    reported = jnp.asarray(reported, y.dtype)
    stop = None if tolerance is None else reported
    if method in ("adam", "gd"):
        if learning_rate is not None:
            lr = learning_rate
        else:
            lr = 0.1 if method == "adam" else 1.0 / jnp.max(_curvature(w, x0))
        x, k, res = _solve_first_order(w, y, x0, lr, alpha, 0.0 if stop is None else stop, iterations,
                                       method, stop is not None)
    elif method == "bb":
        step0 = -1.0 if learning_rate is None else learning_rate
        x, (k, res) = _solve_bb(w, y, x0, step0, 0.0 if stop is None else stop, iterations)
    else:
        x, (k, res) = _solve_lbfgs(w, y, x0, -1.0 if stop is None else stop, iterations)
    output = ConjugateOutput(x, k, res, jnp.max(res) < reported, reported)
    if stop is not None and validation.is_concrete(output.converged) and not bool(output.converged):
        advice = "" if method == "bb" else ", or use the default method='bb'"
        warnings.warn(
            f"conjugate.solve (method={method!r}) stopped after {int(k)} iterations with max residual "
            f"{float(jnp.max(res)):.3g}, not below the tolerance {float(reported):.3g} "
            f"({int(jnp.sum(~(res < reported)))} of {res.shape[0]} points): raise iterations= "
            f"(now {iterations}), start closer with x_init= (e.g. the amortiser's H(y)){advice}. "
            "tolerance=None runs a fixed budget without this check.",
            RuntimeWarning, stacklevel=2,
        )
    if return_output:
        return output
    return (x, output) if return_info else x


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
    _check_iterations(iterations)
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
                      learning_rate=solver_lr, method="adam", tolerance=None)
        loss, grads = jax.value_and_grad(lambda p: amortizer_loss(amortizer, p, y, x_hat))(params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    run = jax.jit(lambda p, s, ks: jax.lax.scan(step, (p, s), ks))
    (params, _), losses = run(params, opt.init(params), jax.random.split(key, steps))
    return params, losses


__all__ = [
    "ConjugateOutput", "ConjugateInfo", "DEFAULT_ITERATIONS", "METHODS", "RELATIVE_TOLERANCE",
    "default_tolerance", "solve", "solve_path", "conjugate_value", "residual_norm", "Amortizer",
    "amortizer_loss", "train_amortizer",
]

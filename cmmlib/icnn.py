r"""Input convex neural networks (ICNN): the convex potential :math:`w_\theta` of the book.

The potential is a sum of three convex parts,

.. math::

   w_\theta(x) = \underbrace{\tfrac{\varepsilon}{2}\|x\|^2}_{\text{floor}}
   + \underbrace{\tfrac12 \|L x\|^2 - b^\top x + c}_{\text{learnable quadratic}}
   + \underbrace{\textstyle\sum_j |a_j|\, z_{K,j}(x)}_{\text{ICNN}},

with hidden layers (:math:`\sigma` convex and non-decreasing: ELU or
:math:`\mathrm{softplus}(\beta t)/\beta`)

.. math::

   z_1 &= \sigma\big(W_0 x + \tfrac12 (Q_0 x)^{\odot 2} + b_0\big), \\
   z_{k+1} &= \sigma\big(\mathrm{softplus}(V_k)\, z_k + W_k x + \tfrac12 (Q_k x)^{\odot 2}
   + b_k\big).

Every :math:`z_k` is convex in :math:`x`: a non-negative combination of convex functions plus a
convex quadratic (the *quadratic input connections* of :cite:`vesseron2024neural`) plus an
affine map (the *skip connections* of :cite:`amos2017input`), passed through a convex
non-decreasing :math:`\sigma`. The floor makes :math:`w` strongly convex, so
:math:`e^{-w}` is integrable and :math:`\nabla w` is invertible.

Why not ``ott.neural.networks.icnn.ICNN`` (ott-jax 0.6.0)? In the CMFGen loop of this project it
was about 3x slower per iteration and trained worse; its default initialisation starts with a
curvature near 30 (Gibbs samples collapse to a standard deviation of 0.01) and all its biases
are zero, so every kink of the first layer passes through the origin. Here instead

* the learnable quadratic gives *exact* starts: ``init="identity"`` sets
  :math:`w \approx \tfrac12\|x\|^2` (so :math:`P_w = N(0, I)`) and ``init="gaussian"`` the
  Prop. 2 potential of a mean and covariance; the ICNN part only adds a tiny perturbation,
* the output weights :math:`|a_j|` start tiny (``output_init_scale``) but are not dead: under
  Adam they grow additively, unlike a softplus reparametrisation that would start them in its
  flat tail,
* the first-layer biases are drawn from :math:`N(0, 1)` by default, which spreads the kinks of
  the first layer over the data instead of through the origin (the prototype measured this to
  be the change that opened holes in the generated "circles").
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from . import gaussian

ACTIVATIONS = ("elu", "softplus")
INITS = ("identity", "gaussian")


def _activation(name: str, beta: float) -> Callable[[jax.Array], jax.Array]:
    if name == "elu":
        return jax.nn.elu
    if name == "softplus":
        return lambda t: jax.nn.softplus(beta * t) / beta
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _inverse_softplus(y: float) -> float:
    return float(np.log(np.expm1(y)))


class ICNN(nn.Module):
    r"""A convex potential :math:`w: \mathbb{R}^d \to \mathbb{R}` (see the module docstring).

    Attributes:
      features: hidden widths, one per layer.
      activation: ``"elu"`` or ``"softplus"`` (smooth; its sharpness is ``beta``). Use softplus
        when second derivatives matter (Monge--Ampère in 1D): ELU's jumps at 0.
      beta: sharpness of ``softplus(beta t) / beta``.
      strong_convexity: :math:`\varepsilon` of the floor :math:`\varepsilon\|x\|^2/2`.
      quadratic_inputs: add the quadratic input connections :math:`\tfrac12 (Q_k x)^2`.
      first_bias_init: ``"normal"`` (:math:`N(0, \text{first\_bias\_scale}^2)`) or ``"zeros"``.
      first_bias_scale: standard deviation of the first-layer biases.
      output_init_scale: standard deviation of the output weights :math:`a_j` at
        initialisation, divided by the last width: the size of the non-quadratic part at
        init.
    """

    features: Sequence[int] = (64, 64, 64, 64)
    activation: str = "elu"
    beta: float = 1.0
    strong_convexity: float = 0.05
    quadratic_inputs: bool = True
    first_bias_init: str = "normal"
    first_bias_scale: float = 1.0
    output_init_scale: float = 1e-3

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Evaluate :math:`w` at ``x`` of shape ``(..., d)``; returns shape ``(...)``."""
        if len(self.features) == 0:
            raise ValueError("ICNN needs at least one hidden layer")
        if self.first_bias_init not in ("normal", "zeros"):
            raise ValueError(f"first_bias_init must be 'normal' or 'zeros', got {self.first_bias_init!r}")
        if not self.strong_convexity >= 0:
            raise ValueError(f"strong_convexity must be >= 0, got {self.strong_convexity}")
        act = _activation(self.activation, self.beta)
        dim = x.shape[-1]

        # learnable quadratic + linear part, and the fixed floor
        chol = self.param(
            "quadratic", lambda k, s: jnp.sqrt(1.0 - min(self.strong_convexity, 1.0)) * jnp.eye(s[0]),
            (dim, dim),
        )
        linear = self.param("linear", nn.initializers.zeros, (dim,))
        const = self.param("constant", nn.initializers.zeros, ())
        lx = x @ chol.T
        quad = 0.5 * jnp.sum(lx**2, -1) + 0.5 * self.strong_convexity * jnp.sum(x**2, -1)
        quad = quad - x @ linear + const

        # the input convex network
        z = None
        for k, width in enumerate(self.features):
            if k == 0:
                bias_init = (
                    nn.initializers.normal(self.first_bias_scale)
                    if self.first_bias_init == "normal"
                    else nn.initializers.zeros
                )
            else:
                bias_init = nn.initializers.zeros
            pre = nn.Dense(width, bias_init=bias_init, name=f"skip_{k}")(x)
            if self.quadratic_inputs:
                qx = nn.Dense(
                    width, use_bias=False, name=f"quad_{k}",
                    kernel_init=nn.initializers.normal(1.0 / np.sqrt(dim)),
                )(x)
                pre = pre + 0.5 * qx**2
            if z is not None:  # weights softplus(V) > 0, near 1/fan_in: z_k starts averaged
                fan_in = z.shape[-1]
                mean = _inverse_softplus(1.0 / fan_in)
                raw = self.param(
                    f"hidden_{k}",
                    lambda key, s, m=mean: m + 0.1 * jax.random.normal(key, s),
                    (fan_in, width),
                )
                pre = pre + z @ jax.nn.softplus(raw)
            z = act(pre)
        out = self.param(
            "output",
            nn.initializers.normal(self.output_init_scale / self.features[-1]),
            (self.features[-1],),
        )
        return quad + z @ jnp.abs(out)


def init_icnn(
    module: ICNN,
    key: jax.Array,
    dim: int,
    *,
    init: str = "identity",
    mean: Any = None,
    cov: Any = None,
) -> Any:
    r"""Initialise the parameters of ``module`` for inputs of dimension ``dim``.

    Args:
      module: an :class:`ICNN`.
      key: PRNG key.
      dim: the dimension ``d``.
      init: ``"identity"``: :math:`w = \tfrac12\|x\|^2` (so :math:`P_w = N(0, I)`);
        ``"gaussian"``: the Prop. 2 potential :math:`\tfrac12 (x-\mu)^\top\Sigma^{-1/3}(x-\mu)`
        of ``(mean, cov)`` (so :math:`P_w = N(\mu, \Sigma^{1/3})`). Both up to the ICNN part,
        whose size at init is set by ``module.output_init_scale``.
      mean: ``(d,)`` data mean, for ``init="gaussian"``.
      cov: ``(d, d)`` data covariance, for ``init="gaussian"``.

    Returns:
      the flax variables ``{"params": ...}``.
    """
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init == "identity" and module.strong_convexity > 1.0:
        raise ValueError(f'init="identity" needs strong_convexity <= 1, got {module.strong_convexity}')
    variables = module.init(key, jnp.zeros((dim,), jnp.float32))
    if init == "identity":
        return variables
    if mean is None or cov is None:
        raise ValueError('init="gaussian" needs both mean and cov')
    if np.shape(mean) != (dim,):
        raise ValueError(f"mean must have shape ({dim},), got {np.shape(mean)}")
    mu, cov_w = gaussian.conjugate_gibbs(mean, cov)  # Prop. 2; validates cov
    mu = np.asarray(mu, np.float64)
    precision = np.asarray(gaussian.matrix_power(cov_w, -1.0), np.float64)
    eps = module.strong_convexity
    vals, vecs = np.linalg.eigh(precision)
    if vals.min() < eps:
        raise ValueError(
            f"strong_convexity={eps} exceeds the smallest eigenvalue {vals.min():.3g} of "
            "cov^(-1/3): the floor alone is more curved than the target potential; lower it"
        )
    chol = (vecs * np.sqrt(vals - eps)) @ vecs.T
    params = dict(variables["params"])
    params["quadratic"] = jnp.asarray(chol, jnp.float32)
    params["linear"] = jnp.asarray(precision @ mu, jnp.float32)
    params["constant"] = jnp.asarray(0.5 * mu @ precision @ mu, jnp.float32)
    return {**variables, "params": params}


def fit_gradient(
    module: ICNN,
    variables: Any,
    key: jax.Array,
    draw: Callable[[jax.Array, int], tuple[jax.Array, jax.Array]],
    steps: int = 1000,
    learning_rate: float = 3e-3,
    batch_size: int = 512,
    train_quadratic: bool = True,
    final_fraction: float = 1.0,
) -> Any:
    r"""Regress the gradient of the ICNN on a target map: Adam on
    :math:`\mathbb E\|\nabla w_\theta(x) - T(x)\|^2`.

    Supervised, so it measures what the architecture *can* represent, apart from the learners'
    dual objectives: given the exact Brenier map :math:`T` of a problem, how close does
    :math:`\nabla w_\theta` get in a budget (chapter 4 does this on the circles).

    Args:
      module: the :class:`ICNN`; variables: its variables (e.g. from :func:`init_icnn`).
      key: PRNG key.
      draw: ``draw(key, batch_size) -> (x, T(x))``, both ``(batch_size, d)``: a fresh batch
        of points and their targets for each step.
      steps, learning_rate, batch_size: the regression's Adam budget; the step follows a cosine
        from ``learning_rate`` down to ``final_fraction`` of it (1: constant).
      train_quadratic: also fit the learnable quadratic :math:`L` (``False``: keep it).
    Returns:
      the fitted variables. Pure and jit-able (``vmap``-able over keys).
    """
    import optax

    def label(path, _):
        frozen = not train_quadratic and any(getattr(k, "key", None) == "quadratic" for k in path)
        return "frozen" if frozen else "trained"

    schedule = optax.cosine_decay_schedule(learning_rate, steps, final_fraction)
    opt = optax.multi_transform({"trained": optax.adam(schedule), "frozen": optax.set_to_zero()},
                                jax.tree_util.tree_map_with_path(label, variables))

    def loss(p, x, target):
        grad = jax.vmap(jax.grad(potential_fn(module, p)))(x)
        return jnp.mean(jnp.sum((grad - target) ** 2, -1))

    def step(carry, k):
        p, state = carry
        grads = jax.grad(loss)(p, *draw(k, batch_size))
        updates, state = opt.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), None

    (variables, _), _ = jax.lax.scan(step, (variables, opt.init(variables)), jax.random.split(key, steps))
    return variables


def fit_identity(
    module: ICNN,
    variables: Any,
    key: jax.Array,
    data: jax.Array,
    steps: int = 1000,
    learning_rate: float = 3e-3,
    batch_size: int = 512,
) -> Any:
    r"""The *units* identity start: :math:`w \approx \tfrac12\|x\|^2` carried by the ICNN's units.

    The learnable quadratic :math:`\tfrac12\|Lx\|^2` is set to :math:`L = 0` and the other
    parameters are fitted by :func:`fit_gradient` to :math:`\nabla w(x) = x` (the identity
    pre-training of w2ot-style ICNN trainers), ``x`` half from ``data (n, d)`` and half from
    :math:`N(0, I)`: where :math:`w` is evaluated while training. :math:`L = 0` is a stationary
    point of :math:`\tfrac12\|Lx\|^2` (its gradient :math:`L x x^\top` vanishes), so the
    quadratic stays zero for good: all curvature lives in units that can switch off. With the
    exact start (:func:`init_icnn`, ``init="identity"``) the Hessian of :math:`w` is bounded
    below by :math:`L^\top L + \varepsilon I` everywhere, and nothing in the dual loss pushes
    :math:`L` down once the data's second moments are matched (measured in chapter 4). Pure
    and jit-able (``vmap``-able over keys).

    Args:
      module: the :class:`ICNN`; variables: its variables (e.g. from :func:`init_icnn`).
      key: PRNG key; data: ``(n, d)`` points.
      steps, learning_rate, batch_size: the regression's Adam budget (constant step).
    Returns:
      the fitted variables, with ``quadratic`` zero.
    """
    params = dict(variables["params"])
    params["quadratic"] = jnp.zeros_like(params["quadratic"])
    half = batch_size // 2

    def draw(k, n):
        k_data, k_normal = jax.random.split(k)
        x = jnp.concatenate([data[jax.random.randint(k_data, (half,), 0, data.shape[0])],
                             jax.random.normal(k_normal, (n - half, data.shape[-1]))])
        return x, x

    return fit_gradient(module, {**variables, "params": params}, key, draw, steps, learning_rate,
                        batch_size, train_quadratic=False)


def potential_fn(module: ICNN, params: Any) -> Callable[[jax.Array], jax.Array]:
    """:math:`w` as a function of one point ``(d,) -> ()`` (also accepts ``(..., d)``)."""
    return lambda x: module.apply(params, x)


def build_icnn(settings: Any) -> ICNN:
    """The :class:`ICNN` of a :class:`cmmlib.config.ICNNSettings` (or any dataclass with its fields)."""
    import dataclasses

    return ICNN(**dataclasses.asdict(settings))


__all__ = ["ICNN", "init_icnn", "fit_gradient", "fit_identity", "potential_fn", "build_icnn"]

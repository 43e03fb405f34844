r"""The neural optimal-transport dual loss (:cite:`makkuva2020optimal`, :cite:`amos2023amortizing`).

For a source :math:`\alpha` and a target :math:`\beta`, the Brenier potential minimises

.. math::

   \mathcal{L}(\theta) = \mathbb{E}_{x\sim\alpha}[w_\theta(x)] + \mathbb{E}_{y\sim\beta}[w_\theta^*(y)],
   \qquad w_\theta^*(y) = \langle \hat x(y), y\rangle - w_\theta(\hat x(y)),

and by Danskin's theorem :math:`\nabla_\theta w_\theta^*(y) = -\nabla_\theta w_\theta(\hat x(y))`
at the maximiser :math:`\hat x(y) = \nabla w_\theta^*(y)`. So the gradient of

.. math::

   \frac1n \sum_i w_\theta(x_i) - \frac1m \sum_j w_\theta(\mathrm{sg}(\hat x_j))

(:math:`\mathrm{sg}` = stop-gradient) is the dual gradient. In CMFGen the source is the data
:math:`\rho` and the target the Gibbs samples of :math:`P_{w_\theta}`, held fixed during the step.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp


def dual_loss(
    potential_apply: Callable[[Any, jax.Array], jax.Array],
    params: Any,
    x: jax.Array,
    x_hat: jax.Array,
) -> jax.Array:
    r"""Surrogate of the neural OT dual whose gradient in ``params`` is the Danskin gradient.

    Args:
      potential_apply: ``(params, z (n, d)) -> (n,)``, e.g. ``icnn.apply``.
      params: the potential's parameters.
      x: ``(n, d)`` source samples (data).
      x_hat: ``(m, d)`` conjugate points :math:`\nabla w^*(y_j)` of the target samples
        :math:`y_j`; treated as constants.

    Returns:
      the scalar :math:`\mathrm{mean}_i\, w(x_i) - \mathrm{mean}_j\, w(\mathrm{sg}(\hat x_j))`.
    """
    if x.ndim != 2 or x_hat.ndim != 2 or x.shape[1] != x_hat.shape[1]:
        raise ValueError(f"x and x_hat must be (n, d) and (m, d), got {x.shape} and {x_hat.shape}")
    return jnp.mean(potential_apply(params, x)) - jnp.mean(
        potential_apply(params, jax.lax.stop_gradient(x_hat))
    )


__all__ = ["dual_loss"]

r"""The conjugate Monge–Ampère equation: the density of :math:`\nabla w^*_\sharp e^{-w}`.

If :math:`\rho = \nabla w^*_\sharp P_w` with :math:`P_w = e^{-w}/Z_w` and :math:`w` strictly
convex, then :math:`P_w = \nabla w_\sharp \rho` and the change of variables gives (the paper's
eq. 9)

.. math::

    \rho(x) = e^{-w(\nabla w(x))} \det \nabla^2 w(x) / Z_w,
    \qquad
    \log \rho(x) = -w(\nabla w(x)) + \log\det \nabla^2 w(x) - \log Z_w .

:func:`log_density` returns the tractable, unnormalised part (without :math:`\log Z_w`). The
same change of variables holds for any noise law pushed by :math:`\nabla w^*`: the
generative-ICNN baseline maps :math:`N(0, I)`, so its generated law has
:math:`\log\rho(x) = -\tfrac12\|\nabla w(x)\|^2 + \log\det\nabla^2 w(x)` up to a constant
(``noise="gaussian"`` below; :func:`noise_log_density` holds both). The log
determinant goes through a Cholesky factorisation, which is stable and fails (NaN) exactly when
the Hessian is not positive definite; :func:`check_positive_definite` turns that into a clear
error on concrete inputs.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .validation import is_concrete

Potential = Callable[[jax.Array], jax.Array]
NOISES = ("gibbs", "gaussian")


def noise_log_density(w: Potential, y: jax.Array, noise: str = "gibbs") -> jax.Array:
    r"""Unnormalised log-density of the noise at one point ``y`` of shape ``(d,)``:
    :math:`-w(y)` for the Gibbs law :math:`P_w` (``"gibbs"``), :math:`-\tfrac12\|y\|^2` for
    :math:`N(0, I)` (``"gaussian"``, the baseline's)."""
    if noise == "gibbs":
        return -w(y)
    if noise == "gaussian":
        return -0.5 * jnp.sum(y**2)
    raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")


def hessian_logdet(w: Potential, x: jax.Array) -> jax.Array:
    r""":math:`\log\det\nabla^2 w(x)` for one point ``x`` of shape ``(d,)``, by Cholesky.

    Returns NaN where the Hessian is not positive definite.
    """
    chol = jnp.linalg.cholesky(jax.hessian(w)(x))
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))


def log_density_one(w: Potential, x: jax.Array, noise: str = "gibbs") -> jax.Array:
    r"""Unnormalised :math:`\log\rho(x) = -w(\nabla w(x)) + \log\det\nabla^2 w(x)`, one point
    (with ``noise="gaussian"``, :math:`-\tfrac12\|\nabla w(x)\|^2` replaces :math:`-w(\nabla w(x))`)."""
    return noise_log_density(w, jax.grad(w)(x), noise) + hessian_logdet(w, x)


def log_density(w: Potential, x: jax.Array, noise: str = "gibbs") -> jax.Array:
    """Eq. (9) on a batch ``x`` of shape ``(n, d)``; returns ``(n,)``. ``noise``: the law that
    :math:`\nabla w^*` pushes (:func:`noise_log_density`)."""
    values = jax.vmap(lambda z: log_density_one(w, z, noise))(x)
    if is_concrete(values):
        check_positive_definite(values, x)
    return values


def log_density_terms(w: Potential, x: jax.Array, noise: str = "gibbs") -> tuple[jax.Array, jax.Array]:
    r"""The two terms of eq. (9) on a batch ``x`` of shape ``(n, d)``: the transport term
    :math:`-w(\nabla w(x))` (the Gibbs log-density of the noise that :math:`x` comes from) and the
    volume term :math:`\log\det\nabla^2 w(x)`, each ``(n,)``; their sum is :func:`log_density`."""
    transport = jax.vmap(lambda z: noise_log_density(w, jax.grad(w)(z), noise))(x)
    volume = jax.vmap(lambda z: hessian_logdet(w, z))(x)
    if is_concrete(volume):
        check_positive_definite(volume, x)
    return transport, volume


def check_positive_definite(log_dets: jax.Array, x: jax.Array) -> None:
    """Raise when a concrete result is NaN, i.e. a Hessian was not positive definite."""
    bad = ~np.isfinite(np.asarray(log_dets))
    if bad.any():
        first = np.asarray(x)[np.argmax(bad)]
        raise ValueError(
            f"the Hessian of w is not positive definite (or w is not finite) at {int(bad.sum())} "
            f"point(s), e.g. x = {first}; is w strictly convex there?"
        )

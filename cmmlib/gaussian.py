r"""Closed forms for Gaussian targets: Propositions 1 and 2 and the Gaussian OT map.

For :math:`\rho = \mathcal N(m, \Sigma)` on :math:`\mathbb R^d` (:math:`\Sigma` symmetric positive
definite):

* **Moment measure** (Prop. 1, :math:`m = 0`): the moment potentials are
  :math:`u_a(x) = \tfrac12 (x-a)^\top \Sigma (x-a)` for any :math:`a`, with Gibbs factor
  :math:`P_{u_a} = \mathcal N(a, \Sigma^{-1})` and map :math:`\nabla u_a(x) = \Sigma (x - a)`.
* **Conjugate moment measure** (Prop. 2): :math:`w(x) = \tfrac12 (x-\mu)^\top \Sigma^{-1/3}
  (x-\mu)` with :math:`\mu = (I + \Sigma^{1/3})^{-1} m`, conjugate Gibbs factor
  :math:`P_w = \mathcal N(\mu, \Sigma^{1/3})` and map :math:`\nabla w^*(y) = \Sigma^{1/3} y + \mu`.
* **Gaussian OT map** (Gelbrich): from :math:`\mathcal N(m_0, S_0)` to :math:`\mathcal N(m_1, S_1)`,
  :math:`T(x) = m_1 + A (x - m_0)` with
  :math:`A = S_0^{-1/2} (S_0^{1/2} S_1 S_0^{1/2})^{1/2} S_0^{-1/2}`.

Matrix powers of symmetric matrices are taken through an eigendecomposition,
:math:`S^p = V \operatorname{diag}(\lambda^p) V^\top`. Inputs are checked (shape, finiteness,
symmetry, positivity) when they are concrete arrays; inside ``jax.jit`` only shapes are checked.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from ott.tools.gaussian_mixture.gaussian import Gaussian

from .validation import is_concrete

__all__ = [
    "ula_fixed_point_precision",
    "matrix_power",
    "sqrtm",
    "cbrtm",
    "inv_sqrtm",
    "moment_gibbs",
    "moment_potential",
    "moment_map",
    "conjugate_gibbs",
    "conjugate_potential",
    "conjugate_gradient",
    "conjugate_map",
    "ot_map_matrix",
    "ot_map",
    "to_ott",
    "radial_map_to_normal",
]

_SYMMETRY_RTOL = 1e-5


def _check_matrix(cov, name: str, definite: bool) -> jax.Array:
    """Return ``cov`` as a ``(d, d)`` array after checking it is symmetric PSD (PD if ``definite``)."""
    arr = jnp.asarray(cov)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {tuple(arr.shape)}")
    if not is_concrete(arr):
        return arr
    values = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = max(float(np.max(np.abs(values))), np.finfo(np.float32).tiny)
    if np.max(np.abs(values - values.T)) > _SYMMETRY_RTOL * scale:
        raise ValueError(f"{name} must be symmetric")
    eig = np.linalg.eigvalsh(values)
    tol = 1e-6 * scale
    if definite and eig[0] <= tol:
        raise ValueError(f"{name} must be positive definite (smallest eigenvalue {eig[0]:.3g})")
    if eig[0] < -tol:
        raise ValueError(f"{name} must be positive semi-definite (smallest eigenvalue {eig[0]:.3g})")
    return arr


def _check_vector(m, name: str, dim: int) -> jax.Array:
    arr = jnp.asarray(m)
    if arr.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},), got shape {tuple(arr.shape)}")
    if is_concrete(arr) and not np.all(np.isfinite(np.asarray(arr))):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _power(cov: jax.Array, p: float) -> jax.Array:
    eig, vec = jnp.linalg.eigh((cov + cov.T) / 2)
    eig = jnp.maximum(eig, 0.0)
    return (vec * eig**p) @ vec.T


def matrix_power(cov, p: float) -> jax.Array:
    r""":math:`S^p` of a symmetric PSD matrix ``cov`` (PD when ``p < 0``), shape ``(d, d)``."""
    return _power(_check_matrix(cov, "cov", definite=p < 0), p)


def sqrtm(cov) -> jax.Array:
    r""":math:`S^{1/2}`, shape ``(d, d)``."""
    return matrix_power(cov, 0.5)


def cbrtm(cov) -> jax.Array:
    r""":math:`S^{1/3}`, shape ``(d, d)``."""
    return matrix_power(cov, 1.0 / 3.0)


def inv_sqrtm(cov) -> jax.Array:
    r""":math:`S^{-1/2}` (``cov`` positive definite), shape ``(d, d)``."""
    return matrix_power(cov, -0.5)


# ------------------------------------------------------------------------------------------
# Proposition 1: moment measures of a centred Gaussian
# ------------------------------------------------------------------------------------------
def _mean_or_zero(m, dim: int, name: str) -> jax.Array:
    return jnp.zeros(dim) if m is None else _check_vector(m, name, dim)


def moment_gibbs(cov, m=None) -> tuple[jax.Array, jax.Array]:
    r"""Gibbs factor :math:`\mathcal N(m, \Sigma^{-1})` of :math:`\rho = \mathcal N(0, \Sigma)` (Prop. 1).

    Args:
      cov: :math:`\Sigma`, ``(d, d)`` symmetric positive definite.
      m: the free translation :math:`m` of the moment potential :math:`u_m`, ``(d,)``; default 0.

    Returns:
      ``(m, cov_u)``: mean ``(d,)`` and covariance :math:`\Sigma^{-1}` ``(d, d)`` of :math:`P_{u_m}`.
    """
    cov = _check_matrix(cov, "cov", definite=True)
    return _mean_or_zero(m, cov.shape[0], "m"), _power(cov, -1.0)


def moment_potential(cov, m=None) -> Callable[[jax.Array], jax.Array]:
    r""":math:`u_m(x) = \tfrac12 (x-m)^\top \Sigma (x-m)`, a function of ``x`` ``(..., d) -> (...)``."""
    cov = _check_matrix(cov, "cov", definite=True)
    m = _mean_or_zero(m, cov.shape[0], "m")
    return lambda x: 0.5 * jnp.einsum("...i,ij,...j->...", x - m, cov, x - m)


def moment_map(cov, m=None) -> Callable[[jax.Array], jax.Array]:
    r""":math:`\nabla u_m(x) = \Sigma (x - m)`, pushing :math:`\mathcal N(m, \Sigma^{-1})` onto :math:`\mathcal N(0, \Sigma)`."""
    cov = _check_matrix(cov, "cov", definite=True)
    m = _mean_or_zero(m, cov.shape[0], "m")
    return lambda x: (x - m) @ cov.T


# ------------------------------------------------------------------------------------------
# Proposition 2: conjugate moment measures of any Gaussian
# ------------------------------------------------------------------------------------------
def conjugate_gibbs(mean, cov) -> tuple[jax.Array, jax.Array]:
    r"""Conjugate Gibbs factor :math:`P_w = \mathcal N(\mu, \Sigma^{1/3})` of :math:`\mathcal N(m, \Sigma)` (Prop. 2).

    Args:
      mean: :math:`m`, ``(d,)``.
      cov: :math:`\Sigma`, ``(d, d)`` symmetric positive definite.

    Returns:
      ``(mu, cov_w)`` with :math:`\mu = (I + \Sigma^{1/3})^{-1} m` ``(d,)`` and
      :math:`\Sigma^{1/3}` ``(d, d)``.
    """
    cov = _check_matrix(cov, "cov", definite=True)
    mean = _check_vector(mean, "mean", cov.shape[0])
    cov_w = _power(cov, 1.0 / 3.0)
    mu = jnp.linalg.solve(jnp.eye(cov.shape[0]) + cov_w, mean)
    return mu, cov_w


def conjugate_potential(mean, cov) -> Callable[[jax.Array], jax.Array]:
    r""":math:`w(x) = \tfrac12 (x-\mu)^\top \Sigma^{-1/3} (x-\mu)`, ``(..., d) -> (...)``."""
    mu, cov_w = conjugate_gibbs(mean, cov)
    prec = _power(cov_w, -1.0)
    return lambda x: 0.5 * jnp.einsum("...i,ij,...j->...", x - mu, prec, x - mu)


def conjugate_gradient(mean, cov) -> Callable[[jax.Array], jax.Array]:
    r""":math:`\nabla w(x) = \Sigma^{-1/3} (x - \mu)`: the OT map from :math:`\rho` to :math:`P_w`."""
    mu, cov_w = conjugate_gibbs(mean, cov)
    prec = _power(cov_w, -1.0)
    return lambda x: (x - mu) @ prec.T


def conjugate_map(mean, cov) -> Callable[[jax.Array], jax.Array]:
    r""":math:`\nabla w^*(y) = \Sigma^{1/3} y + \mu`: pushes :math:`P_w` onto :math:`\rho`, ``(..., d) -> (..., d)``."""
    mu, cov_w = conjugate_gibbs(mean, cov)
    return lambda y: y @ cov_w.T + mu


# ------------------------------------------------------------------------------------------
# Gaussian optimal transport
# ------------------------------------------------------------------------------------------
def ot_map_matrix(cov0, cov1) -> jax.Array:
    r"""Gelbrich's :math:`A = S_0^{-1/2} (S_0^{1/2} S_1 S_0^{1/2})^{1/2} S_0^{-1/2}`, ``(d, d)``."""
    cov0 = _check_matrix(cov0, "cov0", definite=True)
    cov1 = _check_matrix(cov1, "cov1", definite=False)
    if cov0.shape != cov1.shape:
        raise ValueError(f"cov0 and cov1 must have the same shape, got {cov0.shape} and {cov1.shape}")
    half = _power(cov0, 0.5)
    inv_half = _power(cov0, -0.5)
    return inv_half @ _power(half @ cov1 @ half, 0.5) @ inv_half


def ot_map(mean0, cov0, mean1, cov1) -> Callable[[jax.Array], jax.Array]:
    r"""Brenier map :math:`T(x) = m_1 + A (x - m_0)` from :math:`\mathcal N(m_0,S_0)` to :math:`\mathcal N(m_1,S_1)`."""
    a = ot_map_matrix(cov0, cov1)
    mean0 = _check_vector(mean0, "mean0", a.shape[0])
    mean1 = _check_vector(mean1, "mean1", a.shape[0])
    return lambda x: (x - mean0) @ a.T + mean1


def to_ott(mean, cov) -> Gaussian:
    """The ott-jax :class:`~ott.tools.gaussian_mixture.gaussian.Gaussian` of ``(mean, cov)``."""
    cov = _check_matrix(cov, "cov", definite=True)
    mean = _check_vector(mean, "mean", cov.shape[0])
    return Gaussian.from_mean_and_cov(mean, cov)


def ula_fixed_point_precision(cov: Any, step_scale: float) -> np.ndarray:
    r"""The precision ``A`` that CMFGen (chapter 4) converges to on ``N(m, Σ)`` data when it samples ``P_w`` by ULA
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


def radial_map_to_normal(radii: Any, dim: int) -> Callable[[jax.Array], jax.Array]:
    r"""The Brenier map from a *rotation-invariant* law on :math:`\mathbb R^d` to :math:`N(0, I_d)`.

    Both laws are invariant under rotations about the origin, so the map is radial,
    :math:`T(x) = g(\|x\|)\, x/\|x\|`, with :math:`g` the 1D monotone map between the radii:
    :math:`g = F_{\chi_d}^{-1}\circ F_R`, the quantile function of a :math:`\chi_d` law (the norm
    of :math:`N(0, I_d)`) after the CDF of the norm :math:`R`. :math:`T = \nabla\varphi` with
    :math:`\varphi(x) = \int_0^{\|x\|} g` convex (:math:`g` non-decreasing), so it is the
    Brenier map. Here :math:`F_R` is the empirical CDF of ``radii`` (samples of :math:`R`),
    interpolated linearly. Chapter 4 uses it on the circles, whose map jumps across the gap
    between the rings: the exact target of the generative-ICNN baseline.

    Args:
      radii: ``(n,)`` samples of :math:`\|x\|`, positive.
      dim: the dimension ``d``.
    Returns:
      ``T``, mapping ``(..., d) -> (..., d)`` (jit-able).
    """
    from scipy import stats

    radii = np.sort(np.asarray(radii, np.float64).ravel())
    if radii.size < 2 or not np.all(np.isfinite(radii)) or radii[0] <= 0:
        raise ValueError("radii must hold at least two finite, positive samples")
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    levels = (np.arange(radii.size) + 0.5) / radii.size
    table_r = jnp.asarray(radii, jnp.float32)
    table_g = jnp.asarray(np.sqrt(stats.chi2.ppf(levels, dim)), jnp.float32)

    def T(x: jax.Array) -> jax.Array:
        norm = jnp.linalg.norm(x, axis=-1, keepdims=True)
        return jnp.interp(norm, table_r, table_g) * x / jnp.maximum(norm, 1e-12)

    return T

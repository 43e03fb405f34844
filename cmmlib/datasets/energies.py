r"""Energies :math:`E` of the laws :math:`\rho \propto e^{-E}` learned by CMFMA (chapter 5).

The paper's three 2D energies are "standard 2D benchmarks for evaluating optimization
algorithms"; their formulas were lost with its equations, so the book picks three classics of
that literature, each divided by a temperature :math:`T` so that :math:`e^{-E}` is a readable
density concentrated in a stated box:

* ``rosenbrock`` (Rosenbrock's banana valley),
  :math:`E(x) = \big[(1 - x_1)^2 + 5\,(x_2 - x_1^2)^2\big] / T`, :math:`T = 1/2`:
  a curved ridge along :math:`x_2 = x_1^2` (Gaussian in :math:`x_1` along it, so integrable).
* ``himmelblau`` (Himmelblau's function),
  :math:`E(x) = \big[(x_1^2 + x_2 - 11)^2 + (x_1 + x_2^2 - 7)^2\big] / T`, :math:`T = 20`:
  four modes near its four global minima :math:`(3, 2), (-2.81, 3.13), (-3.78, -3.28),
  (3.58, -1.85)`; quartic growth makes it integrable.
* ``six_hump_camel`` (the six-hump camel function),
  :math:`E(x) = \big[(4 - 2.1 x_1^2 + x_1^4/3)\,x_1^2 + x_1 x_2 + (-4 + 4 x_2^2)\,x_2^2\big] / T`,
  :math:`T = 1/2`: two dominant modes near :math:`(\pm 0.09, \mp 0.71)` and two weaker ones;
  :math:`x_1^6/3` and :math:`4 x_2^4` make it integrable.

The box of each energy holds all but a negligible fraction (below :math:`10^{-4}`) of its
mass; CMFMA regresses on it and the reference sampler proposes in it.

Beside them: the 1D mixtures :math:`\rho_1, \rho_2` of chapter 2
(:math:`E = -\log \rho_i`, normalised) and Gaussian energies
:math:`E(x) = \tfrac12 (x - m)^\top \Sigma^{-1} (x - m)`, whose conjugate moment potential is
known in closed form (Prop. 2).

Every energy is a function of ONE point, ``E(x: (d,)) -> scalar``, like the potentials of the
library; vmap it for batches.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .mixtures1d import RHO_1, RHO_2

EnergyFn = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class Energy:
    """An energy :math:`E` with :math:`\\rho \\propto e^{-E}`, callable on one point ``(d,)``.

    Attributes:
      name: the energy's name.
      fn: ``x (d,) -> scalar``, the energy itself.
      low, high: ``(d,)`` corners of a box holding all but a negligible part of the mass.
      formula: the formula, in LaTeX, for figures and text.
      exact_sampler: ``(key, n) -> (n, d)`` exact samples when a closed form exists, else None.
    """

    name: str
    fn: EnergyFn
    low: tuple[float, ...]
    high: tuple[float, ...]
    formula: str
    exact_sampler: Callable[[jax.Array, int], jax.Array] | None = None

    @property
    def dim(self) -> int:
        return len(self.low)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fn(x)


def _rosenbrock(x: jax.Array) -> jax.Array:
    return ((1.0 - x[0]) ** 2 + 5.0 * (x[1] - x[0] ** 2) ** 2) / 0.5


def _himmelblau(x: jax.Array) -> jax.Array:
    return ((x[0] ** 2 + x[1] - 11.0) ** 2 + (x[0] + x[1] ** 2 - 7.0) ** 2) / 20.0


def _six_hump_camel(x: jax.Array) -> jax.Array:
    x1, x2 = x[0], x[1]
    return ((4.0 - 2.1 * x1**2 + x1**4 / 3.0) * x1**2 + x1 * x2 + (-4.0 + 4.0 * x2**2) * x2**2) / 0.5


def _mixture_energy(mixture) -> EnergyFn:
    def fn(x: jax.Array) -> jax.Array:
        return -mixture.log_prob(x[0])

    return fn


def gaussian_energy(mean, cov, name: str = "gaussian") -> Energy:
    r"""The Gaussian energy :math:`E(x) = \tfrac12 (x - m)^\top \Sigma^{-1} (x - m)`.

    Args:
      mean: ``(d,)`` mean :math:`m`.
      cov: ``(d, d)`` symmetric positive definite covariance :math:`\Sigma`.
      name: the energy's name.

    Returns:
      An :class:`Energy` with box :math:`m \pm 5 \sqrt{\mathrm{diag}\,\Sigma}` and exact samples.
    """
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(cov, dtype=np.float64)
    if m.ndim != 1 or s.shape != (m.size, m.size):
        raise ValueError(f"mean must be (d,) and cov (d, d), got {m.shape} and {s.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(s))):
        raise ValueError("mean and cov must be finite")
    if not np.allclose(s, s.T) or np.linalg.eigvalsh(s).min() <= 0:
        raise ValueError("cov must be symmetric positive definite")
    precision = jnp.asarray(np.linalg.inv(s), jnp.float32)
    chol = jnp.asarray(np.linalg.cholesky(s), jnp.float32)
    mu = jnp.asarray(m, jnp.float32)

    def fn(x: jax.Array) -> jax.Array:
        z = x - mu
        return 0.5 * z @ precision @ z

    def sampler(key: jax.Array, n: int) -> jax.Array:
        return mu + jax.random.normal(key, (n, m.size)) @ chol.T

    half = 5.0 * np.sqrt(np.diag(s))
    return Energy(
        name=name,
        fn=fn,
        low=tuple(float(v) for v in m - half),
        high=tuple(float(v) for v in m + half),
        formula=r"\tfrac12 (x - m)^\top \Sigma^{-1} (x - m)",
        exact_sampler=sampler,
    )


GAUSSIAN_MEAN = (0.5, -0.5)
"""Mean of the default 2D Gaussian energy (the book's choice)."""
GAUSSIAN_COV = ((1.0, 0.6), (0.6, 0.8))
"""Covariance of the default 2D Gaussian energy (the book's choice)."""


def _build(name: str) -> Energy:
    if name == "rosenbrock":
        return Energy(name, _rosenbrock, (-1.5, -1.5), (3.5, 10.0),
                      r"\big[(1 - x_1)^2 + 5 (x_2 - x_1^2)^2\big] / 0.5")
    if name == "himmelblau":
        return Energy(name, _himmelblau, (-6.0, -6.0), (6.0, 6.0),
                      r"\big[(x_1^2 + x_2 - 11)^2 + (x_1 + x_2^2 - 7)^2\big] / 20")
    if name == "six_hump_camel":
        return Energy(name, _six_hump_camel, (-2.5, -1.5), (2.5, 1.5),
                      r"\big[(4 - 2.1 x_1^2 + x_1^4/3) x_1^2 + x_1 x_2 + (4 x_2^2 - 4) x_2^2\big] / 0.5")
    if name in ("rho_1", "rho_2"):
        mixture = RHO_1 if name == "rho_1" else RHO_2
        spread = 4.0 * max(mixture.stds)
        low, high = (min(mixture.means) - spread,), (max(mixture.means) + spread,)
        return Energy(name, _mixture_energy(mixture), low, high, rf"-\log \rho_{name[-1]}(x)",
                      exact_sampler=lambda key, n: mixture.sample(key, n)[:, None])
    if name == "gaussian":
        return gaussian_energy(GAUSSIAN_MEAN, GAUSSIAN_COV)
    raise ValueError(f"unknown energy {name!r}: expected one of {ENERGY_NAMES}")


BENCHMARK_NAMES = ("rosenbrock", "himmelblau", "six_hump_camel")
"""The three 2D benchmark energies of Figures 3 and 12 (the book's choice)."""
ENERGY_NAMES = (*BENCHMARK_NAMES, "rho_1", "rho_2", "gaussian")
"""Every named energy: the 2D benchmarks, the 1D mixtures and the default 2D Gaussian."""


def energy(name: str) -> Energy:
    """The energy called ``name`` (one of :data:`ENERGY_NAMES`): a callable ``(d,) -> scalar``.

    The returned :class:`Energy` also carries its box (``low``, ``high``), its formula and,
    when one exists, an exact sampler.
    """
    if not isinstance(name, str):
        raise ValueError(f"energy name must be a string, got {type(name).__name__}")
    return _build(name.strip().lower())

r"""A learned conjugate moment potential, and everything it does: sample, map, score, save.

:class:`ConjugateMomentModel` is what both learners return (``cmmlib.cmfgen.fit`` from
samples, ``cmmlib.cmfma.fit`` from an energy). It holds a convex potential :math:`w_\theta`
(an :class:`cmmlib.icnn.ICNN`) and an amortiser :math:`H_\phi \approx \nabla w_\theta^*`, and
generates by the paper's two steps:

1. draw :math:`Y \sim P_{w_\theta} \propto e^{-w_\theta}` by Langevin Monte Carlo
   (:meth:`~ConjugateMomentModel.sample_gibbs`);
2. map :math:`X = \nabla w_\theta^*(Y) = \arg\max_x \langle x, Y\rangle - w_\theta(x)` by the
   conjugate solver started at :math:`H_\phi(Y)` (:meth:`~ConjugateMomentModel.sample`).

For the generative-ICNN baseline (``noise="gaussian"``) step 1 draws :math:`Y \sim N(0, I)`.
:meth:`~ConjugateMomentModel.log_prob` is the unnormalised log-density of eq. (9)
(:mod:`cmmlib.monge_ampere`), exact when :math:`P_{w_\theta}` is exactly :math:`e^{-w_\theta}`.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import conjugate, langevin, monge_ampere
from .conjugate import Amortizer
from .icnn import ICNN, potential_fn
from .validation import as_points, check_positive

NOISES = ("gibbs", "gaussian")
_MODULES = {"ICNN": ICNN, "Amortizer": Amortizer}


@dataclasses.dataclass(frozen=True)
class SamplingSettings:
    """How a trained model generates.

    Attributes:
      n_steps: Langevin steps from the initial noise (uniform on ``[-init_scale, init_scale]^d``).
      step_scale: Langevin step ``h = step_scale / λ_max(∇²w)``, re-estimated after half the
        steps (the paper: 1; smaller values reduce the ULA bias, see chapter 3).
      solver_iterations: budget of the conjugate solver; it is also the length of the cosine
        decay of its step, so a budget much larger than needed is cheap (it stops at
        ``solver_tolerance``) while a short one decays the step to zero before convergence.
      solver_tolerance: the solver stops once ``max |∇w(x) - y| < solver_tolerance``.
      solver_learning_rate: initial Adam step of the solver (from the amortised start).
      init_scale: half-width of the uniform initial noise of the chains.
    """

    n_steps: int = 1000
    step_scale: float = 0.25
    solver_iterations: int = 1000
    solver_tolerance: float = 1e-4
    solver_learning_rate: float = 0.03
    init_scale: float = 2.0


def _field_to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if callable(value):  # an activation such as jax.nn.gelu, stored by name
        name = getattr(value, "__name__", "")
        if getattr(jax.nn, name, None) is not value:
            raise ValueError(f"cannot store the function {value!r}: only jax.nn functions are supported")
        return {"jax.nn": name}
    return value


def _field_from_json(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict) and set(value) == {"jax.nn"}:
        return getattr(jax.nn, value["jax.nn"])
    return value


def module_config(module: Any) -> dict[str, Any]:
    """The constructor arguments of a flax module, JSON-ready (``{"class": ..., **fields}``)."""
    fields = {
        f.name: _field_to_json(getattr(module, f.name))
        for f in dataclasses.fields(module)
        if f.init and f.name not in ("parent", "name")
    }
    return {"class": type(module).__name__, **fields}


def module_from_config(config: dict[str, Any]) -> Any:
    """Inverse of :func:`module_config`."""
    config = dict(config)
    cls = _MODULES[config.pop("class")]
    return cls(**{k: _field_from_json(v) for k, v in config.items()})


class ConjugateMomentModel:
    """A conjugate moment potential :math:`w_\\theta` with its amortised conjugate map.

    Args:
      icnn: the convex potential's module; ``icnn.apply(params, x)`` maps ``(..., d) -> (...)``.
      params: its parameters.
      amortizer: the module :math:`H_\\phi`, mapping ``(..., d) -> (..., d)``.
      amortizer_params: its parameters.
      dim: the dimension ``d``.
      noise: ``"gibbs"`` (CMFGen/CMFMA: noise from :math:`P_w`) or ``"gaussian"`` (baseline).
      sampling: :class:`SamplingSettings`.
      history: training curves, name -> array.
      manifest: how the model was made (command, seed, steps, wall time, hardware, metrics).
    """

    def __init__(
        self,
        icnn: ICNN,
        params: Any,
        amortizer: Amortizer,
        amortizer_params: Any,
        dim: int,
        noise: str = "gibbs",
        sampling: SamplingSettings = SamplingSettings(),
        history: dict[str, np.ndarray] | None = None,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.icnn, self.params = icnn, params
        self.amortizer, self.amortizer_params = amortizer, amortizer_params
        self.dim, self.noise, self.sampling = int(dim), noise, sampling
        self.history = {k: np.asarray(v) for k, v in (history or {}).items()}
        self.manifest = dict(manifest or {})
        # w as a function of one point (d,) -> (); one object per model, so that the solver and
        # the samplers, which compile per potential function, compile once per model.
        self.w = potential_fn(icnn, params)
        self._potential = jax.jit(icnn.apply)
        self._gradient = jax.jit(lambda p, x: jax.vmap(jax.grad(potential_fn(icnn, p)))(x))

    def __repr__(self) -> str:
        return f"ConjugateMomentModel(dim={self.dim}, noise={self.noise!r}, icnn={self.icnn})"

    # -- the potential ------------------------------------------------------------------------
    def _points(self, x: Any, name: str = "x") -> jax.Array:
        return as_points(x, name, dim=self.dim)

    def potential(self, x: jax.Array) -> jax.Array:
        """:math:`w_\\theta(x)` for ``x`` of shape ``(n, d)``; returns ``(n,)``."""
        return self._potential(self.params, self._points(x))

    def gradient(self, x: jax.Array) -> jax.Array:
        """:math:`\\nabla w_\\theta(x)`, the Brenier map from ρ to :math:`P_w`; ``(n, d)``."""
        return self._gradient(self.params, self._points(x))

    def log_prob(self, x: jax.Array) -> jax.Array:
        """Unnormalised :math:`\\log\\rho_\\theta(x)` by eq. (9); ``(n, d) -> (n,)``."""
        return monge_ampere.log_density(self.w, self._points(x))

    # -- generation ---------------------------------------------------------------------------
    def sample_gibbs(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` samples of the noise: :math:`P_{w_\\theta}` by Langevin, or :math:`N(0, I)`."""
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        k_init, k_chain = jax.random.split(key)
        if self.noise == "gaussian":
            return jax.random.normal(k_init, (n, self.dim))
        s = self.sampling
        y0 = jax.random.uniform(k_init, (n, self.dim), minval=-s.init_scale, maxval=s.init_scale)
        return _langevin(self.w, k_chain, y0, s.n_steps, s.step_scale)

    def transport(self, y: jax.Array) -> jax.Array:
        """:math:`\\nabla w_\\theta^*(y)` by the conjugate solver from the amortised start."""
        y = self._points(y, "y")
        s = self.sampling
        x0 = self.amortizer.apply(self.amortizer_params, y)
        return conjugate.solve(
            self.w, y, x0,
            iterations=s.solver_iterations,
            tolerance=s.solver_tolerance,
            learning_rate=s.solver_learning_rate,
        )

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` generated samples :math:`\\nabla w^*_\\theta(Y)`, shape ``(n, d)``."""
        return self.transport(self.sample_gibbs(key, n))

    # -- persistence --------------------------------------------------------------------------
    def to_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any]]:
        arrays = {"icnn": self.params, "amortizer": self.amortizer_params, "history": self.history}
        manifest = {
            **self.manifest,
            "kind": "ConjugateMomentModel",
            "dim": self.dim,
            "noise": self.noise,
            "icnn": module_config(self.icnn),
            "amortizer": module_config(self.amortizer),
            "sampling": dataclasses.asdict(self.sampling),
        }
        return arrays, manifest

    @classmethod
    def from_checkpoint(cls, arrays: dict[str, Any], manifest: dict[str, Any]) -> "ConjugateMomentModel":
        if manifest.get("kind") != "ConjugateMomentModel":
            raise ValueError(f"not a model checkpoint (kind={manifest.get('kind')!r})")
        meta = {"kind", "dim", "noise", "icnn", "amortizer", "sampling", "format_version"}
        to_jax = lambda tree: jax.tree.map(jnp.asarray, tree)  # noqa: E731
        return cls(
            icnn=module_from_config(manifest["icnn"]),
            params=to_jax(arrays["icnn"]),
            amortizer=module_from_config(manifest["amortizer"]),
            amortizer_params=to_jax(arrays["amortizer"]),
            dim=manifest["dim"],
            noise=manifest["noise"],
            sampling=SamplingSettings(**manifest["sampling"]),
            history=arrays.get("history") or {},
            manifest={k: v for k, v in manifest.items() if k not in meta},
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to the checkpoint folder ``path`` (atomic); read it with ``cmmlib.load``."""
        from .checkpoints import save

        return save(self, path)


def _langevin(w, key: jax.Array, y0: jax.Array, n_steps: int, step_scale: float) -> jax.Array:
    """Two legs of ULA, the step rule re-estimated on the particles after the first."""
    check_positive(step_scale, "step_scale")
    k1, k2 = jax.random.split(key)
    half = max(n_steps // 2, 1)
    y = langevin.ula(w, k1, y0, half, step_scale=step_scale)
    return langevin.ula(w, k2, y, max(n_steps - half, 0), step_scale=step_scale) if n_steps > half else y

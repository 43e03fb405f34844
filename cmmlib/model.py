r"""A learned conjugate moment potential, and everything it does: sample, map, score, save.

:class:`ConjugateMomentModel` is what both learners return (``cmmlib.cmfgen.fit`` from
samples, ``cmmlib.cmfma.fit`` from an energy). It holds a convex potential :math:`w_\theta`
(an :class:`cmmlib.icnn.ICNN`) and an amortiser :math:`H_\phi \approx \nabla w_\theta^*`, and
generates by the paper's two steps:

1. draw :math:`Y \sim P_{w_\theta} \propto e^{-w_\theta}` by Langevin Monte Carlo
   (:meth:`~ConjugateMomentModel.sample_gibbs`);
2. map :math:`X = \nabla w_\theta^*(Y) = \arg\max_x \langle x, Y\rangle - w_\theta(x)` by the
   conjugate solver started at :math:`H_\phi(Y)` (:meth:`~ConjugateMomentModel.sample`).

Both steps are one pure function, :func:`generate`, of the parameters, a key, ``n`` and the
:class:`~cmmlib.config.SamplingSettings`: the model calls it, and it ``vmap``s over many
models of the same architecture (:func:`generate_many`).

For the generative-ICNN baseline (``noise="gaussian"``) step 1 draws :math:`Y \sim N(0, I)`.
:meth:`~ConjugateMomentModel.log_prob` is the unnormalised log-density of eq. (9)
(:mod:`cmmlib.monge_ampere`), exact when :math:`P_{w_\theta}` is exactly :math:`e^{-w_\theta}`;
for the baseline, the same change of variables with the Gaussian noise.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import checkpoints, conjugate, langevin, monge_ampere
from .config import SamplingSettings
from .conjugate import Amortizer
from .icnn import ICNN, build_icnn, potential_fn
from .validation import as_points, check_positive

NOISES = ("gibbs", "gaussian")
KIND = "ConjugateMomentModel"
_MODULES = {"ICNN": ICNN, "Amortizer": Amortizer}


@dataclasses.dataclass(frozen=True)
class Architecture:
    """What is static about a model (hashable: it keys the compiled programs).

    Attributes:
      icnn: the module of :math:`w_\\theta`, ``(..., d) -> (...)``.
      amortizer: the module of :math:`H_\\phi \\approx \\nabla w_\\theta^*`, ``(..., d) -> (..., d)``.
      dim: the dimension ``d``.
      noise: ``"gibbs"`` (noise from :math:`P_{w_\\theta}`) or ``"gaussian"`` (:math:`N(0, I)`).
    """

    icnn: ICNN
    amortizer: Amortizer
    dim: int
    noise: str = "gibbs"

    def __post_init__(self) -> None:
        if self.noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")
        if not isinstance(self.dim, (int, np.integer)) or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")


class Generated(NamedTuple):
    """What :func:`generate` returns: the ``noise (n, d)``, the ``samples (n, d)``
    :math:`\\nabla w^*(\\text{noise})`, and the solver's ``residual (n,)``
    :math:`\\|\\nabla w(x_i) - y_i\\|` (leading model axis M from :func:`generate_many`)."""

    noise: jax.Array
    samples: jax.Array
    residual: jax.Array


def gibbs_noise(arch: Architecture, sampling: SamplingSettings, params: Any, key: jax.Array, n: int) -> jax.Array:
    r"""``n`` draws of the noise, ``(n, d)``: :math:`N(0, I)` for the baseline; else ULA on
    :math:`w_\theta` from uniform noise on ``[-init_scale, init_scale]^d``, ``n_steps`` steps in
    two legs, the step :math:`h = s/\lambda_{\max}` re-estimated on the chains after the first.
    Pure and jit-able."""
    k_init, k1, k2 = jax.random.split(key, 3)
    if arch.noise == "gaussian":
        return jax.random.normal(k_init, (n, arch.dim))
    s = sampling
    w = potential_fn(arch.icnn, params)
    y = jax.random.uniform(k_init, (n, arch.dim), minval=-s.init_scale, maxval=s.init_scale)
    half = s.n_steps // 2
    for k, steps in ((k1, half), (k2, s.n_steps - half)):
        if steps:
            y = langevin.ula(w, k, y, steps, step_scale=s.step_scale)
    return y


def transport(arch: Architecture, sampling: SamplingSettings, params: Any, amortizer_params: Any,
              y: jax.Array) -> tuple[jax.Array, jax.Array]:
    r""":math:`\nabla w_\theta^*(y)` for ``y (n, d)`` by the conjugate solver from
    :math:`H_\phi(y)`, run to ``solver_tolerance``: ``(x (n, d), residual (n,))``. Pure, jit-able."""
    s = sampling
    w = potential_fn(arch.icnn, params)
    x, info = conjugate.solve(w, y, arch.amortizer.apply(amortizer_params, y), method="adam",
                              iterations=s.solver_iterations, tolerance=s.solver_tolerance,
                              learning_rate=s.solver_learning_rate, return_info=True)
    return x, info.grad_norm


def generate(arch: Architecture, sampling: SamplingSettings, params: Any, amortizer_params: Any,
             key: jax.Array, n: int) -> Generated:
    """Noise then map: :func:`gibbs_noise` and :func:`transport` (pure, jit-able, ``vmap``-able)."""
    y = gibbs_noise(arch, sampling, params, key, n)
    x, residual = transport(arch, sampling, params, amortizer_params, y)
    return Generated(y, x, residual)


@functools.lru_cache(maxsize=32)
def _compiled(arch: Architecture, sampling: SamplingSettings, n: int, what: str, many: bool):
    fns = {
        "generate": lambda p, a, k: generate(arch, sampling, p, a, k, n),
        "noise": lambda p, a, k: gibbs_noise(arch, sampling, p, k, n),
        "transport": lambda p, a, y: transport(arch, sampling, p, a, y),
    }
    fn = fns[what]
    return jax.jit(jax.vmap(fn) if many else fn)


def generate_many(arch: Architecture, sampling: SamplingSettings, params: Any, amortizer_params: Any,
                  key: jax.Array, n: int) -> Generated:
    """:func:`generate` for M models of one architecture at once (one program, ``vmap``).

    ``params``, ``amortizer_params``: pytrees with a leading model axis M; ``key`` is split per
    model. Returns a :class:`Generated` of ``(M, n, d)``, ``(M, n, d)``, ``(M, n)``.
    """
    n_models = jax.tree.leaves(params)[0].shape[0]
    out = _compiled(arch, sampling, int(n), "generate", True)(params, amortizer_params,
                                                              jax.random.split(key, n_models))
    _warn_unconverged(out.residual, sampling.solver_tolerance)
    return out


def _warn_unconverged(residual: jax.Array, tolerance: float) -> None:
    worst = float(jnp.max(residual))
    if not worst < tolerance:
        warnings.warn(f"the conjugate solver stopped at a residual of {worst:.3g} above its tolerance "
                      f"{tolerance:g}: raise sampling.solver_iterations", RuntimeWarning, stacklevel=3)


class Networks:
    """What the learners share: the ICNN of ``icnn_settings``, the amortiser of
    ``settings.amortizer_features``, and Adam for each (``settings.optimizer``,
    ``settings.amortizer_optimizer``) with its decay over ``settings.steps``."""

    @property
    def icnn(self) -> ICNN:
        return build_icnn(self.icnn_settings)

    @property
    def amortizer(self) -> Amortizer:
        return Amortizer(features=tuple(self.settings.amortizer_features))

    def optimizers(self) -> tuple[Any, Any]:
        from .training import optimizer

        s = self.settings
        return optimizer(s.optimizer, s.steps), optimizer(s.amortizer_optimizer, s.steps)


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
      sampling: :class:`~cmmlib.config.SamplingSettings`.
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
        self.arch = Architecture(icnn, amortizer, int(dim), noise)
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
        """Unnormalised :math:`\\log\\rho_\\theta(x)` by eq. (9); ``(n, d) -> (n,)``. For the
        baseline the noise is :math:`N(0, I)`, so :math:`-\\tfrac12\\|\\nabla w(x)\\|^2` replaces
        :math:`-w(\\nabla w(x))`."""
        return monge_ampere.log_density(self.w, self._points(x), self.noise)

    # -- generation ---------------------------------------------------------------------------
    def _check_n(self, n: Any) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        return int(n)

    def sample_gibbs(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` samples of the noise: :math:`P_{w_\\theta}` by Langevin, or :math:`N(0, I)`; ``(n, d)``.
        The same key gives the noise that :meth:`sample` maps."""
        check_positive(self.sampling.step_scale, "sampling.step_scale")
        return _compiled(self.arch, self.sampling, self._check_n(n), "noise", False)(
            self.params, self.amortizer_params, key)

    def transport(self, y: jax.Array) -> jax.Array:
        """:math:`\\nabla w_\\theta^*(y)` by the conjugate solver from the amortised start; ``(n, d)``."""
        y = self._points(y, "y")
        x, residual = _compiled(self.arch, self.sampling, y.shape[0], "transport", False)(
            self.params, self.amortizer_params, y)
        _warn_unconverged(residual, self.sampling.solver_tolerance)
        return x

    def generate(self, key: jax.Array, n: int) -> Generated:
        """Noise, samples and solver residuals of :func:`generate` (one compiled program)."""
        check_positive(self.sampling.step_scale, "sampling.step_scale")
        out = _compiled(self.arch, self.sampling, self._check_n(n), "generate", False)(
            self.params, self.amortizer_params, key)
        _warn_unconverged(out.residual, self.sampling.solver_tolerance)
        return out

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` generated samples :math:`\\nabla w^*_\\theta(Y)`, shape ``(n, d)``."""
        return self.generate(key, n).samples

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to the checkpoint folder ``path`` (atomic); read it with :func:`load`."""
        arrays = {"icnn": self.params, "amortizer": self.amortizer_params, "history": self.history}
        manifest = {
            **self.manifest, "kind": KIND, "dim": self.dim, "noise": self.noise,
            "icnn": module_config(self.icnn), "amortizer": module_config(self.amortizer),
            "sampling": dataclasses.asdict(self.sampling),
        }
        return checkpoints.write(path, arrays, manifest)


def load(path: str | os.PathLike) -> ConjugateMomentModel:
    """Load a model written by :meth:`ConjugateMomentModel.save` (also ``cmmlib.load``)."""
    arrays, manifest = checkpoints.read(path)
    if manifest.get("kind") != KIND:
        raise ValueError(f"{path} is not a model checkpoint (kind={manifest.get('kind')!r}); "
                         "training states are resumed by the learners, not loaded as models")
    meta = {"kind", "dim", "noise", "icnn", "amortizer", "sampling", "format_version"}
    try:
        return ConjugateMomentModel(
            icnn=module_from_config(manifest["icnn"]),
            params=jax.tree.map(jnp.asarray, arrays["icnn"]),
            amortizer=module_from_config(manifest["amortizer"]),
            amortizer_params=jax.tree.map(jnp.asarray, arrays["amortizer"]),
            dim=manifest["dim"], noise=manifest["noise"],
            sampling=SamplingSettings(**manifest["sampling"]),
            history=arrays.get("history") or {},
            manifest={k: v for k, v in manifest.items() if k not in meta},
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"the checkpoint at {path} is incomplete or of another version: {err!r}") from err


__all__ = ["ConjugateMomentModel", "Architecture", "Generated", "SamplingSettings", "generate",
           "generate_many", "Networks", "gibbs_noise", "transport", "load", "module_config", "module_from_config", "NOISES"]

r"""The one training runner of the library: learners are ``init``/``step`` pairs, the runner does the rest.

A *learner* (CMFGen, its Gaussian-noise baseline, CMFMA) is a frozen, hashable object with

* ``name`` and ``metric_names`` (``"loss"`` among them);
* ``init(key, data) -> state``: a fresh typed state (a ``NamedTuple`` of arrays);
* ``step(state, key, data) -> (state, metrics)``: one pure training step, ``metrics`` a dict of
  scalars whose ``"loss"`` is evaluated at the *incoming* state's parameters;
* ``describe() -> dict``: its configuration, JSON-ready (recorded in manifests and compared on
  resume).

in the spirit of optax's ``GradientTransformation(init, update)``. :func:`run` owns everything
else, once: ``M`` models trained together under ``vmap`` in jitted ``lax.scan`` chunks, the
progress bar, the guard, atomic checkpoints every ``checkpoint_every`` steps, exact resume, and
the manifest.

**The guard.** Step :math:`k` reports the loss at :math:`\theta_k`. A model is *good up to*
:math:`\theta_k` when that loss is finite and below ``max_abs_loss`` in absolute value. When the
loss at :math:`\theta_k` is not, :math:`\theta_k` itself is bad, so the runner keeps
:math:`\theta_{k-1}`, the last state known good; when the update out of a good
:math:`\theta_k` is not finite, it keeps :math:`\theta_k`. Either way the model is frozen, its
``steps`` are the good steps, its history stops there, and a warning names the model and step;
the other models train on.

**Exact resume.** The checkpoint holds the whole carry (the current and last good states with
their PRNG keys, and the history), and chunk boundaries depend only on the step count, so a run
killed at any point and resumed from its last checkpoint computes the same parameters, bit for
bit, as an uninterrupted one.

**Several devices.** Under ``with jax.set_mesh(cmmlib.parallel.data_mesh(...))`` the same runner
trains data-parallel (:mod:`cmmlib.parallel`): the carry is put on the mesh with its per-sample
fields (the ``particles``) split along the ``"data"`` axis and everything else replicated, the
chunk holds that layout at every step (``with_sharding_constraint``) and GSPMD splits the work
that depends on the particles, averaging gradients by all-reduce. The parameters equal those of a
one-device run up to float reassociation. Checkpoints hold the gathered carry, written by process
0; a run may resume on another number of devices.
"""
from __future__ import annotations

import functools
import time
import warnings
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh
from tqdm.auto import tqdm

from . import checkpoints, parallel, validation
from .config import OptimizerSettings

STATE_DIR = "training_state"


class Learner(Protocol):
    name: str
    metric_names: tuple[str, ...]

    def init(self, key: jax.Array, data: Any) -> Any: ...

    def step(self, state: Any, key: jax.Array, data: Any) -> tuple[Any, dict[str, jax.Array]]: ...

    def describe(self) -> dict[str, Any]: ...


class RunState(NamedTuple):
    """A learner's state with what the runner adds: the PRNG ``key``, the good-``step`` count
    and ``ok`` (False once the guard froze the model)."""

    inner: Any
    key: jax.Array
    step: jax.Array
    ok: jax.Array


class Carry(NamedTuple):
    """The scanned carry: the ``current`` state and the ``last_good`` one (see the guard)."""

    current: RunState
    last_good: RunState


class TrainResult(NamedTuple):
    """What :func:`run` returns: the final (last good) ``states`` with a leading model axis M,
    the per-step ``history`` ``{name: (M, steps)}`` (NaN past a frozen model's last good step),
    and the run's manifest ``info`` (``status`` per model, ``steps``, wall time, hardware,
    ``resumed_from``)."""

    states: RunState
    history: dict[str, np.ndarray]
    info: dict[str, Any]

    def model_history(self, i: int) -> dict[str, np.ndarray]:
        """Model ``i``'s history, cut at its good steps."""
        n = int(np.asarray(self.states.step)[i])
        return {k: v[i, :n] for k, v in self.history.items()}


def optimizer(settings: OptimizerSettings, steps: int) -> optax.GradientTransformation:
    """Adam (``b1``, ``b2``), cosine-decayed to ``final_fraction`` over ``steps`` when
    ``settings.decay``, after clipping the global norm to ``grad_clip`` when given."""
    if not settings.learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {settings.learning_rate}")
    lr = (optax.cosine_decay_schedule(settings.learning_rate, max(int(steps), 1), alpha=settings.final_fraction)
          if settings.decay else settings.learning_rate)
    adam = optax.adam(lr, b1=settings.b1, b2=settings.b2)
    return adam if settings.grad_clip is None else optax.chain(optax.clip_by_global_norm(settings.grad_clip), adam)


def regression_step(apply, tx: optax.GradientTransformation, params: Any, opt_state: Any,
                    y: jax.Array, target: jax.Array) -> tuple[Any, Any, jax.Array]:
    r"""One ``tx`` step on :math:`\frac1n\sum_i\|f(y_i) - \mathrm{sg}(t_i)\|^2` (the amortiser's
    regression); returns ``(params, opt_state, loss)``."""
    target = jax.lax.stop_gradient(target)
    loss, grads = jax.value_and_grad(lambda p: jnp.mean(jnp.sum((apply(p, y) - target) ** 2, axis=-1)))(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def _select(flag: jax.Array, a: Any, b: Any) -> Any:
    return jax.tree.map(lambda u, v: jnp.where(flag, u, v), a, b)


def _all_finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)
              if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def _guarded_step(learner: Learner, max_abs_loss: float, data: Any, carry: Carry):
    current = carry.current
    key, sub = jax.random.split(current.key)
    inner, metrics = learner.step(current.inner, sub, data)
    loss = metrics["loss"]
    current_good = current.ok & jnp.isfinite(loss) & (jnp.abs(loss) < max_abs_loss)
    advance = current_good & _all_finite(inner)
    last_good = _select(current_good, current, carry.last_good)
    moved = RunState(inner, key, current.step + 1, jnp.asarray(True))
    frozen = current._replace(ok=jnp.asarray(False))
    new = _select(advance, moved, _select(current.ok, frozen, current))
    metrics = {k: jnp.where(advance, jnp.asarray(v, jnp.float32), jnp.nan) for k, v in metrics.items()}
    return Carry(new, last_good), metrics


@functools.lru_cache(maxsize=32)
def _chunk_fn(learner: Learner, n_steps: int, max_abs_loss: float, shared_data: bool, mesh: Mesh | None):
    """Jitted ``(data, carry (M, ...)) -> (carry, metrics {name: (M, n_steps)})``; on a ``mesh``,
    each step's carry is held to :func:`cmmlib.parallel.partition_specs`' layout."""

    def one_step(data, carry):
        carry, metrics = _guarded_step(learner, max_abs_loss, data, carry)
        return (carry if mesh is None else parallel.constrain(carry, mesh)), metrics

    def one_model(data, carry):
        return jax.lax.scan(lambda c, _: one_step(data, c), carry, None, length=n_steps)

    return jax.jit(jax.vmap(one_model, in_axes=(None if shared_data else 0, 0)))


def _boundary(done: int, chunk: int, every: int | None) -> int:
    """Steps of the next chunk: at most ``chunk``, ending on a multiple of ``every``."""
    n = chunk - done % chunk
    if every:
        n = min(n, every - done % every)
    return n


def _identity(learner: Learner, n_models: int, data: Any) -> dict[str, Any]:
    shapes = [list(np.shape(leaf)) for leaf in jax.tree.leaves(data)]
    return {"learner": learner.name, "config": learner.describe(), "n_models": n_models, "data_shapes": shapes}


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    return {k: v for key, sub in tree.items() for k, v in _flatten(sub, f"{prefix}.{key}" if prefix else key).items()}


def _load(folder: Path, template: Carry, history: dict[str, np.ndarray],
          identity: dict[str, Any]) -> tuple[Carry, dict[str, np.ndarray], dict]:
    saved = checkpoints.read_manifest(folder)
    now, before = _flatten(checkpoints.to_builtin(identity)), _flatten({k: saved.get(k) for k in identity})
    changed = {k: (before.get(k), now.get(k)) for k in sorted(set(now) | set(before)) if now.get(k) != before.get(k)}
    if changed:
        raise ValueError(f"cannot resume from {folder}: it was trained with other settings "
                         + "; ".join(f"{k}: {a!r} then, {b!r} now" for k, (a, b) in changed.items())
                         + ". Use another checkpoint folder, or resume=False to start over.")
    arrays, manifest = checkpoints.read(folder, target={"carry": template, "history": history})
    carry = jax.tree.map(jnp.asarray, arrays["carry"])
    history = {k: np.asarray(v) for k, v in arrays["history"].items()}
    return carry, history, manifest


def saved_step(checkpoint_dir: str | Path) -> int | None:
    """The step of the training state that :func:`run` would resume from in ``checkpoint_dir``
    (``None`` when there is none)."""
    folder = Path(checkpoint_dir) / STATE_DIR
    return int(checkpoints.read_manifest(folder)["step"]) if checkpoints.exists(folder) else None


def run(
    learner: Learner,
    data: Any,
    keys: jax.Array,
    steps: int,
    *,
    chunk: int = 250,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = True,
    max_abs_loss: float = 1e6,
    shared_data: bool = False,
    manifest: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``M = len(keys)`` models of ``learner`` for ``steps`` steps (see the module docstring).

    Args:
      learner: the learner (hashable: it keys the compiled chunks).
      data: a pytree of arrays with a leading model axis M (``shared_data=False``), or one
        pytree shared by all models (``shared_data=True``); ``None`` when the learner needs none.
      keys: ``(M, 2)`` PRNG keys, one per model.
      steps: total steps of the run (a resumed run continues up to it).
      chunk: steps per jitted ``lax.scan`` chunk.
      checkpoint_dir: folder of the training state (written atomically every
        ``checkpoint_every`` steps and at the end); ``None``: no checkpoints.
      resume: continue from ``checkpoint_dir``'s state when there is one (it must come from the
        same learner, configuration, number of models and data shapes).
      progress: show a progress bar.
      max_abs_loss: a loss larger than this in absolute value counts as exploding.
      manifest: extra entries for the manifest.

    Under ``jax.set_mesh(mesh)`` with a ``"data"`` axis of D devices the run is data-parallel
    (module docstring; ``ValueError`` unless D divides the batch); the returned states stay on
    the mesh (parameters replicated, particles split) and ``info["data_parallel"]`` describes it.
    """
    steps = validation.check_count(steps)
    chunk = validation.check_count(chunk, "chunk", 1)
    if checkpoint_every is not None:
        checkpoint_every = validation.check_count(checkpoint_every, "checkpoint_every", 1)
    if not max_abs_loss > 0:
        raise ValueError(f"max_abs_loss must be positive, got {max_abs_loss}")
    keys = jnp.asarray(keys)
    if keys.ndim != 2 or keys.shape[0] < 1:
        raise ValueError(f"keys must have shape (M, 2) (one PRNG key per model), got {keys.shape}")
    n_models = keys.shape[0]
    folder = None if checkpoint_dir is None else checkpoints.check_writable(checkpoint_dir) / STATE_DIR
    identity = _identity(learner, n_models, data)
    mesh = parallel.active_mesh()

    k_init, k_loop = jax.vmap(lambda k: jnp.stack(jax.random.split(k)))(keys).transpose(1, 0, 2)
    init = jax.vmap(learner.init, in_axes=(0, None if shared_data else 0))
    if mesh is not None:  # one compiled program, its output laid out on the mesh
        shapes = jax.eval_shape(init, k_init, data)
        parallel.check_divisible(shapes, mesh, leading=1)
        init = jax.jit(init, out_shardings=parallel.shardings(shapes, mesh, leading=1))
    inner = init(k_init, data)
    start_state = RunState(inner, k_loop, jnp.zeros((n_models,), jnp.int32), jnp.ones((n_models,), bool))
    carry = Carry(start_state, start_state)
    history = {k: np.zeros((n_models, 0), np.float32) for k in learner.metric_names}
    wall_before, resumed_from = 0.0, None
    if resume and folder is not None and checkpoints.exists(folder):
        carry, history, saved = _load(folder, carry, history, identity)
        wall_before, resumed_from = float(saved.get("wall_time_s", 0.0)), int(saved["step"])
    if mesh is not None:
        carry, data = parallel.place(carry, mesh, leading=1), parallel.place(data, mesh)

    info = {**(manifest or {}), **identity, "metric_names": list(learner.metric_names),
            "data_parallel": None if mesh is None else parallel.describe(mesh)}
    done = history[learner.metric_names[0]].shape[1]
    if done > steps:
        raise ValueError(f"the checkpoint in {folder} is at step {done}, past the {steps} steps asked for")
    start = time.perf_counter()
    bar = tqdm(total=steps, initial=done, disable=not progress, desc=learner.name)
    while done < steps:
        n = min(_boundary(done, chunk, checkpoint_every), steps - done)
        carry, metrics = _chunk_fn(learner, n, float(max_abs_loss), shared_data, mesh)(data, carry)
        metrics = jax.device_get(metrics)
        history = {k: np.concatenate([history[k], np.asarray(metrics[k], np.float32)], axis=1) for k in history}
        done += n
        bar.update(n)
        alive = np.asarray(carry.current.ok)
        if alive.any():
            bar.set_postfix(loss=f"{np.nanmean(metrics['loss'][alive, -1]):.4g}")
        if folder is not None and ((checkpoint_every and done % checkpoint_every == 0) or done == steps
                                   or not alive.any()):
            gathered = carry if mesh is None else parallel.replicate(carry, mesh)  # every process takes part
            if jax.process_index() == 0:
                checkpoints.write(folder, {"carry": gathered, "history": history},
                                  {**info, "step": done, "wall_time_s": wall_before + time.perf_counter() - start})
        if not alive.any():
            break
    bar.close()

    ok = np.asarray(carry.current.ok)
    final = jax.vmap(_select)(jnp.asarray(ok), carry.current, carry.last_good)
    if mesh is not None:
        final = parallel.place(final, mesh, leading=1)
    good_steps = np.asarray(final.step)
    for i in np.flatnonzero(~ok):  # the step that produced the bad state is not a good step
        for values in history.values():
            values[i, good_steps[i]:] = np.nan
    status = ["completed" if o else f"stopped at step {s}: non-finite or exploding loss (|loss| > {max_abs_loss:g}); "
              f"the last good state (step {s}) is kept" for o, s in zip(ok, good_steps)]
    if not ok.all():
        warnings.warn(f"{learner.name}: model(s) {np.flatnonzero(~ok).tolist()} " + status[int(np.argmin(ok))],
                      RuntimeWarning, stacklevel=2)
    info.update(steps=[int(s) for s in good_steps], status=status, resumed_from=resumed_from,
                wall_time_s=wall_before + time.perf_counter() - start, hardware=checkpoints.hardware())
    return TrainResult(final, history, info)


def model_manifest(result: TrainResult, i: int) -> dict[str, Any]:
    """The manifest of model ``i`` of a run: the run's, with its own ``steps`` and ``status``."""
    info = dict(result.info)
    info.update(steps=info["steps"][i], status=info["status"][i], model_index=i)
    return info


__all__ = ["Learner", "RunState", "Carry", "TrainResult", "run", "optimizer", "regression_step",
           "model_manifest", "STATE_DIR"]

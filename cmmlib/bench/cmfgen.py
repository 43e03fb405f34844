"""Benchmark of CMFGen's training step against ott-jax's W2NeuralDual, in 2D and at d = 784, and
where the step's time goes.

Each setting is an ICNN width and a batch, the same for both methods: 2D (4x64, batch 512, the
``cpu`` profile's 2D loop, on the circles) and d = 784 (the ``cpu`` profile's image loop and
widths, 4x256, on 28x28 MNIST digits, at batch 16: see item 2).

1. CMFGen: seconds per step of :class:`cmmlib.cmfgen.CMFGen` (5 ULA steps with
   ``h = 0.25 / lambda_max``, 20 Adam steps of the conjugate solver from the amortiser, one dual
   and one amortiser step), as one jitted ``lax.scan`` over a chunk of steps (how
   :mod:`cmmlib.training` runs it), divided by the chunk's length; timed in rounds with item 2.
2. ``ott.neural.methods.neuraldual.W2NeuralDual`` (ott-jax 0.6.0) with ICNNs of the same widths
   for ``f`` and ``g``, the same batch and its default conjugate solver (jaxopt L-BFGS, at most 10
   iterations, started from ``g``): seconds per call of its jitted ``train_step_parallel``
   (compiled ahead of time, not timed), one call per step as its own loop does; and its
   conjugate solve alone (L-BFGS on ``f`` vmapped over the batch from ``grad g``, as its loss
   runs it). Ratio: W2NeuralDual / CMFGen (goal: at least 30). At d = 784 a W2NeuralDual step
   took about 40 seconds at batch 16 on the project's 2-core CPU, so it is timed once there, at
   that batch.
3. Where CMFGen's step goes: the power iteration for ``lambda_max`` (Hessian-vector products),
   the ULA steps and the conjugate solve, each jitted alone at the step's shapes, their runs
   interleaved; the rest (dual and amortiser updates, minibatch) is the step minus these (zero
   when the parts timed alone add up to more than the fused step). One batched gradient of
   ``w`` is timed too, so the step reads as a number of gradient passes.

All times are medians of repeats, compilation excluded, in this process.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable

import jax
import jax.numpy as jnp

from cmmlib import cmfgen, config, conjugate, langevin
from cmmlib.bench._timing import peak_memory_bytes, timed, timed_together
from cmmlib.icnn import potential_fn


@dataclasses.dataclass(frozen=True)
class Setting:
    """One comparison: ``label``, data ``dim``, ``batch`` and ICNN hidden ``features``; CMFGen
    steps per timed ``chunk``; ``ott_steps``: rounds in which a CMFGen chunk, a W2NeuralDual
    step and its conjugate solve are timed in turn."""

    label: str
    dim: int
    batch: int
    features: tuple[int, ...]
    chunk: int
    ott_steps: int


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The settings compared and the repeats of the breakdown's timings."""

    settings: tuple[Setting, ...]
    repeats: int


FULL = Sizes(settings=(Setting("2d", 2, 512, (64,) * 4, chunk=20, ott_steps=3),
                       Setting("d784", 784, 16, (256,) * 4, chunk=4, ott_steps=1)), repeats=3)
QUICK = Sizes(settings=(Setting("2d", 2, 64, (16, 16), chunk=2, ott_steps=1),), repeats=1)
#: the profile whose CMFGen loop is timed (its widths and batch are replaced by the setting's)
PROFILE = "cpu"
GOAL_SPEEDUP = 30.0


def learner(dim: int, batch: int, features: tuple[int, ...], amortizer_features: tuple[int, ...] | None = None,
            noise: str = "gibbs") -> cmfgen.CMFGen:
    """The ``cpu`` profile's CMFGen learner for dimension ``dim`` with the given batch, ICNN widths
    and (optionally) amortiser widths."""
    base = config.cmfgen(PROFILE, dim=dim)
    settings = dataclasses.replace(base, batch_size=batch, icnn=dataclasses.replace(base.icnn, features=features),
                                   amortizer_features=amortizer_features or base.amortizer_features)
    return cmfgen.CMFGen(settings, noise, dim)


def step_program(lr: cmfgen.CMFGen, data: jax.Array, chunk: int) -> tuple[Callable[[], Any], int | None]:
    """A function of no argument that runs one ``lax.scan`` of ``chunk`` training steps of ``lr``
    on ``data`` (compiled ahead of time, here), and XLA's estimate of that program's peak memory
    (the scan reuses one step's buffers)."""
    state = jax.jit(lr.init)(jax.random.PRNGKey(0), data)
    keys = jax.random.split(jax.random.PRNGKey(1), chunk)
    run = jax.jit(lambda s, ks, d: jax.lax.scan(lambda c, k: lr.step(c, k, d), s, ks))
    compiled = run.lower(state, keys, data).compile()
    return (lambda: compiled(state, keys, data)), peak_memory_bytes(compiled)


def step_time(lr: cmfgen.CMFGen, data: jax.Array, chunk: int, repeats: int) -> dict[str, Any]:
    """Seconds per training step of ``lr`` on ``data`` (:func:`step_program`, timed after one
    untimed run) and the program's peak memory."""
    run, peak = step_program(lr, data, chunk)
    return {"step": timed(run, repeats)[1].per(chunk).as_dict(), "step_peak_bytes": peak}


def w2neuraldual_programs(data: jax.Array, batch: int, features: tuple[int, ...]) -> dict[str, Callable[[], Any]]:
    """Functions of no argument running one W2NeuralDual training step (ICNNs ``features`` for f
    and g, default L-BFGS conjugate solver, ``data`` against ``N(0, I)`` noise; its state moves on
    with each call) and its conjugate solve alone, as its loss runs it (L-BFGS on ``f`` vmapped
    over the batch, started from ``grad g``); both compiled ahead of time, here."""
    from ott.neural.methods.neuraldual import W2NeuralDual
    from ott.neural.networks.icnn import ICNN as OttICNN

    dim = data.shape[1]
    nets = [OttICNN(dim_data=dim, dim_hidden=list(features), pos_weights=True) for _ in range(2)]
    solver = W2NeuralDual(dim, neural_f=nets[0], neural_g=nets[1], rng=jax.random.PRNGKey(0))
    batch_dict = {"source": data[:batch], "target": jax.random.normal(jax.random.PRNGKey(1), (batch, dim))}
    states = [solver.state_f, solver.state_g]
    step = solver.train_step_parallel.lower(states[0], states[1], batch_dict).compile()

    def one_step():
        states[0], states[1], *_ = step(states[0], states[1], batch_dict)
        return states[0].params

    f, g = solver.state_f, solver.state_g
    conjugate_solve = jax.jit(lambda y: jax.vmap(lambda yi, xi: solver.conjugate_solver.solve(
        f.potential_value_fn(f.params), yi, x_init=xi).grad)(y, g.potential_gradient_fn(g.params)(y)))
    target = batch_dict["target"]
    solve = conjugate_solve.lower(target).compile()
    return {"w2neuraldual": one_step, "w2neuraldual_conjugate_solve": lambda: solve(target)}


def breakdown(lr: cmfgen.CMFGen, data: jax.Array, repeats: int) -> dict[str, dict[str, float | int]]:
    """Seconds of the parts of one CMFGen step, each jitted alone at the step's shapes (module
    docstring, item 3), and of one batched gradient of ``w``."""
    s = lr.settings
    state = jax.jit(lr.init)(jax.random.PRNGKey(0), data)
    w_of = lambda p: potential_fn(lr.icnn, p)
    y, key = state.particles, jax.random.PRNGKey(2)
    parts = {
        "lambda_max": jax.jit(lambda p, y: langevin.lambda_max(w_of(p), y, key, n_iter=s.langevin.lambda_iterations)),
        "ula": jax.jit(lambda p, y: langevin.ula(w_of(p), key, y, s.langevin.steps, step_size=0.1)),
        "conjugate_solve": jax.jit(lambda p, y: conjugate.solve(
            w_of(p), y, lr.amortizer.apply(state.amortizer_params, y), method="adam", tolerance=None,
            iterations=s.solver.iterations, learning_rate=s.solver.learning_rate)),
        "gradient": jax.jit(lambda p, y: jax.vmap(jax.grad(w_of(p)))(y)),
    }
    runs = timed_together({name: lambda f=f: f(state.params, y) for name, f in parts.items()}, repeats)
    return {name: t.as_dict() for name, (_, t) in runs.items()}


def _data(dim: int) -> tuple[jax.Array, str]:
    """The circles in 2D, else MNIST digits average-pooled to ``dim`` pixels; and their name."""
    if dim == 2:
        from cmmlib.datasets import toy2d

        return toy2d("circles", 4096, jax.random.PRNGKey(0)), "circles"
    from cmmlib import datasets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # offline: the shipped subset (named in the report)
        side = int(round(dim ** 0.5))
        return jnp.asarray(datasets.mnist("train", size=side)), f"{datasets.mnist_source()}, {side}x{side}"


def compare(setting: Setting, sizes: Sizes) -> dict[str, Any]:
    """CMFGen against W2NeuralDual at one setting, and CMFGen's breakdown."""
    data, source = _data(setting.dim)
    lr = learner(setting.dim, setting.batch, setting.features)
    cmfgen_chunk, _ = step_program(lr, data, setting.chunk)
    jax.block_until_ready(cmfgen_chunk())  # one untimed run; the ott-jax programs run first when timed
    runs = timed_together({"cmfgen": cmfgen_chunk, **w2neuraldual_programs(data, setting.batch, setting.features)},
                          setting.ott_steps, warmup=0)
    ours = runs["cmfgen"][1].per(setting.chunk)
    ott, ott_solve = runs["w2neuraldual"][1], runs["w2neuraldual_conjugate_solve"][1]
    parts = breakdown(lr, data, sizes.repeats)
    step_s = ours.median_s
    named = sum(parts[k]["median_s"] for k in ("lambda_max", "ula", "conjugate_solve"))
    return {
        "dim": setting.dim, "data": source, "batch": setting.batch, "features": list(setting.features),
        "langevin_steps": lr.settings.langevin.steps, "lambda_iterations": lr.settings.langevin.lambda_iterations,
        "solver_iterations": lr.settings.solver.iterations,
        "cmfgen": ours.as_dict(), "w2neuraldual": ott.as_dict(), "w2neuraldual_conjugate_solve": ott_solve.as_dict(),
        "w2neuraldual_conjugate_fraction": ott_solve.median_s / ott.median_s,
        "speedup_x": ott.median_s / step_s, "goal_speedup_x": GOAL_SPEEDUP,
        "breakdown": parts,
        "share": {**{f"{k}_fraction": parts[k]["median_s"] / step_s for k in ("lambda_max", "ula", "conjugate_solve")},
                  "rest_fraction": max(0.0, 1.0 - named / step_s)},
        "gradient_passes_per_step_x": step_s / parts["gradient"]["median_s"],
    }


def main(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    results = {}
    for setting in sizes.settings:
        r = compare(setting, sizes)
        results[setting.label] = r
        share = ", ".join(f"{k.removesuffix('_fraction')} {v:.0%}" for k, v in r["share"].items())
        print(f"d = {r['dim']}, ICNN {'x'.join(map(str, r['features']))}, batch {r['batch']}: CMFGen "
              f"{1e3 * r['cmfgen']['median_s']:.1f} ms/step, W2NeuralDual {1e3 * r['w2neuraldual']['median_s']:.0f} "
              f"ms/step -> {r['speedup_x']:.1f}x (goal >= {GOAL_SPEEDUP:.0f}x); W2NeuralDual's conjugate solve "
              f"alone {r['w2neuraldual_conjugate_fraction']:.0%} of its step\n"
              f"  CMFGen's step: {share}; = {r['gradient_passes_per_step_x']:.0f} batched gradients of w", flush=True)
    return results


if __name__ == "__main__":
    main()

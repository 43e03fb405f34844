"""Benchmark of CMFGen (chapter 4): speed per training step against ott-jax's W2NeuralDual,
and quality per step budget against the Gaussian-noise baseline.

Speed. One training step of CMFGen (5 ULA steps, 20 amortised conjugate steps, one dual and
one amortiser step; jitted ``lax.scan`` chunk) against one step of
``ott.neural.methods.neuraldual.W2NeuralDual`` with its default set-up (ICNNs of the same
widths 4×64 for ``f`` and ``g``, default L-BFGS conjugate solver), same batch, timed side by
side in this process after compilation. Goal: CMFGen at least 30× faster per step.

Quality. CMFGen and the baseline trained for a few budgets on one data set; the Sinkhorn
divergence to held-out samples divided by the target-vs-target floor (1 = indistinguishable
from a fresh target batch).
"""
from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp

from cmmlib import cmfgen, config, evaluation
from cmmlib.datasets import toy2d

SPEED_BATCH = 128
SPEED_ITERS = 5
QUALITY_DATASET = "circles"


def _time_cmfgen(data: jnp.ndarray, batch: int, n_steps: int) -> float:
    """Seconds per CMFGen step (one jitted chunk of ``n_steps``; the second of two identical
    runs, so compilation is not counted)."""
    settings = dataclasses.replace(config.cmfgen("cpu"), batch_size=batch, chunk=n_steps, steps=n_steps)
    for _ in range(2):
        start = time.perf_counter()
        result = cmfgen.train(data, jax.random.PRNGKey(0)[None], settings=settings, progress=False)
        jax.block_until_ready(result.run.states)
    return (time.perf_counter() - start) / n_steps


def _time_w2neuraldual(data: jnp.ndarray, batch: int, n_iters: int) -> float:
    """Seconds per W2NeuralDual training step (default L-BFGS conjugate solver), after compilation."""
    from ott.neural.methods.neuraldual import W2NeuralDual
    from ott.neural.networks.icnn import ICNN as OttICNN

    dim = data.shape[1]
    solver = W2NeuralDual(dim, neural_f=OttICNN(dim_data=dim, dim_hidden=[64, 64, 64, 64]),
                          neural_g=OttICNN(dim_data=dim, dim_hidden=[64, 64, 64, 64]),
                          num_train_iters=n_iters, rng=jax.random.PRNGKey(0))
    noise = jax.random.normal(jax.random.PRNGKey(1), (batch, dim))
    batch_dict = {"source": data[:batch], "target": noise}
    state_f, state_g = solver.state_f, solver.state_g
    out = solver.train_step_parallel(state_f, state_g, batch_dict)
    jax.block_until_ready(out)
    start = time.perf_counter()
    for _ in range(n_iters):
        state_f, state_g, *_ = solver.train_step_parallel(state_f, state_g, batch_dict)
    jax.block_until_ready(state_f.params)
    return (time.perf_counter() - start) / n_iters


def speed(batch: int = SPEED_BATCH, n_iters: int = SPEED_ITERS) -> dict[str, float]:
    """Seconds per step of CMFGen and W2NeuralDual at the same batch, and their ratio."""
    data = toy2d(QUALITY_DATASET, 4096, jax.random.PRNGKey(0))
    ott_step = _time_w2neuraldual(data, batch, n_iters)
    ours = _time_cmfgen(data, batch, 100)
    return {"batch": batch, "cmfgen_s_per_step": ours, "w2neuraldual_s_per_step": ott_step,
            "speedup": ott_step / ours}


def quality(budgets: tuple[int, ...], dataset: str = QUALITY_DATASET, profile: str | None = None,
            n_eval: int = 2048) -> list[dict[str, float]]:
    """Divergence / floor of CMFGen and the baseline after each budget of steps (one seed)."""
    data = evaluation.toy_train_set(dataset, config.chapter4(profile).n_train)
    held = evaluation.toy_batches(dataset, n_eval, 1)
    floor = evaluation.floors(dataset, n_eval, 1)["coarse"]
    rows = []
    for steps in budgets:
        row = {"steps": steps, "floor": floor}
        for noise in cmfgen.NOISES:
            start = time.perf_counter()
            model = cmfgen.fit(data, jax.random.PRNGKey(0), steps=steps, noise=noise, profile=profile, progress=False)
            row[f"{noise}_wall_s"] = time.perf_counter() - start
            row[noise] = evaluation.divergences(model.sample(jax.random.PRNGKey(4), n_eval), held)["coarse"]
        rows.append(row)
    return rows


def main() -> None:
    print(f"devices: {jax.devices()}")
    s = speed()
    print(f"speed at batch {s['batch']}: CMFGen {1e3 * s['cmfgen_s_per_step']:.1f} ms/step, "
          f"W2NeuralDual {1e3 * s['w2neuraldual_s_per_step']:.1f} ms/step -> "
          f"CMFGen is {s['speedup']:.0f}x faster per step (goal >= 30x)")
    profile = config.profile_name()
    budgets = (100,) if profile == "ci" else (500, 2000)
    for row in quality(budgets, profile=profile):
        print(f"{QUALITY_DATASET} after {row['steps']} steps: divergence/floor CMFGen "
              f"{row['gibbs'] / row['floor']:.1f} ({row['gibbs_wall_s']:.0f} s), baseline "
              f"{row['gaussian'] / row['floor']:.1f} ({row['gaussian_wall_s']:.0f} s); "
              f"floor {row['floor']:.4f}")


if __name__ == "__main__":
    main()

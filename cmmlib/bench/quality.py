"""Benchmark of steps to quality: how many CMFGen training steps (and seconds) each of the paper's
five 2D sets needs before its samples come within a multiple of the floor, against the
Gaussian-noise baseline.

The five sets of :data:`cmmlib.datasets.PAPER_TOY2D` are trained together (one compiled program,
``vmap`` over the five models, one seed) with the ``cpu`` profile's 2D settings at the batch of
:data:`FULL`, for each noise (CMFGen: Gibbs noise; baseline: ``N(0, I)``), in stages: after each
budget of :data:`FULL` the run is evaluated and resumed (the learning-rate decay spans the
largest budget). Evaluation follows :mod:`cmmlib.evaluation`: the Sinkhorn divergence of
``eval_size`` generated points to as many held-out ones, divided by the target-vs-target
floor. Steps to quality: the first budget whose divergence is below each of ``THRESHOLDS`` times the
floor (``None``: not within the budgets), with the training seconds spent up to it (all five
sets together).
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cmmlib import cmfgen, config, evaluation
from cmmlib.datasets import PAPER_TOY2D

#: "quality": a divergence within these multiples of the target-vs-target floor
THRESHOLDS = (8.0, 5.0)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """``budgets``: training steps at which the models are evaluated; ``batch``: training batch;
    ``eval_size``: points per divergence; ``langevin_steps``: Langevin steps of the evaluation's
    sampler; ``datasets``: the 2D sets."""

    budgets: tuple[int, ...]
    batch: int
    eval_size: int
    langevin_steps: int
    datasets: tuple[str, ...] = PAPER_TOY2D


FULL = Sizes(budgets=(200, 400, 800), batch=256, eval_size=1024, langevin_steps=200)
QUICK = Sizes(budgets=(5, 10), batch=32, eval_size=64, langevin_steps=10, datasets=PAPER_TOY2D[:2])


def _settings(sizes: Sizes) -> config.CMFGenSettings:
    base = config.cmfgen("cpu", dim=2)
    return dataclasses.replace(base, batch_size=sizes.batch, chunk=min(base.chunk, sizes.budgets[0]),
                               sampling=dataclasses.replace(base.sampling, n_steps=sizes.langevin_steps))


def curves(sizes: Sizes) -> dict[str, Any]:
    """Divergence / floor per set, noise and budget, and the training seconds."""
    n_train = config.chapter4("cpu").n_train
    data = jnp.stack([evaluation.toy_train_set(name, n_train) for name in sizes.datasets])
    heldout = {name: evaluation.toy_batches(name, sizes.eval_size, 1) for name in sizes.datasets}
    floors = {name: evaluation.floors(name, sizes.eval_size, 1)["coarse"] for name in sizes.datasets}
    keys = jnp.stack([jax.random.PRNGKey(0)] * len(sizes.datasets))
    settings = _settings(sizes)
    out: dict[str, Any] = {name: {"floor_divergence": floors[name]} for name in sizes.datasets}
    for noise in cmfgen.NOISES:
        with tempfile.TemporaryDirectory() as folder:
            train_s = 0.0
            for budget in sizes.budgets:
                start = time.perf_counter()
                result = cmfgen.train(data, keys, budget, noise, settings=settings, decay_steps=sizes.budgets[-1],
                                      checkpoint_dir=Path(folder) / noise, resume=True, progress=False)
                jax.block_until_ready(result.run.states)
                train_s += time.perf_counter() - start
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # unconverged solves show in the divergence
                    samples = np.asarray(result.generate(jax.random.PRNGKey(budget), sizes.eval_size).samples)
                for i, name in enumerate(sizes.datasets):
                    div = evaluation.divergences(samples[i], heldout[name])["coarse"]
                    out[name].setdefault(noise, []).append(
                        {"steps": budget, "train_s": train_s, "divergence": div, "vs_floor_x": div / floors[name]})
    return out


def steps_to_quality(rows: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """The first row within ``threshold`` times the floor: its steps and training seconds."""
    for row in rows:
        if row["vs_floor_x"] <= threshold:
            return {"threshold_x": threshold, "steps": row["steps"], "train_s": row["train_s"]}
    return {"threshold_x": threshold, "steps": None, "train_s": None}


def main(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    per_set = curves(sizes)
    for name, r in per_set.items():
        for noise in cmfgen.NOISES:
            r[f"{noise}_to_quality"] = [steps_to_quality(r[noise], t) for t in THRESHOLDS]
        line = "; ".join(f"{'CMFGen' if noise == 'gibbs' else 'baseline'} "
                         + " ".join(f"{row['vs_floor_x']:.1f}" for row in r[noise]) + " -> "
                         + ", ".join(f"{q['threshold_x']:g}x floor: {q['steps'] or 'not'}"
                                     for q in r[f"{noise}_to_quality"])
                         for noise in cmfgen.NOISES)
        print(f"{name:>22s}: divergence / floor after {list(sizes.budgets)} steps: {line}", flush=True)
    return {"thresholds_x": list(THRESHOLDS), "budgets": list(sizes.budgets), "batch": sizes.batch,
            "eval_size": sizes.eval_size, "eval_langevin_steps": sizes.langevin_steps, "datasets": per_set}

"""Benchmark of generation after training: samples (images) per second of the shipped CMFGen models
and their baselines, noise and map apart.

Models: the CMFGen models shipped with the book, ``circles`` (2D), ``mnist14`` (14x14 digits,
d = 196) and ``cartoon12`` (12x12 colour faces, d = 432), each with its Gaussian-noise baseline.
A CMFGen sample is Langevin on ``w`` from uniform noise (the model's ``sampling.n_steps`` ULA
steps, ``h = step_scale / lambda_max``) then the conjugate solver from the amortiser to the
model's tolerance; a baseline sample skips the Langevin part (``N(0, I)`` noise). Timed: the
whole of :meth:`~cmmlib.model.ConjugateMomentModel.generate` for a batch of ``n`` (one compiled
program), and the noise alone (:meth:`~cmmlib.model.ConjugateMomentModel.sample_gibbs`), their
runs interleaved; the map is the difference. Medians of repeats after a compiling run. No 28x28
model is shipped, so d = 784 is not measured here.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import jax

from cmmlib import zoo
from cmmlib.bench._timing import timed_together


@dataclasses.dataclass(frozen=True)
class Sizes:
    """``models``: (shipped data set name, samples per batch); ``repeats`` of each timing."""

    models: tuple[tuple[str, int], ...]
    repeats: int


FULL = Sizes(models=(("circles", 2048), ("mnist14", 128), ("cartoon12", 128)), repeats=2)
QUICK = Sizes(models=(("circles", 64),), repeats=1)


def generation(name: str, noise: str, n: int, repeats: int) -> dict[str, Any]:
    """Seconds to generate ``n`` samples of a shipped model, and of its noise alone (CMFGen)."""
    model = zoo.cmfgen(name, noise, 0)
    key = jax.random.PRNGKey(0)
    s = model.sampling
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # unconverged solves: the residual is reported
        fns = {"generate": lambda: model.generate(key, n)}
        if noise == "gibbs":
            fns["noise"] = lambda: model.sample_gibbs(key, n)
        runs = timed_together(fns, repeats)
        out, t = runs["generate"]
        row: dict[str, Any] = {
            "dim": model.dim, "n": n, "langevin_steps": s.n_steps if noise == "gibbs" else 0,
            "solver_iterations_max": s.solver_iterations, "solver_tolerance": s.solver_tolerance,
            "final_residual": float(out.residual.max()), "generate": t.as_dict(),
            "samples_per_s": n / t.median_s,
        }
        if noise == "gibbs":
            noise_t = runs["noise"][1]
            row["noise"] = noise_t.as_dict()
            row["noise_fraction"] = min(1.0, noise_t.median_s / t.median_s)
    return row


def main(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    results: dict[str, Any] = {}
    for name, n in sizes.models:
        results[name] = {noise: generation(name, noise, n, sizes.repeats) for noise in ("gibbs", "gaussian")}
        g, b = results[name]["gibbs"], results[name]["gaussian"]
        results[name]["baseline_vs_cmfgen_x"] = b["samples_per_s"] / g["samples_per_s"]
        print(f"{name} (d = {g['dim']}, batches of {n}): CMFGen {g['samples_per_s']:.0f} samples/s "
              f"(Langevin {g['noise_fraction']:.0%} of the time, {g['langevin_steps']} steps), baseline "
              f"{b['samples_per_s']:.0f} samples/s (map only)", flush=True)
    return results


if __name__ == "__main__":
    main()

"""Can the ICNN represent sharp circles at all? Fit its gradient to the exact map, then look.

The generative-ICNN baseline on the circles has a known target: the Brenier map from the
(rotation-invariant) circles to N(0, I), radial and jumping across the gap between the rings
(:func:`cmmlib.gaussian.radial_map_to_normal`). This script regresses the gradient of an ICNN
on it (:func:`cmmlib.icnn.fit_gradient`, supervised: no dual objective, no sampler, no solver)
for each architecture and seed, and measures the generated law of the fitted potential with
:func:`cmmlib.evaluation.density_sharpness` at several budgets. Chapter 4 reads the result.

    python scripts/sharpness_capacity.py            # writes the shipped JSON (about 40 min on 2 CPU cores)
    python scripts/sharpness_capacity.py --architectures softplus20   # adds or replaces one
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import cmmlib as cmm

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "cmmlib" / "assets" / "checkpoints" / "cmfgen" / "sharpness_capacity.json"
ARCHITECTURES = {  # name -> ICNNSettings fields changed from the 4x64 ELU network of the old defaults
    "elu": {"activation": "elu"},
    "elu_wide": {"activation": "elu", "features": (256, 256, 256, 256)},
    "softplus10": {"activation": "softplus", "beta": 10.0},
    "softplus20": {"activation": "softplus", "beta": 20.0},
    "softplus10_noquad": {"activation": "softplus", "beta": 10.0, "quadratic_inputs": False},
    "softplus10_deep": {"activation": "softplus", "beta": 10.0, "features": (128, 128, 128, 128, 128)},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[2000, 5000, 20000],
                        help="regression steps at which to measure (one run per architecture and seed)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--grid-size", type=int, default=301)
    parser.add_argument("--architectures", nargs="+", choices=list(ARCHITECTURES), default=list(ARCHITECTURES),
                        help="which to run; the rows of the others already in --out are kept")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    kept = []
    if args.out.exists():
        previous = json.loads(args.out.read_text())
        kept = [r for r in previous["results"] if r["architecture"] not in args.architectures]

    name = "circles"
    data = jnp.asarray(cmm.evaluation.toy_train_set(name, 50_000))
    target = cmm.gaussian.radial_map_to_normal(np.linalg.norm(np.asarray(data), axis=1), 2)
    heldout = cmm.evaluation.toy_batches(name, 20_000, 1)[0]

    def draw(key, n):
        x = data[jax.random.randint(key, (n,), 0, data.shape[0])]
        return x, target(x)

    def write() -> None:
        cmm.atomic.write_json(args.out, {
            "command": " ".join(["python", *sys.argv]).replace(str(ROOT) + "/", ""),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "hardware": cmm.checkpoints.hardware(),
            "dataset": name, "learning_rate": args.learning_rate,
            "architectures": {a: f for a, f in ARCHITECTURES.items() if a in {r["architecture"] for r in results}},
            "data": cmm.evaluation.sharpness(name, heldout), "results": results,
        })

    amortizer = cmm.conjugate.Amortizer(features=(8,))
    amortizer_params = amortizer.init(jax.random.PRNGKey(0), jnp.zeros((2,)))
    results = kept
    for arch in args.architectures:
        fields = ARCHITECTURES[arch]
        settings = dataclasses.replace(cmm.config.ICNNSettings(), **fields)
        module = cmm.icnn.build_icnn(settings)
        for seed in range(args.seeds):
            key = jax.random.PRNGKey(seed)
            params, done, run_start = cmm.icnn.init_icnn(module, key, 2), 0, time.time()
            for budget in sorted(args.budgets):
                fit = jax.jit(lambda p, k, n=budget - done: cmm.icnn.fit_gradient(
                    module, p, k, draw, steps=n, learning_rate=args.learning_rate))
                params, done = jax.block_until_ready(fit(params, jax.random.fold_in(key, budget))), budget
                fit_seconds = time.time() - run_start  # the fit so far and the evaluations before it
                model = cmm.model.ConjugateMomentModel(module, params, amortizer, amortizer_params, 2,
                                                       noise="gaussian")
                error = float(jnp.mean(jnp.sum((model.gradient(heldout) - target(heldout)) ** 2, -1)))
                row = {"architecture": arch, "seed": seed, "steps": budget, "map_error": error, "wall_time_s": fit_seconds,
                       **cmm.evaluation.density_sharpness(model, name, grid_size=args.grid_size)}
                results.append(row)
                print(row, flush=True)
            results.sort(key=lambda r: (list(ARCHITECTURES).index(r["architecture"]), r["seed"], r["steps"]))
            write()  # after every seed: an interrupted study keeps what it measured
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

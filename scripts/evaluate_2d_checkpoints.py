"""Evaluate trained 2D models with the book's protocol, one JSON row per model.

For each checkpoint folder (a model written by ``python -m cmmlib.train cmfgen``), the rows hold
what the CLI measures while training (Sinkhorn divergences at both ε with their floors, and the
sharpness of the generated samples, :mod:`cmmlib.evaluation`) plus the sharpness of the model's
density itself (:func:`cmmlib.evaluation.density_sharpness`: eq. 9 on a grid, no sampling).
Chapter 4 uses it to compare the shipped models with those of other settings.

    python scripts/evaluate_2d_checkpoints.py runs/elu/*-s? --label elu --out runs/elu.json
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import jax
import numpy as np

import cmmlib as cmm

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="model checkpoint folders")
    parser.add_argument("--label", required=True, help="what these models are (stored in every row)")
    parser.add_argument("--eval-size", type=int, default=2048)
    parser.add_argument("--eval-batches", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    rows, start, floors = [], time.time(), {}
    for folder in args.folders:
        model = cmm.load(folder)
        name, seed, steps = model.manifest["dataset"], model.manifest["seed"], int(model.manifest["steps"])
        if name not in floors:
            floors[name] = cmm.evaluation.floors(name, args.eval_size, args.eval_batches)
        heldout = cmm.evaluation.toy_batches(name, args.eval_size, args.eval_batches)
        samples = np.asarray(model.sample(jax.random.PRNGKey(steps), args.eval_size * args.eval_batches))
        row = {"dataset": name, "noise": model.noise, "seed": seed, "steps": steps, "label": args.label,
               "icnn": cmm.model.module_config(model.icnn),
               "divergence": cmm.evaluation.divergences(samples, heldout), "floor": floors[name],
               "sharpness": cmm.evaluation.sharpness(name, samples),
               "density_sharpness": cmm.evaluation.density_sharpness(model, name),
               "train_wall_time_s": model.manifest.get("wall_time_s"),
               "hardware": model.manifest.get("hardware", {}).get("devices")}
        rows.append(row)
        print(f"{folder.name}: {row['divergence']['coarse'] / row['floor']['coarse']:.2f} x floor, "
              f"sharpness {row['sharpness']}, density {row['density_sharpness']}", flush=True)
    cmm.atomic.write_json(args.out, {
        "command": " ".join(["python", *sys.argv]).replace(str(ROOT) + "/", ""),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hardware": cmm.checkpoints.hardware(), "wall_time_s": time.time() - start, "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

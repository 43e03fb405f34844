"""The lever sweep of chapter 4 (what makes CMFGen's 2D samples sharp), through the CLI.

Each lever is one ``python -m cmmlib.train cmfgen`` call that changes one setting of the ``cpu``
profile (``--set``) and trains CMFGen on the circles and the checkerboard, measuring divergences
and sharpness at a few steps of one schedule (run ``<lever>@<steps>``). Runs resume from their
checkpoints under ``--runs`` (default ``runs/sharpness``) when the script is started again. The
rows of all runs are gathered, with the hardware and the commands, into ``--out`` (default: the
measurements that chapter 4 reads; runs already there are kept).

    python scripts/sharpness_sweep.py [--steps 2000] [--levers base units_noquad ...]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "cmmlib" / "assets" / "checkpoints" / "cmfgen" / "sharpness_sweep.json"

#: lever name -> (what it changes, --set assignments)
LEVERS: dict[str, tuple[str, list[str]]] = {
    "base": ("the cpu profile's defaults", []),
    "units": ("identity start carried by the ICNN's units, learnable quadratic at zero",
              ["icnn_init=identity_units"]),
    "units_noquad": ("the units' identity start, and no quadratic input connections",
                     ["icnn_init=identity_units", "icnn.quadratic_inputs=False"]),
    "units_noquad_lr3e-3": ("the units' identity start, no quadratic inputs, learning rate 3e-3",
                           ["icnn_init=identity_units", "icnn.quadratic_inputs=False", "optimizer.learning_rate=3e-3"]),
    "noquad": ("no quadratic input connections in the hidden layers", ["icnn.quadratic_inputs=False"]),
    "floor0": ("no strongly convex floor (ε = 0)", ["icnn.strong_convexity=0.0"]),
    "floor0.01": ("a five times weaker floor (ε = 0.01)", ["icnn.strong_convexity=0.01"]),
    "bias0": ("first-layer biases at zero (kinks through the origin)", ["icnn.first_bias_scale=0.0"]),
    "betas0.5": ("Adam betas 0.5 / 0.5 (as w2ot)", ["optimizer.b1=0.5", "optimizer.b2=0.5"]),
    "lr3e-3": ("learning rate 3e-3 (cosine decay)", ["optimizer.learning_rate=3e-3"]),
    "deep5x128": ("five hidden layers of 128 (the paper's depth)", ["icnn.features=(128, 128, 128, 128, 128)"]),
    "batch2048": ("batch of 2048", ["batch_size=2048"]),
    "langevin20": ("20 Langevin steps per training step", ["langevin.steps=20"]),
}


def hardware() -> dict[str, object]:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument("--datasets", nargs="+", default=["circles", "checkerboard"])
    parser.add_argument("--noise", default="gibbs", choices=["gibbs", "gaussian", "both"])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--eval-at", nargs="*", type=int, default=[1000])
    parser.add_argument("--eval-batches", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "sharpness")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    results = json.loads(args.out.read_text()) if args.out.exists() else {"levers": {}}
    for lever in args.levers:
        about, assignments = LEVERS[lever]
        run = f"{lever}@{args.steps}"
        folder = args.runs / run
        command = [sys.executable, "-m", "cmmlib.train", "cmfgen", "--dataset", *args.datasets,
                   "--noise", args.noise, "--profile", "cpu", "--steps", str(args.steps),
                   "--eval-at", *map(str, args.eval_at), "--eval-batches", str(args.eval_batches),
                   "--out", str(folder), "--no-progress"]
        if assignments:
            command += ["--set", *assignments]
        print(f"== {lever}: {about}", flush=True)
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT)
        rows = json.loads((folder / "metrics.json").read_text())["rows"]
        results["levers"][run] = {
            "lever": lever, "schedule": args.steps, "about": about, "set": assignments, "wall_time_s": time.perf_counter() - start,
            "command": " ".join(["python"] + command[1:]).replace(str(ROOT) + "/", ""), "rows": rows}
        results["hardware"] = hardware()
        results["about"] = ("One change at a time to the cpu profile, CMFGen on circles and checkerboard, seed 0, "
                            "measured at several steps of one cosine schedule; made by scripts/sharpness_sweep.py.")
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1))
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()

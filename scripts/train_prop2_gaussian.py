"""Train the model that chapter 4 checks against Proposition 2, through the library's CLI.

    python scripts/train_prop2_gaussian.py --out runs/prop2 [--steps 6000] [--profile cpu]

Writes ``OUT/prop2_gaussian.npy`` (50,000 draws of :func:`cmmlib.datasets.prop2_gaussian`, key 5)
and runs ``python -m cmmlib.train cmfgen --data OUT/prop2_gaussian.npy`` on it (resumable: run
the same command again after an interruption). The model lands in
``OUT/prop2_gaussian-gibbs-s0``; the shipped copy is
``cmmlib/assets/checkpoints/cmfgen/prop2_gaussian-gibbs-s0``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from cmmlib.datasets import prop2_gaussian

N_POINTS = 50_000
DATA_KEY = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "prop2_gaussian.npy"
    if not data.exists():
        np.save(data, np.asarray(prop2_gaussian(N_POINTS, jax.random.PRNGKey(DATA_KEY))))
    subprocess.run([sys.executable, "-m", "cmmlib.train", "cmfgen", "--data", str(data), "--noise", "gibbs",
                    "--steps", str(args.steps), "--profile", args.profile, "--no-progress",
                    "--out", str(args.out)], check=True)


if __name__ == "__main__":
    main()

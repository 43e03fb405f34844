"""Exact against Hutchinson log-det in MNIST in-painting, end to end (chapter 6 reads the result).

Fills the hidden half of ``--n`` held-out digits with the shipped ``cpu`` model
(``mnist<size>-gibbs-s0``) by ``--steps`` steps of :func:`cmmlib.inpaint.inpaint`, once per
log-det treatment (exact, Hutchinson, none) and mask, and records the error on the hidden pixels
and the wall time of each, with the command and the hardware, into ``--out``:

    python scripts/inpaint_logdet_probe.py [--n 16] [--steps 300] [--masks top random]

The exact term costs ``d`` third-order directional derivatives per image and step, so this is
too slow for the chapter itself at d = 196 on a CPU (minutes), which uses the Hutchinson estimate.
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
DEFAULT_OUT = ROOT / "cmmlib" / "assets" / "checkpoints" / "cmfgen" / "inpaint_logdet_probe.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=16, help="held-out digits")
    parser.add_argument("--steps", type=int, default=300, help="ascent steps")
    parser.add_argument("--masks", nargs="+", default=["top", "random"], help="masks of cmm.inpaint.half_masks")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    chapter = cmm.config.chapter6("cpu")
    size = chapter.size
    x_test, _ = cmm.datasets.mnist("test", size=size, return_labels=True, key=jax.random.PRNGKey(1))
    truth = np.asarray(x_test[:args.n])
    model = cmm.zoo.cmfgen(f"mnist{size}", "gibbs", 0)
    masks = cmm.inpaint.half_masks(size)
    rows = []
    for name in args.masks:
        for logdet in cmm.inpaint.LOGDETS:
            start = time.perf_counter()
            fill = np.asarray(cmm.inpaint.inpaint(model, truth, masks[name], args.steps, logdet=logdet, low=0.0,
                                                  high=1.0, key=jax.random.PRNGKey(9)))
            seconds = time.perf_counter() - start
            rows.append({"mask": name, "logdet": logdet, "wall_time_s": seconds,
                         "rmse": float(cmm.inpaint.masked_rmse(fill, truth, masks[name]))})
            print(rows[-1], flush=True)
    cmm.atomic.write_json(args.out, {
        "command": " ".join(["python", *sys.argv]).replace(str(ROOT) + "/", ""),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hardware": cmm.checkpoints.hardware(), "model": f"mnist{size}-gibbs-s0", "n_images": args.n,
        "steps": args.steps, "source": cmm.datasets.mnist_source(), "rows": rows})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

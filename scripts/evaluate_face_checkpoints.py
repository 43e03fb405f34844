"""Evaluate trained face models with chapter 7's protocol, one JSON row per model.

Chapter 7 compares image sets by the Fréchet distance between Gaussian fits of the features of a
small classifier trained on the real training faces' attributes (:mod:`cmmlib.image_metrics`),
with the median distance to the nearest training face beside it. This script applies the same
protocol (:mod:`cmmlib.face_protocol`: data, seeds, classifier, references) with the settings of a
profile's :func:`cmmlib.config.chapter7`, to
any model checkpoints (folders written by ``python -m cmmlib.train cmfgen``), so that models of
other settings (units, schedules) are compared with the shipped ones on equal terms. The rows
also hold the two references of the chapter: held-out real faces (the floor) and samples of the
Gaussian with the data's mean and covariance.

    python scripts/evaluate_face_checkpoints.py elu=runs/a/cartoon12_train-gibbs-s0 \\
        softplus=runs/b/cartoon12_train-gibbs-s0 --out runs/faces.json
"""
from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import cmmlib as cmm
from cmmlib import image_metrics as im

ROOT = Path(__file__).resolve().parents[1]


def _labelled(text: str) -> tuple[str, Path]:
    label, sep, folder = text.partition("=")
    if not sep or not label or not folder:
        raise argparse.ArgumentTypeError(f"expected LABEL=FOLDER, got {text!r}")
    return label, Path(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=_labelled, nargs="+", help="LABEL=FOLDER of a model checkpoint")
    parser.add_argument("--profile", default="cpu", help="the chapter-7 profile whose settings to use")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    start = time.time()
    chapter = cmm.config.chapter7(args.profile)
    n = chapter.n_generated
    data = cmm.face_protocol.load(chapter)
    clf = cmm.face_protocol.classifier(data, chapter)
    references = cmm.face_protocol.references(data, n)
    reference_features = im.features(clf, data.x_train)
    rows = [{"label": label, **measures}
            for label, measures in im.compare_image_sets(clf, references, data.x_train, reference_features).items()]
    for label, folder in args.models:
        model = cmm.load(folder)
        t0 = time.perf_counter()
        generated = cmm.face_protocol.generate(model, n)
        measures = im.compare_image_sets(clf, {"samples": np.asarray(generated.samples),
                                               "noise": np.asarray(generated.noise)}, data.x_train, reference_features)
        rows.append({"label": label, "folder": str(folder), "noise": model.noise, "steps": int(model.manifest["steps"]),
                     "icnn": cmm.model.module_config(model.icnn), **measures["samples"],
                     "noise_frechet": measures["noise"]["frechet"], "generate_s": time.perf_counter() - t0,
                     "train_wall_time_s": model.manifest.get("wall_time_s"),
                     "hardware": model.manifest.get("hardware", {}).get("devices")})
    for row in rows:
        print(f"{row['label']:>28s}: Fréchet {row['frechet']:8.2f}, nearest training face {row['nn_distance']:.3f}",
              flush=True)
    cmm.atomic.write_json(args.out, {
        "command": shlex.join(["python", *sys.argv]).replace(str(ROOT) + "/", ""),
        "data": data.source, "profile": args.profile, "n": n,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hardware": cmm.checkpoints.hardware(), "wall_time_s": time.time() - start,
        "rows": [{k: (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()} for row in rows]})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

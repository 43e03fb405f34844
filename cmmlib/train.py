"""Command line for long trainings: ``python -m cmmlib.train <learner> [options]``.

Each learner is a subcommand registered in :data:`SUBCOMMANDS` as ``name -> (add_arguments,
run)``: ``add_arguments(parser)`` declares its options and ``run(args)`` trains and writes
checkpoints (a folder per model, :mod:`cmmlib.checkpoints`) whose manifest records the command,
seed, steps, wall time, hardware (JAX devices) and final metrics. Add a learner by adding an
entry to the dict.

CMFGen (chapter 4)::

    python -m cmmlib.train cmfgen --dataset checkerboard --profile cpu --out DIR
    python -m cmmlib.train cmfgen --dataset paper --noise both --seeds 3 --eval-at 1000 3000 \\
        --steps 10000 --profile cpu --out DIR

trains one model per (data set, noise, seed) -- all models of one noise in one vmapped program
-- and writes ``DIR/<dataset>-<noise>-s<seed>/``. ``--eval-at`` steps also measure the Sinkhorn
divergence to held-out target samples (and the target-vs-target floor) on the way, and
``--save-at`` steps also save the models to ``DIR/step<k>/``. ``DIR/metrics.json`` holds every
measurement; ``DIR/_state-<noise>/`` the training state, so that re-running an interrupted
command resumes exactly where its last checkpoint stopped (a different ``--steps`` changes the
learning-rate schedule and is refused).

CMFMA (chapter 5)::

    python -m cmmlib.train cmfma rosenbrock --profile cpu [--out DIR] [--mu uniform|model]

trains on a named energy of :mod:`cmmlib.datasets.energies` (default folder: the shipped
``cmmlib/assets/checkpoints/cmfma_<energy>``).
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import cmfma


def model_name(dataset: str, noise: str, seed: int) -> str:
    """Folder name of one trained model: ``<dataset>-<noise>-s<seed>``."""
    return f"{dataset}-{noise}-s{seed}"


def _add_cmfgen_arguments(parser: argparse.ArgumentParser) -> None:
    from .datasets import TOY2D_NAMES

    parser.add_argument("--dataset", nargs="+", required=True,
                        help=f"2D data set(s): any of {TOY2D_NAMES}, or 'paper' for the paper's five")
    parser.add_argument("--noise", choices=("gibbs", "gaussian", "both"), default="gibbs",
                        help="gibbs: CMFGen; gaussian: the generative-ICNN baseline; both")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (seed, seed+1, ...)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the profile's)")
    parser.add_argument("--profile", default=None, help="ci | cpu | paper (default: $CMM_PROFILE)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--eval-at", nargs="*", type=int, default=[],
                        help="also measure divergences at these steps (the final step always is)")
    parser.add_argument("--save-at", nargs="*", type=int, default=[],
                        help="also save the models at these steps, to OUT/step<k>/")
    parser.add_argument("--eval-batches", type=int, default=4,
                        help="divergences are averaged over this many pairs of batches of eval_size")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="override CMFGenSettings fields, e.g. --set lr_decay=True batch_size=1024")
    parser.add_argument("--history-stride", type=int, default=10,
                        help="saved training curves are block means over this many steps")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _divergences(result: Any, sampling: Any, datasets: list[str], heldout: dict[str, list[jnp.ndarray]],
                 key: jax.Array) -> list[float]:
    """Mean over the held-out batches of the divergence between a fresh generated batch and it."""
    from . import cmfgen, metrics

    n_batches, n = len(next(iter(heldout.values()))), next(iter(heldout.values()))[0].shape[0]
    _, samples = cmfgen.sample_stacked(result.cfg, sampling, result.states["params"],
                                       result.states["amortizer_params"], key, n * n_batches)
    return [float(np.mean([metrics.sinkhorn_divergence(samples[i, j * n:(j + 1) * n], batch)
                           for j, batch in enumerate(heldout[name])])) for i, name in enumerate(datasets)]


def thin_history(history: dict[str, np.ndarray], stride: int) -> dict[str, np.ndarray]:
    """Block means of ``stride`` consecutive steps (keeps checkpoints small; the tail block may
    be shorter)."""
    if stride <= 1:
        return history
    out = {}
    for key, values in history.items():
        n = len(values)
        starts = np.arange(0, n, stride)
        out[key] = np.add.reduceat(values, starts) / np.minimum(stride, n - starts) if n else values
    return out


def _override(settings: Any, assignments: list[str]) -> Any:
    """``dataclasses.replace`` of settings fields given as ``FIELD=VALUE`` (Python literals)."""
    changes = {}
    for item in assignments:
        field, _, value = item.partition("=")
        if field not in {f.name for f in dataclasses.fields(settings)}:
            raise SystemExit(f"--set: unknown settings field {field!r}")
        changes[field] = ast.literal_eval(value)
    return dataclasses.replace(settings, **changes)


def _run_cmfgen(args: argparse.Namespace) -> None:
    from . import checkpoints, cmfgen, config, metrics
    from .datasets import PAPER_TOY2D, toy2d

    names = list(PAPER_TOY2D) if args.dataset == ["paper"] else list(args.dataset)
    settings = _override(config.cmfgen(args.profile), args.set)
    steps = settings.steps if args.steps is None else args.steps
    settings = dataclasses.replace(settings, steps=steps)  # the learning-rate decay follows --steps
    noises = ["gibbs", "gaussian"] if args.noise == "both" else [args.noise]
    seeds = list(range(args.seed, args.seed + args.seeds))
    milestones = sorted({s for s in [*args.eval_at, *args.save_at, steps] if 0 < s <= steps})
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    command = args.command

    # one data set per model: (data set, seed) pairs, data shared across seeds and noises
    pairs = [(name, seed) for name in names for seed in seeds]
    train_sets = {name: toy2d(name, settings.n_train, jax.random.PRNGKey(1_000 + i)) for i, name in enumerate(names)}
    heldout, floors = {}, {}
    for i, name in enumerate(names):
        keys_h = jax.random.split(jax.random.PRNGKey(2_000 + i), args.eval_batches)
        keys_f = jax.random.split(jax.random.PRNGKey(3_000 + i), args.eval_batches)
        heldout[name] = [toy2d(name, settings.eval_size, k) for k in keys_h]
        floors[name] = float(np.mean([metrics.sinkhorn_divergence(toy2d(name, settings.eval_size, kf), batch)
                                      for kf, batch in zip(keys_f, heldout[name])]))
    data = jnp.stack([train_sets[name] for name, _ in pairs])
    keys = jnp.stack([jax.random.PRNGKey(seed) for _, seed in pairs])
    sampling = cmfgen.sampling_settings(settings)

    rows: list[dict[str, Any]] = []
    for noise in noises:
        state_dir = out / f"_state-{noise}"
        for milestone in milestones:
            result = cmfgen.train(data, keys, milestone, noise, settings=settings, checkpoint_dir=state_dir,
                                  resume=True, progress=not args.no_progress, decay_steps=steps,
                                  manifest={"command": command, "profile": config.profile_name(args.profile)})
            t0 = time.perf_counter()
            divs = _divergences(result, sampling, [n for n, _ in pairs], heldout, jax.random.PRNGKey(milestone))
            eval_time = time.perf_counter() - t0
            for (name, seed), div in zip(pairs, divs):
                rows.append({"dataset": name, "noise": noise, "seed": seed, "steps": result.info["steps"],
                             "divergence": div, "floor": floors[name], "ratio": div / floors[name],
                             "train_wall_time_s": result.info["wall_time_s"], "eval_wall_time_s": eval_time,
                             "status": result.info["status"]})
                print(f"{name:>22s} {noise:>8s} seed {seed} step {result.info['steps']:>6d}: "
                      f"divergence {div:.5f} = {div / floors[name]:.1f} x floor {floors[name]:.5f}", flush=True)
            if milestone in args.save_at or milestone == steps:
                folder = out if milestone == steps else out / f"step{milestone}"
                for i, (model, (name, seed)) in enumerate(zip(result.models(), pairs)):
                    model.history = thin_history(model.history, args.history_stride)
                    model.manifest.update({
                        "history_stride": args.history_stride,
                        "dataset": name, "seed": seed, "command": command, "hardware": checkpoints.hardware(),
                        "metrics": {"sinkhorn_divergence": divs[i], "floor": floors[name],
                                    "epsilon_fraction": metrics.EPSILON_FRACTION, "eval_size": settings.eval_size,
                                    "eval_batches": args.eval_batches},
                    })
                    model.save(folder / model_name(name, noise, seed))
            (out / "metrics.json").write_text(json.dumps(
                {"command": command, "settings": dataclasses.asdict(settings), "rows": rows}, indent=1))
            if result.info["status"] != "completed":
                break


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], None]]] = {
    "cmfgen": (_add_cmfgen_arguments, _run_cmfgen),
    "cmfma": (cmfma.add_arguments, cmfma.run),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cmmlib.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="learner", required=True)
    for name, (add_arguments, _) in SUBCOMMANDS.items():
        add_arguments(sub.add_parser(name, help=f"train {name}"))
    args = parser.parse_args(argv)
    args.command = "python -m cmmlib.train " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    SUBCOMMANDS[args.learner][1](args)


if __name__ == "__main__":
    main()

"""Command lines of the library: train CMFGen or CMFMA with checkpoints, and sample from any model.

  python -m cmmlib.train cmfgen --dataset circles --out runs/circles
  python -m cmmlib.train cmfgen --dataset paper --noise both --seeds 3 --steps 10000 --out runs/cmfgen
  python -m cmmlib.train cmfgen --data my_points.npy --out runs/mine
  python -m cmmlib.train cmfma rosenbrock --out runs/rosenbrock
  python -m cmmlib.train cmfma --energy my_module:my_energy --low -3 -3 --high 3 3 --out runs/mine
  python -m cmmlib.train sample runs/circles/circles-gibbs-s0 -n 10000 --out samples.npz --log-prob
  python -m cmmlib.train cmfgen --dataset circles --devices all --out runs/circles   # every GPU of the host

Training writes its state to OUT/_state-* every few thousand steps; running the same command
again after an interruption resumes exactly where the last checkpoint stopped. Each trained
model is a folder (OUT/<name>) with a manifest: command, seed, steps, wall time, hardware,
metrics. Settings come from the profile (--profile ci|cpu|paper, default $CMM_PROFILE) and can
be changed one by one with --set (e.g. --set optimizer.learning_rate=3e-3 batch_size=1024).
--devices N trains data-parallel on N devices (cmmlib.parallel); with --distributed, one process
per host, N counts the devices of all hosts and process 0 writes the files.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import importlib.util
import json
import shlex
import sys
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _device_count(text: str) -> int | None:
    return None if text == "all" else _positive_int(text)


def _add_devices(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=_device_count, default=1, metavar="N|all",
                        help="train data-parallel on the first N of jax.devices(), or all of them: the batch is split "
                        "over a mesh with a 'data' axis, the parameters replicated; the batch size must be a "
                        "multiple of N (default 1)")
    parser.add_argument("--distributed", action="store_true",
                        help="one process of a multi-host run: call jax.distributed.initialize() first (it finds the "
                        "other processes under SLURM, Open MPI or on Cloud TPU; elsewhere give the three options "
                        "below); --devices then counts every host's devices; process 0 writes the files")
    parser.add_argument("--coordinator", default=None, metavar="HOST:PORT", help="process 0's address (--distributed)")
    parser.add_argument("--num-processes", type=_positive_int, default=None, help="number of processes (--distributed)")
    parser.add_argument("--process-id", type=int, default=None, help="this process's index, from 0 (--distributed)")


def _start_processes(args: argparse.Namespace) -> None:
    """``jax.distributed.initialize`` for ``--distributed`` (before any JAX computation)."""
    if args.distributed:
        jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    elif (args.coordinator, args.num_processes, args.process_id) != (None, None, None):
        raise SystemExit("--coordinator, --num-processes and --process-id need --distributed")


def _mesh(args: argparse.Namespace) -> Mesh | None:
    """The data-parallel mesh over ``--devices`` (training runs under ``jax.set_mesh`` of it), or
    ``None`` for one device in one process."""
    from . import parallel

    if args.devices == 1 and not args.distributed:
        return None
    try:
        return parallel.data_mesh(args.devices)
    except ValueError as err:
        raise SystemExit(f"--devices: {err}") from None


def _writes() -> bool:
    """Whether this process writes the command's files: process 0 (the only process unless
    ``--distributed``)."""
    return jax.process_index() == 0


def _assignments(items: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs, values as Python literals (``3e-3``, ``(64, 64)``, ``True``); a bare
    word (``softplus``) is a string."""
    out = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise SystemExit(f"--set: expected FIELD=VALUE, got {item!r}")
        try:
            out[field] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            if value.isidentifier():
                out[field] = value
                continue
            raise SystemExit(f"--set {field}: {value!r} is not a Python literal (a number, True, (64, 64)...)") from None
    return out


def _settings(base: Any, items: list[str]) -> Any:
    from . import config, validation

    try:
        return validation.check_learner_settings(config.override(base, _assignments(items)))
    except ValueError as err:
        raise SystemExit(f"--set: {err}") from None


def read_points(path: Path) -> np.ndarray:
    """``(n, d)`` points from a ``.npy`` or ``.csv`` file (CSV: one point per line, commas)."""
    if not path.exists():
        raise SystemExit(f"--data: no file {path}")
    try:
        arr = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",", ndmin=2)
    except Exception as err:  # noqa: BLE001 - any parse failure is the user's file
        raise SystemExit(f"--data: cannot read {path}: {err}") from None
    if path.suffix not in (".npy", ".csv"):
        raise SystemExit(f"--data: expected a .npy or .csv file, got {path}")
    if arr.ndim != 2:
        raise SystemExit(f"--data: expected points of shape (n, d), got shape {arr.shape} from {path}")
    return arr.astype(np.float32)


# -- cmfgen -----------------------------------------------------------------------------------
def _add_cmfgen(parser: argparse.ArgumentParser) -> None:
    from .datasets import TOY2D_NAMES

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", nargs="+", help=f"2D set(s): any of {', '.join(TOY2D_NAMES)}, or 'paper' "
                        "for the paper's five")
    source.add_argument("--data", type=Path, help="your own samples: a .npy or .csv file of shape (n, d)")
    parser.add_argument("--noise", choices=("gibbs", "gaussian", "both"), default="gibbs",
                        help="gibbs: CMFGen; gaussian: the generative-ICNN baseline; both (default: gibbs)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--seeds", type=_positive_int, default=1, help="number of seeds: seed, seed+1, ...")
    parser.add_argument("--steps", type=_positive_int, default=None, help="training steps (default: the profile's)")
    parser.add_argument("--profile", default=None, help="ci | cpu | paper (default: $CMM_PROFILE)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--eval-at", nargs="*", type=_positive_int, default=[],
                        help="also measure divergences and sharpness at these steps (the last step always is)")
    parser.add_argument("--save-at", nargs="*", type=_positive_int, default=[],
                        help="also save the models at these steps, to OUT/step<k>/")
    parser.add_argument("--eval-batches", type=_positive_int, default=2, help="held-out batches per divergence")
    parser.add_argument("--eval-size", type=_positive_int, default=None,
                        help="points per held-out batch (default: the profile's, 2048 in cpu and paper)")
    parser.add_argument("--n-train", type=_positive_int, default=None, help="training points per 2D set")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="change settings, e.g. --set optimizer.learning_rate=3e-3 icnn.features='(128,128,128,128,128)' icnn.activation=softplus")
    parser.add_argument("--history-stride", type=_positive_int, default=10,
                        help="saved training curves are block means over this many steps")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_devices(parser)


def _run_cmfgen(args: argparse.Namespace) -> None:
    from . import atomic, cmfgen, config, evaluation, training, zoo
    from .datasets import PAPER_TOY2D

    mesh = _mesh(args)
    chapter = config.chapter4(args.profile)
    eval_size = args.eval_size or chapter.eval_size
    seeds = list(range(args.seed, args.seed + args.seeds))
    rng = np.random.default_rng(args.seed)
    if args.data is not None:
        points = read_points(args.data)
        held = rng.permutation(len(points))
        n_held = min(eval_size * args.eval_batches, len(points) // 5)
        if n_held < 2:
            raise SystemExit(f"--data: {len(points)} points are too few to hold out an evaluation batch")
        heldout_points, points = points[held[:n_held]], points[held[n_held:]]
        n_eval = n_held // args.eval_batches
        names = [args.data.stem]
        data = points
        heldout = {names[0]: [heldout_points[j * n_eval:(j + 1) * n_eval] for j in range(args.eval_batches)]}
        floors: dict[str, dict[str, float]] = {names[0]: {}}
        pairs = [(names[0], s) for s in seeds]
        dim = points.shape[1]
    else:
        names = list(PAPER_TOY2D) if args.dataset == ["paper"] else list(args.dataset)
        n_train = args.n_train or chapter.n_train
        pairs = [(name, s) for name in names for s in seeds]
        try:
            sets = {name: evaluation.toy_train_set(name, n_train) for name in names}
        except ValueError as err:
            raise SystemExit(f"--dataset: {err}") from None
        data = jnp.stack([sets[name] for name, _ in pairs])
        heldout = {name: evaluation.toy_batches(name, eval_size, args.eval_batches) for name in names}
        floors = {name: evaluation.floors(name, eval_size, args.eval_batches) for name in names}
        dim = 2
    settings = _settings(config.cmfgen(args.profile, dim=dim), args.set)
    steps = args.steps or settings.steps
    keys = jnp.stack([jax.random.PRNGKey(s) for _, s in pairs])
    milestones = sorted({s for s in [*args.eval_at, *args.save_at, steps] if s <= steps})
    out: Path = args.out
    rows: list[dict[str, Any]] = []
    earlier = _earlier_rows(out / "metrics.json", dataclasses.asdict(settings))
    for noise in (["gibbs", "gaussian"] if args.noise == "both" else [args.noise]):
        reached = training.saved_step(out / f"_state-{noise}")
        for milestone in milestones:
            kept = [r for r in earlier if r["noise"] == noise and r["steps"] == milestone]
            # a resumed run keeps what it measured before its checkpoint (the final step is always measured)
            if reached is not None and (milestone < reached or (milestone == reached < steps and len(kept) == len(pairs))):
                rows.extend(kept)
                print(f"{noise}: the checkpoint is at step {reached}, at or past step {milestone}: "
                      + (f"kept its {len(kept)} measurement(s) from metrics.json" if kept else "not measured again"),
                      flush=True)
                continue
            try:
                with jax.set_mesh(mesh):
                    result = cmfgen.train(data, keys, milestone, noise, settings=settings, decay_steps=steps,
                                          checkpoint_dir=out / f"_state-{noise}", resume=True,
                                          progress=not args.no_progress,
                                          manifest={"command": args.command,
                                                    "profile": config.profile_name(args.profile)})
            except (ValueError, OSError) as err:
                raise SystemExit(f"cmfgen: {err}") from None
            if result.info["resumed_from"] is not None and milestone == milestones[0]:
                print(f"resumed {noise} from its checkpoint at step {result.info['resumed_from']} in "
                      f"{out / f'_state-{noise}'}", flush=True)
            models = result.models()
            # a model that stopped early (a guard) is the same model at every later milestone: measured once
            measured = {(r["dataset"], r["seed"], r["steps"]): r for r in rows if r["noise"] == noise}
            todo = [(name, seed, models[i].manifest["steps"]) not in measured for i, (name, seed) in enumerate(pairs)]
            generated = (result.generate(jax.random.PRNGKey(milestone), eval_size * args.eval_batches)
                         if any(todo) else None)
            for i, (name, seed) in enumerate(pairs):
                reached_i, status = models[i].manifest["steps"], models[i].manifest["status"]
                if not todo[i]:
                    row = measured[(name, seed, reached_i)]
                    print(f"{name:>22s} {noise:>8s} seed {seed}: {status} at step {reached_i}, "
                          f"measured there already", flush=True)
                else:
                    samples = np.asarray(generated.samples[i])
                    row = {"dataset": name, "noise": noise, "seed": seed, "steps": reached_i,
                           "divergence": evaluation.divergences(samples, heldout[name]), "floor": floors[name],
                           "sharpness": evaluation.sharpness(name, samples) if args.data is None else {},
                           "train_wall_time_s": result.info["wall_time_s"], "status": status}
                    rows.append(row)
                    ratio = (f" = {row['divergence']['coarse'] / floors[name]['coarse']:.1f} x floor"
                             if floors[name] else "")
                    print(f"{name:>22s} {noise:>8s} seed {seed} step {row['steps']:>6d}: divergence "
                          f"{row['divergence']['coarse']:.5f}{ratio}; sharpness {row['sharpness']}", flush=True)
                if _writes() and (milestone in args.save_at or milestone == steps):
                    model = models[i]
                    model.history = thin_history(model.history, args.history_stride)
                    model.manifest.update(history_stride=args.history_stride, dataset=name, seed=seed,
                                          metrics={k: row[k] for k in ("divergence", "floor", "sharpness")},
                                          eval_size=eval_size, eval_batches=args.eval_batches)
                    folder = (out if milestone == steps else out / f"step{milestone}") / zoo.model_name(name, noise, seed)
                    model.save(folder)
            if _writes():
                atomic.write_text(out / "metrics.json", json.dumps(
                    {"command": args.command, "settings": dataclasses.asdict(settings), "rows": rows}, indent=1))
    print(f"saved {len(pairs) * (2 if args.noise == 'both' else 1)} model(s) and metrics.json to {out}", flush=True)


def _earlier_rows(path: Path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a previous ``metrics.json`` at ``path`` written with the same settings (else none)."""
    if not path.exists():
        return []
    try:
        earlier = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SystemExit(f"cmfgen: {path} is not valid JSON ({err}); move it away to start its record over") from None
    return earlier["rows"] if earlier.get("settings") == json.loads(json.dumps(settings)) else []


# -- cmfma ------------------------------------------------------------------------------------
def _add_cmfma(parser: argparse.ArgumentParser) -> None:
    from .datasets.energies import ENERGY_NAMES

    parser.add_argument("name", nargs="?", choices=ENERGY_NAMES, help="a named energy of the book")
    parser.add_argument("--energy", default=None, metavar="MODULE:FUNCTION",
                        help="your own energy E(x: (d,)) -> scalar, importable as MODULE:FUNCTION; needs --low/--high")
    parser.add_argument("--low", nargs="+", type=float, default=None, help="lower corner of the box of μ")
    parser.add_argument("--high", nargs="+", type=float, default=None, help="upper corner of the box of μ")
    parser.add_argument("--out", required=True, type=Path, help="output folder (the model, and _state/ to resume)")
    parser.add_argument("--steps", type=_positive_int, default=None, help="training steps (default: the profile's)")
    parser.add_argument("--profile", default=None, help="ci | cpu | paper (default: $CMM_PROFILE)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mu", choices=("uniform", "model"), default="uniform", help="law of the regression points")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="change CMFMA settings")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_devices(parser)


def load_energy(spec: str) -> Callable[[jax.Array], jax.Array]:
    """The function named ``MODULE:FUNCTION`` (``MODULE`` importable or a path to a ``.py`` file)."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"--energy: expected MODULE:FUNCTION, got {spec!r}")
    try:
        if module_name.endswith(".py"):
            loader = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
        fn = getattr(module, attr)
    except (ImportError, AttributeError, FileNotFoundError) as err:
        raise SystemExit(f"--energy: cannot load {spec}: {err}") from None
    if not callable(fn):
        raise SystemExit(f"--energy: {spec} is not callable")
    return fn


def _run_cmfma(args: argparse.Namespace) -> None:
    from . import cmfma, config, zoo
    from .datasets.energies import energy as named_energy

    if (args.name is None) == (args.energy is None):
        raise SystemExit("cmfma: give either a named energy or --energy MODULE:FUNCTION")
    mesh = _mesh(args)
    options: dict[str, Any] = {}
    if args.name is not None:
        target, label = named_energy(args.name), args.name
        options.update(zoo.cmfma_options(args.name, args.profile))
    else:
        if args.low is None or args.high is None:
            raise SystemExit("cmfma: --energy needs the box: --low ... --high ...")
        target, label = load_energy(args.energy), args.energy
    if args.steps is not None:
        options["steps"] = args.steps
    settings = _settings(config.cmfma(args.profile), args.set)
    try:
        with jax.set_mesh(mesh):
            model = cmfma.fit(target, jax.random.PRNGKey(args.seed), args.low, args.high, profile=args.profile,
                              settings=settings, mu=args.mu, checkpoint_dir=args.out / "_state", resume=True,
                              progress=not args.no_progress,
                              manifest={"command": args.command, "energy": label, "seed": args.seed}, **options)
    except (ValueError, OSError) as err:
        raise SystemExit(f"cmfma: {err}") from None
    if model.manifest["resumed_from"] is not None:
        print(f"resumed from the checkpoint at step {model.manifest['resumed_from']} in {args.out / '_state'}")
    if _writes():
        model.save(args.out / "model")
    print(f"saved {args.out / 'model'} ({model.manifest['steps']} steps, {model.manifest['wall_time_s']:.0f} s, "
          f"final loss {model.manifest['final_loss']:.4g}, status: {model.manifest['status']})", flush=True)


# -- sample -----------------------------------------------------------------------------------
def _add_sample(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a model folder written by cmfgen or cmfma")
    parser.add_argument("-n", type=_positive_int, required=True, help="number of samples")
    parser.add_argument("--out", type=Path, required=True, help="output: .npy (samples), .csv or .npz (with noise)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-prob", action="store_true", help="also write the eq. (9) log-densities")


def _run_sample(args: argparse.Namespace) -> None:
    from . import checkpoints
    from .model import load

    if args.out.suffix not in (".npy", ".csv", ".npz"):
        raise SystemExit(f"sample: --out must end in .npy, .csv or .npz, got {args.out}")
    try:
        model = load(args.checkpoint)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f"sample: {err}") from None
    checkpoints.check_writable(args.out.parent)
    out = model.generate(jax.random.PRNGKey(args.seed), args.n)
    samples = np.asarray(out.samples)
    log_prob = np.asarray(model.log_prob(samples)) if args.log_prob else None
    if args.out.suffix == ".npz":
        np.savez(args.out, samples=samples, noise=np.asarray(out.noise),
                 **({"log_prob": log_prob} if log_prob is not None else {}))
    else:
        table = samples if log_prob is None else np.column_stack([samples, log_prob])
        if args.out.suffix == ".npy":
            np.save(args.out, table)
        else:
            header = ",".join([f"x{i}" for i in range(samples.shape[1])] + (["log_prob"] if args.log_prob else []))
            np.savetxt(args.out, table, delimiter=",", header=header, comments="")
    print(f"wrote {args.n} samples{' and log-densities' if args.log_prob else ''} of {args.checkpoint} to {args.out}")


SUBCOMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "cmfgen": ("train CMFGen (or its Gaussian-noise baseline) on samples", _add_cmfgen, _run_cmfgen),
    "cmfma": ("train CMFMA on an energy", _add_cmfma, _run_cmfma),
    "sample": ("write samples of a trained model to a file", _add_sample, _run_sample),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cmmlib.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command_name", required=True)
    for name, (help_text, add, _) in SUBCOMMANDS.items():
        add(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    args.command = "python -m cmmlib.train " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if "distributed" in args:
        _start_processes(args)
    SUBCOMMANDS[args.command_name][2](args)


if __name__ == "__main__":
    main()

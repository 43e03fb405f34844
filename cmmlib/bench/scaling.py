"""Benchmark: how the cost of a CMFGen training step grows with batch size, dimension (2, 64, 784, 3,072) and ICNN width.

Three sweeps of the ``cpu`` profile's CMFGen loop (5 ULA steps, 10 power iterations for
``lambda_max``, 20 conjugate Adam steps, one dual and one amortiser step), one factor at a time
on synthetic ``N(0, I)`` data (a step's cost does not depend on the data's values):

* batch: 2D, ICNN 4x64, batch 128 ... 2048;
* dimension: ICNN 4x256, amortiser 3x256, batch 64, d = 2, 64, 784, 3,072 (3x32x32 images);
* width: d = 784, batch 64, ICNN 4 x (64 ... 512), amortiser 3x256.

(Batch 64 in high dimension keeps the sweep within minutes on a 2-core CPU: a step at d = 784,
width 256 and batch 256, the ``cpu`` profile's image setting, is timed by the ``cmfgen``
benchmark.)

Each point: seconds per step (:func:`cmmlib.bench.cmfgen.step_time`: a jitted ``lax.scan`` chunk,
median of repeats after compilation), the seconds of one batched gradient of ``w`` at the same
shapes, and XLA's estimate of one step's peak memory. The ratio of the two times says how many
gradient passes a step costs; how it moves along a sweep says what limits the step.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax

from cmmlib.bench._timing import timed
from cmmlib.bench.cmfgen import learner, step_time
from cmmlib.icnn import potential_fn


@dataclasses.dataclass(frozen=True)
class Sweep:
    """One factor varied (``factor`` takes ``values``), the others fixed at ``dim``, ``batch``,
    ``depth`` layers of ``width`` units; ``amortizer``: the amortiser's widths (``None``: the
    profile's for ``dim``)."""

    factor: str
    values: tuple[int, ...]
    dim: int
    batch: int
    width: int
    depth: int = 4
    amortizer: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The sweeps, the steps per timed chunk and the repeats of each timing."""

    sweeps: tuple[Sweep, ...]
    chunk: int
    repeats: int


FULL = Sizes(sweeps=(
    Sweep("batch", (128, 256, 512, 1024, 2048), dim=2, batch=512, width=64),
    Sweep("dim", (2, 64, 784, 3072), dim=784, batch=64, width=256, amortizer=(256,) * 3),
    Sweep("width", (64, 128, 256, 512), dim=784, batch=64, width=256, amortizer=(256,) * 3),
), chunk=2, repeats=2)
QUICK = Sizes(sweeps=(
    Sweep("batch", (32, 64), dim=2, batch=32, width=16, depth=2),
    Sweep("dim", (2, 8), dim=2, batch=32, width=16, depth=2, amortizer=(16,)),
    Sweep("width", (8, 16), dim=2, batch=32, width=16, depth=2, amortizer=(16,)),
), chunk=2, repeats=1)


@functools.lru_cache(maxsize=None)  # a configuration shared by two sweeps is timed once
def point(dim: int, batch: int, width: int, depth: int, amortizer: tuple[int, ...] | None,
          chunk: int, repeats: int) -> dict[str, Any]:
    """Step time, gradient time and peak memory of one configuration."""
    lr = learner(dim, batch, (width,) * depth, amortizer)
    data = jax.random.normal(jax.random.PRNGKey(0), (batch, dim))
    out = step_time(lr, data, chunk, repeats)
    params = jax.jit(lr.init)(jax.random.PRNGKey(0), data).params
    grad = jax.jit(lambda p, y: jax.vmap(jax.grad(potential_fn(lr.icnn, p)))(y))
    out["gradient"] = timed(lambda: grad(params, data), repeats)[1].as_dict()
    out["gradient_passes_per_step_x"] = out["step"]["median_s"] / out["gradient"]["median_s"]
    return {"dim": dim, "batch": batch, "width": width, "depth": depth, **out}


def sweep(s: Sweep, chunk: int, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for value in s.values:
        fixed = {"dim": s.dim, "batch": s.batch, "width": s.width, s.factor: value}
        row = point(fixed["dim"], fixed["batch"], fixed["width"], s.depth, s.amortizer, chunk, repeats)
        rows.append(row)
        memory = row["step_peak_bytes"]
        print(f"  {s.factor} = {value:5d} (d {row['dim']}, batch {row['batch']}, width {row['width']}): "
              f"{1e3 * row['step']['median_s']:8.1f} ms/step, gradient {1e3 * row['gradient']['median_s']:7.2f} ms "
              f"({row['gradient_passes_per_step_x']:.0f} per step), "
              f"peak memory {'?' if memory is None else f'{memory / 2**20:.0f} MiB'}", flush=True)
    return rows


def main(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    results = {}
    for s in sizes.sweeps:
        print(f"sweep over {s.factor}:", flush=True)
        results[s.factor] = sweep(s, sizes.chunk, sizes.repeats)
    return results


if __name__ == "__main__":
    main()

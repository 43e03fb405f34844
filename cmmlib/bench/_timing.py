"""How every benchmark times and sizes a computation.

* :func:`timed`: run ``fn`` once or more to warm up (compilation excluded), then ``repeats``
  times, each waited for with ``jax.block_until_ready``; the median and the best run are kept
  (the machines are shared: the median is the typical run, the best the least disturbed), and
  the median CPU time of the process (all its threads: above the wall time when XLA uses
  several cores, below it when the process waits for a core).
* :func:`timed_together`: the same for several functions whose times are compared, their runs
  interleaved (A, B, C, A, B, C, ...), so that a change of load on the machine falls on all of
  them alike rather than on the one that ran at that moment.
* :func:`peak_memory_bytes`: XLA's own estimate of a compiled program's peak memory
  (arguments, outputs and temporaries), read from ``jax.jit(...).lower(...).compile()``.

Programs are compiled before they are timed: ``warmup=1`` (the default) runs ``fn`` once
untimed, which compiles a ``jax.jit`` function on its first call; a program compiled ahead of
time still gets that run (caches, memory pages).
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping

import jax
import numpy as np


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds of ``repeats`` runs after warm-up: the median and the minimum of the wall-clock
    times, and the median CPU time of the process."""

    median_s: float
    best_s: float
    cpu_s: float
    repeats: int

    def per(self, count: int) -> "Timing":
        """The same timing divided by ``count`` (e.g. per step of a chunk of ``count`` steps)."""
        return Timing(self.median_s / count, self.best_s / count, self.cpu_s / count, self.repeats)

    def as_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


def _run(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    start, start_cpu = time.perf_counter(), time.process_time()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - start, time.process_time() - start_cpu


def timed_together(fns: Mapping[str, Callable[[], Any]], repeats: int,
                   warmup: int = 1) -> dict[str, tuple[Any, Timing]]:
    """``{name: (last output, Timing)}`` of each ``fn()`` (no arguments): ``warmup`` untimed calls
    of each, then ``repeats`` rounds in which every function runs once, in turn."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    outs: dict[str, Any] = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            outs[name] = jax.block_until_ready(fn())
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            outs[name], w, c = _run(fn)
            wall[name].append(w)
            cpu[name].append(c)
    return {name: (outs[name], Timing(float(np.median(wall[name])), float(np.min(wall[name])),
                                      float(np.median(cpu[name])), repeats)) for name in fns}


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[Any, Timing]:
    """``(last output, Timing)`` of ``fn()`` (no arguments), after ``warmup`` untimed calls."""
    return timed_together({"fn": fn}, repeats, warmup)["fn"]


def peak_memory_bytes(compiled: Any) -> int | None:
    """XLA's peak-memory estimate of a compiled program (``jax.jit(f).lower(...).compile()``)
    in bytes: arguments, outputs and temporaries; ``None`` where the backend gives none."""
    stats = compiled.memory_analysis()
    peak = getattr(stats, "peak_memory_in_bytes", None) if stats is not None else None
    return int(peak) if peak else None

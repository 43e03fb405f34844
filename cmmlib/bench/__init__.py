"""Benchmarks: ``python -m cmmlib.bench [name ...|all] [--quick] [--json PATH]``.

Every benchmark times the project's code against a baseline run *in the same process* and
prints ratios, since the machines are noisy. Each module of this package not starting with an
underscore is one benchmark: its docstring says what it measures and how, and its
``main(quick: bool = False) -> dict`` prints its figures and returns them. The command line
writes them, with the hardware, versions, date and command, to one JSON report
(:mod:`cmmlib.bench._report`; units in the figures' names). A report measured on the project's
2-core CPU ships with the package (:data:`SHIPPED_REPORT`); :func:`load_report` reads it, or
the report named by ``$CMM_BENCH_JSON``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: environment variable naming a report to read instead of the shipped one
ENV_VAR = "CMM_BENCH_JSON"
#: the report measured on the project's 2-core CPU, shipped with the package
SHIPPED_REPORT = Path(__file__).resolve().parents[1] / "assets" / "bench" / "cpu.json"
#: where ``python -m cmmlib.bench`` writes its report unless told (relative to the working folder)
DEFAULT_OUTPUT = Path("_build") / "bench" / "bench.json"


def report_path(path: str | os.PathLike | None = None) -> Path:
    """The report to read: ``path``, else ``$CMM_BENCH_JSON``, else :data:`SHIPPED_REPORT`."""
    chosen = path or os.environ.get(ENV_VAR) or SHIPPED_REPORT
    return Path(chosen).expanduser().resolve()


def load_report(path: str | os.PathLike | None = None) -> tuple[dict[str, Any], Path]:
    """``(report, path)``: the JSON report of :func:`report_path`, checked to be a complete one."""
    where = report_path(path)
    if not where.exists():
        raise FileNotFoundError(f"no benchmark report at {where} (write one with `make bench`)")
    report = json.loads(where.read_text())
    missing = [k for k in ("hardware", "versions", "benchmarks", "command", "date_utc") if k not in report]
    if missing:
        raise ValueError(f"{where} is not a cmmlib.bench report (missing {missing})")
    return report, where

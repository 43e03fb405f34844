"""Run the benchmarks: ``python -m cmmlib.bench all``, or by name: ``python -m cmmlib.bench onedim core``."""
from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import pkgutil
import time
from pathlib import Path

import cmmlib.bench as _bench
from cmmlib.bench import DEFAULT_OUTPUT, SHIPPED_REPORT

#: said in every report written by this command line
MACHINE_NOTE = ("Absolute times depend on the machine and on what else runs on it (see hardware.load_average_1min); "
                "ratios between methods timed in the same process are the meaningful figures.")


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(_bench.__path__) if not m.name.startswith("_"))


def summary(name: str) -> str:
    """The first sentence of a benchmark's docstring, without reST markup (not importing it)."""
    source = Path(_bench.__path__[0], f"{name}.py").read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.replace("``", "").removeprefix("Benchmark: ").removeprefix("Benchmark of ")


def _measured_durations() -> tuple[dict[str, float], str]:
    """Seconds each benchmark took in the shipped report, and where it ran."""
    try:
        report = json.loads(SHIPPED_REPORT.read_text())
    except (OSError, ValueError):
        return {}, ""
    where = f"{report['hardware']['cpu_count']} x {report['hardware']['cpu_model']}, {report['date_utc'][:10]}"
    return {name: b["wall_s"] for name, b in report.get("benchmarks", {}).items()}, where


def _epilog(names: list[str]) -> str:
    durations, where = _measured_durations()
    lines = ["benchmarks (each prints its figures and ratios against a baseline timed in the same process"
             + (f"; [time of the full run on {where}, from the shipped report]" if durations else "") + "):"]
    for name in names:
        took = f" [{durations[name] / 60:.1f} min]" if name in durations else ""
        lines.append(f"  {name:9s}{took} {summary(name)}")
    if durations:
        lines.append(f"all of them: {sum(durations.values()) / 60:.1f} min there. --quick runs each at toy sizes: "
                     "a smoke test of the code paths, whose time is mostly compilation.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from cmmlib.bench import _report

    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m cmmlib.bench", description=_bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_epilog(names))
    parser.add_argument("names", nargs="*", default=["all"], help=f"any of {names}, or all (the default)")
    parser.add_argument("--quick", action="store_true", help="toy sizes: a smoke test of every code path, not figures")
    parser.add_argument("--json", type=Path, default=DEFAULT_OUTPUT, metavar="PATH",
                        help=f"where to write the JSON report (default: {DEFAULT_OUTPUT}); written atomically "
                             "after each benchmark")
    parser.add_argument("--note", action="append", default=[], metavar="TEXT",
                        help="a note to record in the report (e.g. what else ran on the machine); repeatable")
    args = parser.parse_args(argv)
    chosen = names if "all" in args.names else args.names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {names}")

    report = _report.new_report(_report.command_line(argv), args.quick, [*args.note, MACHINE_NOTE])
    start = time.perf_counter()
    for name in chosen:
        print(f"\n=== benchmark: {name} ===", flush=True)
        t0 = time.perf_counter()
        results = importlib.import_module(f"cmmlib.bench.{name}").main(quick=args.quick)
        report["benchmarks"][name] = {"about": summary(name), "wall_s": time.perf_counter() - t0, "results": results}
        report["total_wall_s"] = time.perf_counter() - start
        _report.write(args.json, report)
    report["complete"] = True
    report["hardware"]["load_average_1min_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    path = _report.write(args.json, report)
    print(f"\nreport: {path} ({report['total_wall_s'] / 60:.1f} min in all)")


if __name__ == "__main__":
    main()

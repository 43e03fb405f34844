"""Run the benchmarks: `python -m cmmlib.bench all`, or by name: `python -m cmmlib.bench onedim core`."""
from __future__ import annotations

import argparse
import importlib
import pkgutil

import cmmlib.bench as _bench


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(_bench.__path__) if not m.name.startswith("_"))


def _summary(name: str) -> str:
    """The first sentence of a benchmark's docstring, without reST markup (not importing it)."""
    import ast
    from pathlib import Path

    source = Path(_bench.__path__[0], f"{name}.py").read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.replace("``", "").removeprefix("Benchmark: ").removeprefix("Benchmark of ")


def main(argv: list[str] | None = None) -> None:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m cmmlib.bench", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="benchmarks (each prints its times and ratios against a baseline timed in the same "
               "process):\n" + "\n".join(f"  {name:8s} {_summary(name)}" for name in names))
    parser.add_argument("names", nargs="*", default=["all"], help=f"any of {names}, or all")
    args = parser.parse_args(argv)
    chosen = names if "all" in args.names else args.names
    for name in chosen:
        if name not in names:
            parser.error(f"unknown benchmark {name!r}; available: {names}")
        print(f"\n=== benchmark: {name} ===", flush=True)
        importlib.import_module(f"cmmlib.bench.{name}").main()


if __name__ == "__main__":
    main()

"""Run the benchmarks: ``python -m cmmlib.bench all`` or ``python -m cmmlib.bench onedim ...``."""
from __future__ import annotations

import argparse
import importlib
import pkgutil

import cmmlib.bench as _bench


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(_bench.__path__) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> None:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m cmmlib.bench", description=__doc__)
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

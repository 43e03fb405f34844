"""Benchmarks: ``python -m cmmlib.bench [name ...|all]``.

Every benchmark times the project's code against a baseline run *in the same process* and
prints ratios, since the machines are noisy. Each module of this package defines
``main() -> None`` and is listed by its name.
"""

"""Run the benchmarks, print one table per benchmark and write them all as JSON.

Each module ``benchmarks/bench_<name>.py`` exposes ``run(quick: bool) -> list[dict]``:
one dict per measured case, flat values only. ``--quick`` runs small sizes (used by the tests that
check the benchmarks still run); the full run is what ``make bench`` reports.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time

import pandas as pd

import benchmarks as benchmarks_pkg
from benchmarks.cli_args import run_parser
from console import exits


def available() -> list[str]:
    """Names of the benchmark modules, without the ``bench_`` prefix."""
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(benchmarks_pkg.__path__)
        if m.name.startswith("bench_")
    )


def run_one(name: str, quick: bool) -> list[dict]:
    """Import ``bench_<name>`` and run it."""
    module = importlib.import_module(f"benchmarks.bench_{name}")
    return module.run(quick=quick)


def main(argv: list[str] | None = None) -> int:
    parser = run_parser()
    args = parser.parse_args(argv)

    names = args.only or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(
            f"error: unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(available())}",
            file=sys.stderr,
        )
        return 2
    results: dict[str, list[dict]] = {}
    for name in names:
        started = time.perf_counter()
        rows = run_one(name, args.quick)
        results[name] = rows
        print(f"\n== {name} ({time.perf_counter() - started:.1f} s)")
        print(pd.DataFrame(rows).to_string(index=False) if rows else "(no rows)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

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
from pathlib import Path

import pandas as pd

import benchmarks as benchmarks_pkg
from console import exits
from console.parsers import command_parser


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
    parser = command_parser("python -m benchmarks.run", __doc__)
    parser.add_argument("--only", nargs="*", help="benchmark names to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports/bench.json"),
        help="JSON file for every table (default reports/bench.json)",
    )
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

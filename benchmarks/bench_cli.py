"""``supervision --help`` and every subcommand's ``--help``, beside a bare Python start.

The tool must answer ``--help`` in under a second (issue 16): the top level imports no heavy
library, and a pass-through subcommand's ``--help`` is printed from its light parser
(``<package>/cli_args.py``) without importing the entry module. The baseline (``python -c pass``
with the same interpreter) shows how much of each figure is the machine rather than the tool.
Each figure is the median of fresh processes: wall seconds and the child's CPU seconds (user +
system, from ``resource.getrusage``), which a loaded machine inflates far less than wall time.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

LIMIT_S = 1.0
#: Every ``supervision`` subcommand, in the tool's order (``serve`` and ``settings`` are its own).
SUBCOMMANDS = (
    "pool",
    "import",
    "features",
    "feature-docs",
    "train",
    "ledger",
    "approve",
    "loop",
    "verify",
    "leads",
    "bench",
    "adbench",
    "odds",
    "card-fraud",
    "batch",
    "serve",
    "settings",
)


def _tool() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m supervision.cli``."""
    script = Path(sys.executable).with_name("supervision")
    if script.exists():
        return [str(script)]
    found = shutil.which("supervision")
    return [found] if found else [sys.executable, "-m", "supervision.cli"]


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _median_seconds(command: list[str], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeats`` fresh runs of ``command`` (which must exit 0)."""
    walls, cpus = [], []
    for _ in range(repeats):
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu_before)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}: {done.stderr[-300:]}"
            )
    return statistics.median(walls), statistics.median(cpus)


def run(quick: bool = False) -> list[dict]:
    """One row per command: median wall and CPU seconds, the bare start's, the 1 s limit."""
    repeats = 3 if quick else 5
    base_wall, base_cpu = _median_seconds([sys.executable, "-c", "pass"], repeats)
    commands: list[list[str]] = [[]] + [[name] for name in SUBCOMMANDS]
    rows = []
    for words in commands:
        wall, cpu = _median_seconds([*_tool(), *words, "--help"], repeats)
        rows.append(
            {
                "command": " ".join(["supervision", *words, "--help"]),
                "median_wall_s": round(wall, 3),
                "median_cpu_s": round(cpu, 3),
                "runs": repeats,
                "python_start_wall_s": round(base_wall, 3),
                "python_start_cpu_s": round(base_cpu, 3),
                "limit_s": LIMIT_S,
                "within": wall < LIMIT_S,
            }
        )
    return rows

"""``supervision --help`` start-up time beside a bare Python start in the same run.

The tool must answer ``--help`` in under a second (issue 16): its heavy libraries are imported
inside the commands. The baseline (``python -c pass`` with the same interpreter) shows how much
of the figure is the machine rather than the tool. Medians of several runs, each a fresh
process; ``supervision train --help`` (which imports the training package) is shown too.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

LIMIT_S = 1.0


def _tool() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m supervision.cli``."""
    script = Path(sys.executable).with_name("supervision")
    if script.exists():
        return [str(script)]
    found = shutil.which("supervision")
    return [found] if found else [sys.executable, "-m", "supervision.cli"]


def _median_seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}: {done.stderr[-300:]}"
            )
    return statistics.median(times)


def run(quick: bool = False) -> list[dict]:
    """One row per command: median seconds, the bare start's, and the limit where there is one."""
    repeats = 3 if quick else 7
    baseline = _median_seconds([sys.executable, "-c", "pass"], repeats)
    top = _median_seconds([*_tool(), "--help"], repeats)
    # a subcommand's help imports its package (training: MLflow, LightGBM, ...): no limit, shown
    train = _median_seconds([*_tool(), "train", "--help"], 1)
    return [
        {
            "command": "supervision --help",
            "median_s": round(top, 3),
            "runs": repeats,
            "python_start_s": round(baseline, 3),
            "limit_s": LIMIT_S,
            "within": top < LIMIT_S,
        },
        {
            "command": "supervision train --help",
            "median_s": round(train, 3),
            "runs": 1,
            "python_start_s": round(baseline, 3),
            "limit_s": None,
            "within": None,
        },
    ]

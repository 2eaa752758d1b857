"""Benchmark: importing an office's exports, and training a 30-snapshot daily panel.

Import: the ``social_insurance`` example's exports (GB18030 CSVs and an Excel registry) at SCALE 1
(4,000 employers x 18 months, about 145,000 rows) and 10 (ten times the employers); each import
runs in a fresh child process reporting its own peak resident set (``ru_maxrss``) and CPU time,
so one import's memory is not hidden by another's. Rows per second count every row read across
the four files; the CSV/Excel split is per source from the import report.

Panel: the ``card_daily`` example with ``Cadence("day", window=9, delay=7, horizon=8)``
(judged periods end ``delay`` before the as-of date and each trains on a window ending ``delay``
before it: 8 + 2 x 7 + 9 - 1 = 30 daily snapshots), seconds per training stage from the train
job's own timings.
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pool import discovery
from pool.importer import import_model
from settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
FULL_SCALES = (1.0, 10.0)
QUICK_SCALES = (0.05,)
EMPLOYERS_PER_SCALE = 4000


def _child_import(model: str, data: str) -> None:
    """Run one import in this process and print its figures as JSON."""
    os.environ[discovery.ENV_MODELS] = model
    started = time.perf_counter()
    report = import_model(discovery.get("social_insurance"), data)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    by_kind: dict[str, float] = {}
    for source in report.sources:
        kind = "excel" if source.origin.endswith(".xlsx") else "csv"
        by_kind[kind] = by_kind.get(kind, 0) + source.rows_read
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": sum(by_kind.values()),
                **by_kind,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_mib": usage.ru_maxrss / 1024,
            }
        )
    )


def _import_case(scale: float, work: Path) -> dict:
    make = runpy.run_path(str(ROOT / "examples" / "social_insurance" / "make_exports.py"))
    folder = work / f"office-{scale}"
    make["write"](folder, make["exports"](max(50, int(EMPLOYERS_PER_SCALE * scale)), 7))
    shutil.copy(ROOT / "examples" / "social_insurance" / "model.py", folder / "model.py")
    code = (
        "import sys; from benchmarks.bench_import import _child_import; "
        "_child_import(sys.argv[1], sys.argv[2])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder / "model.py"), str(work / f"data-{scale}")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "case": "import social_insurance",
        "scale": scale,
        "rows_read": got["rows"],
        "csv_rows": got.get("csv", 0),
        "excel_rows": got.get("excel", 0),
        "seconds": round(got["seconds"], 2),
        "rows_per_s": round(got["rows"] / got["seconds"]),
        "cpu_seconds": round(got["cpu_seconds"], 1),
        "peak_mib": round(got["peak_mib"]),
    }


def _panel_case(work: Path, quick: bool) -> dict:
    make = runpy.run_path(str(ROOT / "examples" / "card_daily" / "make_exports.py"))
    folder = work / "bank"
    cards, days = (150, 45) if quick else (1000, 60)
    make["write"](folder, make["exports"](cards, days, 5))
    text = (ROOT / "examples" / "card_daily" / "model.py").read_text(encoding="utf-8")
    text = text.replace(
        'cadence=Cadence("day", window=7, delay=7, horizon=7)',
        'cadence=Cadence("day", window=9, delay=7, horizon=8)',
    )
    (folder / "model.py").write_text(text, encoding="utf-8")
    # deferred: the import children load this module, and MLflow would add to their figures
    from training.train import run

    previous = get_settings().supervision_models
    os.environ[discovery.ENV_MODELS] = str(folder / "model.py")
    discovery.reset()
    try:
        started = time.perf_counter()
        _, job = run(["card_daily"], str(work / "panel-data"), 42, work / "panel")
        wall = time.perf_counter() - started
    finally:
        if not previous:
            os.environ.pop(discovery.ENV_MODELS, None)
        else:
            os.environ[discovery.ENV_MODELS] = previous
        discovery.reset()
    stages = {f"{k}_s": round(v, 1) for k, v in job.timings["card_daily"].items()}
    return {
        "case": "daily panel, 30 snapshots",
        "scale": f"{cards} cards x {days} days",
        "seconds": round(wall, 1),
        **stages,
    }


def run(quick: bool = False) -> list[dict]:
    scales = QUICK_SCALES if quick else FULL_SCALES
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = [_import_case(scale, work) for scale in scales]
        rows.append(_panel_case(work, quick))
    return rows

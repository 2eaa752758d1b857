"""Benchmark: how every stage of ``python -m training.train`` grows with the data (issue 17).

For each scale, one fresh child process builds the simulated pool in a temporary data root,
validates it, and trains every trainable model into a fresh MLflow store and lead store there
(``training.train.run``, as ``make train`` on a fresh clone). The child reports, per model and
stage (pool build, validate, features, backtest, fit, explain, mlflow, gate, leads): wall
seconds, CPU seconds of the whole process (every thread), CPU% (200 = both cores), the peak
resident set while the stage ran, the rows it worked on and rows per second. The parent prints
the growth factor of each stage's wall seconds beside the previous scale's (``x_prev``) and the
data factor it is to be compared with (``data_x``: the ratio of the scales).

Memory guard: the parent watches the child's resident set and kills it past ``--max-rss-gib``
(default 20 GiB, ``SUPERVISION_BENCH_MAX_RSS_GIB``), so a run that outgrows the machine stops,
naming the scale, instead of pushing the machine out of memory.

``python -m benchmarks.bench_scale --scales 1 10 30`` runs it alone; ``make bench``
runs it with the others (scales 1, 10 and 30; ``--quick``: 0.05 and 0.1, fuel_tax only). The total
row gives the machine's 15-minute load average at the end of the run: on a shared machine CPU%
is capped by contention, and wall growth between scales is only comparable at similar load. The
fixed costs (imports, MLflow store creation, the real bid_rigging data, which does not scale)
are in the same table, so a stage whose wall time barely grows is a fixed cost, not a miracle.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from settings import get_settings
from training.train import run as train
from training.train_data import trainable_scenarios

FULL_SCALES = (1.0, 10.0, 30.0)
QUICK_SCALES = (0.05, 0.1)
QUICK_MODELS = ("fuel_tax",)
SEED = 42
GIB = 1024**3


def _child(scale: float, root: Path, models: list[str] | None) -> dict:
    """Build, validate and train at ``scale`` under ``root`` in this process; the costs."""
    scenarios = models or trainable_scenarios()
    wall, cpu = time.perf_counter(), time.process_time()
    outcomes, job = train(
        scenarios,
        str(root / "data"),
        seed=SEED,
        root=root,
        scale=scale,
        leads_url=f"sqlite:///{root / 'leads.db'}",
        require_real=False,
    )
    total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    manifest = json.loads((root / "data" / "pool" / "manifest.json").read_text())
    pool_rows = sum(meta["rows"] for meta in manifest["files"].values())
    stages = []
    for group, per in job.meter.costs.items():
        for name, cost in per.items():
            rows = (
                pool_rows
                if group == "(setup)" and name != "mlflow"
                else job.meter.rows.get(group, {}).get(name, 0)
            )
            stages.append(
                {
                    "model": group,
                    "stage": name,
                    "wall_s": cost.wall,
                    "cpu_s": cost.cpu,
                    "peak_rss_mib": cost.peak_rss / 2**20,
                    "rows": rows,
                }
            )
    metrics = {
        o.scenario: {
            k: v
            for k, v in o.metrics.items()
            if k in ("precision_at_k", "average_precision", "roc_auc")
        }
        for o in outcomes
    }
    return {
        "scale": scale,
        "stages": stages,
        "total_wall_s": total_wall,
        "total_cpu_s": total_cpu,
        "metrics": metrics,
        "load_avg_15min": round(os.getloadavg()[2], 1),
    }


def _rss_of(pid: int) -> int:
    """Resident bytes of ``pid`` and its children (0 once it is gone)."""
    total = 0
    for proc in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{proc}/statm", encoding="ascii") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            kids = [int(p) for p in fh.read().split()]
    except OSError:
        return []
    return kids + [g for k in kids for g in _children(k)]


def measure(scale: float, root: Path, models: list[str] | None, max_rss: int) -> dict:
    """One child run at ``scale``; raises naming the scale if it fails or outgrows ``max_rss``."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_scale",
        "--child",
        "--scales",
        str(scale),
        "--root",
        str(root),
    ]
    if models:
        cmd += ["--models", *models]
    # as `make train` runs: the hash seed fixed, OpenMP threads sleeping while they wait
    env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = {"rss": 0, "killed": False}

    def watch() -> None:
        while proc.poll() is None:
            rss = _rss_of(proc.pid)
            peak["rss"] = max(peak["rss"], rss)
            if rss > max_rss:
                peak["killed"] = True
                proc.kill()
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    if peak["killed"]:
        raise RuntimeError(
            f"scale {scale}: stopped at {peak['rss'] / GIB:.1f} GiB resident, "
            f"over the {max_rss / GIB:.1f} GiB guard"
        )
    if proc.returncode != 0:
        raise RuntimeError(
            f"scale {scale}: training failed (exit {proc.returncode}):\n{err[-3000:]}"
        )
    report = json.loads(out.strip().splitlines()[-1])
    report["process_peak_rss_mib"] = peak["rss"] / 2**20
    return report


def table(reports: list[dict]) -> list[dict]:
    """One row per scale, model and stage; growth beside the previous scale's wall seconds."""
    rows: list[dict] = []
    previous: dict[tuple[str, str], float] = {}
    last_scale = None
    for report in reports:
        scale = report["scale"]
        for st in report["stages"]:
            key = (st["model"], st["stage"])
            before = previous.get(key)
            row = {
                "scale": scale,
                "model": st["model"],
                "stage": st["stage"],
                "wall_s": round(st["wall_s"], 2),
                "cpu_s": round(st["cpu_s"], 2),
                "cpu_pct": round(100 * st["cpu_s"] / st["wall_s"]) if st["wall_s"] else 0,
                "peak_rss_mib": round(st["peak_rss_mib"]),
                "rows": st["rows"],
                "rows_per_s": round(st["rows"] / st["wall_s"]) if st["wall_s"] else 0,
                "data_x": round(scale / last_scale, 1) if last_scale else None,
                "x_prev": round(st["wall_s"] / before, 1) if before else None,
            }
            rows.append(row)
            previous[key] = st["wall_s"]
        total = {
            "scale": scale,
            "model": "(all)",
            "stage": "(total)",
            "wall_s": round(report["total_wall_s"], 1),
            "cpu_s": round(report["total_cpu_s"], 1),
            "cpu_pct": round(100 * report["total_cpu_s"] / report["total_wall_s"]),
            "peak_rss_mib": round(report["process_peak_rss_mib"]),
            "rows": None,
            "rows_per_s": None,
            "load_avg": report.get("load_avg_15min"),
            "data_x": round(scale / last_scale, 1) if last_scale else None,
            "x_prev": round(report["total_wall_s"] / previous[("(all)", "(total)")], 1)
            if ("(all)", "(total)") in previous
            else None,
        }
        rows.append(total)
        previous[("(all)", "(total)")] = report["total_wall_s"]
        last_scale = scale
    return rows


def run(
    quick: bool,
    scales: tuple[float, ...] | None = None,
    models: list[str] | None = None,
    max_rss_gib: float | None = None,
) -> list[dict]:
    """Every stage at every scale (fresh child process and data root per scale)."""
    scales = scales or (QUICK_SCALES if quick else FULL_SCALES)
    models = models or (list(QUICK_MODELS) if quick else None)
    limit = max_rss_gib or get_settings().supervision_bench_max_rss_gib
    reports = []
    for scale in scales:
        with tempfile.TemporaryDirectory(
            prefix=f"bench-scale-{scale:g}-", dir=get_settings().supervision_bench_tmp
        ) as tmp:
            reports.append(measure(scale, Path(tmp), models, int(limit * GIB)))
    return table(reports)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scales", type=float, nargs="+", default=list(FULL_SCALES))
    parser.add_argument("--models", nargs="+", default=None, help="default: every model")
    parser.add_argument("--max-rss-gib", type=float, default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.scales[0], args.root, args.models)))
        return 0
    import pandas as pd

    rows = run(False, tuple(args.scales), args.models, args.max_rss_gib)
    with pd.option_context("display.width", 250, "display.max_rows", 500):
        print(pd.DataFrame(rows).to_string(index=False))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

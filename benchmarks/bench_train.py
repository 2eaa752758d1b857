"""Time per stage of ``make train`` and the share spent in MLflow bookkeeping.

Full run: a SCALE 1 pool built in a temporary folder, then every trainable scenario trained into
a fresh MLflow store and lead store there (what ``make train`` does on a fresh clone). Quick run:
a SCALE 0.25 pool and ``fuel_tax`` only. One row per scenario with seconds per stage (features,
backtest, fit, explain, mlflow, gate, leads), the MLflow share, and the process CPU seconds (a
fairer figure than wall time on a shared machine); plus one row for the pool build and a total.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from features.points import simulated_scenarios
from pool.build import build
from pool.spec import SimConfig
from training.train import run as train
from training.train_data import trainable_scenarios

STAGES = ("features", "backtest", "fit", "explain", "mlflow", "gate", "leads")


def run(quick: bool) -> list[dict]:
    """Build a pool, train, and report the stage timings."""
    scale = 0.25 if quick else 1.0
    scenarios = ["fuel_tax"] if quick else trainable_scenarios()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wall, cpu = time.perf_counter(), time.process_time()
        simulated = [s for s in scenarios if s in simulated_scenarios()]
        build(SimConfig(seed=42, scale=scale), root / "data", simulated)
        rows = [
            {
                "scenario": "(pool build)",
                "scale": scale,
                "wall_s": round(time.perf_counter() - wall, 1),
                "cpu_s": round(time.process_time() - cpu, 1),
            }
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        outcomes, job = train(
            scenarios,
            str(root / "data"),
            seed=42,
            root=root,
            leads_url=f"sqlite:///{root / 'leads.db'}",
            require_real=False,
        )
        total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    for outcome in outcomes:
        t = job.timings.get(outcome.scenario, {})
        spent = sum(t.values())
        rows.append(
            {
                "scenario": outcome.scenario,
                "scale": scale,
                **{f"{s}_s": round(t.get(s, 0.0), 1) for s in STAGES},
                "wall_s": round(spent, 1),
                "mlflow_share": round(t.get("mlflow", 0.0) / spent, 3) if spent else None,
                "lifecycle": outcome.lifecycle,
            }
        )
    mlflow_total = sum(t.get("mlflow", 0.0) for t in job.timings.values())
    rows.append(
        {
            "scenario": "(train total)",
            "scale": scale,
            "wall_s": round(total_wall, 1),
            "cpu_s": round(total_cpu, 1),
            "mlflow_share": round(mlflow_total / total_wall, 3) if total_wall else None,
            "target_s": 180,
        }
    )
    return rows

"""Public anomaly-detection benchmarks: the project's detector and scorer vs PyOD vs the papers.

* ADBench protocol (70/30 stratified split, fit on train, score test, 3 seeds) on the shared
  ADBench sets: ``default_detector`` and PyOD's IForest, ECOD, COPOD, HBOS next to the paper's
  Tables D4/D5; ``default_scorer`` with 10% of training anomalies labelled next to D10/D11.
* ODDS sets under PyOD's protocol (60/40, standardised) next to PyOD's published table.

Budget: every dataset is capped at ``MAX_ROWS`` rows (stratified subsample, the same rows for
every method), which touches only the 7 largest sets. ``quick=True``: 3 small datasets, 1 seed.
Tables are written to ``reports/adbench_*.{csv,md}`` and ``reports/odds.{csv,md}``.
"""

from __future__ import annotations

import pandas as pd

from benchmarks import adbench, odds

MAX_ROWS = 20_000


def _flat(table: pd.DataFrame, protocol: str) -> list[dict]:
    """One flat dict per (dataset, method) from a side-by-side table."""
    rows = []
    for dataset, values in table.iterrows():
        methods = sorted({c.split(":", 1)[1] for c in table.columns if ":" in c})
        for method in methods:
            row = {"protocol": protocol, "dataset": dataset, "method": method}
            for column, value in values.items():
                metric, _, m = column.partition(":")
                if m == method and pd.notna(value):
                    row[metric] = round(float(value), 4)
            if len(row) > 3:
                rows.append(row)
    return rows


def run(quick: bool) -> list[dict]:
    """Run ADBench (unsupervised and 10% labels) and ODDS; return flat rows, write reports."""
    seeds = 1 if quick else 3
    names = list(adbench.QUICK_DATASETS) if quick else adbench.adbench_names()
    tables = adbench.run_protocol(names, seeds=seeds, max_rows=MAX_ROWS)
    odds_table = odds.run_protocol(list(odds.QUICK_DATASETS) if quick else odds.odds_names(), seeds)
    out = adbench.REPO / "reports"
    prefix = "adbench_quick" if quick else "adbench"
    adbench.write_reports(tables, out, prefix)
    out.joinpath(f"{'odds_quick' if quick else 'odds'}.md").write_text(adbench.markdown(odds_table))
    return (
        _flat(tables["unsupervised"], "adbench_unsupervised")
        + _flat(tables["labels10pct"], "adbench_10pct_labels")
        + _flat(odds_table, "odds")
    )

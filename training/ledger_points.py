"""The ledger by supervision point: rule and learnt models side by side, and their lead overlap.

For each supervision point (a model's ``point`` tag, i.e. its declaration's
``supervision_point``) one row per model with a served champion: its kind (rules or scorer),
precision at k and average precision on the backtest (every model of a point is judged on the
same backtest in the same train job), precision at capacity with the truth as judge (the share of
its served leads, the top ``capacity`` per district, that truly are frauds: only where a truth
exists, i.e. the simulated pool or a real model's findings), and its conversion so far (verified
leads that became cases, Wilson interval). Then the lead-overlap table of the point
(``training.overlap``): a duplicate model shows as a row of ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from evaluation.metrics import conversion
from training import model_registry as reg
from training.overlap import overlap_table, served_leads


@dataclass(frozen=True)
class PointRow:
    """One served model of a supervision point."""

    point: str
    model: str
    kind: str
    champion: int
    backtest_precision: float | None
    backtest_k: int | None
    backtest_ap: float | None
    truth_precision: float | None
    leads: int
    verified: int
    cases: int
    conversion: float | None
    conversion_low: float | None
    conversion_high: float | None


def point_of(client: MlflowClient, name: str) -> str:
    """A registered model's supervision point: its declaration's, else its versions' tag."""
    from features import registry

    try:
        return registry.get(name).supervision_point
    except KeyError:
        tags = [v.tags.get("point") for v in reg.list_versions(client, name)]
        return next((t for t in reversed(tags) if t), name)


def points(client: MlflowClient) -> dict[str, list[str]]:
    """Registered model names grouped by supervision point."""
    grouped: dict[str, list[str]] = {}
    for name in reg.list_scenarios(client):
        grouped.setdefault(point_of(client, name), []).append(name)
    return grouped


def _float(text: str | None) -> float | None:
    try:
        return None if text in (None, "") else float(text)
    except ValueError:
        return None


def truth_precision(data: Path | None, name: str, entities: set[str]) -> float | None:
    """Share of ``entities`` that truly are frauds, or None without a truth (evaluation only)."""
    if data is None or not entities:
        return None
    from leads.simulate import load_truth

    truth = load_truth(Path(data), name)
    if truth is None:
        return None
    fraud = truth["is_fraud"].astype(bool)
    return float(fraud.reindex(sorted(entities)).fillna(False).mean())


def _counts(store: Any, name: str, version: int) -> tuple[int, int, int]:
    if store is None:
        return 0, 0, 0
    for row in store.conversion_by_version(name):
        if row.model_name == reg.model_name(name) and str(row.model_version) == str(version):
            return row.issued, row.verified, row.cases
    return 0, 0, 0


def point_rows(client: MlflowClient, store: Any, data: Path | None) -> list[PointRow]:
    """Every served model, grouped by point (the point's own model first)."""
    rows = []
    for point, names in sorted(points(client).items()):
        for name in sorted(names, key=lambda n: (n != point, n)):
            champion, flagged = served_leads(client, store, name)
            if champion is None:
                continue
            tags = reg.get_version(client, name, champion).tags
            issued, verified, cases = _counts(store, name, champion)
            conv = conversion(issued, verified, cases)
            rows.append(PointRow(
                point=point, model=name, kind=tags.get("kind", ""), champion=champion,
                backtest_precision=_float(tags.get("backtest.precision_at_k")),
                backtest_k=int(float(tags["backtest.k"])) if tags.get("backtest.k") else None,
                backtest_ap=_float(tags.get("backtest.average_precision")),
                truth_precision=truth_precision(data, name, flagged), leads=issued,
                verified=verified, cases=cases,
                conversion=None if verified == 0 else conv.value,
                conversion_low=None if verified == 0 else conv.low,
                conversion_high=None if verified == 0 else conv.high))
    return rows


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def side_by_side(rows: list[PointRow]) -> pd.DataFrame:
    """The rows as a compact terminal table."""
    return pd.DataFrame([{
        "point": r.point, "model": r.model, "kind": r.kind, "champion": f"v{r.champion}",
        "backtest p@k": _fmt(r.backtest_precision) + (f" @{r.backtest_k}" if r.backtest_k
                                                       else ""),
        "backtest AP": _fmt(r.backtest_ap), "truth p@capacity": _fmt(r.truth_precision),
        "leads": r.leads, "verified": r.verified, "cases": r.cases,
        "conversion": "-" if r.conversion is None else
        f"{r.conversion:.2f} [{r.conversion_low:.2f}, {r.conversion_high:.2f}]",
    } for r in rows])


def overlap_tables(client: MlflowClient, store: Any, rows: list[PointRow]
                   ) -> dict[str, pd.DataFrame]:
    """Per point with two or more served models, the lead-overlap table."""
    by_point: dict[str, list[str]] = {}
    for r in rows:
        by_point.setdefault(r.point, []).append(r.model)
    return {p: overlap_table(client, store, names) for p, names in by_point.items()
            if len(names) > 1}


def print_points(client: MlflowClient, store: Any, data: Path | None) -> list[PointRow]:
    """Print the side-by-side table and each point's overlap table; returns the rows."""
    rows = point_rows(client, store, data)
    if not rows:
        return rows
    with pd.option_context("display.width", 250):
        print("\nby supervision point: rule and learnt models side by side "
              "(same backtest; truth p@capacity: share of the served leads truly fraud)")
        print(side_by_side(rows).to_string(index=False))
        for point, table in overlap_tables(client, store, rows).items():
            print(f"\nlead overlap, {point}: share of the row model's leads the column model "
                  "also flags")
            print(table.map(lambda v: "-" if pd.isna(v) else f"{v:.2f}").to_string())
    return rows

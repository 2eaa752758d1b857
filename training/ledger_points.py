"""The ledger by supervision point: rule and learnt models side by side, and their lead overlap.

For each supervision point (a model's ``point`` tag, i.e. its declaration's
``supervision_point``) one row per model with a served champion, every figure on equal terms
(``training.point_backtest``, recorded by the train job as ``compare.*`` version tags):

* precision at capacity with the truth as judge on the as-of table: the share of the model's
  top ``capacity`` per district that truly are frauds (only where a truth exists: the simulated
  pool, or a real model's findings), every model with the same number of slots (a rule model
  fills them with its fired entities, then by its tie-break; without one it fills fewer and the
  empty slots are misses), with how many slots were filled and how many by a fired rule;
* the point's common walk-forward backtest: precision at k and average precision on the
  entities whose outcome became known in each period (the same rows for every model), and
  precision at capacity with the truth as judge in each period;
* conversion so far (verified leads that became cases, Wilson interval).

Then the point's overlap table (``training.overlap``): a duplicate model shows as a row of ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from evaluation.metrics import conversion
from features import registry
from training import model_registry as reg
from training.overlap import overlap_table, served


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
    backtest_truth: float | None = None
    truth_filled: str = ""
    backtest_judged: int | None = None  # outcomes judged over the walk-forward periods


def point_of(client: MlflowClient, name: str) -> str:
    """A registered model's supervision point: its declaration's, else its versions' tag."""

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


def _counts(store: Any, name: str, version: int) -> tuple[int, int, int]:
    if store is None:
        return 0, 0, 0
    for row in store.conversion_by_version(name):
        if row.model_name == reg.model_name(name) and str(row.model_version) == str(version):
            return row.issued, row.verified, row.cases
    return 0, 0, 0


def _filled(tags: dict[str, str]) -> str:
    """``filled/slots`` of the truth's top-k, with how many a rule fired on when fewer."""
    if "compare.truth_slots" not in tags:
        return ""
    filled, n, fired = (tags.get(f"compare.truth_{x}", "") for x in ("filled", "slots", "fired"))
    return f"{filled}/{n}" + (f" ({fired} fired)" if fired and fired != filled else "")


def point_rows(client: MlflowClient, store: Any, data: Path | None = None) -> list[PointRow]:
    """Every served model, grouped by point (the point's own model first)."""
    rows = []
    for point, names in sorted(points(client).items()):
        for name in sorted(names, key=lambda n: (n != point, n)):
            champion = served(client, name)
            if champion is None:
                continue
            tags = reg.get_version(client, name, champion).tags
            issued, verified, cases = _counts(store, name, champion)
            conv = conversion(issued, verified, cases)
            compared = "compare.k" in tags
            prefix = "compare." if compared else "backtest."
            k = tags.get("compare.k") or tags.get("backtest.k")
            rows.append(
                PointRow(
                    point=point,
                    model=name,
                    kind=tags.get("kind", ""),
                    champion=champion,
                    backtest_precision=_float(
                        tags.get(
                            prefix + ("backtest_precision_at_k" if compared else "precision_at_k")
                        )
                    ),
                    backtest_k=int(float(k)) if k else None,
                    backtest_ap=_float(
                        tags.get(prefix + ("backtest_ap" if compared else "average_precision"))
                    ),
                    truth_precision=_float(tags.get("compare.truth_precision_at_capacity")),
                    leads=issued,
                    verified=verified,
                    cases=cases,
                    conversion=None if verified == 0 else conv.value,
                    conversion_low=None if verified == 0 else conv.low,
                    conversion_high=None if verified == 0 else conv.high,
                    backtest_truth=_float(tags.get("compare.backtest_truth_precision")),
                    truth_filled=_filled(tags),
                    backtest_judged=int(tags["compare.judged"])
                    if "compare.judged" in tags
                    else None,
                )
            )
    return rows


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def side_by_side(rows: list[PointRow]) -> pd.DataFrame:
    """The rows as a compact terminal table."""
    return pd.DataFrame(
        [
            {
                "point": r.point,
                "model": r.model,
                "kind": r.kind,
                "champion": f"v{r.champion}",
                "truth p@cap": _fmt(r.truth_precision),
                "filled": r.truth_filled or "-",
                "wf truth p@cap": _fmt(r.backtest_truth),
                "wf p@k": _fmt(r.backtest_precision)
                + (f" @{r.backtest_k}" if r.backtest_k else ""),
                "wf AP": _fmt(r.backtest_ap),
                "wf judged": "-" if r.backtest_judged is None else r.backtest_judged,
                "leads": r.leads,
                "verified": r.verified,
                "cases": r.cases,
                "conversion": "-"
                if r.conversion is None
                else f"{r.conversion:.2f} [{r.conversion_low:.2f}, {r.conversion_high:.2f}]",
            }
            for r in rows
        ]
    )


def overlap_tables(
    client: MlflowClient, store: Any, rows: list[PointRow]
) -> dict[str, pd.DataFrame]:
    """Per point with two or more served models, the lead-overlap table."""
    by_point: dict[str, list[str]] = {}
    for r in rows:
        by_point.setdefault(r.point, []).append(r.model)
    return {p: overlap_table(client, names) for p, names in by_point.items() if len(names) > 1}


def print_points(client: MlflowClient, store: Any, data: Path | None) -> list[PointRow]:
    """Print the side-by-side table and each point's overlap table; returns the rows."""
    rows = point_rows(client, store, data)
    if not rows:
        return rows
    with pd.option_context("display.width", 250):
        print(
            "\nby supervision point: rule and learnt models side by side (truth p@cap: "
            "share of the top capacity per district truly fraud, equal slots; wf: the "
            "point's common walk-forward backtest, p@k and AP on the outcomes known in each "
            "period, truth p@cap per period)"
        )
        print(side_by_side(rows).to_string(index=False))
        for point, table in overlap_tables(client, store, rows).items():
            print(
                f"\nlead overlap, {point}: share of the row model's backtest top-k (per "
                "period) the column model also has in its top-k"
            )
            print(table.map(lambda v: "-" if pd.isna(v) else f"{v:.2f}").to_string())
    return rows

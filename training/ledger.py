"""The model ledger (模型台账): every scenario and version with its lifecycle, approvals, offline
metrics, leads, verified, cases and conversion.

``python -m training.ledger [--json reports/ledger.json]`` prints it as a table (and writes it as
JSON). Facts come from their two sources of truth: the MLflow registry (lifecycle, evidence and
approvals as version tags, aliases) and the lead store (leads issued, verified, cases per version).
The service shows the same rows through ``ledger_rows``. Then, per supervision point, its rule and
learnt models side by side and their lead overlap (``training.ledger_points``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import pandas as pd
from mlflow.tracking import MlflowClient
from sqlalchemy.engine import Engine

from console import exits
from console.tables import format_frame
from evaluation.metrics import conversion
from features.wording import money
from leads.stats import VersionStakes, stakes_by_version
from training import model_registry as reg
from training.cli_args import ledger_parser

REASON_TAGS = ("retire.reason", "champion.reason", "gate.reason")


@dataclass(frozen=True)
class LedgerRow:
    """One version in the ledger."""

    scenario: str
    version: int
    aliases: str
    lifecycle: str
    kind: str
    business_approval: str
    data_approval: str
    approval_kind: str
    metric: str
    value: float | None
    interval: str
    backtest_n: int | None
    issued: int
    verified: int
    cases: int
    conversion: float | None
    conversion_low: float | None
    conversion_high: float | None
    reason: str
    trained_at: str
    #: outcomes of its cases: money recovered (yuan) and their leads' amount at stake
    amount_recovered: float = 0.0
    amount_at_stake: float | None = None
    amount_unit: str | None = None


def _approval(tags: dict[str, str], line: str) -> str:
    """``who (when, kind)`` of one line's approval, or empty."""
    who = tags.get(f"approval.{line}.by")
    if not who:
        return ""
    return f"{who} ({tags.get(f'approval.{line}.at', '?')}, {tags.get(f'approval.{line}.kind')})"


def _reason(tags: dict[str, str]) -> str:
    """The latest decision's reason: retirement, then promotion, then the gate."""
    for key in REASON_TAGS:
        if tags.get(key):
            return tags[key]
    return ""


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return None if value is None or math.isnan(value) else value


class VersionCounts(Protocol):
    """What the ledger reads of one version's record in the lead store."""

    @property
    def model_name(self) -> str: ...
    @property
    def model_version(self) -> str: ...
    @property
    def issued(self) -> int: ...
    @property
    def verified(self) -> int: ...
    @property
    def cases(self) -> int: ...


class ConversionSource(Protocol):
    """The part of the lead store the ledger needs (``leads.store.LeadStore`` has it)."""

    @property
    def engine(self) -> Engine: ...

    def conversion_by_version(self, scenario: str) -> Sequence[VersionCounts]: ...


def _store_counts(store: ConversionSource | None, scenario: str) -> dict[int, tuple[int, int, int]]:
    """(issued, verified, cases) per version of the scenario's model, from the lead store."""
    if store is None:
        return {}
    counts = {}
    for row in store.conversion_by_version(scenario):
        if row.model_name == reg.model_name(scenario) and str(row.model_version).isdigit():
            counts[int(row.model_version)] = (row.issued, row.verified, row.cases)
    return counts


def _store_stakes(store: ConversionSource | None, scenario: str) -> dict[int, VersionStakes]:
    """Per version: what its cases recovered and put at stake (``leads.stats``)."""
    if store is None:
        return {}
    return {
        int(v.model_version): v
        for v in stakes_by_version(store.engine, scenario)
        if v.model_name == reg.model_name(scenario) and v.model_version.isdigit()
    }


def _tag_counts(tags: dict[str, str]) -> tuple[int, int, int]:
    """The counts last logged by the conversion monitor (when no store is at hand)."""
    issued, verified, cases = (
        int(tags.get(f"leads.{k}", 0)) for k in ("issued", "verified", "cases")
    )
    return issued, verified, cases


def ledger_rows(client: MlflowClient, store: ConversionSource | None = None) -> list[LedgerRow]:
    """Every version of every scenario, oldest first within a scenario."""
    rows = []
    for scenario in reg.list_scenarios(client):
        store_counts = _store_counts(store, scenario)
        stakes = _store_stakes(store, scenario)
        for info in reg.list_versions(client, scenario):
            t = info.tags
            stake = stakes.get(info.version)
            issued, verified, cases = store_counts.get(info.version) or _tag_counts(t)
            conv = conversion(issued, verified, cases)
            rows.append(
                LedgerRow(
                    scenario=scenario,
                    version=info.version,
                    aliases=",".join(sorted(info.aliases)),
                    lifecycle=info.lifecycle,
                    kind=t.get("kind", ""),
                    business_approval=_approval(t, "business"),
                    data_approval=_approval(t, "data"),
                    approval_kind=t.get("approval_kind", ""),
                    metric=t.get("gate.metric", ""),
                    value=_float(t.get("gate.value")),
                    interval=t.get("gate.interval", ""),
                    backtest_n=int(t["gate.n"]) if t.get("gate.n") else None,
                    issued=issued,
                    verified=verified,
                    cases=cases,
                    conversion=None if verified == 0 else conv.value,
                    conversion_low=None if verified == 0 else conv.low,
                    conversion_high=None if verified == 0 else conv.high,
                    reason=_reason(t),
                    trained_at=t.get("trained_at", ""),
                    amount_recovered=stake.amount_recovered if stake else 0.0,
                    amount_at_stake=stake.amount_at_stake if stake else None,
                    amount_unit=stake.amount_unit if stake else None,
                )
            )
    return rows


def ledger_table(rows: list[LedgerRow]) -> pd.DataFrame:
    """The ledger as a compact table for a terminal."""

    def conv(r: LedgerRow) -> str:
        if r.conversion is None:
            return "-"
        return f"{r.conversion:.2f} [{r.conversion_low:.2f}, {r.conversion_high:.2f}]"

    return pd.DataFrame(
        [
            {
                "scenario": r.scenario,
                "v": r.version,
                "alias": r.aliases or "-",
                "lifecycle": r.lifecycle,
                "kind": r.kind,
                "approvals": _approvals_short(r),
                "offline": f"{r.metric}={r.value:.2f} {r.interval} n={r.backtest_n}"
                if r.value is not None
                else "-",
                "leads": r.issued,
                "verified": r.verified,
                "cases": r.cases,
                "conversion": conv(r),
                "recovered": _money(r.amount_recovered) if r.cases else "-",
                "at stake (cases)": _stake(r),
                "reason": r.reason[:70],
            }
            for r in rows
        ]
    )


def _money(yuan: float) -> str:
    """Yuan as the Chinese tables say it (万元, 亿元)."""
    return money(yuan, "zh")


def _stake(r: LedgerRow) -> str:
    """The declared amount at stake of the version's cases, with its unit."""
    if r.amount_at_stake is None:
        return "-"
    if r.amount_unit == "yuan":
        return _money(r.amount_at_stake)
    return f"{r.amount_at_stake:,.0f} {r.amount_unit}"


def _approvals_short(r: LedgerRow) -> str:
    names = [a.split(" (")[0] for a in (r.business_approval, r.data_approval) if a]
    if not names:
        return "-"
    return f"{len(names)}/2 {r.approval_kind}: {', '.join(names)}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ledger_parser()
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # deferred: mlflow, the lead store and the points load when the command runs, not for `--help`
    from training.mlflow_setup import open_client, resolve

    client = open_client(resolve(root=args.root))
    store = None
    if not args.no_store:
        from leads.db import default_url
        from leads.store import LeadStore

        store = LeadStore.open(default_url(args.data))
    from pool.load import data_root
    from training.ledger_points import print_points

    try:
        rows = ledger_rows(client, store)
        if not rows:
            print("the ledger is empty: no registered model yet (run `make train`)")
        else:
            with pd.option_context("display.width", 250, "display.max_colwidth", 80):
                print(format_frame(ledger_table(rows)))
        by_point = print_points(client, store, data_root(args.data))
    finally:
        if store is not None:
            store.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
        points_json = args.json.with_name(f"{args.json.stem}_points.json")
        points_json.write_text(json.dumps([asdict(r) for r in by_point], indent=2))
        print(f"\nwrote {args.json} and {points_json}")
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

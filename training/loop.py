"""The closed loop, demonstrated: train, issue leads, verify them (simulated staff), watch each
version's conversion, retire the one whose leads stop becoming cases, retrain, recover.

``python -m training.loop --data data-drift --start 2024-05-31 --months 11`` replays month by
month on a pool (built with ``--drift-month N`` to let the fraudsters change their ways). Each
month the champion flags what it finds most suspicious among the stations not already under a
case; the simulated staff prove a lead only if the station evaded in the months it is about
(``leads.simulate``). Once the stations its signals can see have cases, the champion's leads stop
converting, the conversion monitor retires it (its Wilson interval falls wholly below the bar),
the champion alias falls back, and the job retrains on what is known by then. Conversion is
measured on the leads issued in the last ``window`` months, so an old good record cannot hide a
recent decay.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from training import registry as reg
from training.ledger_retire import VersionCounts, review_conversion
from training.ledger_stats import conversion
from training.train import Job, open_job, train_scenario
from training.train_data import _month_end
from training.train_leads import ranked_leads, write_leads
from training.train_policy import Policy, policy_for

FINAL = ("case_filed", "no_case", "invalid")


@dataclass(frozen=True)
class LoopStep:
    """One simulated month: who served, what its recent leads became, what was decided."""

    month: str
    champion: int | None
    issued: int
    verified: int
    cases: int
    conversion: float | None
    low: float
    high: float
    event: str


def next_month_end(day: date) -> date:
    """Last day of the month after ``day``'s month."""
    first = day.replace(day=1) + timedelta(days=32)
    return _month_end(first.year, first.month)


def recent_counts(store: Any, scenario: str, since: date) -> list[VersionCounts]:
    """Issued / verified (final outcome other than invalid) / cases per version, over leads
    issued on or after ``since``."""
    rows = [(int(v.model_version), v.status) for v in store.list_leads(scenario=scenario)
            if v.as_of >= since and v.model_name == reg.model_name(scenario)
            and str(v.model_version).isdigit()]
    frame = pd.DataFrame(rows, columns=["version", "status"])
    counts = []
    for version, part in frame.groupby("version"):
        verified = int(part["status"].isin(["case_filed", "no_case"]).sum())
        counts.append(VersionCounts(int(version), len(part), verified,
                                    int((part["status"] == "case_filed").sum())))
    return counts


def prosecuted(store: Any, scenario: str) -> set[str]:
    """Entities with a case already filed from an earlier lead.

    Why excluded from new leads: their case is with the prosecutors; flagging them again would
    count the same proven evasion as a new hit every month and hide a model that has stopped
    finding anyone new."""
    return {v.entity_id for v in store.list_leads(scenario=scenario, status="case_filed")}


def issue_leads(job: Job, scenario: str, as_of: date, policy: Policy) -> int:
    """The champion scores everything known on ``as_of`` not already prosecuted; its top per
    district become leads."""
    from features import registry as feature_registry
    from features.build import build_features
    from training.pyfunc import load_estimator

    champion = reg.alias_version(job.client, scenario, reg.CHAMPION)
    if champion is None:
        return 0
    info = reg.get_version(job.client, scenario, champion)
    estimator = load_estimator(
        job.client.get_model_version(reg.model_name(scenario), str(champion)).source)
    spec = feature_registry.get(scenario)
    frame = build_features(scenario, as_of, job.data).frame
    frame = frame[~frame["entity_id"].isin(prosecuted(job.store, scenario))]
    picked, _ = ranked_leads(estimator, info.tags.get("kind", "scorer"), spec.feature_names,
                             frame, policy.capacity, list(spec.features))
    write_leads(job.store, picked, f"loop-{scenario}-{as_of}", scenario,
                reg.model_name(scenario), champion, as_of)
    return len(picked)


def run_loop(scenario: str, data: str, root: Path, leads_url: str, start: date, months: int,
             seed: int = 42, policy: Policy | None = None, window: int = 3) -> list[LoopStep]:
    """Replay ``months`` months from ``start`` (a month end); see the module docstring."""
    from leads.simulate import VerifierParams, open_simulated, simulate

    policy = policy or policy_for(scenario)
    store = open_simulated(leads_url)
    job = open_job(data, seed, root, require_real=False, store=store)
    job.policies = {scenario: policy}
    job.as_of = start
    steps = []
    try:
        train_scenario(job, scenario)
        as_of = start
        params = VerifierParams(capacity=policy.capacity)
        for step in range(months):
            if step:
                issue_leads(job, scenario, as_of, policy)
            month_end = next_month_end(as_of)
            simulate(store, Path(data), days=(month_end - as_of).days, seed=seed, params=params,
                     start=as_of + timedelta(days=1))
            since = _month_end(*_shift(as_of, -window)) + timedelta(days=1)
            steps.append(_review(job, scenario, policy, step, as_of, since))
            as_of = month_end
            if steps[-1].event.startswith("retired"):
                job.as_of = as_of
                outcome = train_scenario(job, scenario)
                steps[-1] = replace(steps[-1], event=f"{steps[-1].event}; retrained "
                                    f"v{outcome.version} at {as_of}: {outcome.lifecycle}")
    finally:
        store.close()
    return steps


def _shift(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _review(job: Job, scenario: str, policy: Policy, step: int, as_of: date,
            since: date) -> LoopStep:
    """Log the recent conversion of every version; retire what fell below the bar."""
    served = reg.alias_version(job.client, scenario, reg.CHAMPION)
    counts = recent_counts(job.store, scenario, since)
    decisions = review_conversion(job.client, scenario, job.settings, counts, policy, step=step)
    mine = next((c for c in counts if c.version == served), VersionCounts(served or 0, 0, 0, 0))
    conv = conversion(mine.issued, mine.verified, mine.cases)
    retired = [d for d in decisions if d.lifecycle == reg.RETIRED]
    event = (f"retired v{retired[0].version}; champion -> "
             f"v{reg.alias_version(job.client, scenario, reg.CHAMPION)}") if retired else ""
    return LoopStep(str(as_of), served, mine.issued, mine.verified, mine.cases,
                    None if mine.verified == 0 else conv.value, conv.low, conv.high, event)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.loop",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="fuel_tax")
    parser.add_argument("--data", required=True, help="a pool built with --drift-month")
    parser.add_argument("--root", type=Path, default=Path("reports/loop"),
                        help="where the loop's own MLflow store goes (default reports/loop)")
    parser.add_argument("--start", type=date.fromisoformat, required=True,
                        help="first as-of date, a month end (YYYY-MM-DD)")
    parser.add_argument("--months", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bar", type=float, default=None, help="override the conversion bar")
    parser.add_argument("--floor", type=float, default=None, help="override the offline floor")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    policy = policy_for(args.scenario)
    if args.bar is not None:
        policy = replace(policy, bar=args.bar)
    if args.floor is not None:
        policy = replace(policy, floor=args.floor)
    args.root.mkdir(parents=True, exist_ok=True)
    steps = run_loop(args.scenario, args.data, args.root, f"sqlite:///{args.root / 'leads.db'}",
                     args.start, args.months, args.seed, policy)
    table = pd.DataFrame([s.__dict__ for s in steps])
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The closed loop, demonstrated: train, issue leads, verify them (simulated staff), watch each
version's conversion, retire the one whose leads stop becoming cases, retrain, recover.

``python -m training.loop --data data-drift --control data-nodrift --start 2024-05-31
--months 18`` replays month by month on a pool built with ``--drift-month N`` (from that month
the fraudsters change their ways: see ``models.fuel_tax.world.adapt``) and, for
comparison, on the same pool built without drift. Each month the champion flags its top
``capacity`` stations per district, leaving out those with a case already filed; the simulated
staff (``leads.simulate``) prove a lead only if the station evaded in the six months it is about.
Conversion is measured on the leads issued in the last ``window`` months, so an old good record
cannot hide a recent decay; once its Wilson interval lies wholly below the scenario's bar, the
version is retired, the champion alias falls back, and the job retrains on what is known by then:
the pool's verification history plus the outcomes of the loop's own leads
(``training.train_data.with_store_labels``).

Two things make a champion decay: it runs out of evaders its signals can see (they get cases
and are not flagged again) and, with drift, the evaders stop or change their ways. The run
without drift separates the two: it has the same data before the drift month, so the same
leads and outcomes until then, and whatever differs after is the drift's doing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from console import exits
from console.tables import format_frame
from evaluation.metrics import conversion
from features import registry as feature_registry
from features.build import build_features
from training import model_registry as reg
from training.cli_args import LOOP_CAPACITY, loop_parser
from training.ledger_retire import VersionCounts, review_conversion
from training.pyfunc import load_estimator
from training.train import Job, open_job, train_scenario
from training.train_data import _month_end, store_outcomes, with_store_labels
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
    rows = [
        (int(v.model_version), v.status)
        for v in store.list_leads(scenario=scenario)
        if v.as_of >= since
        and v.model_name == reg.model_name(scenario)
        and str(v.model_version).isdigit()
    ]
    frame = pd.DataFrame(rows, columns=["version", "status"])
    counts = []
    for version, part in frame.groupby("version"):
        verified = int(part["status"].isin(["case_filed", "no_case"]).sum())
        counts.append(
            VersionCounts(
                int(version), len(part), verified, int((part["status"] == "case_filed").sum())
            )
        )
    return counts


def issue_leads(job: Job, scenario: str, as_of: date, policy: Policy) -> int:
    """The champion scores everything known on ``as_of``, except entities with a case already
    filed (from the history or an earlier lead: their case is with the prosecutors, and counting
    the same proven evasion again every month would hide a model that finds no one new); its
    top per district become leads."""

    champion = reg.alias_version(job.client, scenario, reg.CHAMPION)
    if champion is None:
        return 0
    info = reg.get_version(job.client, scenario, champion)
    estimator = load_estimator(reg.version_source(job.client, scenario, champion))
    spec = feature_registry.get(scenario)
    frame = build_features(scenario, as_of, job.data).frame
    known = with_store_labels(frame, store_outcomes(job.store, scenario), as_of)
    frame = frame[known["label"].to_numpy() != 1.0]
    picked, _ = ranked_leads(
        estimator,
        info.tags.get("kind", "scorer"),
        spec.feature_names,
        frame,
        policy.capacity,
        list(spec.features),
        spec.amount,
        policy.pick,
    )
    write_leads(
        job.store,
        picked,
        f"loop-{scenario}-{as_of}",
        scenario,
        reg.model_name(scenario),
        champion,
        as_of,
    )
    return len(picked)


# LOOP_CAPACITY (from training.cli_args, so ``--help`` shows it without importing this module):
# leads per district per month in the loop, what a unit verifies of one model's leads on top of
# its other work (the training run's ``Policy.capacity`` is a one-off list, not a monthly flow).


def run_loop(
    scenario: str,
    data: str,
    root: Path,
    leads_url: str,
    start: date,
    months: int,
    seed: int = 42,
    policy: Policy | None = None,
    window: int = 3,
) -> list[LoopStep]:
    """Replay ``months`` months from ``start`` (a month end); see the module docstring. The
    policy's ``capacity`` is the monthly number of leads per district (``LOOP_CAPACITY`` when no
    policy is given)."""
    # deferred: the verifier simulator (and sqlalchemy) loads only when the loop runs
    from leads.simulate import VerifierParams, open_simulated, simulate

    policy = policy or replace(policy_for(scenario), capacity=LOOP_CAPACITY)
    store = open_simulated(leads_url)
    job = open_job(data, seed, root, require_real=False, store=store)
    job.policies = {scenario: policy}
    job.as_of = start
    job.compare_points = False  # the ledger's side-by-side is the train job's, not the replay's
    steps = []
    try:
        train_scenario(job, scenario)
        as_of = start
        params = VerifierParams(capacity=policy.capacity)
        for step in range(months):
            if step:
                issue_leads(job, scenario, as_of, policy)
            month_end = next_month_end(as_of)
            simulate(
                store,
                Path(data),
                days=(month_end - as_of).days,
                seed=seed,
                params=params,
                start=as_of + timedelta(days=1),
            )
            since = _month_end(*_shift(as_of, -window)) + timedelta(days=1)
            steps.append(_review(job, scenario, policy, step, as_of, since))
            as_of = month_end
            if steps[-1].event.startswith("retired"):
                job.as_of = as_of
                outcome = train_scenario(job, scenario)
                steps[-1] = replace(
                    steps[-1],
                    event=f"{steps[-1].event}; retrained "
                    f"v{outcome.version} at {as_of}: {outcome.lifecycle}",
                )
    finally:
        store.close()
    return steps


def _shift(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _review(
    job: Job, scenario: str, policy: Policy, step: int, as_of: date, since: date
) -> LoopStep:
    """Log the recent conversion of every version; retire what fell below the bar."""
    served = reg.alias_version(job.client, scenario, reg.CHAMPION)
    counts = recent_counts(job.store, scenario, since)
    decisions = review_conversion(job.client, scenario, job.settings, counts, policy, step=step)
    mine = next((c for c in counts if c.version == served), VersionCounts(served or 0, 0, 0, 0))
    conv = conversion(mine.issued, mine.verified, mine.cases)
    retired = [d for d in decisions if d.lifecycle == reg.RETIRED]
    event = (
        (
            f"retired v{retired[0].version}; champion -> "
            f"v{reg.alias_version(job.client, scenario, reg.CHAMPION)}"
        )
        if retired
        else ""
    )
    return LoopStep(
        str(as_of),
        served,
        mine.issued,
        mine.verified,
        mine.cases,
        None if mine.verified == 0 else conv.value,
        conv.low,
        conv.high,
        event,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = loop_parser()
    return parser.parse_args(argv)


def steps_table(steps: list[LoopStep]) -> pd.DataFrame:
    """The steps as a printable table (conversion and interval rounded)."""
    table = pd.DataFrame([s.__dict__ for s in steps])
    for column in ("conversion", "low", "high"):
        table[column] = table[column].astype(float).round(3)
    return table


def _replay(args: argparse.Namespace, policy: Policy, data: str, root: Path) -> list[LoopStep]:
    root.mkdir(parents=True, exist_ok=True)
    return run_loop(
        args.scenario,
        data,
        root,
        f"sqlite:///{root / 'leads.db'}",
        args.start,
        args.months,
        args.seed,
        policy,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    policy = replace(policy_for(args.scenario), capacity=args.capacity)
    if args.bar is not None:
        policy = replace(policy, bar=args.bar)
    if args.floor is not None:
        policy = replace(policy, floor=args.floor)
    runs = {"with drift": _replay(args, policy, args.data, args.root)}
    if args.control:
        runs["without drift (control)"] = _replay(args, policy, args.control, args.root / "control")
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        for name, steps in runs.items():
            print(
                f"\n{args.scenario}, {name}: conversion of the serving version's leads "
                f"issued in the last 3 months (bar {policy.bar})"
            )
            print(format_frame(steps_table(steps)))
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

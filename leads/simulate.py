"""Simulated verification: plays the unit heads and verifying staff on the lead store, using
the simulator's truth, so the hand-over, verify, outcome loop runs end to end on default data.

Each simulated day, in this order: verifications that are due close with an outcome; dispatched
leads whose start delay has passed start verifying; then every district's unit head dispatches
``new`` leads, most suspicious first, until the district has ``capacity`` leads of the scenario
in hand. Verification takes days to weeks (some run past the 30-day deadline and show up as
overdue), and it errs the way DOMAIN.md describes: a fraud is found with probability
``detect_prob`` (truth column) or ``detect_rate``; an honest entity rarely yields a false case;
a few leads are closed ``invalid`` (data wrong, entity gone), and leads on entities unknown to the
truth are always invalid. Recoveries are a share of the truth's amount column when it has one.

A verification is about a period, not a life: where the simulator wrote a per-month truth
(``truth/<scenario>_monthly.parquet`` with ``entity_id``, ``period``, ``evading``), a lead can
only be proved if the entity evaded in the ``lookback_months`` before the lead's as-of date;
an entity that was honest then counts as honest (the false-case rate applies).

Every draw about a lead comes from a generator seeded by (seed, lead id, entity id), so the same
store and seed give the same outcomes whatever order leads are processed in. Everything goes
through the public store API on a simulated clock, with actors ``simulated-unit-head`` and
``simulated-verifier``.
"""

from __future__ import annotations

import logging
import sys
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from console import exits
from console.tables import format_table
from settings import get_settings

from . import db, statuses
from .cli import database_error_line
from .cli_args import CAPACITY, DEADLINE_DAYS, simulate_parser
from .errors import LeadStoreError
from .records import LeadView
from .store import LOCAL_TZ, LeadStore, local_day

if TYPE_CHECKING:
    from features.model import SupervisionModel

log = logging.getLogger(__name__)

HEAD = "simulated-unit-head"
VERIFIER = "simulated-verifier"
AMOUNT_COLUMNS = ("amount_recovered", "evaded_tax_yuan", "penalty_yuan", "loss_yuan")
DEFAULT_AMOUNT = 1e5


def _declared(scenario: str) -> SupervisionModel | None:
    """The model's declaration, or None for a name no longer declared (an old lead)."""
    # deferred: the declarations load ibis and the models, kept off `supervision verify --help`
    from features import registry

    try:
        return registry.get(scenario)
    except registry.UnknownScenarioError:
        return None


def typical_amount(scenario: str) -> float:
    """The amount a case of this model typically recovers (its declaration's)."""
    declared = _declared(scenario)
    return declared.amount.typical if declared is not None else DEFAULT_AMOUNT


@dataclass(frozen=True)
class VerifierParams:
    """How verification plays out (defaults follow ``pool.history.HistoryParams``)."""

    capacity: int = CAPACITY
    deadline_days: int = DEADLINE_DAYS
    start_delay_max_days: int = 5
    verify_weeks_min: int = 1
    verify_weeks_max: int = 8
    detect_rate: float = 0.85
    false_case_rate: float = 0.02
    invalid_rate: float = 0.04
    recovery_min: float = 0.5
    recovery_max: float = 1.0
    lookback_months: int = 6


@dataclass(frozen=True)
class LeadFate:
    """What will happen to one lead once dispatched."""

    start_delay_days: int
    verify_days: int
    outcome: str
    amount: float


@dataclass
class SimulationSummary:
    """Counts of what the simulation did, per scenario."""

    start: date
    end: date
    counts: dict[str, Counter] = field(default_factory=dict)
    skipped_scenarios: list[str] = field(default_factory=list)

    def add(self, scenario: str, what: str) -> None:
        self.counts.setdefault(scenario, Counter())[what] += 1


class SimClock:
    """The simulated time: a day, plus one second per recorded action to keep order."""

    def __init__(self, day: date):
        self.set_day(day)

    def set_day(self, day: date) -> None:
        self.moment = datetime.combine(day, time(9, 0), tzinfo=LOCAL_TZ).astimezone(UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


def _truth_owner(scenario: str) -> str:
    """Whose truth judges a model's leads: its supervision point's (a rule model beside a
    learnt one shares its entities), else its own."""
    declared = _declared(scenario)
    point = getattr(declared, "point", "") if declared is not None else ""
    return point if point and _declared(point) is not None else scenario


def load_truth(data_root: Path, scenario: str) -> pd.DataFrame | None:
    """``data/truth/<scenario>.parquet`` indexed by entity id (for a model without a simulator,
    the truth its declaration reads, e.g. the authorities' findings), or None when there is
    none."""
    scenario = _truth_owner(scenario)
    path = data_root / "truth" / f"{scenario}.parquet"
    declared = _declared(scenario)
    if path.exists():
        truth = pd.read_parquet(path)
    elif declared is not None and declared.truth is not None:
        truth = declared.truth(str(data_root))
    else:
        truth = None
    if truth is None:
        return None
    missing = {"entity_id", "is_fraud"} - set(truth.columns)
    if missing:
        raise ValueError(
            f"{path} (truth of {scenario}): missing column(s) {', '.join(sorted(missing))}"
        )
    return truth.drop_duplicates("entity_id").set_index("entity_id")


def load_monthly_truth(data_root: Path, scenario: str) -> pd.Series | None:
    """Months each entity evaded (a Series of sorted period arrays by entity id), from
    ``truth/<scenario>_monthly.parquet``; None when the simulator wrote no per-month truth."""
    scenario = _truth_owner(scenario)
    path = data_root / "truth" / f"{scenario}_monthly.parquet"
    if not path.exists():
        return None
    monthly = pd.read_parquet(path)
    missing = {"entity_id", "period", "evading"} - set(monthly.columns)
    if missing:
        raise ValueError(
            f"{path} (monthly truth of {scenario}): missing column(s) {', '.join(sorted(missing))}"
        )
    evading = monthly.loc[monthly["evading"].astype(bool), ["entity_id", "period"]]
    periods = pd.to_datetime(evading["period"]).dt.date
    return periods.groupby(evading["entity_id"].to_numpy()).agg(lambda p: sorted(p))


def evaded_in_period(
    monthly: pd.Series | None, entity_id: str, as_of: date, lookback_months: int
) -> bool | None:
    """Whether the entity evaded in a month starting within ``lookback_months`` before
    ``as_of`` (None: no per-month truth, fall back to the entity's ``is_fraud``)."""
    if monthly is None:
        return None
    index = as_of.year * 12 + as_of.month - 1 - (lookback_months - 1)
    first = date(index // 12, index % 12 + 1, 1)
    months = monthly.get(entity_id, [])
    return any(first <= m <= as_of for m in months)


def _amount_column(truth: pd.DataFrame) -> str | None:
    named = [c for c in AMOUNT_COLUMNS if c in truth.columns]
    suffixed = [c for c in truth.columns if str(c).endswith("_yuan")]
    return (named or suffixed or [None])[0]


def lead_fate(
    lead: LeadView,
    truth: pd.DataFrame,
    seed: int,
    params: VerifierParams,
    monthly: pd.Series | None = None,
) -> LeadFate:
    """Delays and outcome of one lead, drawn from its own seeded generator (``monthly``: the
    months each entity evaded, see :func:`load_monthly_truth`)."""
    rng = np.random.default_rng([seed, lead.id, zlib.crc32(lead.entity_id.encode())])
    start_delay = int(rng.integers(1, params.start_delay_max_days + 1))
    weeks = rng.integers(params.verify_weeks_min, params.verify_weeks_max + 1)
    verify_days = int(weeks * 7 + rng.integers(0, 7))
    u_invalid, u_found, u_share = rng.random(3)
    if lead.entity_id not in truth.index or u_invalid < params.invalid_rate:
        return LeadFate(start_delay, verify_days, statuses.INVALID, 0.0)
    row = truth.loc[lead.entity_id]
    detect = float(row["detect_prob"]) if "detect_prob" in truth.columns else params.detect_rate
    recent = evaded_in_period(monthly, lead.entity_id, lead.as_of, params.lookback_months)
    evader = bool(row["is_fraud"]) if recent is None else recent
    found = u_found < (detect if evader else params.false_case_rate)
    if not found:
        return LeadFate(start_delay, verify_days, statuses.NO_CASE, 0.0)
    column = _amount_column(truth)
    owed = float(row[column]) if column else 0.0
    if not owed > 0:
        owed = typical_amount(lead.scenario) * float(rng.lognormal(0.0, 0.6))
    share = params.recovery_min + u_share * (params.recovery_max - params.recovery_min)
    return LeadFate(start_delay, verify_days, statuses.CASE_FILED, round(owed * share, 2))


class Verifier:
    """The simulated staff of every district, acting on one store."""

    def __init__(
        self,
        store: LeadStore,
        clock: SimClock,
        truths: dict[str, pd.DataFrame],
        seed: int,
        params: VerifierParams,
        summary: SimulationSummary,
        monthly: dict[str, pd.Series | None] | None = None,
    ):
        self.store, self.clock, self.truths = store, clock, truths
        self.seed, self.params, self.summary = seed, params, summary
        self.monthly = monthly or {}

    def fate(self, lead: LeadView) -> LeadFate:
        return lead_fate(
            lead,
            self.truths[lead.scenario],
            self.seed,
            self.params,
            self.monthly.get(lead.scenario),
        )

    def play_day(self, day: date) -> None:
        self.clock.set_day(day)
        self._finish_due(day)
        self._start_due(day)
        self._dispatch_new(day)

    def _active(self, status: str) -> list[LeadView]:
        return [v for v in self.store.list_leads(status=status) if v.scenario in self.truths]

    def _finish_due(self, day: date) -> None:
        for lead in sorted(self._active(statuses.VERIFYING), key=lambda v: v.id):
            fate = self.fate(lead)
            if local_day(lead.status_changed_at) + timedelta(days=fate.verify_days) <= day:
                self.store.record_outcome(
                    lead.id,
                    outcome=fate.outcome,
                    amount_recovered=fate.amount,
                    case_reference=f"SIM-{lead.id:06d}" if fate.amount else None,
                    actor=VERIFIER,
                    note="simulated verification",
                )
                self.summary.add(lead.scenario, fate.outcome)

    def _start_due(self, day: date) -> None:
        for lead in sorted(self._active(statuses.DISPATCHED), key=lambda v: v.id):
            due = local_day(lead.status_changed_at) + timedelta(
                days=self.fate(lead).start_delay_days
            )
            if due <= day:
                self.store.start_verification(lead.id, actor=VERIFIER, note="simulated")
                self.summary.add(lead.scenario, "started")

    def _dispatch_new(self, day: date) -> None:
        in_hand = Counter(
            (v.scenario, v.district)
            for status in statuses.ACTIVE_STATUSES
            for v in self._active(status)
        )
        for lead in self._active(statuses.NEW):  # most suspicious first
            key = (lead.scenario, lead.district)
            if in_hand[key] >= self.params.capacity:
                continue
            in_hand[key] += 1
            self.store.dispatch(
                lead.id,
                unit=f"{lead.district} District Procuratorate",
                assignee=f"{lead.district}-inspector-{lead.id % 3 + 1}",
                deadline=day + timedelta(days=self.params.deadline_days),
                actor=HEAD,
                note="simulated hand-over",
            )
            self.summary.add(lead.scenario, "dispatched")


def default_start(store: LeadStore) -> date | None:
    """The day after the latest as-of date or non-``new`` status change (None: no leads).

    Continuing after the last recorded change lets repeated runs play consecutive periods."""
    leads = store.list_leads()
    if not leads:
        return None
    latest = max(v.as_of for v in leads)
    moved = [local_day(v.status_changed_at) for v in leads if v.status != statuses.NEW]
    return max([latest, *moved]) + timedelta(days=1)


def simulate(
    store: LeadStore,
    data_root: Path,
    days: int,
    seed: int = 42,
    params: VerifierParams | None = None,
    start: date | None = None,
) -> SimulationSummary:
    """Play ``days`` simulated days of hand-over and verification on ``store``.

    ``store`` must run on a :class:`SimClock` (see :func:`open_simulated`)."""
    params = params or VerifierParams()
    clock = store.clock
    if not isinstance(clock, SimClock):
        raise ValueError("simulate() needs a store on a SimClock; use open_simulated()")
    scenarios = sorted({v.scenario for v in store.list_leads()})
    truths = {s: t for s in scenarios if (t := load_truth(data_root, s)) is not None}
    first = start or default_start(store) or clock.moment.date()
    summary = SimulationSummary(
        start=first,
        end=first + timedelta(days=max(days, 1) - 1),
        skipped_scenarios=[s for s in scenarios if s not in truths],
    )
    monthly = {s: load_monthly_truth(data_root, s) for s in truths}
    verifier = Verifier(store, clock, truths, seed, params, summary, monthly)
    for offset in range(days):
        verifier.play_day(first + timedelta(days=offset))
    return summary


def open_simulated(url: str) -> LeadStore:
    """A migrated store on a simulated clock (set to the start day by :func:`simulate`)."""
    return LeadStore.open(url, clock=SimClock(date(2000, 1, 1)))


def summary_table(store: LeadStore, summary: SimulationSummary) -> str:
    """Per scenario: what the simulation did, and what is open and overdue at its end."""
    rows = []
    for scenario, counts in sorted(summary.counts.items()):
        rows.append(
            {
                "scenario": scenario,
                **{
                    k: counts.get(k, 0)
                    for k in ("dispatched", "started", "case_filed", "no_case", "invalid")
                },
                "open": sum(
                    store.count_leads(scenario=scenario, status=s) for s in statuses.OPEN_STATUSES
                ),
                "overdue": store.count_leads(scenario=scenario, overdue=True),
            }
        )
    columns = (
        "scenario",
        "dispatched",
        "started",
        "case_filed",
        "no_case",
        "invalid",
        "open",
        "overdue",
    )
    return format_table(rows, columns)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: simulate, then print what happened; one ``error:`` line on failure."""
    args = simulate_parser().parse_args(argv)
    data_root = args.data or get_settings().supervision_data
    params = VerifierParams(capacity=args.capacity, deadline_days=args.deadline_days)
    try:
        store = open_simulated(args.db or db.default_url(data_root))
        try:
            summary = simulate(store, data_root, args.days, args.seed, params, args.start)
            print(f"simulated {summary.start} .. {summary.end}")
            print(summary_table(store, summary))
            for scenario in summary.skipped_scenarios:
                log.warning(
                    "skipped %s: no truth (%s/truth/%s.parquet)", scenario, data_root, scenario
                )
        finally:
            store.close()
    except (LeadStoreError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(database_error_line(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

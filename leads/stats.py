"""Figures: hit-to-case conversion (线索成案率) with Wilson intervals, and the per-version
counts the model-retirement logic reads.

Conversion = cases / leads with a final outcome. ``invalid`` (the lead could not be verified:
entity gone, data wrong) counts as final and as *not* a case: a model whose leads cannot be
verified is failing its users just as one whose leads are verified and empty, and DOMAIN.md
names "hard to verify" as a reason to retire a model. The ``invalid`` count is reported
separately so a reader can tell the two apart.

An outcome is credited to the model version that last scored the lead before it was recorded
(snapshotted on the outcome row); a lead counts as *issued* by every version that scored it,
and once (in the week it was first scored) when the grouping does not split versions.
Weeks are ISO weeks on the users' (Beijing) calendar: issued by the week a version first scored
the lead, verified/cases by the week the outcome was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, func, select

from evaluation.metrics import wilson_interval

from .calendar import LOCAL_TZ
from .models import Lead, LeadScore, Outcome
from .statuses import CASE_FILED, INVALID, NO_CASE

DIMENSIONS: tuple[str, ...] = ("scenario", "model_name", "model_version", "district", "week")
COUNTS: tuple[str, ...] = ("issued", "verified", "cases", "no_case", "invalid")


@dataclass(frozen=True)
class VersionConversion:
    """One model version's record in the lead store (read by the retirement logic)."""

    scenario: str
    model_name: str
    model_version: str
    issued: int
    verified: int
    cases: int
    no_case: int
    invalid: int
    amount_recovered: float
    conversion: float | None
    lower: float
    upper: float


def _iso_week(timestamps: pd.Series) -> pd.Series:
    """'2026-W48' for each UTC timestamp, on the Beijing calendar."""
    local = pd.to_datetime(timestamps, utc=True).dt.tz_convert(str(LOCAL_TZ))
    iso = local.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


def issued_frame(engine: Engine) -> pd.DataFrame:
    """One row per (lead, version that scored it) with the week it was first scored."""
    query = (
        select(
            Lead.id.label("lead_id"),
            Lead.scenario,
            Lead.district,
            LeadScore.model_name,
            LeadScore.model_version,
            func.min(LeadScore.recorded_at).label("at"),
        )
        .join(LeadScore, LeadScore.lead_id == Lead.id)
        .group_by(
            Lead.id, Lead.scenario, Lead.district, LeadScore.model_name, LeadScore.model_version
        )
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    return _with_week(frame, ["lead_id", "scenario", "district", "model_name", "model_version"])


def outcome_frame(engine: Engine) -> pd.DataFrame:
    """One row per final outcome with the version it is credited to and its week."""
    query = select(
        Lead.id.label("lead_id"),
        Lead.scenario,
        Lead.district,
        Outcome.model_name,
        Outcome.model_version,
        Outcome.outcome,
        Outcome.amount_recovered,
        Outcome.recorded_at.label("at"),
    ).join(Outcome, Outcome.lead_id == Lead.id)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    return _with_week(
        frame,
        [
            "lead_id",
            "scenario",
            "district",
            "model_name",
            "model_version",
            "outcome",
            "amount_recovered",
        ],
    )


def _with_week(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*columns, "week"])
    frame["week"] = _iso_week(frame["at"].map(lambda t: t.isoformat()))
    return frame.drop(columns="at")


def _first_issue(issued: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Count a lead once per group: a lead re-scored by a later version is one lead unless the
    grouping splits versions, and it belongs to the week it was first issued."""
    keys = ["lead_id", *(d for d in by if d != "week")]
    return issued.sort_values("week", kind="stable").drop_duplicates(keys)


def _finals_counts(outcomes: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    flags = outcomes.assign(
        verified=1,
        cases=(outcomes["outcome"] == CASE_FILED).astype(int),
        no_case=(outcomes["outcome"] == NO_CASE).astype(int),
        invalid=(outcomes["outcome"] == INVALID).astype(int),
        amount_recovered=outcomes["amount_recovered"].astype(float),
    )
    columns = ["verified", "cases", "no_case", "invalid", "amount_recovered"]
    return flags.groupby(by, dropna=False)[columns].sum().reset_index()


def conversion_table(
    engine: Engine,
    by: Sequence[str] = ("scenario", "model_version"),
    scenario: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Issued, verified, cases, no_case, invalid, amount, conversion and its Wilson interval,
    grouped by any of ``scenario, model_name, model_version, district, week``."""
    by = list(by)
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by:
        raise ValueError(f"group by {unknown or by}: choose from {', '.join(DIMENSIONS)}")
    issued, finals = issued_frame(engine), outcome_frame(engine)
    if scenario is not None:
        issued, finals = issued[issued.scenario == scenario], finals[finals.scenario == scenario]
    issued = _first_issue(issued, by)
    issued_counts = issued.groupby(by, dropna=False).size().rename("issued").reset_index()
    if issued.empty:
        issued_counts = pd.DataFrame(columns=[*by, "issued"])
    if finals.empty:
        final_counts = pd.DataFrame(
            columns=[*by, "verified", "cases", "no_case", "invalid", "amount_recovered"]
        )
    else:
        final_counts = _finals_counts(finals, by)
    table = issued_counts.merge(final_counts, on=by, how="outer")
    return _add_rates(table, by, confidence)


def _add_rates(table: pd.DataFrame, by: list[str], confidence: float) -> pd.DataFrame:
    for column in COUNTS:
        table[column] = table[column].fillna(0).astype(int)
    table["amount_recovered"] = table["amount_recovered"].fillna(0.0).astype(float)
    bounds = [
        wilson_interval(int(c), int(v), confidence)
        for c, v in zip(table["cases"], table["verified"], strict=True)
    ]
    table["conversion"] = [
        c / v if v else None for c, v in zip(table["cases"], table["verified"], strict=True)
    ]
    table["lower"] = [b[0] for b in bounds]
    table["upper"] = [b[1] for b in bounds]
    return table.sort_values(by).reset_index(drop=True)


def _version_key(version: str) -> tuple[int, str]:
    """Numeric versions in numeric order ("2" before "10"), others after, alphabetically."""
    return (int(version), "") if version.isdigit() else (1 << 30, version)


def conversion_by_version(
    engine: Engine, scenario: str, confidence: float = 0.95
) -> list[VersionConversion]:
    """Per model version of ``scenario``: leads issued, verified, cases, conversion with a
    Wilson interval. The model-retirement logic reads this."""
    table = conversion_table(
        engine, ("scenario", "model_name", "model_version"), scenario, confidence
    )
    rows = [
        VersionConversion(
            scenario=r.scenario,
            model_name=r.model_name,
            model_version=str(r.model_version),
            issued=int(r.issued),
            verified=int(r.verified),
            cases=int(r.cases),
            no_case=int(r.no_case),
            invalid=int(r.invalid),
            amount_recovered=float(r.amount_recovered),
            conversion=None if pd.isna(r.conversion) else float(r.conversion),
            lower=float(r.lower),
            upper=float(r.upper),
        )
        for r in table.itertuples(index=False)
    ]
    return sorted(rows, key=lambda v: (v.model_name, _version_key(v.model_version)))


@dataclass(frozen=True)
class VersionStakes:
    """What a version's verified cases were worth: money recovered (outcomes, yuan) and the
    amount at stake its leads declared (in ``amount_unit``; None when no case carried one)."""

    model_name: str
    model_version: str
    cases: int
    amount_recovered: float
    amount_at_stake: float | None
    amount_unit: str | None


def stakes_by_version(engine: Engine, scenario: str) -> list[VersionStakes]:
    """Per version credited with a case of ``scenario``: cases, the outcomes' recovered amount
    and the summed amount at stake of those leads (the ledger shows them beside conversion)."""
    query = (
        select(
            Outcome.model_name,
            Outcome.model_version,
            func.count(Outcome.id),
            func.sum(Outcome.amount_recovered),
            func.sum(Lead.amount),
            func.max(Lead.amount_unit),
        )
        .join(Lead, Lead.id == Outcome.lead_id)
        .where(Lead.scenario == scenario, Outcome.outcome == CASE_FILED)
        .group_by(Outcome.model_name, Outcome.model_version)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return sorted(
        (
            VersionStakes(
                str(name),
                str(version),
                int(n),
                float(recovered or 0.0),
                None if stake is None else float(stake),
                unit,
            )
            for name, version, n, recovered, stake, unit in rows
        ),
        key=lambda v: (v.model_name, _version_key(v.model_version)),
    )

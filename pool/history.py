"""The verification history of past leads: the only labels that exist.

In reality nobody knows the truth about an entity until a unit verifies a lead on it, and leads
came from crude rules (plus the odd tip-off), so labels exist only where a rule looked, biased
toward what crude rules catch. This module turns per-entity truth and per-period rule flags into
that history: one lead per entity per cooldown window, a limited verification capacity per
district and month, outcomes that follow the truth with realistic error, and verification some
weeks after flagging (leads still open at the end of the horizon have no outcome yet and are left
out, as an extract of closed leads would).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pool.rng import keyed_uniform

OUTCOMES = ("case_filed", "no_case", "invalid")
HISTORY_COLUMNS = (
    "lead_id",
    "entity_id",
    "district",
    "rule",
    "flagged_on",
    "verified_on",
    "outcome",
    "amount_recovered",
)
TIP_OFF = "tip_off"
LEAD_KEY = ("entity_id", "flagged_on", "rule")


@dataclass(frozen=True)
class HistoryParams:
    """How past verification worked. Defaults follow DOMAIN.md.

    ``capacity`` is leads verified per district per month (scale it with the pool);
    ``detect_rate`` the chance a verified fraud becomes a case (overridden per entity by a
    ``detect_prob`` truth column); ``invalid_rate`` the share of leads closed as invalid because
    the data behind them was wrong (``invalid_rate_data_error`` for flags marked ``data_error``);
    ``tip_off_rate`` the chance an entity is tipped off over the whole horizon, multiplied by
    ``tip_off_fraud_lift`` for frauds (insiders report real fraud more often).
    """

    capacity: int = 6
    detect_rate: float = 0.85
    invalid_rate: float = 0.04
    invalid_rate_data_error: float = 0.5
    tip_off_rate: float = 0.004
    tip_off_fraud_lift: float = 5.0
    delay_weeks_min: int = 2
    delay_weeks_max: int = 14
    recovery_min: float = 0.5
    recovery_max: float = 1.0
    cooldown_days: int = 365


def tip_offs(
    truth: pd.DataFrame,
    seed: int,
    params: HistoryParams,
    start: date,
    end: date,
) -> pd.DataFrame:
    """Random tip-offs (举报) over the horizon, more likely for real frauds.

    Drawn per entity from its id, so an entity's tip-off does not depend on other entities.
    """
    fraud = truth["is_fraud"].to_numpy(bool)
    p = params.tip_off_rate * np.where(fraud, params.tip_off_fraud_lift, 1.0)
    keys = truth[["entity_id"]]
    hit = keyed_uniform(keys, seed, "tip_off") < np.clip(p, 0.0, 1.0)
    span = max((pd.Timestamp(end) - pd.Timestamp(start)).days, 1)
    days = np.floor(keyed_uniform(keys, seed, "tip_off_day") * span).astype(np.int64)
    flags = pd.DataFrame(
        {
            "entity_id": truth["entity_id"].to_numpy(object),
            "flagged_on": pd.Timestamp(start) + pd.to_timedelta(days, unit="D"),
            "rule": TIP_OFF,
        }
    )
    return flags.loc[hit].reset_index(drop=True)


def _one_lead_per_window(flags: pd.DataFrame, cooldown_days: int) -> pd.DataFrame:
    """Keep the first flag of an entity, then the next one at least ``cooldown_days`` later.

    A unit does not open a second lead on an entity it is already looking at.
    """
    flags = flags.sort_values(["entity_id", "flagged_on", "rule"], kind="stable")
    keep = np.zeros(len(flags), dtype=bool)
    last_by_entity: dict[str, pd.Timestamp] = {}
    cooldown = pd.Timedelta(days=cooldown_days)
    for i, (entity, when) in enumerate(zip(flags["entity_id"], flags["flagged_on"], strict=True)):
        last = last_by_entity.get(entity)
        if last is None or when - last >= cooldown:
            keep[i] = True
            last_by_entity[entity] = when
    return flags.loc[keep].reset_index(drop=True)


def _within_capacity(leads: pd.DataFrame, capacity: int, seed: int) -> pd.DataFrame:
    """Each district verifies at most ``capacity`` leads a month; tip-offs go first."""
    month = leads["flagged_on"].dt.to_period("M").astype(str)
    priority = keyed_uniform(leads[list(LEAD_KEY)], seed, "priority")
    priority = priority + (leads["rule"] == TIP_OFF).to_numpy() * 1.0
    ranked = leads.assign(_month=month, _prio=-priority)
    ranked["_rank"] = ranked.groupby(["district", "_month"])["_prio"].rank(method="first")
    kept = ranked.loc[ranked["_rank"] <= capacity]
    return kept.drop(columns=["_month", "_prio", "_rank"]).reset_index(drop=True)


def _outcomes(leads: pd.DataFrame, seed: int, params: HistoryParams) -> np.ndarray:
    """Case if a fraud is found, no case otherwise, invalid when the data was wrong."""
    n = len(leads)
    if "detect_prob" in leads:
        detect = leads["detect_prob"].to_numpy(float)
    else:
        detect = np.full(n, params.detect_rate)
    if "data_error" in leads:
        data_error = leads["data_error"].to_numpy(bool)
    else:
        data_error = np.zeros(n, bool)
    invalid_p = np.where(data_error, params.invalid_rate_data_error, params.invalid_rate)
    keys = leads[list(LEAD_KEY)]
    u_invalid = keyed_uniform(keys, seed, "invalid")
    u_found = keyed_uniform(keys, seed, "found")
    found = leads["is_fraud"].to_numpy(bool) & (u_found < detect)
    return np.where(u_invalid < invalid_p, "invalid", np.where(found, "case_filed", "no_case"))


def _verification_dates(leads: pd.DataFrame, seed: int, params: HistoryParams) -> pd.Series:
    """Verification closes some weeks after the lead was flagged."""
    keys = leads[list(LEAD_KEY)]
    span = params.delay_weeks_max - params.delay_weeks_min + 1
    weeks = params.delay_weeks_min + np.floor(keyed_uniform(keys, seed, "weeks") * span)
    days = np.floor(keyed_uniform(keys, seed, "days") * 7)
    return leads["flagged_on"] + pd.to_timedelta((weeks * 7 + days).astype(np.int64), unit="D")


def _accrued_by(leads: pd.DataFrame, accrued: pd.DataFrame) -> np.ndarray:
    """Amount owed by each lead's entity for the periods that started before verification."""
    table = accrued[["entity_id", "period", "amount"]].copy()
    table["entity_id"] = table["entity_id"].astype(str)
    table["period"] = pd.to_datetime(table["period"]).astype("datetime64[us]")
    table = table.sort_values(["entity_id", "period"], kind="stable")
    table["owed"] = table.groupby("entity_id")["amount"].cumsum()
    probe = leads[["entity_id", "verified_on"]].reset_index(names="_row")
    probe["entity_id"] = probe["entity_id"].astype(str)
    probe = probe.sort_values("verified_on", kind="stable")
    joined = pd.merge_asof(
        probe,
        table.sort_values("period", kind="stable")[["entity_id", "period", "owed"]],
        left_on="verified_on",
        right_on="period",
        by="entity_id",
        direction="backward",
    )
    return joined.sort_values("_row")["owed"].fillna(0.0).to_numpy(float)


def verification_history(
    flags: pd.DataFrame,
    truth: pd.DataFrame,
    rng: np.random.Generator,
    *,
    start: date,
    end: date,
    prefix: str,
    params: HistoryParams | None = None,
    amount_column: str | None = None,
    accrued: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Closed leads of the past, one row per verified lead, columns ``HISTORY_COLUMNS``.

    ``flags`` has ``entity_id``, ``flagged_on`` (datetime) and ``rule`` (the crude rule that fired),
    optionally ``data_error`` (the flag came from a data defect, e.g. a late filing seen as
    missing). ``truth`` has ``entity_id``, ``district``, ``is_fraud``, optionally ``detect_prob``
    and the ``amount_column`` (evaded amount) from which recoveries are drawn. Leads not verified
    by ``end`` are left out; ``lead_id`` is ``<prefix>-L<number>`` in flag order.

    ``rng`` gives one seed; every draw about a lead is then keyed on (entity, flagged_on, rule),
    so leads flagged before a drift month come out identical whatever happens after it.
    ``accrued`` (optional: ``entity_id``, ``period``, ``amount``) is the amount owed per entity and
    period; when given, a case recovers a share of what had accrued by its verification date
    rather than of the whole-horizon ``amount_column``.
    """
    params = params or HistoryParams()
    seed = int(rng.integers(0, 2**62))
    cols = [c for c in ("entity_id", "flagged_on", "rule", "data_error") if c in flags]
    all_flags = pd.concat(
        [flags[cols], tip_offs(truth, seed, params, start, end)], ignore_index=True
    )
    all_flags["flagged_on"] = pd.to_datetime(all_flags["flagged_on"]).astype("datetime64[us]")
    if "data_error" in all_flags:
        all_flags["data_error"] = all_flags["data_error"].fillna(False).astype(bool)
    leads = _one_lead_per_window(all_flags, params.cooldown_days)
    truth_cols = ["entity_id", "district", "is_fraud"] + [
        c for c in ("detect_prob", amount_column) if c and c in truth
    ]
    leads = leads.merge(truth[truth_cols], on="entity_id", how="inner", validate="many_to_one")
    leads = _within_capacity(leads, params.capacity, seed)
    leads["verified_on"] = _verification_dates(leads, seed, params)
    leads["outcome"] = _outcomes(leads, seed, params)
    share = params.recovery_min + keyed_uniform(leads[list(LEAD_KEY)], seed, "recovery") * (
        params.recovery_max - params.recovery_min
    )
    if accrued is not None:
        owed = _accrued_by(leads, accrued)
    elif amount_column in leads:
        owed = leads[amount_column].to_numpy(float)
    else:
        owed = np.zeros(len(leads))
    recovered = np.round(owed * share, 2)
    leads["amount_recovered"] = np.where(leads["outcome"] == "case_filed", recovered, 0.0)
    leads = leads.loc[leads["verified_on"] <= pd.Timestamp(end)]
    leads = leads.sort_values(["flagged_on", "entity_id", "rule"], kind="stable").reset_index(
        drop=True
    )
    leads["lead_id"] = [f"{prefix}-L{i:06d}" for i in range(1, len(leads) + 1)]
    return leads[list(HISTORY_COLUMNS)]

"""Leads out: score every entity, keep the top of each district up to its capacity, explain each
pick with its top SHAP reasons (a rule model: the reasons of the rules it fired), and write them to the lead store under the served version.

Why per district: a district procuratorate sees and verifies only its own leads, so one busy
district must not crowd out the others' lists. Each lead carries the model's amount at stake
(``amount_at_stake`` of the feature table, in the declared unit) and its probability's 90%
interval. The policy's ``pick`` chooses by score or by expected value (probability x amount);
a version with no calibrated probability cannot pick by expected value, and the run says so
(``pick_fallback``) instead of pretending.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from features.amount import AMOUNT_COLUMN
from features.model import AmountAtStake
from features.wording import DEFAULT_LANGUAGE
from leads.records import UpsertResult
from leads.runs import LeadRun
from training.explain import explain_detector, explain_scorer, peer_medians
from training.pyfunc import score_frame

log = logging.getLogger(__name__)


def expected_value(probability: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Probability of a case x amount at stake (NaN where either is missing)."""
    return np.asarray(probability, dtype="float64") * np.asarray(amount, dtype="float64")


def top_per_district(
    frame: pd.DataFrame, scored: pd.DataFrame, capacity: int, pick: str = "score"
) -> pd.DataFrame:
    """The ``capacity`` best entities of each district by ``pick``, ranked 1.. within it.

    ``pick="score"``: highest score first; ``"expected_value"``: highest probability x amount
    first (entities without one after those with one, by score). Ties are broken by score, then
    entity id, so the same scores always give the same list.
    """
    amount = (
        frame[AMOUNT_COLUMN].to_numpy(dtype="float64")
        if AMOUNT_COLUMN in frame
        else np.full(len(frame), np.nan)
    )
    ranked = pd.DataFrame(
        {
            "entity_id": frame["entity_id"].to_numpy(),
            "district": frame["district"].to_numpy(),
            "score": scored["score"].to_numpy(),
            "probability": scored["probability"].to_numpy(),
            "amount": amount,
        },
        index=frame.index,
    )
    if pick == "expected_value":
        ev = expected_value(ranked["probability"].to_numpy(), amount)
        ranked["_key"] = np.where(np.isnan(ev), -np.inf, ev)
        order = ["district", "_key", "score", "entity_id"]
        ascending = [True, False, False, True]
    elif pick == "score":
        order, ascending = ["district", "score", "entity_id"], [True, False, True]
    else:
        raise ValueError(f"pick must be 'score' or 'expected_value', got {pick!r}")
    ranked = ranked.sort_values(order, ascending=ascending, kind="stable").drop(
        columns="_key", errors="ignore"
    )
    ranked["rank"] = ranked.groupby("district").cumcount() + 1
    return ranked[ranked["rank"] <= capacity]


def explanations(
    estimator: Any, kind: str, frame: pd.DataFrame, rows: list, specs: list
) -> tuple[list, dict[str, float]]:
    """SHAP explanations of ``rows`` and, for a detector, its surrogate's fidelity."""
    if kind == "rules":
        return rule_explanations(estimator, frame, rows, specs), {}
    if kind == "detector":
        surrogate, exps = explain_detector(estimator, frame, rows, specs, top_n=4)
        return exps, {"surrogate_r2": surrogate.r2, "surrogate_spearman": surrogate.spearman}
    return explain_scorer(estimator, frame, rows, specs, top_n=4), {}


def rule_explanations(estimator: Any, frame: pd.DataFrame, rows: list, specs: list) -> list:
    """A rule model's reasons for ``rows``: one per fired rule, with the peers' median."""
    by_name = {s.name: s for s in specs}
    features = estimator.rules.features
    peers = pd.DataFrame(
        {f: peer_medians(frame, rows, by_name[f]) for f in features if f in by_name},
        index=list(rows),
    ).reindex(columns=features)
    return estimator.rule_reasons(frame.loc[list(rows)], peers)


def reasons_of(explanation: Any, frame: pd.DataFrame, top_n: int = 4) -> list[dict]:
    """The explained reasons as {feature, value, contribution, text, texts} records: ``text`` in
    the default language (Chinese), ``texts`` in every language the declaration writes (a rule
    model's reasons are already records: one per fired rule)."""
    if isinstance(explanation, list):
        return explanation
    out = []
    for name, texts in zip(explanation.reason_features[:top_n], explanation.texts, strict=False):
        value = frame.at[explanation.row, name] if name in frame.columns else np.nan
        out.append(
            {
                "feature": name,
                "value": None if pd.isna(value) else float(value),
                "contribution": round(float(explanation.contributions[name]), 6),
                "text": texts[DEFAULT_LANGUAGE],
                "texts": texts,
            }
        )
    return out


def ranked_leads(
    estimator: Any,
    kind: str,
    columns: list[str],
    frame: pd.DataFrame,
    capacity: int,
    specs: list,
    amount: AmountAtStake | None = None,
    pick: str = "score",
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Score every entity, pick the top per district (by ``pick``), attach reasons, the amount
    at stake (``amount``: the model's ``AmountAtStake``; None or undeclared: no amount, no
    unit) and the probability's interval."""
    scored = score_frame(estimator, columns, frame)
    if kind == "rules":  # a rule lead is an entity some rule fired on, never a tie-break only
        fired = scored["rules"].to_numpy(dtype=object) != ""
        frame, scored = frame[fired], scored[fired]
    extra: dict[str, float] = {}
    if pick == "expected_value" and not np.isfinite(scored["probability"].to_numpy()).any():
        log.warning(
            "no calibrated probability (no verified outcomes to learn from): leads picked "
            "by score, not by expected value"
        )
        pick, extra = "score", {"pick_fallback": 1.0}
    picked = top_per_district(frame, scored, capacity, pick)
    exps, explained = explanations(estimator, kind, frame, list(picked.index), specs)
    picked = picked.assign(reasons=[reasons_of(e, frame) for e in exps])
    picked = with_stakes(picked, estimator, columns, frame, amount)
    return picked.reset_index(drop=True), {**explained, **extra}


def with_stakes(
    picked: pd.DataFrame,
    estimator: Any,
    columns: list[str],
    frame: pd.DataFrame,
    amount: AmountAtStake | None,
) -> pd.DataFrame:
    """The picked leads with ``amount``/``amount_unit`` and ``probability_low``/``_high``."""
    unit = amount.unit if amount is not None and amount.declared else None
    declared = unit is not None
    low = high = np.full(len(picked), np.nan)
    if hasattr(estimator, "probability_interval") and len(picked):
        low, high = estimator.probability_interval(frame.loc[picked.index, columns])
    p = picked["probability"].to_numpy(dtype="float64")
    has = np.isfinite(p) & np.isfinite(low) & np.isfinite(high)
    return picked.assign(
        amount=picked["amount"] if declared else np.nan,
        amount_unit=unit,
        probability_low=np.where(has, np.minimum(low, p), np.nan),
        probability_high=np.where(has, np.maximum(high, p), np.nan),
    )


def leads_sample(picked: pd.DataFrame, n: int = 50) -> pd.DataFrame:
    """A flat, readable sample of the ranked leads for the run's artifacts."""
    top = picked.sort_values("score", ascending=False, kind="stable").head(n)
    return top.assign(reasons=[" | ".join(r["text"] for r in rs) for rs in top["reasons"]])


class LeadWriter(Protocol):
    """What writing a run's leads needs of the lead store (``leads.store.LeadStore``)."""

    def upsert_leads(self, run: LeadRun, actor: str = "training") -> UpsertResult: ...


def write_leads(
    store: LeadWriter,
    picked: pd.DataFrame,
    run_id: str,
    scenario: str,
    model_name: str,
    version: int,
    as_of: date | None,
) -> UpsertResult:
    """Upsert the picked leads into the lead store (an entity's open lead is re-scored)."""

    run = LeadRun.from_frame(
        picked,
        run_id=run_id,
        scenario=scenario,
        model_name=model_name,
        model_version=str(version),
        as_of=as_of or date.today(),
    )
    return store.upsert_leads(run, actor="training")

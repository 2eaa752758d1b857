"""Which rules fired for a lead: a rule lead's own, or those a learnt lead's point would fire.

A lead of a rule model shows the rules that fired on its entity; a lead of a learnt model shows
which rules of its supervision point's rule models would have fired on it (the staff see at once
whether the learnt model only repeats a rule they already run). Both are read from the
declarations (``features.rules``) over the entity's latest features, with each rule's sentence.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd

from .feature_cache import FeatureSource


def point_rule_models(scenario: str) -> tuple[Any, list[Any]]:
    """The lead's model declaration (None if no longer declared) and the rule models to check:
    itself for a rule model, else the rule models of its supervision point."""
    # deferred: keeps the model declarations off the service's import (cold start)
    from features import registry
    from features.points import point_models

    try:
        model = registry.get(scenario)
    except KeyError:
        return None, []
    if model.rules is not None:
        return model, [model]
    return model, [
        registry.get(n) for n in point_models(scenario) if registry.get(n).rules is not None
    ]


def lead_rules(features: FeatureSource, scenario: str, entity_id: str) -> dict[str, Any]:
    """``{"kind": "rules"|"scorer", "fired": [{model, rule, feature, value, text}]}`` for one
    lead's entity (``fired`` empty when its features are not in the latest table)."""
    # deferred: keeps the model declarations off the service's import (cold start)
    from features.points import data_owner
    from training.rule_scorer import rule_scorer_for

    model, rule_models = point_rule_models(scenario)
    out: dict[str, Any] = {"kind": "" if model is None else model.kind, "fired": []}
    if not rule_models:
        return out
    table = features.maybe_table(data_owner(scenario))
    if table is None or entity_id not in table.index:
        return out
    row = table.loc[[entity_id]]
    for rules_model in rule_models:
        columns = rules_model.rules.features
        if any(c not in table.columns for c in columns):
            continue  # a table of another feature set: nothing to say about these rules
        scorer = rule_scorer_for(rules_model).fit(row[columns])
        peers = district_peers(table, row, columns)
        for reason in scorer.rule_reasons(row[columns], peers)[0]:
            out["fired"].append({"model": rules_model.name, **reason})
    return out


_MEDIANS: dict[tuple[int, tuple[str, ...]], tuple[pd.DataFrame, pd.DataFrame]] = {}
_LOCK = threading.Lock()


def district_medians(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Medians of ``columns`` per district of ``table``, computed once per table (the latest
    feature table is kept, older ones dropped)."""
    key = (id(table), tuple(columns))
    with _LOCK:
        cached = _MEDIANS.get(key)
        if cached is not None and cached[0] is table:
            return cached[1]
    medians = table.groupby("district")[columns].median()
    with _LOCK:
        for old in [k for k, v in _MEDIANS.items() if v[0] is not table]:
            del _MEDIANS[old]
        _MEDIANS[key] = (table, medians)
    return medians


def district_peers(table: pd.DataFrame, row: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The medians of ``columns`` among the row's district peers (the whole table's when the
    table has no district)."""
    if "district" not in table.columns:
        return pd.DataFrame([table[columns].median()] * len(row), index=row.index)
    medians = district_medians(table, columns)
    return medians.reindex(row["district"].to_numpy()).set_axis(row.index)


def prepare_rules(features: FeatureSource, scenario: str) -> None:
    """Compute at model load what :func:`lead_rules` reads for every lead of ``scenario``: the
    feature table of its data owner and the district medians of each rule model's features."""
    # deferred: keeps the model declarations off the service's import (cold start)
    from features.points import data_owner

    _, rule_models = point_rule_models(scenario)
    if not rule_models:
        return
    table = features.maybe_table(data_owner(scenario))
    if table is None or "district" not in table.columns:
        return
    for rules_model in rule_models:
        columns = list(rules_model.rules.features)
        if all(c in table.columns for c in columns):
            district_medians(table, columns)

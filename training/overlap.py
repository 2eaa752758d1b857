"""Lead overlap between the models of one supervision point: a duplicate is seen before it serves.

The national platform's trouble is many near-identical models per supervision point (同质化).
A model's *flagged set* is the entities of its leads: its top ``capacity`` per district, what the
units actually receive (the served champion's leads in the lead store; a candidate's ranked
leads before they are written). ``overlap(a, b)`` is the share of ``a``'s flagged entities that
``b`` also flags: 1.0 for a model registered twice under two names.

Certification reads ``check_overlap``: a candidate whose overlap with a served model of its
point is above the policy's ``max_overlap`` gets ``overlap.warning`` (and the figures) as version
tags and a printed line. It is a warning, not a refusal: two certifying lines decide.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from training import model_registry as reg


def overlap(a: set[str], b: set[str]) -> float:
    """Share of ``a`` that ``b`` also holds (NaN when ``a`` is empty)."""
    return float("nan") if not a else len(a & b) / len(a)


def served_leads(client: MlflowClient, store: Any, name: str) -> tuple[int | None, set[str]]:
    """The champion version of model ``name`` and the entities of its leads in the store."""
    champion = reg.alias_version(client, name, reg.CHAMPION) \
        if name in reg.list_scenarios(client) else None
    if champion is None or store is None:
        return champion, set()
    leads = store.list_leads(scenario=name)
    return champion, {v.entity_id for v in leads if str(v.model_version) == str(champion)}


def point_peers(name: str) -> list[str]:
    """The other discovered models of ``name``'s supervision point."""
    from features.points import point_models

    return [n for n in point_models(name) if n != name]


def check_overlap(client: MlflowClient, store: Any, name: str, version: int,
                  flagged: set[str], max_share: float) -> list[str]:
    """Compare a candidate's flagged entities with each served model of its point; tag the
    version (``overlap.<model>``, and ``overlap.warning`` above ``max_share``) and return the
    lines to print."""
    tags: dict[str, object] = {"overlap.max_share": max_share}
    warnings, lines = [], []
    for peer in point_peers(name):
        champion, theirs = served_leads(client, store, peer)
        if champion is None or not theirs:
            continue
        share = overlap(flagged, theirs)
        tags[f"overlap.{peer}"] = f"{share:.3f} (v{champion}, {len(flagged)} leads)"
        if share > max_share:
            warnings.append(f"{share:.0%} of its leads are also leads of {peer} v{champion}")
    if warnings:
        tags["overlap.warning"] = "; ".join(warnings) + f" (above the declared {max_share:.0%})"
        lines.append(f"{name} v{version}: overlap warning: {tags['overlap.warning']}")
    reg.set_tags(client, name, version, tags)
    return lines


def overlap_table(client: MlflowClient, store: Any, names: list[str]) -> pd.DataFrame:
    """Rows: a model; columns: another model of the point; cell: share of the row model's
    served leads that the column model also flags (its own diagonal is 1)."""
    flagged = {n: served_leads(client, store, n)[1] for n in names}
    return pd.DataFrame({b: {a: overlap(flagged[a], flagged[b]) for a in names} for b in names},
                        index=names).reindex(columns=names)

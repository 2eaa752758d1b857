"""Lead overlap between the models of one supervision point: a duplicate is seen before it serves.

The national platform's trouble is many near-identical models per supervision point (同质化).
The overlap of model ``a`` with model ``b`` is the share of ``a``'s top-k entities (top
``capacity`` per district) in the point's common walk-forward backtest, over its periods, that
``b`` also has in its top-k (``training.point_backtest``): the same periods, entities and k for
both, so a rule model with few hits and a learnt model with full lists are compared on equal
terms, and a model registered twice under two names overlaps 1.0.

Certification reads ``check_overlap``: a candidate whose overlap with a served model of its
point is above the policy's ``max_overlap`` gets ``overlap.warning`` (and the figures) as version
tags and a printed line. It is a warning, not a refusal: two certifying lines decide.
"""

from __future__ import annotations

import math

import pandas as pd
from mlflow.tracking import MlflowClient

from training import model_registry as reg

#: the version tag prefix holding a model's overlap with another model of its point
TAG = "compare.overlap."


def served(client: MlflowClient, name: str) -> int | None:
    """The champion version of model ``name`` (None: not registered or nothing served)."""
    if name not in reg.list_scenarios(client):
        return None
    return reg.alias_version(client, name, reg.CHAMPION)


def check_overlap(
    client: MlflowClient, name: str, version: int, shares: dict[str, float], max_share: float
) -> list[str]:
    """Warn when the candidate's backtest top-k overlaps a served model of its point above
    ``max_share`` (``shares``: peer -> overlap, from the point comparison); tags the version
    (``overlap.<model>``, and ``overlap.warning``) and returns the lines to print."""
    tags: dict[str, object] = {"overlap.max_share": max_share}
    warnings, lines = [], []
    for peer, share in sorted(shares.items()):
        champion = served(client, peer) if peer != name else None
        if champion is None or share is None or math.isnan(share):
            continue
        tags[f"overlap.{peer}"] = f"{share:.3f} (v{champion}, common backtest top-k)"
        if share > max_share:
            warnings.append(
                f"{share:.0%} of its backtest top-k are also in the top-k of {peer} v{champion}"
            )
    if warnings:
        tags["overlap.warning"] = "; ".join(warnings) + f" (above the declared {max_share:.0%})"
        lines.append(f"{name} v{version}: overlap warning: {tags['overlap.warning']}")
    reg.set_tags(client, name, version, tags)
    return lines


def overlap_table(client: MlflowClient, names: list[str]) -> pd.DataFrame:
    """Rows: a model; columns: another model of the point; cell: the share of the row model's
    backtest top-k that the column model also has, as the row model's champion recorded it
    (its own diagonal is 1; NaN where the champion did not record it)."""
    cells: dict[str, dict[str, float]] = {b: {} for b in names}
    for a in names:
        champion = served(client, a)
        tags = reg.get_version(client, a, champion).tags if champion is not None else {}
        for b in names:
            text = tags.get(TAG + b)
            cells[b][a] = 1.0 if a == b else (float(text) if text else float("nan"))
    return pd.DataFrame(cells, index=names).reindex(columns=names)

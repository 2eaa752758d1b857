"""Data side of the train job: the pool (built if absent, validated before anything is
registered), the as-of date, data hashes, and the time-ordered backtest split.

The split replays what was known: the model is trained on features and labels as of a cutoff,
and judged on the entities whose outcome became known after it (verified after the cutoff); the
real procurement data holds out whole tenders instead (see there). Truth is never read here.

Labels come from two places: the pool's verification history (leads of the past crude rules)
and the final outcomes of this project's own leads in the lead store (``with_store_labels``:
everything recorded so far for a training run, cut at the day when the loop replays one, and at
the cutoff in the backtest). That is how the loop closes: what the units verified from a model's
leads is what the next model learns from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features import registry
from features.build import FeatureTable, build_features
from features.points import (
    data_owner,
    imported_scenarios,
    point_models,
    simulated_scenarios,
)
from pool import discovery
from pool.build import build
from pool.importer import (
    import_is_stale,
    import_manifest,
    import_model,
    verify_import,
)
from pool.load import check_pool, data_root
from pool.spec import SimConfig


def trainable_scenarios() -> list[str]:
    """Every discovered model: simulated ones, those with declared origins, and the rule models
    of their supervision points; each point's own model first, then the others of the point
    (they reuse its features and backtest)."""
    owners = set(simulated_scenarios()) | set(imported_scenarios())
    found = owners | {n for n in discovery.names() if data_owner(n) in owners}
    return sorted(found, key=lambda n: (data_owner(n), n != data_owner(n), n))


def ensure_pool(
    data: str | Path | None,
    seed: int,
    scale: float,
    scenarios: list[str],
    drift_month: int | None = None,
) -> bool:
    """Build the simulated pool when its manifest is absent, and import every model with
    declared origins whose sources changed since their last import; True if anything was
    written now."""
    root = data_root(data)
    wrote = False
    scenarios = sorted({data_owner(name) for name in scenarios})
    for name in scenarios:
        if name in imported_scenarios() and import_is_stale(root, registry.get(name)):
            import_model(registry.get(name), root)
            wrote = True
    simulated = [s for s in scenarios if s in simulated_scenarios()]
    if not simulated or (root / "pool" / "manifest.json").is_file():
        return wrote

    build(SimConfig(seed=seed, scale=scale, drift_month=drift_month), root, simulated)
    return True


def validate_pool(data: str | Path | None, scenarios: list[str]) -> None:
    """Check every simulated scenario's tables against their schemas and the build's manifest
    (raises ``pool.load.PoolValidationError`` naming the table, column and rule at fault), by
    chunk and on every core (``pool.load.check_pool``): nothing is kept in memory.

    Why up front: a bad pool must stop the job before any version is registered.
    """
    for scenario in sorted({data_owner(name) for name in scenarios}):
        if scenario in simulated_scenarios():
            check_pool(data, scenario, check_manifest=True)
        elif scenario in imported_scenarios():
            verify_import(data_root(data), registry.get(scenario))


def data_hash(data: str | Path | None, scenario: str) -> str:
    """sha256 (16 hex) of what the scenario's data is: the pool manifest's file hashes, or the
    procurement files' bytes."""
    digest = hashlib.sha256()
    scenario = data_owner(scenario)
    if scenario in imported_scenarios():
        manifest = import_manifest(data_root(data), registry.get(scenario))
        for table, entry in sorted(manifest.files.items()):
            digest.update(f"{table}:{entry['sha256']}".encode())
    else:
        manifest = json.loads((data_root(data) / "pool" / "manifest.json").read_text())
        digest.update(json.dumps(manifest["config"], sort_keys=True).encode())
        for path, entry in sorted(manifest.get("files", {}).items()):
            if path.startswith(f"pool/{scenario}/"):
                digest.update(f"{path}:{entry['sha256']}".encode())
    return digest.hexdigest()[:16]


@dataclass
class BacktestSplit:
    """Rows to train on (labels as known at the cutoff) and to judge on (outcomes known after).

    ``frame`` has the features, ``label`` and ``period`` (0 train, 1 holdout), ready for
    ``evaluation.backtest.backtest``; ``known_on`` is when each holdout label became known.
    """

    frame: pd.DataFrame
    known_on: pd.Series
    cutoff: str

    @property
    def holdout(self) -> pd.DataFrame:
        return self.frame[self.frame["period"] == 1]


FINAL_OUTCOMES = ("case_filed", "no_case")
OUTCOME_COLUMNS = ["entity_id", "verified_on", "outcome"]


def store_outcomes(store: Any, scenario: str) -> pd.DataFrame:
    """Final outcomes (case filed / no case) of the leads of every model of the scenario's
    supervision point in the lead store, with the local day each was recorded: ``entity_id``,
    ``verified_on``, ``outcome``. Invalid leads say nothing about the entity and are left out,
    as in the history labels.

    Why the whole point: a rule model's verified leads are labels for the learnt model of the
    same point (and the other way round); they are not a random sample, which the scorer's
    selection correction is there for."""
    if store is None:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    # deferred: leads.store loads sqlalchemy; only the store's outcomes need it
    from leads.store import local_day

    names = point_models(scenario) if scenario in discovery.names() else [scenario]
    rows = [
        (v.entity_id, local_day(v.status_changed_at), v.status)
        for name in names
        for status in FINAL_OUTCOMES
        for v in store.list_leads(scenario=name, status=status)
    ]
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    frame["verified_on"] = pd.to_datetime(frame["verified_on"])
    return frame


def with_store_labels(
    frame: pd.DataFrame, outcomes: pd.DataFrame, as_of: date | None
) -> pd.DataFrame:
    """``frame`` with the store's outcomes known by ``as_of`` merged into ``label``: a filed case
    from either source makes 1, else a "no case" makes 0, else the history's label stands."""
    if outcomes.empty:
        return frame
    known = outcomes if as_of is None else outcomes[outcomes["verified_on"] <= pd.Timestamp(as_of)]
    cases = set(known.loc[known["outcome"] == "case_filed", "entity_id"])
    verified = set(known["entity_id"])
    entity = frame["entity_id"]
    label = frame["label"].to_numpy(dtype=float, na_value=np.nan).copy()
    label[entity.isin(cases).to_numpy()] = 1.0
    label[np.isnan(label) & entity.isin(verified).to_numpy()] = 0.0
    return frame.assign(label=label)


def backtest_split(
    scenario: str,
    data: str | Path | None,
    full: FeatureTable,
    as_of: date | None,
    holdout_months: int,
    outcomes: pd.DataFrame | None = None,
    features_at: Callable[[date], FeatureTable] | None = None,
) -> BacktestSplit:
    """Time-ordered split for the scenario (see module docstring); ``outcomes`` are the lead
    store's (``store_outcomes``), merged in as they were known at the cutoff; ``features_at``
    builds (or reuses) the feature table as of the cutoff."""
    policy = registry.get(scenario).policy
    if policy.split == "groups":
        return _split_by_groups(full, seed=policy.seed, share=policy.holdout_share)
    if as_of is None:
        raise ValueError(
            f"scenario {scenario!r}: the verification split needs an as-of date and the pool "
            'gives none; undated data is split with Policy(split="groups")'
        )
    outcomes = pd.DataFrame(columns=OUTCOME_COLUMNS) if outcomes is None else outcomes
    cutoff = _months_before(as_of, holdout_months)
    table = features_at(cutoff) if features_at else build_features(scenario, cutoff, data)
    past = with_store_labels(table.frame, outcomes, cutoff)
    first = _first_verified(data, scenario, outcomes)
    return _split_by_verification(full.frame, past, cutoff, first)


def _months_before(as_of: date, months: int) -> date:
    """Last day of the month ``months`` before ``as_of``'s month."""
    index = as_of.year * 12 + as_of.month - 1 - months
    return _month_end(index // 12, index % 12 + 1)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _first_verified(data: str | Path | None, scenario: str, outcomes: pd.DataFrame) -> pd.Series:
    """When each entity's first final outcome (case or no case) became known, from the history
    or the lead store."""
    path = data_root(data) / "pool" / data_owner(scenario) / "verification_history.parquet"
    parts = [
        frame
        for frame in (
            pd.read_parquet(path, columns=OUTCOME_COLUMNS) if path.is_file() else None,
            outcomes,
        )
        if frame is not None and len(frame)
    ]
    if not parts:  # nothing verified yet: no entity has a first outcome
        return pd.Series([], dtype="datetime64[ns]", index=pd.Index([], dtype=object))
    both = pd.concat(parts, ignore_index=True)
    both["verified_on"] = pd.to_datetime(both["verified_on"])
    final = both[both["outcome"].isin(FINAL_OUTCOMES)]
    return final.groupby("entity_id")["verified_on"].min().astype("datetime64[ns]")


def _split_by_verification(
    full: pd.DataFrame, past: pd.DataFrame, cutoff: date, first_verified: pd.Series
) -> BacktestSplit:
    """Train on the cutoff's features and labels; hold out entities first labelled later,
    scored with what was known about them at the cutoff (their latest features if they did not
    exist yet)."""
    known_before = past.loc[past["label"].notna(), "entity_id"]
    later = full[full["label"].notna() & ~full["entity_id"].isin(known_before)]
    labels = later.set_index("entity_id")["label"]
    existed = later["entity_id"].isin(past["entity_id"])
    holdout = pd.concat(
        [past[past["entity_id"].isin(later.loc[existed, "entity_id"])], later[~existed]],
        ignore_index=True,
    )
    holdout["label"] = holdout["entity_id"].map(labels).to_numpy()
    holdout = holdout[past.columns].assign(period=1)
    frame = pd.concat([past.assign(period=0), holdout], ignore_index=True)
    known = frame.loc[frame["period"] == 1, "entity_id"].map(first_verified)
    return BacktestSplit(frame, known.fillna(pd.Timestamp(cutoff)), str(cutoff))


def _split_by_groups(full: FeatureTable, seed: int = 0, share: float = 0.2) -> BacktestSplit:
    """Hold out a seeded ``share`` of whole groups per district (a group is the part of
    ``entity_id`` before its last ``:``, e.g. a tender of bids).

    Why (``split="groups"`` in a model's policy): where a date split measures a regime change
    rather than the model (bid_rigging: the cartels were found and broken up, so late tenders
    hold almost no collusion), the data's authors evaluate with folds grouped by tender, never
    splitting one.
    """
    frame = full.frame
    tender = frame["entity_id"].str.rsplit(":", n=1).str[0]
    tenders = pd.DataFrame({"tender": tender, "country": frame["district"]}).drop_duplicates()
    rng = np.random.default_rng(seed)
    draw = pd.Series(rng.random(len(tenders)), index=tenders["tender"].to_numpy())
    held = set(tenders.loc[draw.to_numpy() < share, "tender"])
    period = tender.isin(held).astype(int).to_numpy()
    known = pd.Series(pd.NaT, index=frame.index[period == 1], dtype="datetime64[ns]")
    return BacktestSplit(
        frame.assign(period=period),
        known,
        f"{share:.0%} of tenders held out (seeded, grouped by tender)",
    )

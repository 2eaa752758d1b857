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
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.build import FeatureTable, build_features
from pool.load import data_root, load_pool
from pool.spec import SimConfig

REAL_SCENARIOS = ("bid_rigging",)


def simulated_scenarios() -> list[str]:
    """Scenarios the pool simulator can build."""
    from pool.scenarios import available_scenarios

    return list(available_scenarios())


def trainable_scenarios() -> list[str]:
    """Scenarios with both data (simulated or real) and declared features."""
    from features import registry

    have_data = set(simulated_scenarios()) | set(REAL_SCENARIOS)
    found = []
    for name in registry.names():
        try:
            registry.get(name)
        except (ImportError, KeyError):
            continue  # declared as a built-in but its module is not there (yet)
        if name in have_data:
            found.append(name)
    return found


def ensure_pool(data: str | Path | None, seed: int, scale: float,
                scenarios: list[str], drift_month: int | None = None) -> bool:
    """Build the simulated pool when its manifest is absent; True if it was built now."""
    root = data_root(data)
    simulated = [s for s in scenarios if s in simulated_scenarios()]
    if not simulated or (root / "pool" / "manifest.json").is_file():
        return False
    from pool.build import build

    build(SimConfig(seed=seed, scale=scale, drift_month=drift_month), root, simulated)
    return True


def validate_pool(data: str | Path | None, scenarios: list[str]) -> None:
    """Load every simulated scenario's tables through their schemas (raises
    ``pool.load.PoolValidationError`` naming the table, column and rule at fault).

    Why up front: a bad pool must stop the job before any version is registered.
    """
    for scenario in scenarios:
        if scenario in simulated_scenarios():
            load_pool(data, scenario)


def pool_config(data: str | Path | None) -> dict:
    """The simulation configuration recorded in the pool manifest."""
    manifest = data_root(data) / "pool" / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"no pool manifest at {manifest}; build the pool first")
    return json.loads(manifest.read_text())["config"]


def latest_as_of(data: str | Path | None, scenario: str) -> date | None:
    """The last day of the pool's last month (None for the real data: everything)."""
    if scenario in REAL_SCENARIOS:
        return None
    config = pool_config(data)
    start = date.fromisoformat(config["start"])
    months = start.month - 1 + int(config["months"])
    first_after = date(start.year + months // 12, months % 12 + 1, 1)
    return first_after - timedelta(days=1)


def data_hash(data: str | Path | None, scenario: str) -> str:
    """sha256 (16 hex) of what the scenario's data is: the pool manifest's file hashes, or the
    procurement files' bytes."""
    digest = hashlib.sha256()
    if scenario in REAL_SCENARIOS:
        from models.bid_rigging.procurement import procurement_dir

        for path in sorted(procurement_dir(data).glob("*.csv")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
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
    """Final outcomes (case filed / no case) of the scenario's leads in the lead store, with the
    local day each was recorded: ``entity_id``, ``verified_on``, ``outcome``. Invalid leads say
    nothing about the entity and are left out, as in the history labels."""
    if store is None:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    from leads.store import local_day

    rows = [(v.entity_id, local_day(v.status_changed_at), v.status)
            for status in FINAL_OUTCOMES
            for v in store.list_leads(scenario=scenario, status=status)]
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    frame["verified_on"] = pd.to_datetime(frame["verified_on"])
    return frame


def with_store_labels(frame: pd.DataFrame, outcomes: pd.DataFrame,
                      as_of: date | None) -> pd.DataFrame:
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


def backtest_split(scenario: str, data: str | Path | None, full: FeatureTable,
                   as_of: date | None, holdout_months: int,
                   outcomes: pd.DataFrame | None = None) -> BacktestSplit:
    """Time-ordered split for the scenario (see module docstring); ``outcomes`` are the lead
    store's (``store_outcomes``), merged in as they were known at the cutoff."""
    if scenario in REAL_SCENARIOS:
        return _split_by_tender_date(full, data)  # grouped by tender, see there
    outcomes = pd.DataFrame(columns=OUTCOME_COLUMNS) if outcomes is None else outcomes
    cutoff = _months_before(as_of, holdout_months)
    past = with_store_labels(build_features(scenario, cutoff, data).frame, outcomes, cutoff)
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
    path = data_root(data) / "pool" / scenario / "verification_history.parquet"
    history = pd.read_parquet(path, columns=OUTCOME_COLUMNS)
    history["verified_on"] = pd.to_datetime(history["verified_on"])
    both = pd.concat([history, outcomes], ignore_index=True) if len(outcomes) else history
    final = both[both["outcome"].isin(FINAL_OUTCOMES)]
    return pd.to_datetime(final.groupby("entity_id")["verified_on"].min())


def _split_by_verification(full: pd.DataFrame, past: pd.DataFrame, cutoff: date,
                           first_verified: pd.Series) -> BacktestSplit:
    """Train on the cutoff's features and labels; hold out entities first labelled later,
    scored with what was known about them at the cutoff (their latest features if they did not
    exist yet)."""
    known_before = past.loc[past["label"].notna(), "entity_id"]
    later = full[full["label"].notna() & ~full["entity_id"].isin(known_before)]
    labels = later.set_index("entity_id")["label"]
    existed = later["entity_id"].isin(past["entity_id"])
    holdout = pd.concat([past[past["entity_id"].isin(later.loc[existed, "entity_id"])],
                         later[~existed]], ignore_index=True)
    holdout["label"] = holdout["entity_id"].map(labels).to_numpy()
    holdout = holdout[past.columns].assign(period=1)
    frame = pd.concat([past.assign(period=0), holdout], ignore_index=True)
    known = frame.loc[frame["period"] == 1, "entity_id"].map(first_verified)
    return BacktestSplit(frame, known.fillna(pd.Timestamp(cutoff)), str(cutoff))


def _split_by_tender_date(full: FeatureTable, data: str | Path | None, seed: int = 0,
                          share: float = 0.2) -> BacktestSplit:
    """Real procurement data: hold out a seeded ``share`` of whole tenders per country.

    Why not by date: in these files the cartels were found and broken up, so late tenders hold
    almost no collusion and a date split measures the regime change, not the model; the data's
    authors (and DOMAIN.md) evaluate with folds grouped by tender, never splitting one. Features
    still use only earlier tenders, by construction.
    """
    frame = full.frame
    tender = frame["entity_id"].str.rsplit(":", n=1).str[0]
    tenders = pd.DataFrame({"tender": tender, "country": frame["district"]}).drop_duplicates()
    rng = np.random.default_rng(seed)
    draw = pd.Series(rng.random(len(tenders)), index=tenders["tender"].to_numpy())
    held = set(tenders.loc[draw.to_numpy() < share, "tender"])
    period = tender.isin(held).astype(int).to_numpy()
    known = pd.Series(pd.NaT, index=frame.index[period == 1], dtype="datetime64[ns]")
    return BacktestSplit(frame.assign(period=period), known,
                         f"{share:.0%} of tenders held out (seeded, grouped by tender)")

"""Reasons for a score: SHAP contributions turned into plain-language sentences.

The contributions come from ``training.explain``, so training and serving explain a model the
same way: exact TreeSHAP of a supervised scorer's LightGBM booster, or TreeSHAP of a LightGBM
surrogate for an unsupervised detector (fitted once per served version on the population, then
reused); a scorer's ``detector_score`` input is handed on to the features it rests on through
its detector's surrogate, so no reason names the detector. A bare LightGBM model is explained natively with ``pred_contrib``. The sentence for a
feature comes from its declaration (``features.registry``), where its meaning is written once,
with the entity's value against the median of its district's peers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.wording import DEFAULT_LANGUAGE, LANGUAGES

from .champions import ServedModel, in_chunks
from .feature_cache import EntityMatrix

PARALLEL_SHAP = 200
_SURROGATES: dict[tuple[str, str, str, int], Any] = {}
_LOCK = threading.Lock()


def find_booster(estimator: Any) -> Any:
    """A LightGBM booster that takes the estimator's own input, or None."""
    import lightgbm

    if isinstance(estimator, lightgbm.Booster):
        return estimator
    if isinstance(estimator, lightgbm.LGBMModel):
        return estimator.booster_
    return None


def _surrogate(served: ServedModel, background: pd.DataFrame, detector: Any) -> Any:
    """The surrogate of ``detector`` (the served detector, or a served scorer's own) for this
    served version, fitted on the population on first use."""
    from training.explain import fit_surrogate

    key = (served.name, served.version, served.alias, id(detector))
    with _LOCK:
        if key not in _SURROGATES:
            X = background.loc[:, list(served.columns)].astype("float64")
            _SURROGATES[key] = fit_surrogate(
                X, detector.decision_function(X.to_numpy(dtype="float64"))
            )
        return _SURROGATES[key]


def is_composite(estimator: Any) -> bool:
    """A supervised scorer (booster and detector) or a detector: explained through
    ``training.explain``, not by its booster alone."""
    return (hasattr(estimator, "booster_") and hasattr(estimator, "detector_")) or hasattr(
        estimator, "preprocessor_"
    )


def booster_contributions(booster: Any, values: np.ndarray) -> np.ndarray:
    """TreeSHAP values (rows x features) of a LightGBM booster on a float64 matrix."""
    # one OpenMP thread per call: ``in_chunks`` already runs large batches in parallel
    # threads, and LightGBM's default (every core) made explaining one row cost 15 ms on a
    # busy 2-core machine, against 0.4 ms on one thread
    out = in_chunks(
        lambda part: np.asarray(booster.predict(part, pred_contrib=True, num_threads=1)),
        values,
        min_rows=PARALLEL_SHAP,
    )
    return out[:, : values.shape[1]]


def contributions(
    served: ServedModel, frame: pd.DataFrame, background: pd.DataFrame | None
) -> tuple[np.ndarray, list[str]]:
    """SHAP values (rows x names) of the served score on ``frame`` and the feature names."""
    estimator = served.estimator
    table = frame.reset_index(drop=True)
    rows = list(table.index)
    base = background if background is not None and len(background) else table
    if hasattr(estimator, "booster_") and hasattr(estimator, "detector_"):
        from training.explain import explain_scorer

        surrogate = _surrogate(served, base, estimator.detector_)
        explained = explain_scorer(estimator, table, rows, surrogate=surrogate)
    elif hasattr(estimator, "preprocessor_"):
        from training.explain import explain_detector

        _, explained = explain_detector(
            estimator, table, rows, surrogate=_surrogate(served, base, estimator)
        )
    else:
        booster = find_booster(estimator)
        if booster is None:
            raise TypeError(
                f"cannot explain a {type(estimator).__name__}: no LightGBM booster, "
                "supervised scorer or detector inside the served model"
            )
        return booster_contributions(booster, table.to_numpy(dtype="float64")), list(table.columns)
    names = list(explained[0].contributions) if explained else list(table.columns)
    values = np.array([[e.contributions[n] for n in names] for e in explained])
    return values.reshape(len(rows), len(names)), names


def declared_features(scenario: str) -> dict[str, Any]:
    """Feature declarations of a scenario by name ({} for an undeclared scenario)."""
    try:
        from features.registry import get

        return {spec.name: spec for spec in get(scenario).features}
    except (LookupError, AttributeError, ImportError):
        return {}


def explain(
    served: ServedModel,
    frame: pd.DataFrame,
    max_reasons: int,
    background: pd.DataFrame | None = None,
) -> list[list[dict[str, Any]]]:
    """Reasons for every row of ``frame`` (already limited to the rows asked for): the features
    pushing the score up the most, with value, SHAP value and sentence (``text`` in the default
    language, ``texts`` in each). A flag that is not raised is never a reason.

    The reference path, from frames; requests take :func:`explain_rows`, which gives the same
    reasons from what :func:`prepare` built at model load."""
    features = frame.loc[:, list(served.columns)].astype("float64")
    if hasattr(served.estimator, "rule_reasons"):
        return rule_reasons(served, features, background, max_reasons)
    values, names = contributions(served, features, background)
    peers = peer_medians(features.index, background, list(served.columns))
    return worded(
        values,
        names,
        features.to_numpy(),
        list(served.columns),
        peers,
        declared_features(served.scenario),
        max_reasons,
    )


def worded(
    values: np.ndarray,
    names: list[str],
    raw: np.ndarray,
    columns: list[str],
    peers: np.ndarray | None,
    specs: dict[str, Any],
    max_reasons: int,
) -> list[list[dict[str, Any]]]:
    """Per row of ``raw`` (feature values in ``columns`` order), the ``max_reasons`` features
    with the highest SHAP ``values`` (rows x ``names``) that state a fact against it, worded in
    every language. An undeclared feature's generic sentence is the same in every language, so
    it is written once."""
    from training.explain import format_reason, is_false_flag

    column_of = {c: i for i, c in enumerate(columns)}
    col_of = [column_of.get(name) for name in names]
    spec_of = [specs.get(name) for name in names]
    order = np.argsort(-values, axis=1, kind="stable").tolist()  # per row, as row by row
    shap_rows, raw_rows = values.tolist(), raw.tolist()
    peer_rows = None if peers is None else peers.tolist()
    out = []
    for i, ranked in enumerate(order):
        raw_row, record = raw_rows[i], None
        row: list[dict[str, Any]] = []
        for j in ranked:
            if len(row) == max_reasons:
                break
            name, col, spec = names[j], col_of[j], spec_of[j]
            x = None if col is None else raw_row[col]
            value = None if x is None or x != x else x  # NaN: no value
            if spec is not None and is_false_flag(spec, value):
                continue
            peer = None if peer_rows is None or col is None else peer_rows[i][col]
            v = np.nan if value is None else value
            p = np.nan if peer is None else peer
            if spec is None:
                texts = dict.fromkeys(LANGUAGES, format_reason(None, name, v, p))
            else:
                if record is None:
                    record = dict(zip(columns, raw[i], strict=True))
                texts = {lang: format_reason(spec, name, v, p, lang, record) for lang in LANGUAGES}
            row.append(
                {
                    "feature": name,
                    "value": value,
                    "shap": round(shap_rows[i][j], 6),
                    "text": texts[DEFAULT_LANGUAGE],
                    "texts": texts,
                }
            )
        out.append(row)
    return out


@dataclass(frozen=True, eq=False)
class Prepared:
    """What the reasons of one served version read, built once at model load: the feature
    declarations, and each population row's district medians (a row of ``medians``; the last
    row is all NaN, for an entity or district the population does not know)."""

    served: ServedModel
    matrix: EntityMatrix
    specs: dict[str, Any]
    district_row: np.ndarray | None
    medians: np.ndarray
    overall: np.ndarray

    def peers(self, entity_ids: Sequence[str]) -> np.ndarray:
        """What :func:`peer_medians` gives for ``entity_ids`` against the population."""
        columns = self.matrix.columns
        if self.district_row is None:
            return np.tile(self.overall, (len(entity_ids), 1))
        rows = self.matrix.lookup(entity_ids)
        unknown = len(self.medians) - 1
        which = np.where(rows >= 0, self.district_row[rows], unknown)
        known = self.medians[which].reshape(len(entity_ids), len(columns))
        return np.where(np.isnan(known), self.overall, known)


_PREPARED: dict[tuple[str, str], Prepared] = {}


def prepare(served: ServedModel, matrix: EntityMatrix) -> Prepared:
    """The :class:`Prepared` of ``served`` against the population ``matrix`` (its feature
    table), built on the first call and then reused while both stay the same."""
    key = (served.scenario, served.alias)
    found = _PREPARED.get(key)
    if found is not None and found.served is served and found.matrix is matrix:
        return found
    with _LOCK:
        background, columns = matrix.table, list(matrix.columns)
        by_district, overall = district_medians(background, columns)
        district_row = None
        medians = np.full((1, len(columns)), np.nan)
        if "district" in background.columns and len(by_district):
            medians = np.vstack([by_district.to_numpy(dtype="float64"), medians])
            found_at = by_district.index.get_indexer(background["district"])
            district_row = np.where(found_at >= 0, found_at, len(medians) - 1)
        found = Prepared(
            served,
            matrix,
            declared_features(served.scenario),
            district_row,
            medians,
            np.asarray(overall, dtype="float64"),
        )
        _PREPARED[key] = found
        return found


def explain_rows(
    prepared: Prepared, entity_ids: Sequence[str], values: np.ndarray, max_reasons: int
) -> list[list[dict[str, Any]]]:
    """:func:`explain` of the rows ``values`` (float64, the served columns in order) of
    ``entity_ids``, read from ``prepared`` instead of frames."""
    served, matrix = prepared.served, prepared.matrix
    columns = list(served.columns)
    if hasattr(served.estimator, "rule_reasons"):
        frame = pd.DataFrame(values, columns=columns, index=pd.Index(entity_ids, name="entity_id"))
        return rule_reasons(served, frame, matrix.table, max_reasons)
    booster = None if is_composite(served.estimator) else find_booster(served.estimator)
    if booster is None:
        shap, names = contributions(served, pd.DataFrame(values, columns=columns), matrix.table)
    else:
        shap, names = booster_contributions(booster, values), columns
    peers = prepared.peers(entity_ids) if len(matrix) else None
    return worded(shap, names, values, columns, peers, prepared.specs, max_reasons)


def rule_reasons(
    served: ServedModel, features: pd.DataFrame, background: pd.DataFrame | None, max_reasons: int
) -> list[list[dict[str, Any]]]:
    """A rule model's reasons: the rules it fired, each with its declared sentence (value, the
    peers' median, the threshold), not SHAP values."""
    peers = peer_medians(features.index, background, list(served.columns))
    table = (
        None
        if peers is None
        else pd.DataFrame(peers, index=features.index, columns=list(served.columns))
    )
    return [
        [
            {
                "feature": r["feature"],
                "value": r["value"],
                "shap": r["contribution"],
                "text": r["text"],
                "rule": r["rule"],
            }
            for r in row[:max_reasons]
        ]
        for row in served.estimator.rule_reasons(features, table)
    ]


_PEERS: dict[int, tuple[pd.DataFrame, pd.DataFrame, np.ndarray]] = {}


def district_medians(
    background: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Median of every feature per district, and overall; computed once per population table."""
    cached = _PEERS.get(id(background))
    if cached is None or cached[0] is not background:
        by_district = (
            background.groupby("district")[columns].median()
            if "district" in background.columns
            else pd.DataFrame(columns=columns)
        )
        cached = (background, by_district, background[columns].median().to_numpy())
        _PEERS.clear()  # keep one population per process: the latest table
        _PEERS[id(background)] = cached
    return cached[1], cached[2]


def peer_medians(
    entities: pd.Index, background: pd.DataFrame | None, columns: list[str]
) -> np.ndarray | None:
    """Per entity, the medians of its district's peers in the population (rows x columns);
    the whole population's median for an entity or district the population does not know."""
    if background is None or not len(background):
        return None
    by_district, overall = district_medians(background, columns)
    out = np.tile(overall, (len(entities), 1))
    if "district" in background.columns and len(by_district):
        districts = background["district"].reindex(entities).to_numpy()
        known = by_district.reindex(districts).to_numpy(dtype="float64")
        found = ~np.isnan(known)
        out[found] = known[found]
    return out

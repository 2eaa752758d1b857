"""Reasons for a score: SHAP contributions turned into plain-language sentences.

The contributions come from ``training.explain``, so training and serving explain a model the
same way: exact TreeSHAP of a supervised scorer's LightGBM booster, or TreeSHAP of a LightGBM
surrogate for an unsupervised detector (fitted once per served version on the population, then
reused). A bare LightGBM model is explained natively with ``pred_contrib``. The sentence for a
feature comes from its declaration (``features.registry``), where its meaning is written once,
with the entity's value against the median of its district's peers.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pandas as pd

from .hub import ServedModel

DETECTOR_FEATURE = "detector_score"
_SURROGATES: dict[tuple[str, str, str], Any] = {}
_LOCK = threading.Lock()


def find_booster(estimator: Any) -> Any:
    """A LightGBM booster that takes the estimator's own input, or None."""
    import lightgbm

    if isinstance(estimator, lightgbm.Booster):
        return estimator
    if isinstance(estimator, lightgbm.LGBMModel):
        return estimator.booster_
    return None


def _surrogate(served: ServedModel, background: pd.DataFrame) -> Any:
    """The detector's surrogate for this served version, fitted on first use."""
    from training.explain import fit_surrogate

    key = (served.name, served.version, served.alias)
    with _LOCK:
        if key not in _SURROGATES:
            detector = served.estimator
            X = background.loc[:, list(served.columns)].astype("float64")
            _SURROGATES[key] = fit_surrogate(X, detector.decision_function(X))
        return _SURROGATES[key]


def contributions(served: ServedModel, frame: pd.DataFrame, background: pd.DataFrame | None
                  ) -> tuple[np.ndarray, list[str]]:
    """SHAP values (rows x names) of the served score on ``frame`` and the feature names."""
    estimator = served.estimator
    table = frame.reset_index(drop=True)
    rows = list(table.index)
    if hasattr(estimator, "booster_") and hasattr(estimator, "detector_"):
        from training.explain import explain_scorer

        explained = explain_scorer(estimator, table, rows)
    elif hasattr(estimator, "preprocessor_"):
        from training.explain import explain_detector

        base = background if background is not None and len(background) else table
        _, explained = explain_detector(estimator, table, rows,
                                        surrogate=_surrogate(served, base))
    else:
        booster = find_booster(estimator)
        if booster is None:
            raise TypeError(f"cannot explain a {type(estimator).__name__}: no LightGBM booster, "
                            "supervised scorer or detector inside the served model")
        values = booster.predict(table.to_numpy(dtype="float64"), pred_contrib=True)
        return np.asarray(values)[:, : table.shape[1]], list(table.columns)
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


def sentence(spec: Any, feature: str, value: float | None, peer: float | None) -> str:
    """The plain-language reason for one feature value."""
    if feature == DETECTOR_FEATURE:
        return "unusual against all entities (anomaly score of the unsupervised detector)"
    from training.explain import format_reason

    return format_reason(spec, feature, np.nan if value is None else value,
                         np.nan if peer is None else peer)


def _number(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def explain(served: ServedModel, frame: pd.DataFrame, max_reasons: int,
            background: pd.DataFrame | None = None) -> list[list[dict[str, Any]]]:
    """Reasons for every row of ``frame`` (already limited to the rows asked for): the features
    pushing the score up the most, with value, SHAP value and sentence."""
    features = frame.loc[:, list(served.columns)].astype("float64")
    values, names = contributions(served, features, background)
    specs = declared_features(served.scenario)
    peers = peer_medians(frame, background, list(served.columns))
    out = []
    for i in range(len(features)):
        order = np.argsort(-values[i], kind="stable")[:max_reasons]
        row = []
        for j in order:
            name = names[j]
            value = _number(features.iloc[i][name]) if name in features.columns else None
            peer = peers[i].get(name) if peers else None
            row.append({"feature": name, "value": value, "shap": round(float(values[i, j]), 6),
                        "text": sentence(specs.get(name), name, value, peer)})
        out.append(row)
    return out


def peer_medians(frame: pd.DataFrame, background: pd.DataFrame | None, columns: list[str]
                 ) -> list[dict[str, float]]:
    """Per row, the median of each feature among the row's district peers in the population
    (the whole population when districts are unknown)."""
    if background is None or not len(background):
        return []
    overall = background[columns].median()
    by_district = (background.groupby("district")[columns].median()
                   if "district" in background.columns else None)
    out = []
    for entity in frame.index:
        district = background["district"].get(entity) if by_district is not None else None
        if district is not None and district in by_district.index:
            out.append(by_district.loc[district].to_dict())
        else:
            out.append(overall.to_dict())
    return out

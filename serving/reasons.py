"""Reasons for a score: SHAP contributions turned into plain-language sentences.

The SHAP values come from the training package's explainer when it offers one for the served
estimator (so training and serving explain identically); a LightGBM model is otherwise explained
natively (TreeSHAP through ``pred_contrib``), and anything else with a model-agnostic permutation
explainer. The sentence for a feature comes from its declaration (``features.registry``), where
its meaning is written once; an undeclared feature falls back to its name and value.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .hub import ServedModel

ShapFn = Callable[[Any, pd.DataFrame], np.ndarray]


def _optional(module: str, name: str) -> Any:
    """``module.name`` if both exist, else None (a sibling package may not be built yet)."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def find_booster(estimator: Any) -> Any:
    """A LightGBM booster that takes the estimator's own input, or None."""
    import lightgbm

    if isinstance(estimator, lightgbm.Booster):
        return estimator
    if isinstance(estimator, lightgbm.LGBMModel):
        return estimator.booster_
    return None


def shap_values(estimator: Any, frame: pd.DataFrame, background: pd.DataFrame | None = None
                ) -> np.ndarray:
    """SHAP values (rows x features) of ``estimator``'s score on ``frame``."""
    own = getattr(estimator, "shap_values", None)
    if callable(own):
        return np.asarray(own(frame), dtype="float64")
    shared = _optional("training.explain", "shap_values")
    if callable(shared):
        return np.asarray(shared(estimator, frame), dtype="float64")
    booster = find_booster(estimator)
    if booster is not None:
        contrib = booster.predict(frame.to_numpy(dtype="float64"), pred_contrib=True)
        return np.asarray(contrib, dtype="float64")[:, : frame.shape[1]]
    return permutation_shap(estimator, frame, background)


def permutation_shap(estimator: Any, frame: pd.DataFrame, background: pd.DataFrame | None
                     ) -> np.ndarray:
    """Model-agnostic SHAP values of ``decision_function`` (slow: only for a few rows)."""
    import shap

    base = background if background is not None and len(background) else frame
    masker = shap.maskers.Independent(base.sample(min(len(base), 50), random_state=0))
    explainer = shap.PermutationExplainer(
        lambda x: estimator.decision_function(pd.DataFrame(x, columns=frame.columns)), masker)
    return np.asarray(explainer(frame, silent=True).values, dtype="float64")


def declared_features(scenario: str) -> dict[str, Any]:
    """Feature declarations of a scenario by name ({} when the registry is not available)."""
    get = _optional("features.registry", "get")
    if get is None:
        return {}
    try:
        return {spec.name: spec for spec in get(scenario).features}
    except (KeyError, LookupError, AttributeError):
        return {}


def sentence(spec: Any, feature: str, value: float | None, peer: float | None) -> str:
    """The plain-language reason for one feature value."""
    if spec is not None:
        return str(spec.reason(value, peer))
    shown = "unknown" if value is None else f"{value:.4g}"
    return f"{feature.replace('_', ' ')} is {shown}"


def top_reasons(values: np.ndarray, row: pd.Series, specs: dict[str, Any], k: int,
                peers: dict[str, float]) -> list[dict[str, Any]]:
    """The ``k`` features pushing this row's score up the most (positive SHAP first)."""
    order = np.argsort(-values, kind="stable")[:k]
    out = []
    for j in order:
        feature = str(row.index[j])
        raw = row.iloc[j]
        value = None if raw is None or (isinstance(raw, float) and math.isnan(raw)) else float(raw)
        out.append({"feature": feature, "value": value, "shap": round(float(values[j]), 6),
                    "text": sentence(specs.get(feature), feature, value, peers.get(feature))})
    return out


def explain(served: ServedModel, frame: pd.DataFrame, max_reasons: int,
            background: pd.DataFrame | None = None) -> list[list[dict[str, Any]]]:
    """Reasons for every row of ``frame`` (already limited to the rows asked for)."""
    features = frame.loc[:, list(served.columns)].astype("float64")
    values = shap_values(served.estimator, features, background)
    specs = declared_features(served.scenario)
    reference = background if background is not None else features
    peers = {c: float(reference[c].median()) for c in features.columns}
    return [top_reasons(values[i], features.iloc[i], specs, max_reasons, peers)
            for i in range(len(features))]

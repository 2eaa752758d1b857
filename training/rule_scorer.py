"""A rule model as a scikit-learn estimator: evaluate declared rules, learn nothing.

``RuleScorer(rules)`` takes a ``features.rules.RuleSet``. ``fit`` only records the feature
columns (there is nothing to fit; labels are ignored), so a rule model goes through the same
backtest, MLflow pyfunc, gate, certification, serving and retirement as a learnt scorer.
``decision_function`` follows the project's convention (higher = more suspicious): the rules'
combined value (any / weighted sum / count) plus a tie-break term strictly inside
``(0, TIE_SPAN)``, a monotone map of the declared tie-break feature in its suspicious direction,
so within one combined value the tie-break decides and never across two. ``fired`` says which
rules fired per row; ``rule_reasons`` writes their plain-language reasons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from features.rules import RuleSet
from features.wording import DEFAULT_LANGUAGE

#: The tie-break term's width: below any gap between two combined values worth declaring.
TIE_SPAN = 1e-3

_OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class RuleScorer(BaseEstimator):
    """Declared rules as a detector-shaped estimator (``fit``, ``decision_function``).

    ``directions`` maps the tie-break feature to its suspicious direction ("high" or "low");
    ``rule_model_from`` builds it from a declaration.
    """

    def __init__(
        self, rules: RuleSet | None = None, directions: dict[str, str] | None = None
    ) -> None:
        self.rules = rules
        self.directions = directions

    @property
    def _rules(self) -> RuleSet:
        """The declared rules; a scorer built without them is refused naming the parameter."""
        if self.rules is None:
            raise ValueError("RuleScorer needs rules=RuleSet(...)")
        return self.rules

    def fit(self, X: pd.DataFrame, y: Any = None) -> RuleScorer:
        """Nothing to learn: check the rules' features are columns of ``X`` and remember them."""
        rules = self._rules
        if not isinstance(X, pd.DataFrame):
            raise TypeError("RuleScorer.fit needs a DataFrame with the declared feature columns")
        missing = [f for f in rules.features if f not in X.columns]
        if missing:
            raise ValueError(f"rule features {missing} are not columns of the input")
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _frame(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_in_")
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype="float64"), columns=list(self.feature_names_in_))
        missing = [f for f in self._rules.features if f not in X.columns]
        if missing:
            raise ValueError(f"input lacks rule feature column(s) {missing}")
        return X

    def fired_matrix(self, X: Any) -> np.ndarray:
        """Boolean (rows x rules): which rules fire on each row (a missing value never fires)."""
        X = self._frame(X)
        out = np.zeros((len(X), len(self._rules.rules)), dtype=np.bool_)
        for j, rule in enumerate(self._rules.rules):
            values = X[rule.feature].to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                out[:, j] = _OPS[rule.op](values, rule.threshold) & ~np.isnan(values)
        return out

    def combined(self, X: Any) -> np.ndarray:
        """The rules' combined value per row: any (0/1), weighted sum or count."""
        fired = self.fired_matrix(X)
        if self._rules.combine == "any":
            return fired.any(axis=1).astype("float64")
        if self._rules.combine == "count":
            return fired.sum(axis=1).astype("float64")
        weights = np.array([float(r.weight) for r in self._rules.rules])
        return (fired * weights).sum(axis=1)

    def _tie(self, X: pd.DataFrame) -> np.ndarray:
        name = self._rules.tie_break
        if name is None:
            return np.zeros(len(X))
        values = X[name].to_numpy(dtype="float64", na_value=np.nan)
        if (self.directions or {}).get(name, "high") == "low":
            values = -values
        # arctan maps the whole line into (-pi/2, pi/2): monotone, batch-independent, bounded
        tie = (np.arctan(values) / np.pi + 0.5) * TIE_SPAN
        return np.where(np.isnan(tie), 0.0, tie)

    def decision_function(self, X: Any) -> np.ndarray:
        """Combined value, then the tie-break (higher = more suspicious)."""
        frame = self._frame(X)
        return self.combined(frame) + self._tie(frame)

    def fired(self, X: Any) -> list[list[str]]:
        """Names of the rules fired on each row, in declaration order."""
        names = self._rules.names
        return [[names[j] for j in np.flatnonzero(row)] for row in self.fired_matrix(X)]

    def rule_reasons(self, X: Any, peers: pd.DataFrame | None = None) -> list[list[dict]]:
        """Per row, one reason per fired rule: {rule, feature, value, contribution, text}.

        ``peers`` holds, per row and rule feature, the peer group's median (NaN: unknown)."""
        frame = self._frame(X)
        fired = self.fired_matrix(frame)
        out = []
        for i in range(len(frame)):
            reasons = []
            for j in np.flatnonzero(fired[i]):
                rule = self._rules.rules[j]
                value = float(frame[rule.feature].iloc[i])
                peer = float("nan") if peers is None else float(peers[rule.feature].iloc[i])
                weight = 1.0 if self._rules.combine != "weighted_sum" else float(rule.weight)
                reasons.append(
                    {
                        "rule": rule.name,
                        "feature": rule.feature,
                        "value": value,
                        "contribution": weight,
                        "text": rule.text(value, peer, DEFAULT_LANGUAGE),
                        "texts": rule.texts(value, peer),
                    }
                )
            out.append(reasons)
        return out


def rule_scorer_for(model: Any) -> RuleScorer:
    """The unfitted estimator of a declared rule model (``model.rules`` set)."""
    if model.rules is None:
        raise ValueError(f"model {model.name!r} declares no rules")
    return RuleScorer(model.rules, {f.name: f.direction for f in model.features})

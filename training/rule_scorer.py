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
        patterns, which = _patterns(self.fired_matrix(X))
        lists = [[names[j] for j in np.flatnonzero(p)] for p in patterns]
        return [list(lists[k]) for k in which]

    def fired_labels(self, X: Any, sep: str = ",") -> np.ndarray:
        """Per row, the fired rules' names joined by ``sep`` ("" where none fired), as the
        scored frame's ``rules`` column holds them.

        Why by pattern: a table has a handful of distinct fired patterns, so each is worded
        once and the rows take theirs by index; a Python loop over every row cost more than
        the rules themselves on a national table (issue 17)."""
        names = self._rules.names
        patterns, which = _patterns(self.fired_matrix(X))
        labels = np.array(
            [sep.join(names[j] for j in np.flatnonzero(p)) for p in patterns], dtype=object
        )
        return labels[which] if len(which) else np.empty(0, dtype=object)

    def rule_reasons(self, X: Any, peers: pd.DataFrame | None = None) -> list[list[dict]]:
        """Per row, one reason per fired rule: {rule, feature, value, contribution, text}.

        ``peers`` holds, per row and rule feature, the peer group's median (NaN: unknown)."""
        frame = self._frame(X)
        fired = self.fired_matrix(frame)
        rules = self._rules.rules
        # each rule's column read once as floats, not a column lookup per row (issue 17)
        values = [_floats(frame[r.feature]) for r in rules]
        nans = np.full(len(frame), np.nan)
        peer_values = [nans if peers is None else _floats(peers[r.feature]) for r in rules]
        out = []
        for i in range(len(frame)):
            reasons = []
            for j in np.flatnonzero(fired[i]):
                rule = rules[j]
                value = float(values[j][i])
                peer = float(peer_values[j][i])
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


def _patterns(fired: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean (rows x rules) matrix and each row's index into them.

    Up to 62 rules a row is one integer (bit j: rule j fired), so finding the distinct rows is
    a sort of integers rather than of rows; more rules compare whole rows."""
    n_rules = fired.shape[1]
    if not len(fired):
        return np.zeros((0, n_rules), dtype=np.bool_), np.zeros(0, dtype=np.intp)
    if n_rules > 62:
        patterns, which = np.unique(fired, axis=0, return_inverse=True)
        return patterns, np.asarray(which, dtype=np.intp).reshape(-1)
    bits = np.arange(n_rules, dtype=np.int64)
    codes = fired.astype(np.int64) @ (np.int64(1) << bits)
    uniq, which = np.unique(codes, return_inverse=True)
    patterns = ((uniq[:, None] >> bits) & 1).astype(np.bool_)
    return patterns, np.asarray(which, dtype=np.intp).reshape(-1)


def _floats(column: pd.Series) -> np.ndarray:
    """A column as float64, missing values as NaN."""
    return column.to_numpy(dtype="float64", na_value=np.nan)


def rule_scorer_for(model: Any) -> RuleScorer:
    """The unfitted estimator of a declared rule model (``model.rules`` set)."""
    if model.rules is None:
        raise ValueError(f"model {model.name!r} declares no rules")
    return RuleScorer(model.rules, {f.name: f.direction for f in model.features})

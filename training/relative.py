"""Declared within-group ranks as a fitted step: ``FeatureSpec.relative_to`` for models that are
trained once and then score rows they never saw.

``features.relative.relative_view`` ranks a whole table within its own groups; that is what a
detector fitted on that table sees. A served entity, or a held-out country, must be ranked
against the *training* population instead, or its view would depend on whichever batch it
arrives in. :class:`RelativeRanks` keeps, per declared feature and group, the sorted training
values, and ranks any row against them:

* a row of a group seen in training gets its mid-rank among that group's training values,
  ``(#below + (#equal + 1) / 2) / n``: on the training rows themselves exactly
  ``relative_view``'s percentile rank (ties share their mean rank). A new value between two
  training values sits half a rank above the lower one; above every training value it reads
  ``(n + 0.5) / n``, a little over 1, so the most extreme rows still rank among themselves;
* a row whose group has no training value of the feature (an unseen district, a country the
  model was not trained on) is ranked the same way against the pooled training values of every
  group (the documented fallback: the population as a whole is the only reference there is);
* a missing value stays missing (the detector imputes it, as it does on the training rows);
  a missing group is refused, naming the column and the row: it would be neither peer-ranked
  nor honestly pooled.

:class:`RelativeDetector` is a detector that sees that view: the ranks, fitted on its training
rows, then any detector of ``training.detectors`` on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from features.spec import FeatureSpec

#: ``{feature: group column}`` for the features read within a group
RelativeTo = Mapping[str, str]


def declared_relative_to(specs: Sequence[FeatureSpec]) -> dict[str, str]:
    """``{feature: group column}`` of the declarations that set ``relative_to`` (maybe empty)."""
    return {s.name: s.relative_to for s in specs if s.relative_to is not None}


def mid_ranks(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of ``values`` among the sorted, NaN-free ``reference``.

    ``(#below + (#equal + 1) / 2) / n``; NaN stays NaN. For a value that is one of the
    reference's own, this is pandas' ``rank(pct=True, method="average")`` of it.
    """
    below = np.searchsorted(reference, values, side="left")
    equal = np.searchsorted(reference, values, side="right") - below
    out = (below + (equal + 1) / 2) / len(reference)
    return np.where(np.isnan(values), np.nan, out)


def _groups(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    """The group column of ``frame``, refused with its first missing row named."""
    groups = frame[column]
    missing = groups.isna().to_numpy()
    if missing.any():
        row = frame.index[int(np.flatnonzero(missing)[0])]
        raise ValueError(
            f"{what}: group column {column!r} is missing at row {row!r} "
            f"({int(missing.sum())} row(s)); every row needs its group to be ranked within it"
        )
    return groups


class RelativeRanks(TransformerMixin, BaseEstimator):
    """Features declaring a group replaced by their rank among that group's training values.

    Parameters
    ----------
    features : sequence of str
        The output columns, in order (the model's features); the group columns are inputs only.
    relative_to : mapping of str to str
        ``{feature: group column}``; features not named keep their values.

    ``fit`` and ``transform`` take a DataFrame holding the features and the group columns;
    ``transform`` returns a float64 DataFrame of ``features`` with the input's index.
    Fitted: ``reference_`` (``{feature: {group: sorted training values}}``) and ``pooled_``
    (``{feature: sorted training values of all groups}``).
    """

    def __init__(self, features: Sequence[str] = (), relative_to: RelativeTo | None = None):
        self.features = features
        self.relative_to = relative_to

    def _checked(self, X: Any, what: str) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{what} needs a DataFrame with the feature and group columns")
        relative = dict(self.relative_to or {})
        unknown = sorted(set(relative) - set(self.features))
        if unknown:
            raise ValueError(f"relative_to names feature(s) {unknown} that are not in features")
        wanted = [*self.features, *sorted(set(relative.values()))]
        missing = [c for c in wanted if c not in X.columns]
        if missing:
            raise ValueError(f"{what}: the table lacks column(s) {missing}")
        return X

    def fit(self, X: pd.DataFrame, y: object = None) -> RelativeRanks:
        """Keep the sorted training values of every declared feature, per group and pooled."""
        X = self._checked(X, "RelativeRanks.fit")
        self.reference_: dict[str, dict[Any, np.ndarray]] = {}
        self.pooled_: dict[str, np.ndarray] = {}
        for feature, column in dict(self.relative_to or {}).items():
            values = X[feature].to_numpy(dtype="float64")
            values = np.where(np.isinf(values), np.nan, values)
            groups = _groups(X, column, "RelativeRanks.fit")
            per_group = {}
            for group, rows in groups.groupby(groups.to_numpy(), sort=False).indices.items():
                kept = values[rows]
                per_group[group] = np.sort(kept[~np.isnan(kept)])
            self.reference_[feature] = per_group
            self.pooled_[feature] = np.sort(values[~np.isnan(values)])
        self.n_features_in_ = len(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """``features`` of ``X``, the declared ones as ranks against the training values."""
        check_is_fitted(self, "pooled_")
        X = self._checked(X, "RelativeRanks.transform")
        out = X[list(self.features)].astype("float64")
        for feature, column in dict(self.relative_to or {}).items():
            values = out[feature].to_numpy(dtype="float64")
            values = np.where(np.isinf(values), np.nan, values)
            groups = _groups(X, column, "RelativeRanks.transform")
            ranked = np.full(len(values), np.nan)
            pooled = self.pooled_[feature]
            for group, rows in groups.groupby(groups.to_numpy(), sort=False).indices.items():
                reference = self.reference_[feature].get(group)
                if reference is None or reference.size == 0:
                    reference = pooled
                if reference.size:
                    ranked[rows] = mid_ranks(reference, values[rows])
            out[feature] = ranked
        return out

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class RelativeDetector(BaseEstimator):
    """A detector fitted and scored on :class:`RelativeRanks` of its input.

    Parameters
    ----------
    detector : estimator
        Unfitted detector with ``fit(X)``, ``decision_function(X)``, ``decision_scores_``
        (e.g. ``training.detectors.default_detector(directions=...)``), fed the ranked view.
    features, relative_to : as :class:`RelativeRanks`.
    columns : sequence of str or None
        Column names of a bare array input, in order (a scorer hands its detector the
        validated matrix); None: only DataFrames are accepted.
    random_state : int or None
        Passed to ``detector`` when set (the scorer seeds its detector this way).
    """

    def __init__(
        self,
        detector: Any = None,
        features: Sequence[str] = (),
        relative_to: RelativeTo | None = None,
        columns: Sequence[str] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.detector = detector
        self.features = features
        self.relative_to = relative_to
        self.columns = columns
        self.random_state = random_state

    def _frame(self, X: npt.ArrayLike) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        if self.columns is None:
            raise TypeError("RelativeDetector got an array but was given no columns to name it")
        matrix = np.asarray(X)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.columns):
            raise ValueError(
                f"RelativeDetector expects {len(self.columns)} columns {list(self.columns)}, "
                f"got an array of shape {matrix.shape}"
            )
        return pd.DataFrame(matrix, columns=list(self.columns))

    def fit(self, X: npt.ArrayLike, y: object = None) -> RelativeDetector:
        """Fit the ranks on ``X``, then the detector on the ranked view; ``y`` is ignored."""
        if self.detector is None:
            raise ValueError("RelativeDetector needs a detector")
        frame = self._frame(X)
        self.ranks_ = RelativeRanks(self.features, self.relative_to).fit(frame)
        detector = clone(self.detector)
        if self.random_state is not None:
            detector.set_params(random_state=self.random_state)
        self.detector_ = detector.fit(self.ranks_.transform(frame))
        self.decision_scores_ = np.asarray(self.detector_.decision_scores_, dtype=np.float64)
        return self

    def decision_function(self, X: npt.ArrayLike) -> np.ndarray:
        """The detector's score of the ranked view (higher = more suspicious)."""
        check_is_fitted(self, "detector_")
        view = self.ranks_.transform(self._frame(X))
        return np.asarray(self.detector_.decision_function(view), dtype=np.float64)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        return tags

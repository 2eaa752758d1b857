"""Unsupervised detectors: one score convention (higher = more suspicious), scikit-learn rules.

:class:`BaseDetector` owns everything a detector must get right whatever its algorithm: input
validation and feature names, NaN / infinite values, constant columns and mixed scales (through
:class:`training.preprocess.RobustPreprocessor`), the fitted check, and the sign of the score.
Subclasses only implement ``_fit_scores(Z, seed)`` and ``_score(Z)`` on clean, scaled arrays.

Declared directions (``directions``: "high", "low" or "both" per feature, as every
``FeatureSpec`` declares) are turned into one-sided columns by the preprocessor, so every member
(forest, distances, tails) sees the same oriented view: low bid dispersion can look suspicious
while high dispersion looks ordinary. Without a declaration every column is two-sided.

:func:`default_detector` returns the ensemble chosen from evidence on the shared ADBench
datasets (see ``benchmarks.detector_selection`` and the README section "Detector ensemble").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyod.models.hbos import HBOS
from pyod.models.iforest import IForest
from pyod.models.knn import KNN
from pyod.models.lof import LOF
from pyod.models.pca import PCA
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from pool.resources import threads
from training.preprocess import RobustPreprocessor

#: declared suspicious side per feature: ``{name: "high"|"low"|"both"}``, one entry per
#: column, or None (undeclared); see :func:`direction_signs`
Directions = Mapping[Any, str] | Sequence[str] | None


class Member(Protocol):
    """What the ensemble needs of a member: PyOD's fit / decision_function / training scores."""

    decision_scores_: np.ndarray

    def fit(self, X: np.ndarray) -> object: ...

    def decision_function(self, X: np.ndarray) -> np.ndarray: ...


class NeighbourMember(Member, Protocol):
    """A distance member (kNN, LOF) whose neighbour count is capped by the subsample size."""

    n_neighbors: int


def inf_as_nan(X: npt.ArrayLike) -> npt.ArrayLike:
    """Treat +/-inf (a division by zero upstream) as missing, keeping a DataFrame's names."""
    if isinstance(X, pd.DataFrame):
        return X.replace([np.inf, -np.inf], np.nan)
    if isinstance(X, np.ndarray) and X.dtype.kind == "f":
        return np.where(np.isinf(X), np.nan, X)
    return X


DIRECTION_SIGNS = {"high": 1, "low": -1, "both": 0}


def direction_signs(
    directions: Directions, n_columns: int, names: Sequence[Any] | np.ndarray | None
) -> np.ndarray | None:
    """Declared directions as one sign per column (1 high, -1 low, 0 both), or None if undeclared.

    ``directions`` is a mapping ``{feature name: "high"|"low"|"both"}`` (a column it does not
    name is "both"; a name that is not a column is an error, since it means the declaration and
    the table disagree), or a sequence aligned with the columns for arrays without names.
    """
    if directions is None:
        return None
    if isinstance(directions, Mapping):
        if names is None:
            raise ValueError(
                "directions is a mapping of feature names but X has no column names; "
                "pass a DataFrame or a sequence with one direction per column"
            )
        unknown = sorted(set(map(str, directions)) - set(map(str, names)))
        if unknown:
            raise ValueError(f"directions names features that are not columns of X: {unknown}")
        named = {str(k): v for k, v in directions.items()}
        values = [named.get(str(name), "both") for name in names]
    elif isinstance(directions, str):
        raise ValueError("directions must be a mapping or a sequence of directions, not a string")
    else:
        values = list(directions)
        if len(values) != n_columns:
            raise ValueError(f"directions has {len(values)} entries but X has {n_columns} columns")
    bad = [(i, v) for i, v in enumerate(values) if v not in DIRECTION_SIGNS]
    if bad:
        col = names[bad[0][0]] if names is not None else bad[0][0]
        raise ValueError(
            f"direction of feature {col!r} must be 'high', 'low' or 'both'; got {bad[0][1]!r}"
        )
    return np.array([DIRECTION_SIGNS[v] for v in values], dtype=int)


class BaseDetector(BaseEstimator):
    """Shared contract of every detector: ``fit(X)`` then ``decision_function(X)``.

    ``decision_function`` returns one float per row, higher = more suspicious, finite for any
    finite-or-missing input. ``decision_scores_`` holds the training rows' scores.
    ``directions`` (see :func:`direction_signs`) makes declared one-sided features one-sided.
    """

    #: one-sided columns reach ``_fit_scores`` cut at the median (False: oriented, uncut)
    _cut_one_sided = True

    def __init__(
        self,
        add_indicator: bool = True,
        random_state: int | None = None,
        directions: Directions = None,
    ) -> None:
        self.add_indicator = add_indicator
        self.random_state = random_state
        self.directions = directions

    def fit(self, X: npt.ArrayLike, y: object = None) -> BaseDetector:
        """Learn preprocessing and the detector from ``X``; ``y`` is ignored (unsupervised)."""
        matrix: np.ndarray = validate_data(
            self,
            inf_as_nan(X),
            ensure_all_finite="allow-nan",
            dtype=np.float64,
            ensure_min_samples=2,
        )
        names = getattr(self, "feature_names_in_", None)
        self.direction_signs_ = direction_signs(self.directions, matrix.shape[1], names)
        orientation = None if self.direction_signs_ is None else tuple(self.direction_signs_)
        self.preprocessor_ = RobustPreprocessor(
            add_indicator=self.add_indicator,
            orientation=orientation,
            cut_one_sided=self._cut_one_sided,
        ).fit(matrix)
        Z = self.preprocessor_.transform(matrix)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self.decision_scores_ = np.asarray(self._fit_scores(Z, seed), dtype=np.float64)
        return self

    def decision_function(self, X: npt.ArrayLike) -> np.ndarray:
        """Suspicion score per row (higher = more suspicious); feature names checked."""
        check_is_fitted(self, "preprocessor_")
        X = validate_data(
            self, inf_as_nan(X), reset=False, ensure_all_finite="allow-nan", dtype=np.float64
        )
        return np.asarray(self._score(self.preprocessor_.transform(X)), dtype=np.float64)

    def _fit_scores(self, Z: np.ndarray, seed: int) -> np.ndarray:  # pragma: no cover
        """Fit on clean scaled ``Z``; return the training rows' scores."""
        raise NotImplementedError

    def _score(self, Z: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Scores of clean scaled ``Z`` (higher = more suspicious)."""
        raise NotImplementedError

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        return tags


class TailProbabilities:
    """ECOD-style member that scores new rows against the *training* distribution only.

    PyOD's ECOD and COPOD re-estimate their empirical CDFs on training + scored rows at
    ``decision_function`` time, so an entity's score changes with whichever batch it is scored
    in (scikit-learn's ``check_methods_subset_invariance`` fails). Here the per-column tail
    probabilities come from the training rows alone: score = max over left tail, right tail and
    skewness-chosen tail of the summed -log tail probabilities (Li et al. 2022, ECOD).
    Columns marked ``one_sided`` (declared directions, already oriented so high = suspicious)
    count only their right tail in every one of the three sums.
    """

    def __init__(self, one_sided: np.ndarray | None = None) -> None:
        self.one_sided = one_sided

    def fit(self, Z: np.ndarray) -> TailProbabilities:
        self.sorted_ = np.sort(Z, axis=0)
        centred = Z - Z.mean(axis=0)
        m2 = (centred**2).mean(axis=0)
        m3 = (centred**3).mean(axis=0)
        self.right_skewed_ = m3 / np.where(m2 > 0, m2, 1.0) ** 1.5 >= 0
        self.decision_scores_ = self.decision_function(Z)
        return self

    def decision_function(self, Z: np.ndarray) -> np.ndarray:
        n, d = self.sorted_.shape
        left = np.empty_like(Z, dtype=np.float64)
        right = np.empty_like(Z, dtype=np.float64)
        for j in range(d):
            col = self.sorted_[:, j]
            left[:, j] = np.searchsorted(col, Z[:, j], side="right")
            right[:, j] = n - np.searchsorted(col, Z[:, j], side="left")
        neg_log_left = -np.log((left + 1) / (n + 1))
        neg_log_right = -np.log((right + 1) / (n + 1))
        one_sided = getattr(self, "one_sided", None)  # members pickled before directions: None
        if one_sided is not None and np.any(one_sided):
            neg_log_left = np.where(one_sided, neg_log_right, neg_log_left)
        auto = np.where(self.right_skewed_, neg_log_right, neg_log_left)
        return np.max([neg_log_left.sum(1), neg_log_right.sum(1), auto.sum(1)], axis=0)


# name -> (factory(seed) -> unfitted PyOD detector, fit on a subsample?)
# Quadratic-cost members (kNN, LOF) are fitted on a random subsample of SUBSAMPLE rows: on the
# 600k-row sets a full fit would take hours; scores from a 2,048-row reference are nearly as good.
MEMBERS: dict[str, tuple[Callable[[int], Member], bool]] = {
    # trees are seeded up front and distances are exact: n_jobs changes speed, not scores
    "iforest": (lambda seed: IForest(n_estimators=200, random_state=seed, n_jobs=threads()), False),
    "tails": (lambda seed: TailProbabilities(), False),
    "hbos": (lambda seed: HBOS(), False),
    "pca": (lambda seed: PCA(n_components=0.999, random_state=seed), False),
    "knn": (lambda seed: KNN(n_neighbors=10, method="mean", n_jobs=threads()), True),
    "lof": (lambda seed: LOF(n_neighbors=20), True),
}


def ecdf_scale(reference: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Share of training scores at or below each score, in [0, 1], with a tail beyond the max.

    Why ECDF: members' raw scores live on unrelated scales (path lengths, log-probabilities,
    distances); their training-score ranks are comparable. Scores above the training maximum
    get 1 + a small increasing term so the most extreme rows still rank among themselves.
    """
    ref = np.sort(reference)
    out = np.searchsorted(ref, scores, side="right") / len(ref)
    spread = max(float(ref[-1] - ref[0]), 1e-12)
    beyond = scores > ref[-1]
    out[beyond] = 1.0 + np.tanh((scores[beyond] - ref[-1]) / spread) / len(ref)
    return out


def robust_z_scale(reference: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(score - median) / IQR of the training scores (std, then 1, when the IQR is 0)."""
    q75, q50, q25 = np.percentile(reference, [75, 50, 25])
    spread = q75 - q25 if q75 > q25 else (float(np.std(reference)) or 1.0)
    return (scores - q50) / spread


NORMALISERS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "ecdf": ecdf_scale,
    "robust_z": robust_z_scale,
}


class DetectorEnsemble(BaseDetector):
    """Average (or max) of PyOD members' scores after per-member normalisation on train scores.

    Parameters
    ----------
    members : tuple of str
        Keys of :data:`MEMBERS`.
    normalisation : {"ecdf", "robust_z"}
        How each member's scores are put on a common scale (learned on its training scores).
    combination : {"mean", "max"}
        How normalised member scores are combined.
    weights : tuple of float or None
        Per-member weights of the mean (None: equal). ``default_detector`` gives the isolation
        forest half the vote: on the ADBench sets it keeps kNN's gains in AUCROC without losing the
        forest's precision at the top (see README, "Detector ensemble").
    subsample : int
        Rows used to fit the quadratic-cost members (kNN, LOF).
    add_indicator : bool
        Add is-missing flags for columns with gaps in training.
    random_state : int or None
        Seeds every member and the subsample; same value, same scores.
    directions : mapping, sequence or None
        Declared suspicious side per feature (see :func:`direction_signs`).
    """

    def __init__(
        self,
        members: tuple[str, ...] = ("iforest", "knn", "tails"),
        normalisation: str = "robust_z",
        combination: str = "mean",
        weights: tuple[float, ...] | None = None,
        subsample: int = 2048,
        add_indicator: bool = True,
        random_state: int | None = None,
        directions: Directions = None,
    ) -> None:
        super().__init__(
            add_indicator=add_indicator, random_state=random_state, directions=directions
        )
        self.members = members
        self.normalisation = normalisation
        self.combination = combination
        self.weights = weights
        self.subsample = subsample

    # Tail members read only the right tail of one-sided columns, so they get them uncut: their
    # score then stays monotone below the median too (with ~half the bids collusive, as in
    # bid_rigging, the ordering inside the bulk matters). Every other member gets them cut.
    _cut_one_sided = False

    def _member_input(self, name: str, Z: np.ndarray) -> np.ndarray:
        one_sided = self.preprocessor_.one_sided_
        if name == "tails" or not one_sided.any() or Z.shape[1] != one_sided.size:
            return Z
        Z = Z.copy()
        Z[:, one_sided] = np.maximum(Z[:, one_sided], 0.0)
        return Z

    def _check_params(self) -> None:
        unknown = [m for m in self.members if m not in MEMBERS]
        if unknown or not self.members:
            raise ValueError(
                f"members must be non-empty keys of {sorted(MEMBERS)}; got {self.members}"
            )
        if self.normalisation not in NORMALISERS:
            raise ValueError(f"normalisation must be one of {sorted(NORMALISERS)}")
        if self.combination not in ("mean", "max"):
            raise ValueError("combination must be 'mean' or 'max'")
        if self.weights is not None and (
            len(self.weights) != len(self.members)
            or min(self.weights) < 0
            or sum(self.weights) <= 0
        ):
            raise ValueError(
                f"weights must be one non-negative number per member, got {self.weights}"
            )

    def _fit_scores(self, Z: np.ndarray, seed: int) -> np.ndarray:
        self._check_params()
        rng = np.random.default_rng(seed)
        n_sub = min(self.subsample, len(Z))
        sub = np.sort(rng.choice(len(Z), size=n_sub, replace=False))
        self.fitted_members_, self.reference_scores_ = {}, {}
        for name in self.members:
            factory, on_subsample = MEMBERS[name]
            detector = factory(int(rng.integers(np.iinfo(np.int32).max)))
            if name in ("knn", "lof"):
                neighbour = cast(NeighbourMember, detector)
                neighbour.n_neighbors = max(1, min(neighbour.n_neighbors, n_sub - 1))
            if isinstance(detector, TailProbabilities):
                detector.one_sided = self.preprocessor_.one_sided_
            Zm = self._member_input(name, Z)
            detector.fit(Zm[sub] if on_subsample else Zm)
            self.fitted_members_[name] = detector
            # reference = the member's own training scores (leave-self-out for kNN/LOF)
            self.reference_scores_[name] = _finite(np.asarray(detector.decision_scores_, float))
        return self._score(Z)

    def _score(self, Z: np.ndarray) -> np.ndarray:
        normalise = NORMALISERS[self.normalisation]
        cols = [
            normalise(
                self.reference_scores_[name],
                _finite(det.decision_function(self._member_input(name, Z)).astype(float)),
            )
            for name, det in self.fitted_members_.items()
        ]
        stacked = np.column_stack(cols)
        if self.combination == "max":
            return stacked.max(axis=1)
        return np.average(stacked, axis=1, weights=self.weights)


def _finite(scores: np.ndarray) -> np.ndarray:
    """Replace NaN/inf member scores (e.g. PCA on a rank-deficient table) by finite extremes."""
    if np.isfinite(scores).all():
        return scores
    finite = scores[np.isfinite(scores)]
    high = finite.max() if finite.size else 0.0
    low = finite.min() if finite.size else 0.0
    return np.nan_to_num(scores, nan=low, posinf=high, neginf=low)


def default_detector(
    random_state: int | None = None, directions: Directions = None
) -> DetectorEnsemble:
    """The project's unsupervised detector (unfitted): see the README for the evidence.

    ``directions``: the declared suspicious side of each feature (``{name: "high"|"low"|"both"}``
    or one entry per column), e.g. from ``features.registry.get(scenario).features``.
    """
    return DetectorEnsemble(
        members=("iforest", "knn", "tails"),
        normalisation="robust_z",
        combination="mean",
        weights=(2.0, 1.0, 1.0),
        random_state=random_state,
        directions=directions,
    )

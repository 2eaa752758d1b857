"""Supervised scorer: LightGBM on verified outcomes, falling back to the detector without them.

``y`` holds 1 (the lead became a case), 0 (verified, no case) and NaN (never verified). Never
verified is *unlabelled*, not negative: past leads came from crude rules, so most frauds were
simply never looked at. How the scorer copes (the evidence is in the README, section "Scorer"):

* **no labels** (or a single class with no unlabelled rows to contrast with): the scores are
  the unsupervised detector's, unchanged;
* **labels**: LightGBM on the raw features *plus the detector's score as one more feature*
  (``use_detector_feature``); unlabelled rows enter as weak negatives with a small total weight
  (``unlabelled_weight``): with biased labels this keeps the model from learning "not flagged by
  the old rule" as "honest" while still letting it see what ordinary entities look like;
* the final ranking blends the model's rank with the detector's rank (``detector_blend``), so
  frauds unlike any labelled one still surface. With ``"auto"`` the detector's weight is
  *learnt from the labels*: it starts at the prior ``BLEND_PRIOR / (BLEND_PRIOR + cases)`` and is
  scaled by how well the detector ranks the labelled rows (its AUC there). ``evidence_weight``
  (the default ``detector_rule``) flips the detector only when that AUC is below 0.5 by more
  than ``EVIDENCE_Z`` standard errors, drops it when it is indistinguishable from chance while
  the booster is confidently good, and otherwise keeps the AUC shrunk towards ``AUC_PRIOR``
  (``rule_weight``, never below 0), after correcting the AUC for the hidden cases among the
  unlabelled rows it is measured against (``hidden_case_share``). The detector never sees the
  labels, so its AUC on them is an out-of-sample figure without refitting. That weight is then
  averaged (it counts ``BLEND_PRIOR`` cases, the labelled ones the rest) with the weight whose
  blend of out-of-fold
  model scores and detector ranks best ranks the labelled cases against the unlabelled rows:
  where the model alone is far better, the detector stops diluting the top of the list (on the
  side the AUC rule chose: the folds hold the same few cases, so they may not flip it). That
  step runs only when no non-case is labelled: verified non-cases mean the labelled rows are the
  past rules' biased picks, and ranking inside them is not ranking the population. Its score stays a booster feature: trees are blind to
  the sign of a feature, so an inverted detector is as usable a split there as a good one;
* **probability**: ``predict_proba`` is calibrated (isotonic with enough labelled rows, else
  Platt) on out-of-fold scores of the labelled rows: P(verification ends in a case).
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from pool.resources import predict_threads, threads
from training.calibration import BetaBinCalibrator
from training.detectors import (
    Directions,
    default_detector,
    direction_signs,
    ecdf_scale,
    inf_as_nan,
)

BLEND_PRIOR = 10.0  # labelled cases at which model and detector weigh equally ("auto" blend)
AUC_PRIOR = 0.75  # what a detector's AUC is taken to be before any label says otherwise
AUC_PRIOR_CASES = 10.0  # pseudo-cases behind AUC_PRIOR when shrinking the measured AUC
MAX_TRUST = 2.0  # a perfect detector at most doubles its prior weight
BLEND_FOLDS = 3  # folds of the out-of-fold model scores the blend weight is chosen on
BLEND_GRID = np.round(np.linspace(-1.0, 1.0, 21), 2)  # candidate detector weights (< 0: flipped)
RULE_CASES = BLEND_PRIOR  # cases the AUC rule counts against the out-of-fold choice
MIN_ISOTONIC = 200  # labelled rows needed before isotonic calibration beats Platt scaling
# standard errors an AUC must lie from 0.5 before the rule acts on its side, and the booster's
# out-of-fold AUC (lower z-bound) above which a chance-level detector is dropped: chosen by
# leave-one-dataset-out on 21 ADBench/ODDS sets (python -m benchmarks.blend_selection), where
# this pair was the choice in 18 of the 21 folds
EVIDENCE_Z = 1.64
MODEL_GOOD = 0.8
MAX_CONTAMINATION = 0.5  # largest share of hidden cases assumed among the unlabelled contrast


def check_outcomes(y: npt.ArrayLike | None, n_rows: int) -> np.ndarray:
    """Validate ``y`` (1 / 0 / NaN, one per row) with an error that names the first bad row."""
    y = np.asarray(y, dtype=np.float64).ravel() if y is not None else np.full(n_rows, np.nan)
    if len(y) != n_rows:
        raise ValueError(f"y has {len(y)} values but X has {n_rows} rows")
    bad = ~(np.isnan(y) | np.isin(y, (0.0, 1.0)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"y must be 1 (case), 0 (no case) or NaN (never verified); row {row} is {y[row]}"
        )
    return y


def label_contrast(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the cases and of the rows they are contrasted with: verified non-cases, or the
    unlabelled rows when no non-case is labelled (see ``detector_label_auc``)."""
    return y == 1, (y == 0 if (y == 0).any() else np.isnan(y))


def detector_label_auc(scores: np.ndarray, y: np.ndarray) -> float:
    """AUC of unsupervised ``scores`` on the labelled rows of ``y`` (1 / 0 / NaN).

    Cases against verified non-cases; with cases only (ADBench's setting, or a model whose
    leads were all confirmed) cases against the unlabelled rows, which are mostly honest.
    NaN when there is no case or nothing to contrast them with.
    """
    from scipy.stats import rankdata

    positive, negative = label_contrast(y)
    n_pos, n_neg = int(positive.sum()), int(negative.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([scores[positive], scores[negative]]))
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def rule_weight(
    n_cases: int,
    detector_auc: float,
    *,
    blend_prior: float = BLEND_PRIOR,
    auc_prior: float = AUC_PRIOR,
    auc_prior_cases: float = AUC_PRIOR_CASES,
    max_trust: float = MAX_TRUST,
) -> float:
    """The AUC rule: prior weight ``blend_prior / (blend_prior + cases)`` times the detector's
    trust, ``(AUC' - 0.5) / (auc_prior - 0.5)`` clipped to [-max_trust, max_trust], where AUC' is
    its AUC on the labelled rows shrunk towards ``auc_prior`` with ``auc_prior_cases``
    pseudo-cases. Zero at chance, negative (flipped) when inverted; the prior without an AUC."""
    prior = blend_prior / (blend_prior + n_cases)
    if np.isnan(detector_auc):
        return float(prior)
    shrunk = (n_cases * detector_auc + auc_prior_cases * auc_prior) / (n_cases + auc_prior_cases)
    trust = float(np.clip((shrunk - 0.5) / (auc_prior - 0.5), -max_trust, max_trust))
    return float(np.clip(prior * trust, -1.0, 1.0))


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley-McNeil standard error of an AUC measured on ``n_pos`` cases and ``n_neg``
    contrast rows. At ``auc`` 0.5 it is the exact Mann-Whitney null value
    ``sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg))``; NaN without rows of both kinds."""
    if n_pos < 1 or n_neg < 1 or not np.isfinite(auc):
        return float("nan")
    q1, q2 = auc / (2.0 - auc), 2.0 * auc * auc / (1.0 + auc)
    var = (auc * (1.0 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (
        n_pos * n_neg
    )
    return float(np.sqrt(max(var, 0.0)))


def hidden_case_share(
    case_scores: np.ndarray, contrast_scores: np.ndarray, cap: float = MAX_CONTAMINATION
) -> float:
    """Estimated share of hidden cases among the unlabelled contrast rows, from scores that
    rank cases high (the booster's out-of-fold ones).

    If the labelled cases are a random sample of all cases, the hidden ones score like them:
    a share ``h`` of the cases scores at or above the score of the case at the top ``h``
    (``h`` = half the cases, rounded up), so ``P(contrast >= that score) / h`` bounds the
    contamination from above (honest rows above it only add). Clipped to [0, ``cap``]: a
    weak model says little about how many cases it misses. 0 without cases or contrast."""
    cases = np.sort(np.asarray(case_scores, dtype=np.float64))[::-1]
    contrast = np.asarray(contrast_scores, dtype=np.float64)
    if cases.size == 0 or contrast.size == 0:
        return 0.0
    top = int(np.ceil(cases.size / 2))
    share_above = float(np.mean(contrast >= cases[top - 1]))
    return float(np.clip(share_above / (top / cases.size), 0.0, cap))


def evidence_weight(
    n_pos: int,
    n_neg: int,
    detector_auc: float,
    *,
    contamination: float = 0.0,
    model_auc: float = float("nan"),
    z: float = EVIDENCE_Z,
    model_good: float = MODEL_GOOD,
    blend_prior: float = BLEND_PRIOR,
    auc_prior: float = AUC_PRIOR,
    auc_prior_cases: float = AUC_PRIOR_CASES,
    max_trust: float = MAX_TRUST,
) -> float:
    """The detector's weight from its AUC on the labelled rows, acting only on evidence that
    survives the AUC's sampling error.

    The AUC of ``n_pos`` cases against ``n_neg`` contrast rows is first corrected for the
    hidden cases among the contrast (a share ``contamination`` of it, 0 for verified
    non-cases): hidden cases rank like the labelled ones, which pulls the measured AUC towards
    0.5, so ``A = 0.5 + (AUC - 0.5) / (1 - contamination)``; its standard error under chance
    is the Hanley-McNeil value at 0.5 (``auc_standard_error``) divided the same way. Then:

    * ``A + z se < 0.5`` (inverted beyond ``z`` standard errors): flipped, with the trust of
      the interval's edge nearest chance, ``(A + z se - 0.5) / (auc_prior - 0.5)`` (down to
      ``-max_trust``), times the prior weight ``blend_prior / (blend_prior + n_pos)``;
    * ``|A - 0.5| <= z se`` (indistinguishable from chance) while the booster is confidently
      good (its contamination-corrected out-of-fold ``model_auc`` minus ``z se`` is at least
      ``model_good``; the chance-level error is the larger one, so with few cases the booster
      is never confident: Hanley-McNeil at a perfect AUC would be 0): 0;
    * otherwise today's weighting, ``rule_weight`` on ``A`` (shrunk towards ``auc_prior``
      with ``auc_prior_cases`` pseudo-cases), but never below 0: an inversion within the
      sampling error does not flip the detector.

    The prior weight without an AUC (no case, or nothing to contrast them with).
    """
    if not 0.0 <= contamination < 1.0:
        raise ValueError(f"contamination must be in [0, 1), got {contamination!r}")
    prior = blend_prior / (blend_prior + n_pos)
    se = auc_standard_error(0.5, n_pos, n_neg)
    if not np.isfinite(detector_auc) or not np.isfinite(se):
        return float(prior)
    keep = 1.0 - contamination
    auc = 0.5 + (detector_auc - 0.5) / keep
    se /= keep
    if auc + z * se < 0.5:
        trust = max(-max_trust, (auc + z * se - 0.5) / (auc_prior - 0.5))
        return float(np.clip(prior * trust, -1.0, 0.0))
    if abs(auc - 0.5) <= z * se and np.isfinite(model_auc):
        if 0.5 + (model_auc - 0.5) / keep - z * se >= model_good:
            return 0.0
    today = rule_weight(
        n_pos,
        float(np.clip(auc, 0.0, 1.0)),
        blend_prior=blend_prior,
        auc_prior=auc_prior,
        auc_prior_cases=auc_prior_cases,
        max_trust=max_trust,
    )
    return max(0.0, today)


def signed_quality(quality: np.ndarray, rule: float, grid: np.ndarray = BLEND_GRID) -> np.ndarray:
    """``blend_quality`` with the weights of the side the rule did not choose ruled out (-inf):
    only flipped weights when ``rule`` < 0, only unflipped ones otherwise. The out-of-fold
    choice sees the same labelled cases as the rule, so it may not flip on less evidence."""
    allowed = grid <= 0 if rule < 0 else grid >= 0
    return np.where(allowed, quality, -np.inf)


def blend_quality(
    model_rank: np.ndarray, det_rank: np.ndarray, truth: np.ndarray, grid: np.ndarray = BLEND_GRID
) -> np.ndarray:
    """Per weight of ``grid``: how well the blend ``(1-|w|) model + |w| detector`` (detector
    flipped for w < 0) ranks ``truth``, as AUC + average precision (rounded, so ties are ties)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    quality = []
    for w in grid:
        d = det_rank if w >= 0 else 1.0 - det_rank
        blend = (1 - abs(w)) * model_rank + abs(w) * d
        quality.append(roc_auc_score(truth, blend) + average_precision_score(truth, blend))
    return np.round(quality, 6)


def best_blend_weight(
    quality: np.ndarray, near: float = 0.0, grid: np.ndarray = BLEND_GRID
) -> float:
    """The weight of ``grid`` with the best ``blend_quality``; ties: the one nearest ``near``."""
    tied = grid[quality == quality.max()]
    return float(tied[np.argmin(np.abs(tied - near))])


def combined_weight(
    rule: float, best: float, n_cases: int, rule_cases: float = RULE_CASES
) -> float:
    """The out-of-fold weight ``best`` (counting the labelled cases) averaged with the AUC
    rule's weight (counting ``rule_cases``)."""
    return float((n_cases * best + rule_cases * rule) / (n_cases + rule_cases))


class Detector(Protocol):
    """What the scorer needs of a fitted detector (``training.detectors.BaseDetector``)."""

    decision_scores_: np.ndarray

    def decision_function(self, X: np.ndarray) -> np.ndarray: ...


#: rows, 0/1 targets and weights LightGBM learns from (see ``LeadScorer._training_rows``)
TrainingRows = tuple[np.ndarray, np.ndarray, np.ndarray]


class LeadScorer(ClassifierMixin, BaseEstimator):
    """LightGBM on verified outcomes + the unsupervised detector; higher = more suspicious.

    Parameters
    ----------
    detector : estimator or None
        Unsupervised detector (``default_detector`` when None), fitted on all rows.
    use_detector_feature : bool
        Give LightGBM the detector's score as an extra feature.
    detector_blend : float in [0, 1] or "auto"
        Weight of the detector's rank in the final score (0: the model's rank only). "auto":
        ``BLEND_PRIOR / (BLEND_PRIOR + cases)`` (trust the model more as confirmed cases
        accumulate) times the detector's learnt trust (see ``detector_weight_``), in [-1, 1].
    unlabelled_weight : float
        Total weight of all unlabelled rows as negatives, relative to the labelled rows' total
        (0 ignores them: then labels of both classes are needed).
    cases_only_unlabelled_weight : float or None
        ``unlabelled_weight`` to use instead when no verified non-case is labelled (only
        confirmed cases: the unlabelled rows are then the only negatives); None: the same.
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings.
    cv : int
        Folds for the out-of-fold scores the calibration is fitted on.
    random_state : int or None
        Seeds the detector, LightGBM and the folds.
    detector_prefit : bool
        The given ``detector`` is already fitted on these rows: use it as is (saves its cost
        when several scorers share one detector, as in the selection experiments).
    directions : mapping, sequence or None
        Declared suspicious side per feature, passed to ``default_detector`` when ``detector``
        is None (see ``training.detectors.direction_signs``).
    detector_rule : "evidence" or "prior"
        How the "auto" blend reads the detector's AUC on the labelled rows: ``evidence_weight``
        (flip or drop it only on evidence beyond its sampling error, corrected for hidden cases
        among the unlabelled contrast) or ``rule_weight`` (the AUC shrunk towards ``AUC_PRIOR``
        with ``AUC_PRIOR_CASES`` pseudo-cases, the rule before issue 14's second round).

    Fitted attributes include ``model_auc_`` (the booster's out-of-fold AUC on the same rows,
    when the blend weight was learnt from folds), ``detector_auc_`` (the detector's AUC on the labelled rows: cases
    vs verified non-cases, or vs unlabelled rows when no non-case is labelled; NaN without
    labels) and ``detector_weight_`` (its weight in the final score; negative = flipped).
    """

    def __init__(
        self,
        detector: Detector | None = None,
        use_detector_feature: bool = True,
        detector_blend: float | str = "auto",
        unlabelled_weight: float = 0.5,
        cases_only_unlabelled_weight: float | None = None,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 10,
        cv: int = 5,
        random_state: int | None = None,
        detector_prefit: bool = False,
        directions: Directions = None,
        detector_rule: str = "evidence",
    ) -> None:
        self.detector = detector
        self.detector_rule = detector_rule
        self.directions = directions
        self.detector_prefit = detector_prefit
        self.use_detector_feature = use_detector_feature
        self.detector_blend = detector_blend
        self.unlabelled_weight = unlabelled_weight
        self.cases_only_unlabelled_weight = cases_only_unlabelled_weight
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.cv = cv
        self.random_state = random_state

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike | None = None) -> LeadScorer:
        """Fit the detector on all rows, then LightGBM and the calibration on the outcomes."""
        matrix: np.ndarray = validate_data(
            self,
            inf_as_nan(X),
            ensure_all_finite="allow-nan",
            dtype=np.float64,
            ensure_min_samples=2,
        )
        y = check_outcomes(y, len(matrix))
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if self.detector_prefit and self.detector is not None:
            self.detector_ = self.detector
        else:
            detector = (
                self.detector
                if self.detector is not None
                else default_detector(directions=self._column_directions(matrix.shape[1]))
            )
            self.detector_ = clone(detector).set_params(random_state=seed).fit(matrix)
        self.detector_reference_ = np.asarray(self.detector_.decision_scores_, dtype=np.float64)
        self.classes_ = np.array([0, 1])
        labelled = ~np.isnan(y)
        self.n_labelled_ = int(labelled.sum())
        self.n_positive_ = int(np.nansum(y))
        self.n_contrast_ = int(label_contrast(y)[1].sum())
        self.detector_auc_ = detector_label_auc(self.detector_reference_, y)
        self.contamination_ = 0.0
        self.detector_weight_ = self._detector_weight()
        rows, targets, weights = self._training_rows(y)
        self.mode_ = "detector" if rows is None else "supervised"
        self.booster_ = None
        self.calibrator_ = None
        if self.mode_ == "supervised":
            rows, targets, weights = cast(TrainingRows, (rows, targets, weights))
            F = self._features(matrix, self.detector_reference_)
            self.booster_ = self._fit_booster(F[rows], targets, weights, seed)
            self.model_reference_ = cast(np.ndarray, self.booster_.predict(F, raw_score=True))
            self.calibrator_ = self._fit_calibrator(F, y, rows, targets, weights, seed)
            if self.detector_blend == "auto":
                self.detector_weight_ = self._learnt_weight(F, y, rows, targets, weights, seed)
        return self

    def _column_directions(self, n_columns: int) -> list[str] | None:
        """``directions`` as one entry per column: the detector is fitted on the bare array."""
        signs = direction_signs(
            self.directions, n_columns, getattr(self, "feature_names_in_", None)
        )
        if signs is None:
            return None
        return [{1: "high", -1: "low", 0: "both"}[int(v)] for v in signs]

    def _training_rows(self, y: np.ndarray) -> TrainingRows | tuple[None, None, None]:
        """Rows, 0/1 targets and weights LightGBM learns from, or (None,)*3 if it cannot learn."""
        labelled = ~np.isnan(y)
        n_pos = int((y[labelled] == 1).sum())
        n_neg = int((y[labelled] == 0).sum())
        unlabelled = np.flatnonzero(~labelled)
        weight = self.unlabelled_weight
        if n_neg == 0 and self.cases_only_unlabelled_weight is not None:
            weight = self.cases_only_unlabelled_weight
        use_unlabelled = weight > 0 and unlabelled.size > 0
        if n_pos == 0 or (n_neg == 0 and not use_unlabelled):
            return None, None, None
        rows = np.flatnonzero(labelled)
        targets = y[rows]
        weights = np.ones(len(rows))
        if use_unlabelled:
            w = weight * max(len(rows), 1) / unlabelled.size
            rows = np.concatenate([rows, unlabelled])
            targets = np.concatenate([targets, np.zeros(unlabelled.size)])
            weights = np.concatenate([weights, np.full(unlabelled.size, w)])
        return rows, targets, weights

    def _features(self, X: np.ndarray, detector_scores: np.ndarray) -> np.ndarray:
        if not self.use_detector_feature:
            return X
        return np.column_stack([X, detector_scores])

    def _booster_params(self, seed: int) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            # deterministic + col-wise histograms: the same trees on 1 or N threads (measured:
            # identical raw scores on 1 and 2 threads), so SUPERVISION_THREADS changes speed only
            "seed": seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": threads(),
            "verbose": -1,
        }

    def _fit_booster(
        self, F: np.ndarray, targets: np.ndarray, weights: np.ndarray, seed: int
    ) -> lgb.Booster:
        data = lgb.Dataset(F, label=targets, weight=weights, free_raw_data=True)
        return lgb.train(self._booster_params(seed), data, num_boost_round=self.n_estimators)

    def _fit_calibrator(
        self,
        F: np.ndarray,
        y: np.ndarray,
        rows: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray,
        seed: int,
    ) -> BetaBinCalibrator | None:
        """Isotonic/Platt map from out-of-fold raw scores to P(case), fitted on labelled rows.

        If the labelled rows hold a single class (only confirmed cases, as in ADBench's
        semi-supervised setting), unlabelled rows stand in as negatives: the probability is
        then a lower bound, since some unlabelled rows are unknown cases.
        """
        labelled_classes = np.unique(y[~np.isnan(y)])
        calib_mask = ~np.isnan(y[rows]) if labelled_classes.size == 2 else np.ones(len(rows), bool)
        n_splits = int(min(self.cv, np.bincount(targets[calib_mask].astype(int)).min()))
        if n_splits < 2:
            return None
        oof = np.full(len(rows), np.nan)
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        idx = np.flatnonzero(calib_mask)
        for _, test_i in folds.split(idx, targets[idx]):
            keep = np.ones(len(rows), bool)
            keep[idx[test_i]] = False
            booster = self._fit_booster(F[rows[keep]], targets[keep], weights[keep], seed)
            oof[idx[test_i]] = booster.predict(F[rows[idx[test_i]]], raw_score=True)
        s, t = oof[idx], targets[idx]
        return BetaBinCalibrator().fit(s, t)  # shrunk per bin: never 0 or 1 from a few rows

    # ---- scoring -------------------------------------------------------------------------
    #: a float64 matrix in the fitted column order scores exactly as the frame does (the
    #: service hands it its cached matrix, ``serving.champions.score_matrix``, not a frame)
    takes_arrays = True

    def _checked(self, X: npt.ArrayLike) -> np.ndarray:
        """``X`` validated as float64. A frame has its names checked; a bare matrix from a
        scorer fitted on a frame is read in the fitted column order (width checked), without
        scikit-learn's warning that it carries no names."""
        if isinstance(X, np.ndarray) and hasattr(self, "feature_names_in_"):
            matrix: np.ndarray = check_array(
                inf_as_nan(X), ensure_all_finite="allow-nan", dtype=np.float64
            )
            if matrix.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {matrix.shape[1]} features, but LeadScorer is expecting "
                    f"{self.n_features_in_} features as input"
                )
            return matrix
        return validate_data(
            self, inf_as_nan(X), reset=False, ensure_all_finite="allow-nan", dtype=np.float64
        )

    def _detector_and_model(self, X: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray | None]:
        check_is_fitted(self, "detector_")
        matrix = self._checked(X)
        det = self.detector_.decision_function(matrix)
        raw = None
        if self.booster_ is not None:
            raw = cast(
                np.ndarray,
                self.booster_.predict(
                    self._features(matrix, det),
                    raw_score=True,
                    num_threads=predict_threads(len(matrix)),
                ),
            )
        return det, raw

    def decision_function(self, X: npt.ArrayLike) -> np.ndarray:
        """Suspicion score (higher = more suspicious): detector only, or blend of ranks."""
        return self._score(*self._detector_and_model(X))

    def score_and_probability(self, X: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``decision_function`` and the calibrated P(case) in one pass over the detector and
        the booster (what serving and the lead writer need); NaN probabilities when the scorer
        could not be calibrated."""
        det, raw = self._detector_and_model(X)
        probability = (
            np.full(len(det), np.nan) if self.calibrator_ is None else self._probability(raw)
        )
        return self._score(det, raw), probability

    def probability_interval(
        self, X: npt.ArrayLike, level: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the ``level`` posterior interval of P(case) (``BetaBinCalibrator.interval``);
        NaN where the scorer could not be calibrated or its calibrator gives no interval."""
        det, raw = self._detector_and_model(X)
        calibrator = self.calibrator_
        if calibrator is None or raw is None or not hasattr(calibrator, "interval"):
            nan = np.full(len(det), np.nan)
            return nan, nan.copy()
        low, high = calibrator.interval(raw, level)
        return np.asarray(low, dtype="float64"), np.asarray(high, dtype="float64")

    def _score(self, det: np.ndarray, raw: np.ndarray | None) -> np.ndarray:
        det_rank = ecdf_scale(self.detector_reference_, det)
        if raw is None:
            return det_rank
        model_rank = ecdf_scale(self.model_reference_, raw)
        weight = getattr(self, "detector_weight_", None)
        if weight is None:  # a scorer pickled before the weight was learnt: its fixed rule
            weight = (
                BLEND_PRIOR / (BLEND_PRIOR + self.n_positive_)
                if self.detector_blend == "auto"
                else float(self.detector_blend)
            )
        if weight < 0:  # an inverted detector: its flipped rank carries the signal
            det_rank = 1.0 - np.minimum(det_rank, 1.0)
        return (1 - abs(weight)) * model_rank + abs(weight) * det_rank

    def _probability(self, raw: np.ndarray | None) -> np.ndarray:
        # callers check first: an uncalibrated scorer has NaN probabilities or raises
        assert self.calibrator_ is not None and raw is not None, "needs a calibrated scorer"
        if isinstance(self.calibrator_, IsotonicRegression):  # scorers pickled before BetaBin
            return self.calibrator_.predict(raw)
        return self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]

    def blend_evidence(
        self,
        F: np.ndarray,
        y: np.ndarray,
        rows: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Out-of-fold model ranks, detector ranks and truth on the judged rows, or None.

        Every row of ``rows`` (unlabelled rows too, as they are the contrast when only cases
        are labelled) gets a score from a booster that did not see it. None when verified
        non-cases exist (the labelled rows are then the past rules' biased picks, and how a
        blend ranks cases among them is not how it ranks the population: on the simulated
        fuel_tax pool at scale 1 using them cost AP 0.885 -> 0.786), or when there are fewer
        than two cases to fold.
        """
        if (y == 0).any():
            return None
        positive = targets == 1
        contrast = targets == 0
        n_splits = int(min(BLEND_FOLDS, positive.sum()))
        if n_splits < 2 or not contrast.any():
            return None
        oof = np.full(len(rows), np.nan)
        for train_i, test_i in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(
            rows, targets
        ):
            booster = self._fit_booster(F[rows[train_i]], targets[train_i], weights[train_i], seed)
            oof[test_i] = booster.predict(F[rows[test_i]], raw_score=True)
        judged = positive | contrast
        model_rank = ecdf_scale(oof[judged], oof[judged])
        det_rank = np.minimum(
            ecdf_scale(self.detector_reference_, self.detector_reference_[rows]), 1.0
        )[judged]
        return model_rank, det_rank, positive[judged].astype(int)

    def _learnt_weight(
        self,
        F: np.ndarray,
        y: np.ndarray,
        rows: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray,
        seed: int,
    ) -> float:
        """Detector weight chosen on out-of-fold model scores, shrunk to the AUC rule's weight.

        Why both: the AUC rule (``_detector_weight``) knows only the detector; where the model
        alone ranks the labelled cases far better (dense labelled clusters, or a detector that
        is inverted on the table) a heavy detector weight dilutes the top of the list. See
        ``best_blend_weight`` and ``combined_weight``.
        """
        rule = self.detector_weight_
        evidence = self.blend_evidence(F, y, rows, targets, weights, seed)
        if evidence is None:
            return rule
        model_rank, det_rank, truth = evidence
        from sklearn.metrics import roc_auc_score

        self.model_auc_ = float(roc_auc_score(truth, model_rank))
        quality = blend_quality(model_rank, det_rank, truth)
        if self.detector_rule == "evidence":  # only cases are labelled here (blend_evidence)
            self.contamination_ = hidden_case_share(model_rank[truth == 1], model_rank[truth == 0])
            rule = evidence_weight(
                self.n_positive_,
                self.n_contrast_,
                self.detector_auc_,
                contamination=self.contamination_,
                model_auc=self.model_auc_,
            )
            quality = signed_quality(quality, rule)
        best = best_blend_weight(quality, near=rule)
        return combined_weight(rule, best, self.n_positive_)

    def _detector_weight(self) -> float:
        """The detector's weight in the final score (see ``detector_blend``); < 0 = flipped."""
        if self.detector_blend == "auto":
            if self.detector_rule == "evidence":
                return evidence_weight(self.n_positive_, self.n_contrast_, self.detector_auc_)
            if self.detector_rule == "prior":
                return rule_weight(self.n_positive_, self.detector_auc_)
            raise ValueError(
                f"detector_rule must be 'evidence' or 'prior', got {self.detector_rule!r}"
            )
        if isinstance(self.detector_blend, str) or not 0 <= float(self.detector_blend) <= 1:
            raise ValueError(
                f"detector_blend must be in [0, 1] or 'auto', got {self.detector_blend!r}"
            )
        return float(self.detector_blend)

    @property
    def blend_weight_(self) -> float:
        """The detector's weight in the final score, as fitted (alias of ``detector_weight_``)."""
        check_is_fitted(self, "detector_")
        return self.detector_weight_

    def predict_proba(self, X: npt.ArrayLike) -> np.ndarray:
        """Calibrated [P(no case), P(case)] per row; needs labelled outcomes to calibrate on."""
        det, raw = self._detector_and_model(X)
        if self.calibrator_ is None:
            raise ValueError(
                "predict_proba needs verified outcomes of both kinds (or confirmed cases plus "
                f"unlabelled rows); this scorer was fitted on {self.n_labelled_} labelled rows "
                f"with {self.n_positive_} cases. Use decision_function to rank."
            )
        p = self._probability(raw)
        return np.column_stack([1 - p, p])

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """1 where the calibrated probability of a case is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    @property
    def feature_names_for_booster_(self) -> list[str]:
        """Column names the booster sees (inputs, then the detector score if used)."""
        check_is_fitted(self, "detector_")
        names = [str(c) for c in getattr(self, "feature_names_in_", range(self.n_features_in_))]
        names = (
            names
            if hasattr(self, "feature_names_in_")
            else [f"x{i}" for i in range(self.n_features_in_)]
        )
        return names + (["detector_score"] if self.use_detector_feature else [])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


#: the booster settings of ``default_scorer`` that differ from ``LeadScorer``'s defaults: chosen
#: by leave-one-dataset-out on the 15 shared ADBench sets up to 11k rows, 10% of training
#: anomalies labelled, 3 seeds (``python -m benchmarks.booster_selection``, issue 14): 7 leaves
#: and weak-negative weight 2 were the choice on all 15 folds among 36 settings; LOO mean
#: AUCROC / AUCPR 0.9095 / 0.7040 vs 0.9016 / 0.6858 for LeadScorer's defaults (15 leaves,
#: 0.5). ADBench labels cases only; on the simulated pool (verified non-cases among the labels)
#: weight 2 lowered AP (mortgage_loans 0.899 -> 0.880) while 7 leaves raised it on all three
#: scenarios, so the heavier weight applies only when no non-case is labelled.
DEFAULT_BOOSTER: dict[str, Any] = {"num_leaves": 7, "cases_only_unlabelled_weight": 2.0}


def default_scorer(random_state: int | None = None, directions: Directions = None) -> LeadScorer:
    """The project's scorer (unfitted), with the settings the README's evidence supports
    (``DEFAULT_BOOSTER`` on top of ``LeadScorer``'s defaults).

    ``directions``: the declared suspicious side per feature, for its default detector.
    """
    return LeadScorer(random_state=random_state, directions=directions, **DEFAULT_BOOSTER)

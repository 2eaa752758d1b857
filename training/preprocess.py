"""Make any numeric table safe for distance- and density-based detectors.

Agency tables arrive with gaps (missing months), columns that never vary in a district, and
quantities on wildly different scales (litres next to counts next to ratios). Detectors such as
kNN or HBOS silently break on any of these, so every detector in this package first passes its
input through :class:`RobustPreprocessor`: impute with the training medians (optionally adding
an is-missing flag per column that had gaps), drop columns that were constant in training, and
scale each column by its median and inter-quartile range so no single unit dominates a distance.

Declared directions (``orientation``) are applied here, once, so that every member of an
ensemble sees the same one-sided view: a column whose suspicious side is "low" is negated, and a
one-sided column is cut at its median (``max(z, 0)``, unless ``cut_one_sided=False`` for a member
that reads only the right tail anyway), so a value far out on the harmless side looks exactly as
ordinary as the median. Two-sided columns are left as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data


def robust_spread(X: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Per-column spread: the IQR, or 1.4826*MAD, or the std, or 1: the first that is non-zero.

    Why a cascade: count-like columns often have IQR 0 (most entities at zero) yet still vary;
    scaling them by a zero IQR would blow up, by 1 would ignore their units.
    """
    q75, q25 = np.nanpercentile(X, [75, 25], axis=0)
    spread = q75 - q25
    mad = 1.4826 * np.nanmedian(np.abs(X - center), axis=0)
    std = np.nanstd(X, axis=0)
    for fallback in (mad, std):
        spread = np.where(spread > 0, spread, fallback)
    return np.where(spread > 0, spread, 1.0)


class RobustPreprocessor(TransformerMixin, BaseEstimator):
    """Median imputation, optional missing indicators, constant-column drop, robust scaling.

    Parameters
    ----------
    add_indicator : bool
        Append one 0/1 column per training column that had missing values.
    clip : float or None
        After scaling, clip values to [-clip, clip] so one absurd value (a typo in a filing)
        cannot dominate; None keeps them as they are.
    orientation : sequence of {-1, 0, 1} or None
        One value per input column: 1 = high is suspicious, -1 = low is suspicious, 0 = both
        ways (two-sided). One-sided columns come out as ``max(sign * z, 0)``. None: all 0.
    cut_one_sided : bool
        Cut one-sided columns at the median (True) or only orient them (``sign * z``).
    """

    def __init__(
        self,
        add_indicator: bool = True,
        clip: float | None = None,
        orientation: Sequence[int] | None = None,
        cut_one_sided: bool = True,
    ) -> None:
        self.add_indicator = add_indicator
        self.clip = clip
        self.orientation = orientation
        self.cut_one_sided = cut_one_sided

    def _signs(self, n_columns: int) -> np.ndarray:
        """``orientation`` as an int array of length ``n_columns`` (clear error otherwise)."""
        if self.orientation is None:
            return np.zeros(n_columns, dtype=int)
        signs = np.asarray(self.orientation)
        if signs.shape != (n_columns,) or not np.isin(signs, (-1, 0, 1)).all():
            raise ValueError(
                f"orientation must hold one of -1, 0, 1 per column ({n_columns} "
                f"columns); got {list(self.orientation)}"
            )
        return signs.astype(int)

    def fit(self, X: ArrayLike, y: object = None) -> RobustPreprocessor:
        """Learn medians, spreads, constant columns and which columns had gaps."""
        # validate_data returns an ndarray (asarray only types it; no copy)
        X = np.asarray(validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64))
        all_nan = np.all(np.isnan(X), axis=0)
        center = np.zeros(X.shape[1])
        if not all_nan.all():
            center[~all_nan] = np.nanmedian(X[:, ~all_nan], axis=0)
        filled = np.where(np.isnan(X), center, X)
        self.center_ = center
        self.keep_ = np.ptp(filled, axis=0) > 0
        self.scale_ = robust_spread(filled, center)
        self.missing_cols_ = np.flatnonzero(np.isnan(X).any(axis=0))
        self.signs_ = self._signs(X.shape[1])
        # one-sided flag per *output* column (missing indicators are two-sided 0/1 flags)
        one_sided = self.signs_[self.keep_] != 0
        if self.add_indicator and self.missing_cols_.size:
            one_sided = np.concatenate([one_sided, np.zeros(self.missing_cols_.size, bool)])
        self.one_sided_ = one_sided if one_sided.size else np.zeros(1, bool)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Impute, scale and drop as learned; infinite values are treated as missing."""
        check_is_fitted(self, "center_")
        X = np.asarray(
            validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        )
        X = np.where(np.isinf(X), np.nan, X)
        missing = np.isnan(X)
        Z = (np.where(missing, self.center_, X) - self.center_) / self.scale_
        if self.clip is not None:
            Z = np.clip(Z, -self.clip, self.clip)
        signs = getattr(self, "signs_", np.zeros(X.shape[1], dtype=int))  # pickles before signs_
        directed = signs != 0
        if directed.any():
            Z[:, directed] = Z[:, directed] * signs[directed]
            if self.cut_one_sided:
                Z[:, directed] = np.maximum(Z[:, directed], 0.0)
        Z = Z[:, self.keep_]
        if self.add_indicator and self.missing_cols_.size:
            Z = np.hstack([Z, missing[:, self.missing_cols_].astype(np.float64)])
        if Z.shape[1] == 0:
            # Every column was constant in training: nothing can be anomalous, keep one zero column
            # so downstream detectors still run and score every row the same.
            Z = np.zeros((X.shape[0], 1))
        return Z

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def as_frame_columns(X: object) -> list[str] | None:
    """Column names of a DataFrame input, or None for arrays (used for reason texts)."""
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    return None

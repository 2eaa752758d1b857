"""A fit is reused only for the same model on exactly the same rows, and reusing it changes
nothing: the project's scorer fitted twice on the same rows scores them identically."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.fit_cache import FitCache, rows_digest
from training.scorers import default_scorer


class Counting:
    """A factory that counts the models it makes (each fit records its rows)."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> Counting.Model:
        self.made += 1
        return Counting.Model()

    class Model:
        def fit(self, X: pd.DataFrame, y: np.ndarray) -> Counting.Model:
            self.rows = len(X)
            return self


def _rows(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X.loc[::17, "b"] = np.nan
    y = np.full(n, np.nan)
    score = X["a"].to_numpy()
    y[np.argsort(-score)[:12]] = 1.0
    y[rng.choice(np.argsort(-score)[40:], size=30, replace=False)] = 0.0
    return X, y


def test_the_digest_sees_every_value_label_and_column_name():
    X, y = _rows()
    base = rows_digest(X, y)
    assert rows_digest(X.copy(), y.copy()) == base
    changed = X.copy()
    changed.iloc[5, 1] = changed.iloc[5, 1] + 1e-12
    assert rows_digest(changed, y) != base
    relabelled = y.copy()
    relabelled[np.flatnonzero(np.isnan(y))[0]] = 0.0  # an unlabelled row now verified
    assert rows_digest(X, relabelled) != base
    assert rows_digest(X.rename(columns={"b": "c"}), y) != base
    assert rows_digest(X[["b", "a"]], y) != base
    assert rows_digest(X.iloc[:-1], y[:-1]) != base


def test_the_same_model_on_the_same_rows_is_fitted_once_and_anything_else_refits():
    X, y = _rows()
    cache, make = FitCache(), Counting()
    first = cache.fit("m", make, X, y)
    assert cache.fit("m", make, X.copy(), y.copy()) is first
    assert make.made == 1 and cache.hits == 1
    other = X.copy()
    other.iloc[0, 0] += 1.0
    assert cache.fit("m", make, other, y) is not first
    assert cache.fit("n", make, X, y) is not first  # another model: its own fit
    assert make.made == 3
    cache.forget("m")
    assert cache.fit("m", make, X, y) is not first and make.made == 4


def test_a_reused_scorer_is_the_one_a_refit_would_give():
    X, y = _rows(seed=1)
    one = default_scorer(random_state=7).fit(X, y)
    two = default_scorer(random_state=7).fit(X, y)
    np.testing.assert_array_equal(one.decision_function(X), two.decision_function(X))
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))

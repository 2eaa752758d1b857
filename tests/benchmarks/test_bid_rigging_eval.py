"""``benchmarks.bid_rigging_eval`` scores each method on its own ranking: the project's scorer
by ``decision_function``, the scikit-learn baselines by the positive class's probability, and
refuses a model with neither (rather than guessing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.bid_rigging_eval import _gb, _logit, _score
from training.scorers import default_scorer


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["cv", "spd", "diffp"])
    y = (X["cv"] + 0.2 * rng.normal(size=300) > 0.8).to_numpy(dtype=float)
    return X, y


def test_the_baselines_rank_by_probability(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    for model in (_logit(), _gb(0)):
        model.fit(X, y)
        np.testing.assert_allclose(_score(model, X), model.predict_proba(X)[:, 1])


def test_the_project_scorer_ranks_by_its_decision_function(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = data
    model = default_scorer(0)
    model.fit(X, y)
    np.testing.assert_allclose(_score(model, X), model.decision_function(X))


def test_a_model_without_a_score_is_refused(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    class FitOnly:
        def fit(self, X: pd.DataFrame, y: np.ndarray) -> FitOnly:
            return self

    with pytest.raises(TypeError, match="FitOnly has neither"):
        _score(FitOnly(), data[0])

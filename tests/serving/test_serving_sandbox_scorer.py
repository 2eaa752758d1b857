"""The sandbox's LightGBM scorer answers ``decision_function`` with the raw margin and passes
LightGBM's own keyword arguments on to the booster (its signature is LightGBM's, so the type
checker holds it to the classifier it extends)."""

from __future__ import annotations

import numpy as np
import pytest

from serving.sandbox import LGBMScorer


@pytest.fixture(scope="module")
def fitted() -> tuple[LGBMScorer, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 0.5).astype(int)
    model = LGBMScorer(n_estimators=20, random_state=0, verbose=-1, n_jobs=1)
    return model.fit(X, y), X


def test_the_score_is_the_raw_margin(fitted: tuple[LGBMScorer, np.ndarray]) -> None:
    model, X = fitted
    expected = model.booster_.predict(X, raw_score=True)
    np.testing.assert_allclose(model.decision_function(X), expected)
    score, probability = model.score_and_probability(X)
    np.testing.assert_allclose(probability, model.predict_proba(X)[:, 1])


def test_lightgbm_keywords_reach_the_booster(fitted: tuple[LGBMScorer, np.ndarray]) -> None:
    model, X = fitted
    first_trees = model.decision_function(X, num_iteration=2)
    np.testing.assert_allclose(
        first_trees, model.booster_.predict(X, raw_score=True, num_iteration=2)
    )
    assert not np.allclose(first_trees, model.decision_function(X))
    late_trees = model.decision_function(X, start_iteration=5)
    np.testing.assert_allclose(
        late_trees, model.booster_.predict(X, raw_score=True, start_iteration=5)
    )

"""Serving: reasons for the project's real estimators (supervised scorer and unsupervised
detector) agree with training's explanations and name the features that drive the score."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from serving.champions import ServedModel
from serving.shap_reasons import explain

COLUMNS = ("gap", "share", "noise_a", "noise_b")


def population(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Entities where ``gap`` alone decides who becomes a case; half are never verified."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "gap": rng.gamma(1.5, 1.0, n),
            "share": rng.beta(5, 2, n),
            "noise_a": rng.normal(size=n),
            "noise_b": rng.normal(size=n),
        },
        index=pd.Index([f"e{i}" for i in range(n)], name="entity_id"),
    )
    frame["district"] = rng.choice(["Haidian", "Chaoyang"], n)
    y = (frame["gap"] > np.quantile(frame["gap"], 0.85)).to_numpy(dtype="float64").copy()
    y[rng.random(n) < 0.5] = np.nan
    return frame, y


def served(estimator) -> ServedModel:
    from training.pyfunc import LeadScoringModel

    model = LeadScoringModel(list(COLUMNS), "scorer")
    model.estimator = estimator
    return ServedModel(
        scenario="demo",
        name="supervision-demo",
        version="1",
        alias="champion",
        run_id=None,
        model=model,
        columns=COLUMNS,
        loaded_at=datetime.now(UTC),
    )


@pytest.fixture(scope="module")
def data():
    return population()


def test_scorer_reasons_match_training_and_find_the_driver(data) -> None:
    from training.explain import detector_surrogate, explain_scorer
    from training.scorers import default_scorer

    frame, y = data
    scorer = default_scorer(random_state=0).fit(frame.loc[:, list(COLUMNS)], y)
    model = served(scorer)
    out = model.predict(frame)
    top = out["score"].to_numpy().argsort()[::-1][:5]
    rows = frame.iloc[top]
    reasons = explain(model, rows, 3, frame)
    assert len(reasons) == 5 and all(len(r) == 3 for r in reasons)
    assert sum(r[0]["feature"] == "gap" for r in reasons) >= 4
    # training explains the same way given the detector's surrogate on the same population
    reference = explain_scorer(
        scorer,
        rows.reset_index(drop=True),
        list(range(5)),
        surrogate=detector_surrogate(scorer, frame),
    )
    for mine, theirs in zip(reasons, reference, strict=True):
        for reason in mine:
            assert reason["shap"] == pytest.approx(
                theirs.contributions[reason["feature"]], abs=1e-5
            )
    assert all(r["text"] for row in reasons for r in row)
    assert all(set(r["texts"]) == {"zh", "en"} for row in reasons for r in row)
    assert not any(r["feature"] == "detector_score" for row in reasons for r in row)


def test_detector_reasons_through_a_surrogate(data) -> None:
    from training.detectors import default_detector

    frame, _ = data
    detector = default_detector(random_state=0).fit(frame.loc[:, list(COLUMNS)])
    model = served(detector)
    scores = model.predict(frame)["score"].to_numpy()
    assert np.isnan(model.predict(frame)["probability"]).all(), "a detector has no probability"
    top = frame.iloc[scores.argsort()[::-1][:3]]
    reasons = explain(model, top, 2, frame)
    assert all(len(r) == 2 and r[0]["shap"] >= r[1]["shap"] for r in reasons)
    assert {r[0]["feature"] for r in reasons} <= set(COLUMNS)

"""Explanations: SHAP additivity, surrogate fidelity, reasons from declared feature specs."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from training.detectors import default_detector
from training.explain import (
    FeatureSpecLike,
    explain_detector,
    explain_scorer,
    fold_detector,
    format_reason,
    peer_medians,
)
from training.scorers import default_scorer


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    unit: str
    reason_template: str
    peer_group: str | None = None
    direction: str = "high"


SPECS = [
    Spec(
        "sales_gap",
        "declared sales vs deliveries",
        "ratio",
        "declared sales are {value:.0%} below deliveries; district median {peer:.0%}",
    ),
    Spec(
        "traffic",
        "vehicles per month",
        "vehicles",
        "{value:,.0f} vehicles a month; peers {peer:,.0f}",
    ),
    Spec("age", "years open", "years", "open {value:.1f} years; peers {peer:.1f}"),
]


def station_table(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "sales_gap": rng.normal(0.05, 0.03, n),
            "traffic": rng.normal(3000, 500, n),
            "age": rng.uniform(1, 20, n),
            "district": rng.choice(["Chaoyang", "Haidian", "Miyun"], n),
        },
        index=[f"S{i:04d}" for i in range(n)],
    )
    fraud = np.zeros(n, int)
    fraud[:40] = 1
    table.iloc[:40, 0] += 0.3  # evaders declare far less than delivered
    return table, fraud


def test_feature_spec_protocol_accepts_any_matching_object():
    assert isinstance(SPECS[0], FeatureSpecLike)


def test_scorer_shap_adds_up_to_the_booster_score_and_names_the_right_feature():
    table, fraud = station_table()
    features = table[["sales_gap", "traffic", "age"]]
    y = np.where(np.arange(len(table)) % 2 == 0, fraud, np.nan).astype(float)  # half verified
    scorer = default_scorer(0).fit(features, y)
    rows = list(table.index[:3])
    explanations = explain_scorer(scorer, table, rows, SPECS, top_n=3)
    assert [e.row for e in explanations] == rows  # only the rows asked for
    raw = scorer.booster_.predict(
        np.column_stack(
            [features.loc[rows], scorer.detector_.decision_function(features.loc[rows])]
        ),
        raw_score=True,
    )
    for exp, r in zip(explanations, raw, strict=True):
        assert exp.additivity_error() < 1e-6
        assert exp.score == pytest.approx(r, abs=1e-6)
        # the detector's share is handed on to the features: no reason can name it
        assert "detector_score" not in exp.contributions
        assert max(exp.contributions, key=exp.contributions.get) == "sales_gap"
        assert any("below deliveries" in reason for reason in exp.reasons)


def test_detector_share_is_split_by_its_surrogate_and_keeps_the_total():
    contrib = np.array(
        [
            [0.2, -0.1, 0.0, 0.6],  # detector adds 0.6
            [0.1, 0.1, 0.1, -0.3],  # detector takes 0.3 away
            [0.0, 0.0, 0.0, 0.4],
        ]
    )  # shares cancel out: split by size
    detector = np.array([[0.3, 0.1, 0.0], [0.0, -0.2, 0.0], [0.5, -0.5, 0.0]])
    folded = fold_detector(contrib, detector)
    assert folded.shape == (3, 3)
    np.testing.assert_allclose(folded.sum(axis=1), contrib.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(folded[0], [0.2 + 0.45, -0.1 + 0.15, 0.0])
    np.testing.assert_allclose(folded[1], [0.1, 0.1 - 0.3, 0.1])
    np.testing.assert_allclose(folded[2], [0.2, 0.2, 0.0])


def test_detector_surrogate_is_faithful_and_additive():
    table, _ = station_table()
    features = table[["sales_gap", "traffic", "age"]]
    det = default_detector(0).fit(features)
    surrogate, explanations = explain_detector(det, table, list(table.index[:5]), SPECS)
    assert surrogate.r2 > 0.7 and surrogate.spearman > 0.8
    assert len(explanations) == 5
    for exp in explanations:
        assert exp.additivity_error() < 1e-6
        assert 1 <= len(exp.reasons) <= 4


def test_peer_median_is_the_district_median_by_default():
    table = pd.DataFrame(
        {"traffic": [1.0, 3.0, 10.0, 100.0], "district": ["A", "A", "A", "B"]},
        index=["r0", "r1", "r2", "r3"],
    )
    peers = peer_medians(table, ["r0", "r3"], SPECS[1])
    assert peers.to_dict() == {"r0": 3.0, "r3": 100.0}
    no_district = peer_medians(table.drop(columns="district"), ["r0"], SPECS[1])
    assert no_district.iloc[0] == 6.5  # whole-table median when no peer column


def test_reason_formatting():
    assert format_reason(SPECS[0], "sales_gap", 0.35, 0.05) == (
        "declared sales are 35% below deliveries; district median 5%"
    )
    assert (
        format_reason(SPECS[1], "traffic", 1234.0, 3000.0) == "1,234 vehicles a month; peers 3,000"
    )
    assert format_reason(SPECS[2], "age", np.nan, 3.0) == "years open: not on record"
    assert format_reason(SPECS[1], "traffic", 1234.0, np.nan) == "1,234 vehicles a month"
    assert format_reason(None, "x", 0.987654, np.nan) == "x = 0.988"
    broken = Spec("x", "a broken template", "t", "{value:%Q}")
    assert format_reason(broken, "x", 2.0, 1.0) == "a broken template: 2 t (peers: 1 t)"

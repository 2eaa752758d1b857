"""The public-benchmark runners: protocol, published columns, and the quick bench still runs."""

import numpy as np
import pytest

from benchmarks import adbench, odds
from benchmarks.adbench import Dataset, cap_rows, partial_labels, published, split

pytestmark = (
    pytest.mark.slow
)  # minutes, not seconds (trains, serves or benchmarks): make test-fast skips it


def test_published_tables_are_read_as_fractions():
    d4 = published("aucroc_tableD4")
    assert d4.loc["cardio", "IForest"] == pytest.approx(0.9319)
    assert np.isnan(published("aucroc_tableD4").loc["breastw", "DAGMM"])  # "N/A" in the paper
    assert published("aucroc_gamma10pct_tableD10").loc["cardio", "LGB"] == pytest.approx(0.9339)


def test_cap_split_and_partial_labels_follow_the_protocol():
    rng = np.random.default_rng(0)
    data = Dataset("toy", rng.normal(size=(1000, 3)), (rng.random(1000) < 0.1).astype(int))
    capped = cap_rows(data, 200, seed=0)
    assert len(capped.y) == 200 and abs(capped.y.mean() - data.y.mean()) < 0.01  # stratified
    X_train, X_test, y_train, y_test = split(data, 0.3, seed=0)
    assert len(y_test) == 300 and abs(y_test.mean() - y_train.mean()) < 0.01
    y = partial_labels(y_train, 0.1, seed=0)
    assert np.nansum(y) == round(0.1 * y_train.sum())
    assert set(np.unique(y[~np.isnan(y)])) == {1.0}
    assert (y_train[~np.isnan(y)] == 1).all()  # only true anomalies get revealed


def test_quick_adbench_side_by_side():
    tables = adbench.run_protocol(["Stamps"], seeds=1, max_rows=None)
    table = tables["unsupervised"]
    assert list(table.index) == ["Stamps", "MEAN"]
    for column in (
        "aucroc:default_detector",
        "aucroc:IForest",
        "aucpr:ECOD",
        "seconds:HBOS",
        "paper_aucroc:IForest",
        "paper_aucpr:COPOD",
    ):
        assert column in table.columns
    assert table.loc["Stamps", "paper_aucroc:IForest"] == pytest.approx(0.9121)
    assert table.loc["Stamps", "aucroc:default_detector"] > 0.75
    semi = tables["labels10pct"]
    assert semi.loc["Stamps", "aucroc:default_scorer"] > 0.7
    assert "paper_aucroc:LGB" in semi.columns
    for peer in adbench.SUPERVISED_PEERS:  # the paper's peers run in the same run
        assert 0.0 <= semi.loc["Stamps", f"aucroc:{peer}"] <= 1.0


def test_below_peer_flags_only_sets_more_than_the_margin_below():
    import pandas as pd

    table = pd.DataFrame(
        {
            "aucroc:default_scorer": [0.60, 0.80, 0.70],
            "aucroc:LGB_unlabelled_as_0": [0.70, 0.82, 0.70],
        },
        index=["a", "b", "MEAN"],
    )
    flagged = adbench.below_peer(table)
    assert list(flagged.index) == ["a"]
    assert flagged.loc["a", "gap"] == pytest.approx(-0.10)


def test_unknown_peer_is_named():
    with pytest.raises(ValueError, match="nope"):
        adbench.supervised_methods(["nope"])


def test_quick_odds_side_by_side():
    table = odds.run_protocol(["wbc"], seeds=1)
    assert table.loc["wbc", "pyod2019_roc:IForest"] == pytest.approx(0.9310, abs=1e-3)
    assert table.loc["wbc", "aucroc:default_detector"] > 0.85
    assert 0 <= table.loc["wbc", "precision_at_n:default_detector"] <= 1

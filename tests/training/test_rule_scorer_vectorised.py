"""The rule model's by-pattern paths (issue 17) give what a plain per-row loop gives.

``fired``, ``fired_labels`` and ``rule_reasons`` read each rule's column once and word each
distinct fired pattern once; the references below walk every row and every rule as the rules
read, on random tables with missing values, a nullable column and a string index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.rules import Rule, RuleSet
from features.wording import DEFAULT_LANGUAGE
from training.pyfunc import score_frame
from training.rule_scorer import RuleScorer

OPS = {"<": np.less, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal}


def _scorer(combine: str) -> RuleScorer:
    rules = (
        Rule("low_a", "a", "<", 0.3, "a is {value:.2f} (peers {peer:.2f})", weight=2.0),
        Rule(
            "high_b",
            "b",
            ">=",
            0.6,
            "b {value:.1f} over {threshold}",
            reasons={"zh": "乙{value:.1f}"},
        ),
        Rule("flag_c", "c", "==", 1, "c raised (peer rate {peer:.0%})"),
        Rule("not_zero_a", "a", "!=", 0, "a nonzero {value:.3f}", weight=0.5),
    )
    return RuleScorer(RuleSet(rules, combine=combine, tie_break="b"), {"b": "high"})


def _table(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.random(n)
    a[rng.random(n) < 0.1] = np.nan
    a[rng.random(n) < 0.05] = 0.0
    b = pd.array(np.round(rng.random(n), 2), dtype="Float64")
    b[rng.random(n) < 0.1] = pd.NA
    c = rng.integers(0, 2, n).astype("float64")
    return pd.DataFrame({"a": a, "b": b, "c": c}, index=[f"e{i:04d}" for i in rng.permutation(n)])


def _fired_reference(scorer: RuleScorer, X: pd.DataFrame) -> list[list[str]]:
    out = []
    for i in range(len(X)):
        names = []
        for rule in scorer.rules.rules:
            value = X[rule.feature].iloc[i]
            if not pd.isna(value) and OPS[rule.op](float(value), rule.threshold):
                names.append(rule.name)
        out.append(names)
    return out


def _reasons_reference(scorer: RuleScorer, X: pd.DataFrame, peers: pd.DataFrame | None) -> list:
    by_name = {r.name: r for r in scorer.rules.rules}
    out = []
    for i, names in enumerate(_fired_reference(scorer, X)):
        reasons = []
        for name in names:
            rule = by_name[name]
            value = float(X[rule.feature].iloc[i])
            peer = float("nan") if peers is None else float(peers[rule.feature].iloc[i])
            reasons.append(
                {
                    "rule": rule.name,
                    "feature": rule.feature,
                    "value": value,
                    "contribution": 1.0
                    if scorer.rules.combine != "weighted_sum"
                    else float(rule.weight),
                    "text": rule.text(value, peer, DEFAULT_LANGUAGE),
                    "texts": rule.texts(value, peer),
                }
            )
        out.append(reasons)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("combine", ["any", "weighted_sum", "count"])
def test_fired_names_and_labels_equal_a_per_row_reference(seed, combine):
    X = _table(seed, 400)
    scorer = _scorer(combine).fit(X)
    expected = _fired_reference(scorer, X)
    assert scorer.fired(X) == expected
    assert list(scorer.fired_labels(X)) == [",".join(n) for n in expected]
    assert list(scorer.fired_labels(X, sep="|")) == ["|".join(n) for n in expected]
    # several patterns occur, rows with none fired among them (the test would be idle otherwise)
    assert len({tuple(n) for n in expected}) > 4 and [] in expected
    # each row gets a list of its own: changing one leaves the others as they were
    got = scorer.fired(X)
    twin = next(j for j in range(1, len(got)) if got[j] == got[0])
    got[0].append("x")
    assert got[twin] == expected[twin]


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("combine", ["any", "weighted_sum"])
def test_rule_reasons_equal_a_per_row_reference(seed, combine):
    X = _table(seed, 300)
    scorer = _scorer(combine).fit(X)
    rng = np.random.default_rng(seed + 10)
    peers = pd.DataFrame(
        {f: np.where(rng.random(len(X)) < 0.2, np.nan, rng.random(len(X))) for f in "abc"},
        index=X.index,
    )
    got, expected = scorer.rule_reasons(X, peers), _reasons_reference(scorer, X, peers)
    assert len(got) == len(expected)
    for row_got, row_expected in zip(got, expected, strict=True):
        assert len(row_got) == len(row_expected)
        for r_got, r_exp in zip(row_got, row_expected, strict=True):
            assert r_got["text"] == r_exp["text"] and r_got["texts"] == r_exp["texts"]
            assert {k: r_got[k] for k in ("rule", "feature", "contribution")} == {
                k: r_exp[k] for k in ("rule", "feature", "contribution")
            }
            np.testing.assert_equal(r_got["value"], r_exp["value"])
    no_peers = scorer.rule_reasons(X)
    assert [[r["text"] for r in row] for row in no_peers] == [
        [r["text"] for r in row] for row in _reasons_reference(scorer, X, None)
    ]


def test_an_empty_table_fires_nothing_and_scores_an_empty_frame():
    X = _table(0, 50)
    scorer = _scorer("any").fit(X)
    empty = X.iloc[:0]
    assert scorer.fired(empty) == [] and len(scorer.fired_labels(empty)) == 0
    assert scorer.rule_reasons(empty) == []
    scored = score_frame(scorer, ["a", "b", "c"], empty)
    assert list(scored.columns) == ["score", "probability", "rules"] and scored.empty


def test_the_scored_frame_names_the_fired_rules_of_each_row():
    X = _table(5, 200)
    scorer = _scorer("count").fit(X)
    scored = score_frame(scorer, ["a", "b", "c"], X)
    assert list(scored.index) == list(X.index)
    assert list(scored["rules"]) == [",".join(n) for n in _fired_reference(scorer, X)]


@pytest.mark.parametrize("n_rules", [62, 63, 70])
def test_many_rules_find_the_same_patterns_either_way(n_rules):
    rng = np.random.default_rng(n_rules)
    X = pd.DataFrame({f"f{j}": rng.random(120) for j in range(n_rules)})
    rules = tuple(Rule(f"r{j}", f"f{j}", "<", 0.05, "low {value:.2f}") for j in range(n_rules))
    scorer = RuleScorer(RuleSet(rules, combine="count")).fit(X)
    expected = _fired_reference(scorer, X)
    assert scorer.fired(X) == expected
    assert list(scorer.fired_labels(X)) == [",".join(n) for n in expected]
    assert any(f"r{n_rules - 1}" in n for n in expected)  # the highest bit is exercised

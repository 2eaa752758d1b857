"""Quality floors on the simulated fuel_tax pool, truth as judge (scale 0.3, seed 42).

Measured with ``python -m training.pool_measure --data <pool> --scenarios fuel_tax --k 20 30 100``
on this configuration (300 stations, 41 frauds, 31 verified leads): scorer precision@30 0.93,
AP 0.886 (labelled rows only: 0.795); detector AUC 0.860, precision@30 0.20; past rules 0.60.
Floors sit a margin below so a real regression fails, not seed noise.
"""

import pytest
from pool_fixtures import fuel_root  # noqa: F401  (session fixture: fuel_tax pool, scale 0.3)

from training.pool_measure import measure


@pytest.fixture(scope="module")
def fuel(fuel_root):  # noqa: F811
    return measure(fuel_root, "fuel_tax", ks=(30,))


def test_scorer_top_of_list_beats_the_past_rules(fuel):
    assert fuel["frauds"] > 20 and fuel["labelled_cases"] > 5
    assert fuel["scorer_default_p@30"] >= 0.8
    assert fuel["scorer_default_p@30"] > fuel["rules_precision"] + 0.15


def test_unlabelled_as_weak_negatives_corrects_for_rule_biased_labels(fuel):
    assert fuel["scorer_default_ap"] >= 0.8
    assert fuel["scorer_default_ap"] > fuel["scorer_labelled_only_ap"]


def test_detector_alone_still_ranks_better_than_chance(fuel):
    base_rate = fuel["frauds"] / fuel["entities"]
    assert fuel["detector_auc"] >= 0.8
    assert fuel["detector_p@30"] > base_rate

"""bid_rigging features: screens by hand and against the authors' columns, history without leakage."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from bid_world import HISTORY, _bids
from scipy import stats

from evaluation.metrics import roc_auc
from features import registry
from features.build import build_features
from features.engines import connect
from features.relative import relative_view
from features.sources import frame_source
from features.spec import BuildContext
from models.bid_rigging.features import build
from models.bid_rigging.procurement import (
    BIDS,
    authors_screens,
    procurement_dir,
    screen_match_rates,
)
from pool.importer import ensure_imported
from training.detectors import default_detector


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    expr = build({"bids": frame_source(frame, BIDS)}, BuildContext(None, "duckdb"))
    return connect("duckdb").execute(expr).set_index("entity_id").sort_index()


def test_screens_match_hand_computed_values():
    # one tender, bids 100, 110, 120, 150: mean 120, deviations -20, -10, 0, 30
    values = {"A": 100, "B": 110, "C": 120, "D": 150}
    out = _features(_bids([("t", b, v, v == 100, 1) for b, v in values.items()]))
    row = out.loc["x:t:0"]
    sd = math.sqrt((400 + 100 + 0 + 900) / 3)
    m2, m3, m4 = 1400 / 4, (-8000 - 1000 + 27000) / 4, (160000 + 10000 + 810000) / 4
    assert row["n_bids"] == 4
    assert row["cv"] == pytest.approx(sd / 120)
    assert row["spd"] == pytest.approx(0.5)
    assert row["diffp"] == pytest.approx(0.1)
    assert row["rd"] == pytest.approx(10 / 10)  # std of 100, 110, 120 (all but the highest) = 10
    assert row["skew"] == pytest.approx(math.sqrt(12) / 2 * m3 / m2**1.5)
    g2 = m4 / m2**2 - 3
    assert row["kurt"] == pytest.approx((5 * g2 + 6) * 3 / 2)
    assert row["kstest"] == pytest.approx(0.35)  # F = 0, .2, .4, 1: max(i/n - F) = .75 - .4
    assert row["skew"] == pytest.approx(stats.skew([100, 110, 120, 150], bias=False))
    assert row["kurt"] == pytest.approx(stats.kurtosis([100, 110, 120, 150], bias=False))
    assert out.loc["x:t:3", "bid_above_lowest"] == pytest.approx(0.5)


def test_undefined_screens_are_nan_and_ties_use_distinct_values():
    out = _features(
        _bids(
            [
                ("one", "A", 100, 1, 1),
                ("tie", "A", 100, 1, 1),
                ("tie", "B", 100, 0, 1),
                ("tie", "C", 104, 0, 1),
            ]
        )
    )
    single = out.loc["x:one:0"]
    assert np.isnan(single["cv"]) and np.isnan(single["diffp"]) and np.isnan(single["kstest"])
    tie = out.loc["x:tie:0"]
    assert tie["diffp"] == pytest.approx(0.04)  # second-lowest *distinct* value, as the authors
    assert tie["tied_share"] == pytest.approx(0.5)
    assert out.loc["x:tie:2", "tied_share"] == 0.0


def test_history_hand_computed():
    out = _features(_bids(HISTORY))
    a3 = out.loc["x:t3:0"]  # bidder A in t3; its past: t1 (won), t2 (lost); t3b is same time
    assert a3["past_tenders"] == 2
    assert a3["past_win_rate"] == pytest.approx(0.5)
    assert a3["past_partners"] == 2  # B and C, not D (met only at the same time)
    assert a3["group_meetings"] == 2  # A met B in t1 and t2
    assert a3["group_win_share"] == pytest.approx(1.0)  # t1 won by A, t2 by B: both in group
    assert a3["rotation_index"] == pytest.approx(1.0)  # 2 distinct winners / 2 bidders
    a1 = out.loc["x:t1:0"]
    assert a1["past_tenders"] == 0 and np.isnan(a1["past_win_rate"])
    c2 = out.loc["x:t2:1"]  # C first appears in t2
    assert c2["past_tenders"] == 0 and c2["group_meetings"] == 0


def test_history_does_not_see_later_tenders():
    base = _features(_bids(HISTORY))
    later = HISTORY + [
        ("t9", "A", 50, 1, 9),
        ("t9", "B", 51, 0, 9),
        ("t9", "E", 52, 0, 9),
        ("t9b", "B", 60, 1, 9),
        ("t9b", "A", 70, 0, 9),
    ]
    changed = _features(_bids(later)).loc[base.index]
    pd.testing.assert_frame_equal(base, changed)


@pytest.fixture(scope="module")
def real_features(tmp_path_factory) -> pd.DataFrame:
    try:
        procurement_dir()
    except FileNotFoundError:
        pytest.skip("procurement data not available")
    root = tmp_path_factory.mktemp("bids")
    ensure_imported("bid_rigging", root)  # the country files are a declared source
    return build_features("bid_rigging", None, root).frame


def test_screens_match_authors_columns(real_features):
    rates = screen_match_rates(real_features, authors_screens()).set_index("country")
    print("\n" + rates.round(3).to_string())
    # Where our screen is defined, CV, SPD, KURT, SKEW and KSTEST equal the authors' everywhere.
    for screen in ("CV", "SPD", "KURT", "SKEW", "KSTEST"):
        assert (rates[screen] >= 0.999).all(), (screen, rates[screen].to_dict())
    # DIFFP and RD: the authors' American columns (and RD in most of GR) are not computed from
    # the bids published in the same file; elsewhere they match.
    for country in ("brazil", "italy", "ch_gr", "ch_ticino"):
        assert rates.loc[country, "DIFFP"] >= 0.94
    for country in ("brazil", "italy"):
        assert rates.loc[country, "RD"] >= 0.9


def test_real_table_contract(real_features):
    f = real_features
    assert f["entity_id"].is_unique
    assert set(f["label"].dropna().unique()) == {0.0, 1.0}
    assert set(f["district"].unique()) == {"america", "brazil", "italy", "ch_gr", "ch_ticino"}
    # bidder history exists only where the file has both bidder ids and tender times
    has_history = f.groupby("district")["past_tenders"].apply(lambda s: s.notna().any())
    assert has_history.to_dict() == {
        "america": True,
        "brazil": True,
        "ch_gr": False,
        "ch_ticino": False,
        "italy": False,
    }


def _detector_auc(part: pd.DataFrame, X: pd.DataFrame) -> float:
    specs = registry.get("bid_rigging").features
    detector = default_detector(0, directions={s.name: s.direction for s in specs}).fit(X)
    return roc_auc(part["label"].to_numpy(dtype=float), detector.decision_function(X))


def test_detector_on_within_country_ranks_floors(real_features):
    """The unsupervised detector per country on the declared view (every feature ranked within
    its country, ``relative_to``): floors a bit below benchmarks.bid_rigging_eval's figures
    (README), and ahead of the same detector on absolute values where that gain was measured."""
    specs = registry.get("bid_rigging").features
    labelled = real_features[real_features["label"].notna()]
    parts = dict(tuple(labelled.groupby("district")))
    ranked = {c: _detector_auc(p, relative_view(p, specs)) for c, p in parts.items()}
    print({c: round(v, 3) for c, v in ranked.items()})
    # measured 0.566 / 0.763 / 0.639 / 0.709; ch_gr (0.31) has no floor: no declared direction
    # ranks it (README), so a floor there would pin an inverted ranking
    floors = {"america": 0.54, "brazil": 0.74, "ch_ticino": 0.61, "italy": 0.68}
    for country, floor in floors.items():
        assert ranked[country] >= floor, (country, ranked[country])
    for country in ("ch_ticino", "italy"):  # absolute values measured 0.477 and 0.617
        p = parts[country]
        absolute = _detector_auc(p, p[[s.name for s in specs]])
        assert ranked[country] >= absolute + 0.05, (country, ranked[country], absolute)


def test_as_of_keeps_only_tenders_dated_by_then():
    subset = registry.get("bid_rigging")
    scenario = replace(subset, name="bid_rigging_brazil", load=_brazil_only)
    registry.register(scenario, replace=True)
    try:
        full = build_features("bid_rigging_brazil", None).frame
        cut = build_features("bid_rigging_brazil", "2009-12-31").frame
    finally:
        registry.unregister("bid_rigging_brazil")
    raw = _brazil_only("", None)["bids"]
    dated = raw.loc[pd.to_datetime(raw["tender_date"]) <= "2009-12-31", "bid_id"]
    assert set(cut["entity_id"]) == set(dated)
    assert 0 < len(cut) < len(full)
    same = full.set_index("entity_id").loc[cut["entity_id"], "past_tenders"]
    assert (same.to_numpy() == cut["past_tenders"].to_numpy()).all()


def _brazil_only(data_root: str, ctx) -> dict[str, pd.DataFrame]:
    from models.bid_rigging.procurement import load_bids

    return {"bids": load_bids(None, ["brazil"])}

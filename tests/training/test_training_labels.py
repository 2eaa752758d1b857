"""Labels fed back from the lead store: the final outcomes of a model's own leads join the pool's
verification history as training labels, each as known on the date (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from leads_fixtures import advance_to, make_run

from training.train_data import store_outcomes, with_store_labels


def _frame() -> pd.DataFrame:
    """Five stations with history labels: a case, a no-case, and three never verified."""
    return pd.DataFrame(
        {
            "entity_id": ["CASE", "NOCASE", "A", "B", "C"],
            "label": [1.0, 0.0, np.nan, np.nan, np.nan],
        }
    )


def test_store_outcomes_join_the_history_labels_as_known_on_the_date(store, clock):
    result = store.upsert_leads(make_run("r1", ["NOCASE", "A", "B", "C"]))
    ids = {v.entity_id: v.id for v in store.list_leads(scenario="fuel_tax")}
    assert len(ids) == 4, result
    advance_to(store, ids["NOCASE"], "case_filed")  # the store knows better than the history
    advance_to(store, ids["A"], "no_case")
    advance_to(store, ids["B"], "invalid")  # says nothing about the station
    clock.advance(days=10)
    advance_to(store, ids["C"], "case_filed")
    outcomes = store_outcomes(store, "fuel_tax")
    assert sorted(outcomes["outcome"]) == ["case_filed", "case_filed", "no_case"]
    first_day = outcomes["verified_on"].min().date()

    before = with_store_labels(_frame(), outcomes, date(2020, 1, 1))
    pd.testing.assert_frame_equal(before, _frame())  # nothing was known then
    on_day = with_store_labels(_frame(), outcomes, first_day).set_index("entity_id")["label"]
    assert on_day["CASE"] == 1.0 and on_day["NOCASE"] == 1.0 and on_day["A"] == 0.0
    assert np.isnan(on_day["B"]) and np.isnan(on_day["C"])  # C's case came ten days later
    later = with_store_labels(_frame(), outcomes, None).set_index("entity_id")["label"]
    assert later["C"] == 1.0 and np.isnan(later["B"])


def test_without_a_store_or_outcomes_the_history_stands():
    empty = store_outcomes(None, "fuel_tax")
    assert list(empty.columns) == ["entity_id", "verified_on", "outcome"] and empty.empty
    pd.testing.assert_frame_equal(with_store_labels(_frame(), empty, date(2024, 1, 1)), _frame())

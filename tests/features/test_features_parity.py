"""One definition, two engines: the same features on DuckDB and on Spark (local mode).

Uses the hand-made fuel_tax pool (with its planted future and late records) so the comparison
covers the point-in-time cut, key normalisation, check characters, name resolution, peer
medians, the join report and labels, and the hand-made bids for the bid_rigging screens and
history (an in-memory source rather than Parquet files).
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pandas as pd
import pytest

from features import registry
from features.build import build_features

pytestmark = [pytest.mark.spark, pytest.mark.slow]

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)


def test_fuel_tax_equal_on_duckdb_and_spark(tmp_path):
    from fuel_world import AS_OF, _write

    root = _write(tmp_path, planted=True)
    duck = build_features("fuel_tax", AS_OF, root, engine="duckdb")
    spark = build_features("fuel_tax", AS_OF, root, engine="spark")
    assert len(duck.frame) == 3
    pd.testing.assert_frame_equal(duck.frame, spark.frame, check_dtype=False, rtol=1e-9)
    pd.testing.assert_frame_equal(duck.join_report, spark.join_report, check_dtype=False)
    assert duck.hash == spark.hash


def test_bid_rigging_equal_on_duckdb_and_spark():
    from bid_world import HISTORY, _bids

    frame = _bids(
        HISTORY
        + [
            ("t4", "C", 10, 1, 4),
            ("t4", "A", 11, 0, 4),
            ("t4", "B", 14, 0, 4),
            ("t4", "D", 20, 0, 4),
        ]
    )
    scenario = replace(
        registry.get("bid_rigging"), name="bid_rigging_toy", load=lambda root, ctx: {"bids": frame}
    )
    registry.register(scenario, replace=True)
    try:
        duck = build_features("bid_rigging_toy", None, engine="duckdb").frame
        spark = build_features("bid_rigging_toy", None, engine="spark").frame
    finally:
        registry.unregister("bid_rigging_toy")
    assert len(duck) == len(frame)
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, rtol=1e-9)

"""Hand-made bids for the bid_rigging features: a few tenders whose history, ranks and gaps can
be computed by hand. Shared by the feature tests and the DuckDB/Spark parity test."""

from __future__ import annotations

import pandas as pd

HISTORY = [
    # tender, bidder, value, won, time
    ("t1", "A", 100, 1, 1),
    ("t1", "B", 105, 0, 1),
    ("t2", "B", 100, 1, 2),
    ("t2", "C", 103, 0, 2),
    ("t2", "A", 104, 0, 2),
    ("t3", "A", 100, 1, 3),
    ("t3", "B", 102, 0, 3),
    ("t3b", "A", 90, 1, 3),
    ("t3b", "D", 99, 0, 3),  # same time as t3: not history for t3
]


def _bids(rows: list[tuple]) -> pd.DataFrame:
    """Hand-made bids: (tender, bidder, value, won, time)."""
    frame = pd.DataFrame(rows, columns=["tender", "bidder", "bid_value", "is_winner", "time"])
    nth = frame.groupby("tender").cumcount().astype(str)
    return pd.DataFrame(
        {
            "bid_id": "x:" + frame["tender"] + ":" + nth,
            "country": "x",
            "tender_id": "x:" + frame["tender"],
            "bidder_id": pd.Series("x:" + frame["bidder"], dtype="string"),
            "bid_value": frame["bid_value"].astype(float),
            "is_winner": frame["is_winner"].astype(float),
            "tender_date": pd.NaT,
            "tender_time": frame["time"].astype(float),
            "collusive": 0.0,
        }
    )

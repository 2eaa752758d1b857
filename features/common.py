"""Small Ibis building blocks the scenarios share: ratios, peer medians, month windows.

Each returns an expression, never data, so a scenario composed of them still runs on any
engine Ibis compiles to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import ibis.expr.types as ir

NAN = ibis.null("float64")


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den as float, NULL when the denominator is missing or not positive."""
    den = den.cast("float64")
    return ibis.ifelse(den > 0, num.cast("float64") / den, NAN)


def share(part: ir.NumericValue, whole: ir.NumericValue) -> ir.FloatingValue:
    """part / whole, NULL when whole is 0 or missing (a share of nothing is unknown)."""
    return ratio(part, whole)


def with_peer_ratio(table: ir.Table, column: str, by: str | Sequence[str], name: str) -> ir.Table:
    """Add ``name`` = value / median of the value over the peer group (NULL if median <= 0).

    The peer median is what makes a ratio meaningful: 80% of delivered litres declared is normal
    in a district where everyone is at 80% (meter and stock effects), odd where peers are at 99%.
    """
    peers = table.group_by(by).aggregate(_peer_median=table[column].median())
    keys = [by] if isinstance(by, str) else list(by)
    joined = table.left_join(peers, keys)
    joined = joined.drop(*[f"{k}_right" for k in keys if f"{k}_right" in joined.columns])
    return joined.mutate(**{name: ratio(joined[column], joined._peer_median)}).drop("_peer_median")


def month_index(d: ir.Value) -> ir.IntegerValue:
    """Months since year 0 of a date or timestamp: consecutive months differ by 1."""
    return d.year().cast("int64") * 12 + d.month().cast("int64")


def month_number(d: date) -> int:
    """The Python twin of ``month_index`` for a literal date."""
    return d.year * 12 + d.month


def last_complete_month(as_of: date, deadline_day: int = 15) -> int:
    """Month index of the last month whose filings were due by ``as_of``.

    A return for month m is due on ``deadline_day`` of month m+1; a month whose deadline has not
    passed cannot yet be compared with deliveries without mistaking "not due" for "not declared".
    """
    current = month_number(as_of)
    return current - 1 if as_of.day >= deadline_day else current - 2


def latest_per_key(table: ir.Table, key: str | Sequence[str], order: str) -> ir.Table:
    """One row per key: the latest by ``order`` (duplicated filings count once).

    Ties on ``order`` are broken on every other column, so the pick is deterministic and the
    same on every engine.
    """
    keys = [key] if isinstance(key, str) else list(key)
    rest = [c for c in table.columns if c not in keys and c != order]
    w = ibis.window(group_by=keys, order_by=[ibis.desc(order), *rest])
    return table.mutate(_rn=ibis.row_number().over(w)).filter(lambda t: t._rn == 0).drop("_rn")

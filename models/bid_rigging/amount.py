"""``bid_rigging``'s amount at stake: the tender's value times a declared overcharge rate.

The tender's value is its winning bid (the lowest bid where the file marks no winner): what the
buyer paid. A cartel's overcharge is the share of that price above the competitive one;
``OVERCHARGE`` is declared at 10%, the low end of what studies of detected procurement cartels
report (overcharges of roughly 10-30%), so the estimate errs low. Every bid of a tender carries
the tender's amount, in the country file's currency.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.spec import BuildContext

RATES: dict[str, float] = {"overcharge": 0.10}


def tender_overcharge(
    sources: Mapping[str, ir.Table], ctx: BuildContext, rates: Mapping[str, float]
) -> ir.Table:
    """Per bid: its tender's winning (else lowest) bid times the overcharge rate."""
    bids = sources["bids"]
    won = ibis.ifelse(bids.is_winner == 1.0, bids.bid_value, ibis.null("float64"))
    tenders = bids.group_by("tender_id").aggregate(won=won.max(), lowest=bids.bid_value.min())
    j = bids.select("bid_id", "tender_id").join(tenders, "tender_id")
    value = ibis.coalesce(j.won, j.lowest)
    return j.select(entity_id=j.bid_id, amount=(value * rates["overcharge"]).round(0))

"""``bid_rigging``'s evidence view, what fits a bid: the bidder's bids over time (dated tenders
only), its wins apart, and this tender's bids, so rotation and cover bidding show."""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.evidence import EvidenceView, Series, series_rows
from features.spec import BuildContext


def bidder_history(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """Per bid: every dated bid of its bidder (and its wins), and the bids of its tender."""
    bids = sources["bids"]
    me = bids.select("bid_id", "bidder_id", "tender_id")
    past = bids.select(
        p_bidder="bidder_id", p_date="tender_date", p_value="bid_value", p_won="is_winner"
    )
    h = me.join(past, me.bidder_id == past.p_bidder)
    same = bids.select(t_id="tender_id", t_date="tender_date", t_value="bid_value")
    t = me.join(same, me.tender_id == same.t_id)
    won = h.filter(h.p_won == 1.0)
    return ibis.union(
        series_rows(h, h.bid_id, h.p_date, "bid", h.p_value),
        series_rows(won, won.bid_id, won.p_date, "won", won.p_value),
        series_rows(t, t.bid_id, t.t_date, "tender_bids", t.t_value),
    )


EVIDENCE = EvidenceView(
    build=bidder_history,
    kind="events",
    series=(
        Series("bid", {"zh": "该投标人的历次报价", "en": "the bidder's bids"}, "local currency"),
        Series("won", {"zh": "其中中标", "en": "of which won"}, "local currency"),
        Series(
            "tender_bids",
            {"zh": "本次招标的全部报价", "en": "all bids of this tender"},
            "local currency",
        ),
    ),
    peers={
        "cv": {"zh": "报价离散系数", "en": "coefficient of variation of the bids"},
        "diffp": {"zh": "最低两价差距", "en": "gap between the two lowest bids"},
    },
    texts={"zh": "投标人历次报价与本次招标", "en": "The bidder's bids over time and this tender"},
)

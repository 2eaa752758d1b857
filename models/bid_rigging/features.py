"""``bid_rigging``: per-bid features from real tenders (García Rodríguez et al. 2022).

Entity: one bid (tender + bidder). Two families of signals:

* **Screens** (Imhof, Huber): the shape of the bid distribution inside the tender. Collusive
  tenders show bids bunched together (low CV, low spread), a wide gap between the designated
  winner and a cover bid (high DIFFP, high RD), and unusual symmetry. Definitions reproduce the
  authors' columns, including their choices: RD divides by the sample standard deviation of all
  bids except the highest one, DIFFP uses the second-lowest *distinct* bid value, skewness and
  kurtosis are the bias-corrected sample statistics, KSTEST is the Kolmogorov-Smirnov distance
  to a uniform distribution between the lowest and highest bid.
* **History** of the bidder, using only tenders dated strictly before this one: how often it
  bid and won, how many partners it met, and whether wins rotate within the recurring group of
  today's bidders (bid rotation is the classic cartel scheme).

Undefined screens (too few bids, all bids equal) are NaN, never 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.spec import BuildContext, FeatureSpec, KeyJoin, ScenarioFeatures, feature_maker
from models.bid_rigging.procurement import BIDS

SCREEN_COLUMNS = ("n_bids", "cv", "spd", "diffp", "rd", "kurt", "skew", "kstest")


# Every feature is compared within its country file for the detector (``relative_to``): bid
# levels and tender sizes differ by orders of magnitude between countries (see
# benchmarks.bid_rigging_eval and the README for the measured effect).
_f = feature_maker("bid", relative_to="district")


FEATURE_LIST: tuple[FeatureSpec, ...] = (
    _f(
        "n_bids",
        "number of bids in the tender",
        "bids",
        "{value:n} bids in the tender; country median {peer:n}",
        "low",
        zh="该项目仅有{value:n}家投标；本国中位数{peer:n}家",
        missing=("无投标数", "the number of bids is not recorded"),
    ),
    _f(
        "cv",
        "coefficient of variation of the tender's bids (CV)",
        "ratio",
        "bids vary by only {value:.1%} (CV); country median {peer:.1%}",
        "low",
        zh="各家报价的变异系数仅{value:pct}；本国中位数{peer:pct}",
        missing=("报价不足两家，无法计算离散程度", "fewer than two bids: no spread to measure"),
    ),
    _f(
        "spd",
        "spread: (highest - lowest) / lowest bid (SPD)",
        "ratio",
        "highest bid is only {value:.1%} above the lowest; country median {peer:.1%}",
        "low",
        zh="最高报价仅比最低报价高{value:pct}；本国中位数{peer:pct}",
        missing=("报价不足两家，无法计算离散程度", "fewer than two bids: no spread to measure"),
    ),
    _f(
        "diffp",
        "gap between the two lowest distinct bids, relative to the lowest (DIFFP)",
        "ratio",
        "second-lowest bid is {value:.1%} above the winner; country median {peer:.1%}",
        zh="第二低报价比最低报价高{value:pct}；本国中位数{peer:pct}",
        missing=("报价不足两个不同金额", "fewer than two distinct bids"),
    ),
    _f(
        "rd",
        "relative distance: gap of the two lowest bids / std of all but the highest (RD)",
        "ratio",
        "winner stands {value:.2f} standard deviations below the rest; country median {peer:.2f}",
        zh="最低报价低于其余报价{value:.2f}个标准差；本国中位数{peer:.2f}",
        missing=("报价太少，无法计算相对距离", "too few bids to measure the relative distance"),
    ),
    _f(
        "kurt",
        "kurtosis of the tender's bids (KURT, bias-corrected)",
        "ratio",
        "bid kurtosis {value:.2f}; country median {peer:.2f}",
        "both",
        zh="报价峰度{value:.2f}；本国中位数{peer:.2f}",
        missing=("报价少于四家，无法计算峰度", "fewer than four bids: no kurtosis"),
    ),
    _f(
        "skew",
        "skewness of the tender's bids (SKEW, bias-corrected)",
        "ratio",
        "bid skewness {value:.2f}; country median {peer:.2f}",
        "both",
        zh="报价偏度{value:.2f}；本国中位数{peer:.2f}",
        missing=("报价少于三家，无法计算偏度", "fewer than three bids: no skewness"),
    ),
    _f(
        "kstest",
        "Kolmogorov-Smirnov distance of the bids to a uniform spread (KSTEST)",
        "ratio",
        "bids depart from an even spread by {value:.2f} (KS); country median {peer:.2f}",
        zh="报价偏离均匀分布的KS距离为{value:.2f}；本国中位数{peer:.2f}",
        missing=("报价太少，无法与均匀分布比对", "too few bids to compare with an even spread"),
    ),
    _f(
        "bid_above_lowest",
        "this bid relative to the tender's lowest bid, minus 1",
        "ratio",
        "bid is {value:.1%} above the lowest; country median {peer:.1%}",
        "both",
        zh="该报价比最低报价高{value:pct}；本国中位数{peer:pct}",
        missing=("该报价无金额", "the bid has no value"),
    ),
    _f(
        "tied_share",
        "share of the other bids in the tender with exactly this value",
        "share",
        "{value:.0%} of the other bids are identical to this one; country median {peer:.0%}",
        zh="同一项目中{value:pct}的其他报价与本报价完全相同；本国中位数{peer:pct}",
        missing=("项目中没有其他报价", "no other bids in the tender"),
    ),
    _f(
        "past_tenders",
        "tenders this bidder entered before this one",
        "tenders",
        "bidder entered {value:n} earlier tenders; country median {peer:n}",
        "both",
        zh="该投标人此前参加过{value:n}次招标；本国中位数{peer:n}次",
        missing=("无该投标人此前的投标记录", "no earlier tender of this bidder on record"),
    ),
    _f(
        "past_win_rate",
        "share of this bidder's earlier tenders that it won",
        "share",
        "bidder won {value:.0%} of its earlier tenders; country median {peer:.0%}",
        "both",
        zh="该投标人此前中标率{value:pct}；本国中位数{peer:pct}",
        missing=("无该投标人此前的投标记录", "no earlier tender of this bidder on record"),
    ),
    _f(
        "past_partners",
        "distinct companies this bidder met in earlier tenders",
        "companies",
        "bidder met {value:n} distinct rivals before; country median {peer:n}",
        "low",
        zh="该投标人此前只遇到过{value:n}家不同的竞争对手；本国中位数{peer:n}家",
        missing=("无该投标人此前的投标记录", "no earlier tender of this bidder on record"),
    ),
    _f(
        "group_meetings",
        "earlier tenders where this bidder met at least one of today's rivals",
        "tenders",
        "bidder met today's rivals in {value:n} earlier tenders; country median {peer:n}",
        zh="该投标人此前已在{value:n}次招标中与本次对手相遇；本国中位数{peer:n}次",
        missing=("此前未与本次对手相遇", "the bidder never met today's rivals before"),
    ),
    _f(
        "group_win_share",
        "share of those earlier meetings won by one of today's bidders",
        "share",
        "{value:.0%} of earlier meetings were won inside today's group; country median {peer:.0%}",
        zh="此前这些相遇中{value:pct}由本次投标人之一中标；本国中位数{peer:pct}",
        missing=("此前未与本次对手相遇", "the bidder never met today's rivals before"),
    ),
    _f(
        "rotation_index",
        "distinct winners among today's bidders in those meetings / bidders",
        "share",
        "wins rotated among {value:.0%} of today's bidders; country median {peer:.0%}",
        zh="此前中标在本次{value:pct}的投标人之间轮换；本国中位数{peer:pct}",
        missing=("此前未与本次对手相遇", "the bidder never met today's rivals before"),
    ),
)


def tender_stats(bids: ir.Table) -> ir.Table:
    """Per tender: count, mean, sample std, lowest, highest and second-lowest distinct bid."""
    b = bids.select("tender_id", "bid_value")
    stats = b.group_by("tender_id").aggregate(
        n_bids=b.count(),
        mean=b.bid_value.mean(),
        sd=b.bid_value.std(how="sample"),
        lo=b.bid_value.min(),
        hi=b.bid_value.max(),
    )
    j = b.join(stats, "tender_id")
    second = (
        j.filter(j.bid_value > j.lo)
        .group_by("tender_id")
        .aggregate(second=lambda t: t.bid_value.min())
    )
    return stats.left_join(second, "tender_id").drop("tender_id_right")


def tender_shape(bids: ir.Table, stats: ir.Table) -> ir.Table:
    """Per tender: central moments, std of all bids but the highest, and the KS distance."""
    b = bids.select("tender_id", "bid_value")
    j = b.join(stats.select("tender_id", "n_bids", "mean", "lo", "hi"), "tender_id")
    dev = j.bid_value - j["mean"]
    down = ibis.window(group_by="tender_id", order_by=ibis.desc("bid_value"))
    up = ibis.window(group_by="tender_id", order_by="bid_value")
    ranked = j.mutate(dev=dev, rn_desc=ibis.row_number().over(down), rn=ibis.row_number().over(up))
    width = ranked.hi - ranked.lo
    cdf = ibis.ifelse(width > 0, (ranked.bid_value - ranked.lo) / width, ibis.null("float64"))
    n = ranked.n_bids.cast("float64")
    ranked = ranked.mutate(
        d_plus=(ranked.rn + 1).cast("float64") / n - cdf,
        d_minus=cdf - ranked.rn.cast("float64") / n,
        low_value=ibis.ifelse(ranked.rn_desc > 0, ranked.bid_value, ibis.null("float64")),
    )
    return ranked.group_by("tender_id").aggregate(
        m2=(ranked.dev**2).mean(),
        m3=(ranked.dev**3).mean(),
        m4=(ranked.dev**4).mean(),
        sd_low=ranked.low_value.std(how="sample"),
        kstest=ibis.greatest(ranked.d_plus.max(), ranked.d_minus.max()),
    )


def tender_screens(bids: ir.Table) -> ir.Table:
    """Per tender: the seven screens plus the number of bids (NaN where undefined)."""
    stats = tender_stats(bids)
    shape = tender_shape(bids, stats)
    t = stats.join(shape, "tender_id")
    n = t.n_bids.cast("float64")
    spread = t.hi > t.lo
    nan = ibis.null("float64")
    g2 = t.m4 / (t.m2**2) - 3.0
    return t.select(
        "tender_id",
        "n_bids",
        "lo",
        cv=ibis.ifelse(n > 1, t.sd / t["mean"], nan),
        spd=(t.hi - t.lo) / t.lo,
        diffp=ibis.ifelse(spread, (t.second - t.lo) / t.lo, nan),
        rd=ibis.ifelse((n > 2) & (t.sd_low > 0), (t.second - t.lo) / t.sd_low, nan),
        kurt=ibis.ifelse(
            (n > 3) & spread, ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0)), nan
        ),
        skew=ibis.ifelse(
            (n > 2) & spread, (n * (n - 1.0)).sqrt() / (n - 2.0) * t.m3 / t.m2**1.5, nan
        ),
        kstest=ibis.ifelse(spread, t.kstest, nan),
    )


def bid_position(bids: ir.Table, screens: ir.Table) -> ir.Table:
    """Per bid: distance above the lowest bid and share of other bids with the same value."""
    same = bids.group_by(["tender_id", "bid_value"]).aggregate(n_same=lambda t: t.count())
    j = bids.select("bid_id", "tender_id", "bid_value").join(
        screens.select("tender_id", "n_bids", "lo"), "tender_id"
    )
    j = j.join(same, ["tender_id", "bid_value"])
    others = (j.n_bids - 1).cast("float64")
    return j.select(
        "bid_id",
        bid_above_lowest=j.bid_value / j.lo - 1.0,
        tied_share=ibis.ifelse(
            others > 0, (j.n_same - 1).cast("float64") / others, ibis.null("float64")
        ),
    )


def _dated_bidders(bids: ir.Table) -> ir.Table:
    """Bids usable for history: a known bidder and a known tender time (one row per pair)."""
    usable = bids.filter(bids.bidder_id.notnull() & bids.tender_time.notnull())
    return usable.group_by(["country", "tender_id", "bidder_id", "tender_time"]).aggregate(
        won=lambda t: t.is_winner.max()
    )


def bidder_history(bids: ir.Table) -> ir.Table:
    """Per (tender, bidder): past tenders, past win rate and distinct past partners.

    "Past" is strictly earlier ``tender_time`` within the same country: same-day (or, for
    year-dated files, same-year) tenders are not history, so nothing can leak from them.
    """
    cur = _dated_bidders(bids)
    past = cur.select(
        p_country="country",
        p_tender="tender_id",
        p_bidder="bidder_id",
        p_time="tender_time",
        p_won="won",
    )
    hist = cur.join(
        past,
        [
            cur.country == past.p_country,
            cur.bidder_id == past.p_bidder,
            past.p_time < cur.tender_time,
        ],
    )
    wins = hist.group_by(["tender_id", "bidder_id"]).aggregate(
        past_tenders=hist.p_tender.nunique(), past_wins=hist.p_won.sum()
    )
    pairs = _pairs(cur)
    q = pairs.select(q_tender="tender_id", q_a="a", q_b="b", q_time="time")
    met = pairs.join(q, [pairs.a == q.q_a, q.q_time < pairs.time])
    partners = met.group_by(["tender_id", "a"]).aggregate(past_partners=met.q_b.nunique())
    out = cur.select("tender_id", "bidder_id").left_join(wins, ["tender_id", "bidder_id"])
    out = out.drop("tender_id_right", "bidder_id_right")
    out = out.left_join(
        partners, [out.tender_id == partners.tender_id, out.bidder_id == partners.a]
    ).drop("tender_id_right", "a")
    pt = out.past_tenders.fill_null(0)
    return out.select(
        "tender_id",
        "bidder_id",
        past_tenders=pt.cast("float64"),
        past_win_rate=ibis.ifelse(
            pt > 0, out.past_wins.cast("float64") / pt.cast("float64"), ibis.null("float64")
        ),
        past_partners=out.past_partners.fill_null(0).cast("float64"),
    )


def _pairs(cur: ir.Table) -> ir.Table:
    """Ordered pairs (a, b) of distinct bidders in the same tender, with its time."""
    other = cur.select(o_tender="tender_id", o_bidder="bidder_id")
    p = cur.join(other, [cur.tender_id == other.o_tender, cur.bidder_id != other.o_bidder])
    return p.select("tender_id", "country", a="bidder_id", b="o_bidder", time="tender_time")


def group_rotation(bids: ir.Table) -> ir.Table:
    """Per (tender, bidder): earlier meetings with today's rivals and who won them.

    A meeting is an earlier tender (same country, strictly earlier time) where this bidder and
    at least one of today's rivals both bid. Cartels that rotate wins show many meetings, most
    won inside the group, by many different members.
    """
    cur = _dated_bidders(bids)
    pairs = _pairs(cur)
    past = pairs.select(q_tender="tender_id", q_a="a", q_b="b", q_time="time")
    m = pairs.join(past, [pairs.a == past.q_a, pairs.b == past.q_b, past.q_time < pairs.time])
    meetings = m.select("tender_id", "a", "q_tender").distinct()
    winners = cur.filter(cur.won > 0).select(w_tender="tender_id", w_bidder="bidder_id")
    group = cur.select(g_tender="tender_id", g_bidder="bidder_id")
    mw = meetings.left_join(winners, meetings.q_tender == winners.w_tender)
    mw = mw.left_join(group, [mw.tender_id == group.g_tender, mw.w_bidder == group.g_bidder])
    inside = mw.g_bidder.notnull()
    agg = mw.group_by(["tender_id", "a"]).aggregate(
        group_meetings=mw.q_tender.nunique(),
        group_wins=mw.q_tender.nunique(where=inside),
        group_winners=mw.w_bidder.nunique(where=inside),
    )
    size = cur.group_by("tender_id").aggregate(group_size=lambda t: t.bidder_id.nunique())
    out = cur.select("tender_id", "bidder_id").left_join(
        agg, [cur.tender_id == agg.tender_id, cur.bidder_id == agg.a]
    )
    out = out.drop("tender_id_right", "a").join(size, "tender_id")
    gm = out.group_meetings.fill_null(0).cast("float64")
    nan = ibis.null("float64")
    return out.select(
        "tender_id",
        "bidder_id",
        group_meetings=gm,
        group_win_share=ibis.ifelse(gm > 0, out.group_wins.cast("float64") / gm, nan),
        rotation_index=ibis.ifelse(
            gm > 0, out.group_winners.cast("float64") / out.group_size.cast("float64"), nan
        ),
    )


def build(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """One row per bid: screens of its tender, its position, and its bidder's history."""
    bids = sources["bids"]
    screens = tender_screens(bids)
    position = bid_position(bids, screens)
    history = bidder_history(bids).join(group_rotation(bids), ["tender_id", "bidder_id"])
    out = bids.select("bid_id", "tender_id", "bidder_id", "country").join(
        screens.drop("lo"), "tender_id"
    )
    out = out.join(position, "bid_id")
    out = out.left_join(
        history,
        [out.tender_id == history.tender_id, out.bidder_id == history.bidder_id],
    )
    columns = {name: out[name] for name in SCREEN_COLUMNS}
    columns["n_bids"] = out.n_bids.cast("float64")
    return out.select(
        entity_id=out.bid_id,
        district=out.country,
        **columns,
        bid_above_lowest=out.bid_above_lowest,
        tied_share=out.tied_share,
        **{
            name: out[name]
            for name in (
                "past_tenders",
                "past_win_rate",
                "past_partners",
                "group_meetings",
                "group_win_share",
                "rotation_index",
            )
        },
    )


def labels(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """The authority's finding per bid: ``Collusive_competitor`` (1 collusive, 0 not)."""
    bids = sources["bids"]
    return bids.select(entity_id=bids.bid_id, label=bids.collusive.cast("float64"))


FEATURES = ScenarioFeatures(
    name="bid_rigging",
    entity="bid (tender + bidder)",
    key_column="bid_id",
    sources=(BIDS,),
    features=FEATURE_LIST,
    build=build,
    joins=(KeyJoin("bids", "bid_id", "text"),),
    description=(
        "Collusion in public procurement: per-tender screens of the bid distribution and the "
        "bidder's history (only earlier tenders). District = country file."
    ),
    labels=labels,
    module=__name__,
)

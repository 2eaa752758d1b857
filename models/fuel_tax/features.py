"""``fuel_tax``: gas-station features from colliding tax filings with deliveries, invoices, traffic.

Entity: a gas station (registry row with nozzles), ``entity_id`` = its canonical credit code.
Everything is measured over the last 12 *complete* months before the as-of date: a month counts
once its return was due (15th of the next month), so "not yet due" is never read as "not
declared". Ratios are taken over the months the station filed, so a missing return shows in
``missing_filing_months`` and not as under-declaration. Amended or duplicated returns count
once (the latest filed by the as-of date).
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.common import NAN, last_complete_month, month_index, ratio, with_peer_ratio
from features.resolve import resolve
from features.spec import BuildContext, FeatureSpec, KeyJoin, ScenarioFeatures, feature_maker
from models.fuel_tax.sources import SOURCES
from pool.schemas import history_source

SCENARIO = "fuel_tax"
WINDOW_MONTHS = 12
GASOLINE_TAX, DIESEL_TAX = 1.52, 1.20  # consumption tax, yuan per litre
OIL_PREFIXES = ("*汽油*", "*柴油*")
UNDER_DECLARED = 0.8  # a month declares under 80% of delivered litres
SUSPICIOUS_VS_DISTRICT = 0.85  # a station below 85% of its district's median ratio


_f = feature_maker("gas station", peer=None)


FEATURE_LIST: tuple[FeatureSpec, ...] = (
    _f(
        "declared_to_delivered",
        "declared sales litres / litres delivered by tanker (waybills)",
        "ratio",
        "declared sales are {value:.0%} of litres delivered; district median {peer:.0%}",
        "low",
        "district",
        zh="申报销量仅为油罐车运单送达量的{value:pct}；本区中位数{peer:pct}",
        missing=(
            "期内无油罐车运单记录，无法比对申报销量",
            "no tanker waybills in the window to compare declared sales with",
        ),
    ),
    _f(
        "declared_to_delivered_vs_district",
        "declared/delivered ratio over its district median",
        "ratio",
        "declared/delivered ratio is {value:.0%} of the district median",
        "low",
        "district",
        zh="申报/送达比仅为本区中位数的{value:pct}",
        missing=(
            "期内无油罐车运单记录，无法比对申报销量",
            "no tanker waybills in the window to compare declared sales with",
        ),
    ),
    _f(
        "months_under_declared",
        "share of filed months declaring under 80% of deliveries",
        "share",
        "{value:.0%} of months declared under 80% of deliveries; district median {peer:.0%}",
        "high",
        "district",
        zh="{value:pct}的已申报月份申报量低于送达量的80%；本区中位数{peer:pct}",
        missing=("期内没有已申报的月份", "no month filed in the window"),
    ),
    _f(
        "declared_to_invoiced",
        "declared sales litres / litres bought on oil-named invoices",
        "ratio",
        "declared sales are {value:.0%} of fuel bought on invoices; district median {peer:.0%}",
        "low",
        "district",
        zh="申报销量仅为油品发票购进量的{value:pct}；本区中位数{peer:pct}",
        missing=(
            "期内无油品名目的进货发票，无法比对申报销量",
            "no fuel-named purchase invoices in the window to compare declared sales with",
        ),
    ),
    _f(
        "invoiced_to_delivered",
        "litres on purchase invoices / litres delivered (waybills)",
        "ratio",
        "only {value:.0%} of delivered litres are invoiced (off-book purchases?); "
        "district median {peer:.0%}",
        "low",
        "district",
        zh="送达油量中只有{value:pct}开具了进货发票（疑似账外进货）；本区中位数{peer:pct}",
        missing=(
            "期内无油罐车运单记录，无法核对进货发票",
            "no tanker waybills in the window to check the invoices against",
        ),
    ),
    _f(
        "nonoil_invoice_share",
        "share of invoiced litres under a non-oil product name",
        "share",
        "{value:.0%} of purchased litres invoiced as chemicals, not fuel; district "
        "median {peer:.0%}",
        "high",
        "district",
        zh="购进油量中有{value:pct}以非油品名目（如化工产品）开票；本区中位数{peer:pct}",
        missing=("期内无进货发票", "no purchase invoices in the window"),
    ),
    _f(
        "consumption_tax_to_declared",
        "consumption tax paid / tax due on declared litres",
        "ratio",
        "consumption tax paid is {value:.0%} of what declared litres owe; district "
        "median {peer:.0%}",
        "low",
        "district",
        zh="已缴消费税仅为申报销量应纳税额的{value:pct}；本区中位数{peer:pct}",
        missing=(
            "无申报销量，无法计算应纳消费税",
            "no declared litres to compute the consumption tax due on",
        ),
    ),
    _f(
        "consumption_tax_to_delivered",
        "consumption tax paid / tax due on delivered litres",
        "ratio",
        "consumption tax paid is {value:.0%} of what delivered litres owe; district "
        "median {peer:.0%}",
        "low",
        "district",
        zh="已缴消费税仅为送达油量应纳税额的{value:pct}；本区中位数{peer:pct}",
        missing=(
            "无送达记录，无法计算应纳消费税",
            "no deliveries on record to compute the consumption tax due on",
        ),
    ),
    _f(
        "declared_per_vehicle",
        "declared litres per vehicle counted entering (cameras)",
        "litre/vehicle",
        "{value:n} litres declared per vehicle entering; district median {peer:n}",
        "low",
        "district",
        zh="进站每辆车仅申报{value:n}升；本区中位数{peer:n}升",
        missing=(
            "期内无交通卡口进站车辆记录",
            "no traffic-camera counts of the station in the window",
        ),
    ),
    _f(
        "declared_per_vehicle_vs_district",
        "litres per vehicle over its district median",
        "ratio",
        "litres declared per vehicle are {value:.0%} of the district median",
        "low",
        "district",
        zh="每车申报升数仅为本区中位数的{value:pct}",
        missing=(
            "期内无交通卡口进站车辆记录",
            "no traffic-camera counts of the station in the window",
        ),
    ),
    _f(
        "throughput_vs_size_class",
        "declared litres per nozzle-month over its size-class median",
        "ratio",
        "declares {value:.0%} of the typical sales of a station its size",
        "low",
        "size class",
        zh="申报销量仅为同规模加油站通常水平的{value:pct}",
        missing=(
            "无申报销量，无法与同规模加油站比对",
            "no declared sales to compare with stations of its size",
        ),
    ),
    _f(
        "supplier_suspicious_share",
        "share of the main supplier's other stations that under-declare against their district",
        "share",
        "{value:.0%} of its main supplier's "
        "other stations under-declare; district median {peer:.0%}",
        "high",
        "district",
        zh="其主要供应商供货的其他加油站中有{value:pct}申报偏低；本区中位数{peer:pct}",
        missing=(
            "无进货发票，无法确定主要供应商",
            "no purchase invoices to tell its main supplier",
        ),
    ),
    _f(
        "missing_filing_months",
        "months in the window with no return filed by the as-of date",
        "months",
        "{value:n} monthly returns missing; district median {peer:n}",
        "high",
        "district",
        zh="{value:n}个月未申报纳税；本区中位数{peer:n}个月",
        missing=("申报期间不明", "the filing window is not known"),
    ),
    _f(
        "late_filing_share",
        "share of filed returns that arrived after the deadline",
        "share",
        "{value:.0%} of returns filed late; district median {peer:.0%}",
        "high",
        "district",
        zh="{value:pct}的纳税申报逾期提交；本区中位数{peer:pct}",
        missing=("期内没有已申报的月份", "no month filed in the window"),
    ),
    _f(
        "nozzles",
        "fuel nozzles registered (size)",
        "count",
        "{value:n} nozzles; district median {peer:n}",
        "both",
        "district",
        zh="登记加油枪{value:n}支；本区中位数{peer:n}支",
        missing=("企业登记中未载明加油枪数", "the registry records no nozzle count"),
    ),
)


def _window(ctx: BuildContext, filings: ir.Table) -> tuple[ir.IntegerValue, ir.IntegerValue]:
    """(first, last) month index of the 12 complete months before the as-of date."""
    if ctx.as_of is None:
        last = month_index(filings.period.max())
    else:
        last = ibis.literal(last_complete_month(ctx.as_of))
    return last - (WINDOW_MONTHS - 1), last


def stations(registry: ir.Table) -> ir.Table:
    """Gas stations (registry rows with nozzles): code, name, district, size."""
    r = registry.filter(registry.nozzles.notnull())
    return r.select(
        entity_id=r.credit_code,
        name=r.name,
        district=r.district,
        nozzles=r.nozzles.cast("float64"),
        opened_m=month_index(r.opened_on),
    )


def monthly_filings(
    filings: ir.Table, st: ir.Table, first: ir.IntegerValue, last: ir.IntegerValue
) -> ir.Table:
    """Per station and month: the latest return filed (duplicates and amendments count once)."""
    f = resolve(
        filings,
        st,
        key="entity_id",
        name="name",
        code_column="taxpayer_code",
        name_column="taxpayer_name",
        out="station",
    )
    f = f.filter(f.station.notnull()).mutate(m=month_index(f.period))
    f = f.filter((f.m >= first) & (f.m <= last))
    deadline = f.period + ibis.interval(months=1) + ibis.interval(days=14)
    f = f.mutate(late=(f.filed_on > deadline).cast("int64"))
    latest = f.group_by(["station", "m"]).aggregate(
        last_filed=f.filed_on.max(), first_late=f.late.min()
    )
    j = f.join(
        latest, [f.station == latest.station, f.m == latest.m, f.filed_on == latest.last_filed]
    )
    return j.group_by(["station", "m"]).aggregate(
        gas=j.declared_gasoline_litres.mean(),
        diesel=j.declared_diesel_litres.mean(),
        ctax=j.consumption_tax_yuan.mean(),
        revenue=j.fuel_revenue_yuan.mean(),
        late=j.first_late.max(),
    )


def monthly_deliveries(
    waybills: ir.Table, st: ir.Table, first: ir.IntegerValue, last: ir.IntegerValue
) -> ir.Table:
    """Per station and month: litres delivered by tanker, gasoline and diesel apart."""
    w = resolve(
        waybills, st, key="entity_id", name="name", name_column="consignee_name", out="station"
    )
    w = w.filter(w.station.notnull()).mutate(m=month_index(w.shipped_at))
    w = w.filter((w.m >= first) & (w.m <= last))
    gas = ibis.ifelse(w["product"] == "汽油", w.litres, 0.0)
    return w.group_by(["station", "m"]).aggregate(
        delivered=w.litres.sum(), delivered_gas=gas.sum(), delivered_diesel=(w.litres - gas).sum()
    )


def monthly_invoices(
    invoices: ir.Table, st: ir.Table, first: ir.IntegerValue, last: ir.IntegerValue
) -> ir.Table:
    """Per station and month of issue: litres invoiced under oil names and under other names."""
    i = resolve(
        invoices,
        st,
        key="entity_id",
        name="name",
        code_column="buyer_code",
        name_column="buyer_name",
        out="station",
    )
    i = i.filter(i.station.notnull()).mutate(m=month_index(i.issued_on))
    i = i.filter((i.m >= first) & (i.m <= last))
    oil = i.product_name.startswith(OIL_PREFIXES[0]) | i.product_name.startswith(OIL_PREFIXES[1])
    return i.group_by(["station", "m"]).aggregate(
        inv_oil=ibis.ifelse(oil, i.quantity_litres, 0.0).sum(),
        inv_other=ibis.ifelse(oil, 0.0, i.quantity_litres).sum(),
    )


def monthly_traffic(
    cameras: ir.Table, st: ir.Table, first: ir.IntegerValue, last: ir.IntegerValue
) -> ir.Table:
    """Per station and month: vehicles counted entering."""
    c = resolve(cameras, st, key="entity_id", name="name", name_column="site_name", out="station")
    c = c.filter(c.station.notnull()).mutate(m=month_index(c.period))
    c = c.filter((c.m >= first) & (c.m <= last))
    return c.group_by(["station", "m"]).aggregate(vehicles=c.vehicles_entered.sum())


def filed_month_totals(fil: ir.Table, dlv: ir.Table, inv: ir.Table, cam: ir.Table) -> ir.Table:
    """Per station: sums over the months it filed, with the other agencies' same months."""
    j = fil.left_join(dlv, ["station", "m"]).drop("station_right", "m_right")
    j = j.left_join(inv, ["station", "m"]).drop("station_right", "m_right")
    j = j.left_join(cam, ["station", "m"]).drop("station_right", "m_right")
    declared = j.gas + j.diesel
    delivered = j.delivered.fill_null(0.0)
    under = ibis.ifelse(delivered > 0, (declared < UNDER_DECLARED * delivered).cast("float64"), NAN)
    has_cam = j.vehicles.notnull()
    return j.group_by("station").aggregate(
        filed_months=j.m.nunique(),
        late_months=j.late.sum(),
        declared=declared.sum(),
        declared_gas=j.gas.sum(),
        declared_diesel=j.diesel.sum(),
        ctax=j.ctax.sum(),
        delivered_f=delivered.sum(),
        delivered_gas_f=j.delivered_gas.fill_null(0.0).sum(),
        delivered_diesel_f=j.delivered_diesel.fill_null(0.0).sum(),
        inv_oil_f=j.inv_oil.fill_null(0.0).sum(),
        under_months=under.mean(),
        declared_cam=ibis.ifelse(has_cam, declared, 0.0).sum(),
        vehicles=j.vehicles.sum(),
    )


def window_totals(dlv: ir.Table, inv: ir.Table) -> ir.Table:
    """Per station: delivered and invoiced litres over every month of the window."""
    d = dlv.group_by("station").aggregate(delivered_all=dlv.delivered.sum())
    i = inv.group_by("station").aggregate(
        inv_oil_all=inv.inv_oil.sum(), inv_other_all=inv.inv_other.sum()
    )
    return d.outer_join(i, "station").select(
        station=ibis.coalesce(d.station, i.station),
        delivered_all=d.delivered_all,
        inv_oil_all=i.inv_oil_all,
        inv_other_all=i.inv_other_all,
    )


def station_ratios(
    st: ir.Table, tot: ir.Table, allm: ir.Table, first: ir.IntegerValue, last: ir.IntegerValue
) -> ir.Table:
    """One row per station: the ratios before peer comparison."""
    t = st.left_join(tot, st.entity_id == tot.station).drop("station")
    t = t.left_join(allm, t.entity_id == allm.station).drop("station")
    expected_months = (last - ibis.greatest(first, t.opened_m) + 1).clip(lower=0)
    invoiced_all = t.inv_oil_all.fill_null(0.0) + t.inv_other_all.fill_null(0.0)
    months = t.filed_months.fill_null(0)
    return t.select(
        "entity_id",
        "district",
        "nozzles",
        declared_to_delivered=ratio(t.declared, t.delivered_f),
        months_under_declared=t.under_months,
        declared_to_invoiced=ratio(t.declared, t.inv_oil_f),
        invoiced_to_delivered=ratio(invoiced_all, t.delivered_all),
        nonoil_invoice_share=ratio(t.inv_other_all.fill_null(0.0), invoiced_all),
        consumption_tax_to_declared=ratio(
            t.ctax, GASOLINE_TAX * t.declared_gas + DIESEL_TAX * t.declared_diesel
        ),
        consumption_tax_to_delivered=ratio(
            t.ctax, GASOLINE_TAX * t.delivered_gas_f + DIESEL_TAX * t.delivered_diesel_f
        ),
        declared_per_vehicle=ratio(t.declared_cam, t.vehicles),
        per_nozzle_month=ratio(t.declared, t.nozzles * months.cast("float64")),
        size_class=ibis.cases(
            (t.nozzles <= 4, 1), (t.nozzles <= 8, 2), (t.nozzles <= 12, 3), else_=4
        ),
        missing_filing_months=(expected_months - months).clip(lower=0).cast("float64"),
        late_filing_share=ratio(t.late_months, months),
    )


def supplier_share(
    waybills: ir.Table, st: ir.Table, peers: ir.Table, first: ir.IntegerValue, last: ir.IntegerValue
) -> ir.Table:
    """Per station: share of its main supplier's *other* stations that under-declare.

    The main supplier is the shipper that delivered it the most litres in the window; a station
    "under-declares" when its declared/delivered ratio is below 85% of its district median.
    Leaving the station itself out keeps its own ratio from feeding this feature.
    """
    w = resolve(
        waybills, st, key="entity_id", name="name", name_column="consignee_name", out="station"
    )
    w = w.filter(w.station.notnull() & w.shipper_name.notnull())
    w = w.mutate(m=month_index(w.shipped_at))
    w = w.filter((w.m >= first) & (w.m <= last))
    per = w.group_by(["station", "shipper_name"]).aggregate(litres=w.litres.sum())
    order = ibis.window(group_by="station", order_by=[ibis.desc("litres"), "shipper_name"])
    main = per.mutate(rk=ibis.row_number().over(order)).filter(lambda t: t.rk == 0)
    flag = peers.select(
        f_station="entity_id",
        sus=(peers.declared_to_delivered_vs_district < SUSPICIOUS_VS_DISTRICT).cast("int64"),
    )
    customers = per.join(flag, per.station == flag.f_station)
    tally = customers.group_by("shipper_name").aggregate(
        n=customers.station.nunique(), n_sus=customers.sus.sum()
    )
    j = main.join(tally, "shipper_name").join(flag, main.station == flag.f_station)
    others = j.n - 1
    return j.select(
        "station",
        supplier_suspicious_share=ibis.ifelse(
            others > 0, (j.n_sus - j.sus).cast("float64") / others.cast("float64"), NAN
        ),
    )


def build(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """One row per station with every declared feature."""
    first, last = _window(ctx, sources["tax_filings"])
    st = stations(sources["company_registry"])
    fil = monthly_filings(sources["tax_filings"], st, first, last)
    dlv = monthly_deliveries(sources["tanker_waybills"], st, first, last)
    inv = monthly_invoices(sources["purchase_invoices"], st, first, last)
    cam = monthly_traffic(sources["traffic_cameras"], st, first, last)
    base = station_ratios(
        st, filed_month_totals(fil, dlv, inv, cam), window_totals(dlv, inv), first, last
    )
    base = with_peer_ratio(
        base, "declared_to_delivered", "district", "declared_to_delivered_vs_district"
    )
    base = with_peer_ratio(
        base, "declared_per_vehicle", "district", "declared_per_vehicle_vs_district"
    )
    base = with_peer_ratio(base, "per_nozzle_month", "size_class", "throughput_vs_size_class")
    sup = supplier_share(sources["tanker_waybills"], st, base, first, last)
    out = base.left_join(sup, base.entity_id == sup.station)
    return out.select("entity_id", "district", *[f.name for f in FEATURE_LIST])


def _sources() -> tuple:
    return (*SOURCES, history_source(SCENARIO))


FEATURES = ScenarioFeatures(
    name=SCENARIO,
    entity="gas station (entity_id = canonical unified social credit code)",
    key_column="credit_code",
    sources=_sources(),
    features=FEATURE_LIST,
    build=build,
    joins=(
        KeyJoin("company_registry", "credit_code", "uscc"),
        KeyJoin("tax_filings", "taxpayer_code", "uscc", ("company_registry", "credit_code")),
        KeyJoin("tax_filings", "taxpayer_name", "name", ("company_registry", "name")),
        KeyJoin("purchase_invoices", "buyer_code", "uscc", ("company_registry", "credit_code")),
        KeyJoin("purchase_invoices", "buyer_name", "name", ("company_registry", "name")),
        KeyJoin("purchase_invoices", "seller_code", "uscc", ("company_registry", "credit_code")),
        KeyJoin("tanker_waybills", "consignee_name", "name", ("company_registry", "name")),
        KeyJoin("tanker_waybills", "shipper_name", "name", ("company_registry", "name")),
        KeyJoin("traffic_cameras", "site_name", "name", ("company_registry", "name")),
        KeyJoin("verification_history", "entity_id", "uscc", ("company_registry", "credit_code")),
    ),
    description=(
        "Refined-oil tax evasion: declared sales against tanker deliveries, purchase invoices "
        "and traffic; consumption tax against litres; non-oil product names; supplier networks."
    ),
    module=__name__,
)

__all__ = ["FEATURES", "build"]

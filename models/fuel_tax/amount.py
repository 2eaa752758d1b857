"""``fuel_tax``'s amount at stake: the tax on the litres a station delivered but did not declare.

Over the same 12 complete months as the features: per product, litres delivered by tanker
(waybills) minus litres declared (the latest return of each month), never below 0. The tax
those litres owe is the consumption tax per litre of the product plus VAT on their sale value,
priced at the station's own declared revenue per litre (stations that declared no litres: the
median of every station's price). Consumption tax declared litres owe but the returns did not
pay (fuel sold under a non-oil product name) is added. The rates are declared in ``RATES``
(DOMAIN.md: gasoline 1.52 yuan/L, diesel 1.20 yuan/L, VAT 13%).
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.spec import BuildContext
from models.fuel_tax.features import (
    DIESEL_TAX,
    GASOLINE_TAX,
    _window,
    monthly_deliveries,
    monthly_filings,
    stations,
)

RATES: dict[str, float] = {
    "gasoline_consumption_tax_per_litre": GASOLINE_TAX,
    "diesel_consumption_tax_per_litre": DIESEL_TAX,
    "vat": 0.13,
}


def undeclared_sales_tax(
    sources: Mapping[str, ir.Table], ctx: BuildContext, rates: Mapping[str, float]
) -> ir.Table:
    """Per station: consumption tax + VAT owed on undeclared litres, plus unpaid consumption tax."""
    first, last = _window(ctx, sources["tax_filings"])
    st = stations(sources["company_registry"])
    fil = monthly_filings(sources["tax_filings"], st, first, last)
    dlv = monthly_deliveries(sources["tanker_waybills"], st, first, last)
    f = fil.group_by("station").aggregate(
        gas=fil.gas.sum(), diesel=fil.diesel.sum(), ctax=fil.ctax.sum(), revenue=fil.revenue.sum()
    )
    d = dlv.group_by("station").aggregate(
        gas_in=dlv.delivered_gas.sum(), diesel_in=dlv.delivered_diesel.sum()
    )
    t = st.select("entity_id").left_join(f, st.entity_id == f.station).drop("station")
    t = t.left_join(d, t.entity_id == d.station).drop("station")
    gas, diesel = t.gas.fill_null(0.0), t.diesel.fill_null(0.0)
    declared = gas + diesel
    price = ibis.ifelse(declared > 0, t.revenue.fill_null(0.0) / declared, ibis.null("float64"))
    t = t.mutate(
        price=price,
        gas=gas,
        diesel=diesel,
        ctax=t.ctax.fill_null(0.0),
        gas_out=(t.gas_in.fill_null(0.0) - gas).clip(lower=0.0),
        diesel_out=(t.diesel_in.fill_null(0.0) - diesel).clip(lower=0.0),
    )
    median_price = t.price.median()
    t = t.mutate(price=ibis.coalesce(t.price, median_price.over(ibis.window())))
    g_tax, d_tax = (
        rates["gasoline_consumption_tax_per_litre"],
        rates["diesel_consumption_tax_per_litre"],
    )
    undeclared = (
        g_tax * t.gas_out
        + d_tax * t.diesel_out
        + rates["vat"] * t.price * (t.gas_out + t.diesel_out)
    )
    unpaid = (g_tax * t.gas + d_tax * t.diesel - t.ctax).clip(lower=0.0)
    return t.select("entity_id", amount=(undeclared + unpaid).round(0))

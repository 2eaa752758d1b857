"""``fuel_tax``'s evidence view: declared vs invoiced vs delivered litres per month, and the
vehicles the traffic cameras counted entering, from the same per-month collisions the features
use (``features.py``), over every month in the pool."""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.evidence import EvidenceView, Series
from features.spec import BuildContext
from models.fuel_tax.features import (
    monthly_deliveries,
    monthly_filings,
    monthly_invoices,
    monthly_traffic,
    stations,
)


def _month(m: ir.IntegerValue) -> ir.DateValue:
    """The first day of month index ``m`` (``features.common.month_index``)."""
    return ibis.date((m - 1) // 12, (m - 1) % 12 + 1, 1)


def _series(t: ir.Table, name: str, value: ir.NumericValue) -> ir.Table:
    return t.select(
        entity_id=t.station,
        period=_month(t.m),
        series=ibis.literal(name),
        value=value.cast("float64"),
    )


def litres_per_month(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """Per station and month: litres declared, invoiced, delivered; vehicles counted."""
    first, last = ibis.literal(0), ibis.literal(10**6)
    st = stations(sources["company_registry"])
    fil = monthly_filings(sources["tax_filings"], st, first, last)
    inv = monthly_invoices(sources["purchase_invoices"], st, first, last)
    dlv = monthly_deliveries(sources["tanker_waybills"], st, first, last)
    cam = monthly_traffic(sources["traffic_cameras"], st, first, last)
    return ibis.union(
        _series(fil, "declared", fil.gas + fil.diesel),
        _series(inv, "invoiced", inv.inv_oil + inv.inv_other),
        _series(dlv, "delivered", dlv.delivered),
        _series(cam, "vehicles", cam.vehicles),
    )


EVIDENCE = EvidenceView(
    build=litres_per_month,
    kind="monthly",
    series=(
        Series("declared", {"zh": "申报销售量（升）", "en": "declared sales (litres)"}, "litre"),
        Series(
            "invoiced", {"zh": "进项发票油量（升）", "en": "invoiced purchases (litres)"}, "litre"
        ),
        Series(
            "delivered",
            {"zh": "危化品运单运抵量（升）", "en": "delivered by tanker (litres)"},
            "litre",
        ),
        Series(
            "vehicles",
            {"zh": "摄像头计入车辆（辆）", "en": "vehicles counted (cameras)"},
            "vehicles",
            axis="right",
        ),
    ),
    peers={
        "declared_to_delivered": {"zh": "申报量/运抵量", "en": "declared / delivered"},
        "declared_per_vehicle": {"zh": "每车申报升数", "en": "declared litres per vehicle"},
    },
    texts={
        "zh": "每月申报、开票、运抵油量与进站车辆",
        "en": "Litres declared, invoiced and delivered, and vehicles counted, per month",
    },
)

"""A hand-built fuel_tax world: three stations, a depot and a year of each agency's rows,
spelled the ways agencies spell them (full-width names, broken check characters, renamed
products, an amended return), so feature values can be computed by hand. ``_world(planted=True)``
adds records a feature as of ``AS_OF`` must not see. Shared by the feature tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

from features import registry
from features.testing import broken_check, uscc, write_pool

AS_OF = date(2024, 3, 31)  # last complete month: Feb 2024 (its return was due 15 March)
MONTHS = pd.date_range("2023-03-01", "2024-02-01", freq="MS")  # the 12-month window
S1 = uscc("91110105MA0000001")
S2 = uscc("91110105MA0000002")
S3 = uscc("91110108MA0000003")
DEPOT = uscc("91110105MA0000009")
NAMES = {
    S1: "北京宏远燃料有限公司",
    S2: "北京安丰能源有限公司",
    S3: "北京捷京石油销售有限公司",
    DEPOT: "北京石化供应有限公司",
}
GAS, DIESEL = "*汽油*92号车用汽油(VIB)", "*柴油*0号车用柴油(VI)"
RENAMED = "*化工产品*复合柴油"


def _registry() -> list[dict]:
    rows = []
    for code, district, nozzles in (
        (S1, "Chaoyang", 4),
        (S2, "Chaoyang", 4),
        (S3, "Haidian", 8),
        (DEPOT, "Chaoyang", None),
    ):
        rows.append(
            {
                "credit_code": code,
                "name": NAMES[code],
                "district": district,
                "opened_on": pd.Timestamp("2015-01-01"),
                "nozzles": nozzles,
                "tanks": None if nozzles is None else 5,
                "tank_capacity_m3": None if nozzles is None else 150.0,
            }
        )
    return rows


def _filing(code, name, period, gas=0.0, diesel=0.0, filed=None, fid=None) -> dict:
    period = pd.Timestamp(period)
    filed = pd.Timestamp(filed) if filed else period + pd.DateOffset(months=1, days=9)
    return {
        "filing_id": fid or f"F{code[-4:]}{period:%Y%m}",
        "taxpayer_code": code,
        "taxpayer_name": name,
        "period": period,
        "declared_gasoline_litres": gas,
        "declared_diesel_litres": diesel,
        "consumption_tax_yuan": 1.52 * gas + 1.20 * diesel,
        "filed_on": filed,
    }


def _world(planted: bool = False) -> dict[str, list[dict]]:
    filings, invoices, waybills, cameras = [], [], [], []
    for m in MONTHS:
        filings.append(_filing(S1, NAMES[S1], m, gas=6000))
        if m != pd.Timestamp("2023-06-01"):  # S2 misses June 2023
            late = "2024-02-20" if m == pd.Timestamp("2024-01-01") else None
            filings.append(_filing(S2, NAMES[S2], m, gas=10000, filed=late))
        # S3 files under a code with a broken check character; its name still identifies it
        filings.append(_filing(S3, NAMES[S3], m, diesel=20000))
        day = m + pd.Timedelta(days=3)
        waybills += [
            # carriers spell names their own way: full-width, branch suffix, blanks
            {
                "waybill_no": f"W1{m:%y%m}",
                "shipper_name": NAMES[DEPOT],
                "consignee_name": "北京宏远燃料（有限公司）加油站",
                "product": "汽油",
                "litres": 10000.0,
                "consignee_district": "Chaoyang",
                "shipped_at": day,
            },
            {
                "waybill_no": f"W2{m:%y%m}",
                "shipper_name": NAMES[DEPOT],
                "consignee_name": " 北京安丰 能源有限公司",
                "product": "汽油",
                "litres": 10000.0,
                "consignee_district": "Chaoyang",
                "shipped_at": day,
            },
            {
                "waybill_no": f"W3{m:%y%m}",
                "shipper_name": "河北沧州储运有限公司",  # not registered
                "consignee_name": "北京捷京石油销售有限公司",
                "product": "柴油",
                "litres": 20000.0,
                "consignee_district": "Haidian",
                "shipped_at": day,
            },
        ]
        invoices += [
            _invoice(f"1{m:%y%m}", "91110105ma00-00001" + S1[-1], NAMES[S1], GAS, 10000, day),
            _invoice(f"2{m:%y%m}", S2, NAMES[S2], GAS, 8000, day),
            _invoice(f"3{m:%y%m}", S2, NAMES[S2], RENAMED, 2000, day),
            _invoice(f"4{m:%y%m}", broken_check(S3), NAMES[S3], DIESEL, 20000, day),
        ]
        cameras += [
            {"site_name": NAMES[S1], "district": "Chaoyang", "period": m, "vehicles_entered": 1000},
            {
                "site_name": NAMES[S2] + "加油站",
                "district": "Chaoyang",
                "period": m,
                "vehicles_entered": 2000,
            },
        ]
    # S2 amended December 2023: first return declared 5000, the amendment 10000 (latest counts)
    filings.append(_filing(S2, NAMES[S2], "2023-12-01", gas=5000, filed="2024-01-05", fid="A"))
    history = [
        _lead("L1", S1, "2023-12-01", "2024-02-01", "case_filed"),
        _lead("L2", S2, "2023-11-01", "2024-01-15", "no_case"),
        _lead("L3", S3, "2024-01-01", "2024-05-01", "case_filed"),  # verified after AS_OF
        _lead("L4", S3, "2023-05-01", "2023-08-01", "invalid"),
    ]
    if planted:
        _plant_future(filings, invoices, waybills, cameras, history)
    return {
        "company_registry": _registry(),
        "tax_filings": filings,
        "purchase_invoices": invoices,
        "tanker_waybills": waybills,
        "traffic_cameras": cameras,
        "verification_history": history,
    }


def _plant_future(filings, invoices, waybills, cameras, history) -> None:
    """Records a feature as of AS_OF must not see: dated later, or filed later."""
    # an amendment of S1's January return that reached the tax bureau after AS_OF
    filings.append(_filing(S1, NAMES[S1], "2024-01-01", gas=10000, filed="2024-04-10", fid="Z"))
    # S3's February return filed after AS_OF (would make its February count)
    # and a return for a month after AS_OF
    filings.append(_filing(S1, NAMES[S1], "2024-04-01", gas=1.0, filed="2024-05-10"))
    waybills.append(
        {
            "waybill_no": "WFUT",
            "shipper_name": NAMES[DEPOT],
            "consignee_name": NAMES[S2],
            "product": "汽油",
            "litres": 39000.0,
            "consignee_district": "Chaoyang",
            "shipped_at": pd.Timestamp("2024-04-02"),
        }
    )
    invoices.append(_invoice("FUT", S2, NAMES[S2], RENAMED, 99999, pd.Timestamp("2024-04-03")))
    cameras.append(
        {
            "site_name": NAMES[S1],
            "district": "Chaoyang",
            "period": pd.Timestamp("2024-04-01"),
            "vehicles_entered": 1,
        }
    )
    history.append(_lead("L9", S2, "2024-03-01", "2024-04-20", "case_filed"))
    history.append(_lead("L10", S1, "2024-06-01", "2024-07-01", "no_case"))


def _invoice(no, buyer, name, product, litres, day) -> dict:
    return {
        "invoice_no": f"{no:0>20}",
        "seller_code": DEPOT,
        "seller_name": NAMES[DEPOT],
        "buyer_code": buyer,
        "buyer_name": name,
        "product_name": product,
        "quantity_litres": float(litres),
        "unit_price_yuan": 7.0,
        "amount_yuan": 7.0 * litres,
        "vat_yuan": 0.91 * litres,
        "issued_on": day,
    }


def _lead(lead, code, flagged, verified, outcome) -> dict:
    return {
        "lead_id": lead,
        "entity_id": code,
        "district": "Chaoyang",
        "rule": "r",
        "flagged_on": pd.Timestamp(flagged),
        "verified_on": pd.Timestamp(verified),
        "outcome": outcome,
        "amount_recovered": 0.0,
    }


def _write(root, planted: bool = False):
    return write_pool(root, registry.get("fuel_tax").sources, _world(planted))

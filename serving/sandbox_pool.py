"""The sandbox's agency tables: a year of filings, invoices, waybills and camera counts for the
stations it issued leads on, consistent with their sandbox features (a station declaring 60% of
what it receives files 60% of the delivered litres), so a lead's evidence view and source
records have real rows behind them. Written as the pool writes them (``features.testing``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.testing import write_pool
from pool import discovery
from pool.schemas import history_source

MONTHS = pd.date_range("2024-07-01", "2025-06-01", freq="MS")
LITRES_PER_NOZZLE_MONTH = 9000.0
TANKER_LITRES = 38_000.0
DEPOT = "北京沙盒石化供应有限公司"
#: the product on the sandbox's invoices, spelled as the tax bureau's invoices spell it
PRODUCT = "*汽油*92号车用汽油(VIB)"


def station_rows(i: int, row: pd.Series, rng: np.random.Generator) -> dict[str, list[dict]]:
    """One station's registry row and twelve months of the other agencies' rows."""
    code, name = str(row["entity_id"]), f"北京沙盒{i:03d}加油站有限公司"
    out: dict[str, list[dict]] = {
        "company_registry": [
            {
                "credit_code": code,
                "name": name,
                "district": row["district"],
                "address": "北京",
                "business_scope": "成品油零售",
                "opened_on": pd.Timestamp("2015-01-01"),
                "registered_capital_yuan": 5e6,
                "nozzles": int(row["nozzles"]),
                "tanks": 4,
                "tank_capacity_m3": 120.0,
            }
        ],
        "tax_filings": [],
        "purchase_invoices": [],
        "tanker_waybills": [],
        "traffic_cameras": [],
    }
    for m, month in enumerate(MONTHS):
        delivered = float(row["nozzles"]) * LITRES_PER_NOZZLE_MONTH * rng.uniform(0.85, 1.15)
        declared = round(delivered * float(row["declared_share"]))
        invoiced = round(delivered * max(0.0, 1.0 - float(row["waybill_gap"])))
        out["tax_filings"].append(
            {
                "filing_id": f"F{i:04d}{m:02d}",
                "taxpayer_code": code,
                "taxpayer_name": name,
                "period": month,
                "declared_gasoline_litres": float(declared),
                "declared_diesel_litres": 0.0,
                "fuel_revenue_yuan": 7.5 * declared,
                "output_vat_yuan": 0.975 * declared,
                "input_vat_yuan": 0.85 * invoiced,
                "consumption_tax_yuan": 1.52 * declared,
                "filed_on": month + pd.DateOffset(months=1, days=9),
            }
        )
        out["purchase_invoices"].append(
            {
                "invoice_no": f"{i:06d}{m:06d}00000000",
                "seller_code": "",
                "seller_name": DEPOT,
                "buyer_code": code,
                "buyer_name": name,
                "product_name": PRODUCT,
                "quantity_litres": float(invoiced),
                "unit_price_yuan": 6.5,
                "amount_yuan": 6.5 * invoiced,
                "vat_yuan": 0.845 * invoiced,
                "issued_on": month + pd.Timedelta(days=2),
            }
        )
        loads = int(np.ceil(delivered / TANKER_LITRES))
        for n in range(loads):
            out["tanker_waybills"].append(
                {
                    "waybill_no": f"W{i:04d}{m:02d}{n:02d}",
                    "shipper_name": DEPOT,
                    "consignee_name": name,
                    "consignee_district": row["district"],
                    "product": "汽油",
                    "un_number": "UN1203",
                    "litres": round(delivered / loads),
                    "shipped_at": month + pd.Timedelta(days=1 + 7 * n),
                }
            )
        vehicles = int(
            declared / 40 * (row["traffic_ratio"] if np.isfinite(row["traffic_ratio"]) else 1.0)
        )
        out["traffic_cameras"].append(
            {
                "site_name": name,
                "district": row["district"],
                "period": month,
                "vehicles_entered": vehicles,
                "heavy_vehicles_entered": vehicles // 10,
            }
        )
    return out


def write_sandbox_pool(data_root: Path, stations: pd.DataFrame, seed: int) -> Path:
    """``data_root/pool/fuel_tax/*.parquet`` for ``stations`` (sandbox feature rows)."""
    rng = np.random.default_rng(seed)
    tables: dict[str, list[dict]] = {}
    for i, (_, row) in enumerate(stations.iterrows()):
        for name, rows in station_rows(i, row, rng).items():
            tables.setdefault(name, []).extend(rows)
    tables["verification_history"] = []
    return write_pool(
        data_root, (*discovery.pool_sources("fuel_tax"), history_source("fuel_tax")), tables
    )

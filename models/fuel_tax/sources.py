"""Declared sources of ``fuel_tax``: every agency table, column, unit and meaning, once.

These declarations drive the catalog, the Parquet types and the validation schemas.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from models.fuel_tax.invoices import PRODUCT_NAMES
from pool.spec import DISTRICTS, ColumnSpec, SourceSpec


class _Checks(TypedDict, total=False):
    """The declarative checks these columns carry (``pool.spec.ColumnSpec.checks``)."""

    min: float
    max: float
    isin: list[str]
    regex: str
    unique: bool


SCENARIO = "fuel_tax"
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"
_DISTRICT: _Checks = {"isin": list(DISTRICTS)}
_NONNEG: _Checks = {"min": 0}


def _c(
    name: str,
    dtype: str,
    meaning: str,
    unit: str = "",
    nullable: bool = False,
    **checks: Unpack[_Checks],
) -> ColumnSpec:
    return ColumnSpec(name, dtype, meaning, unit=unit, nullable=nullable, checks=dict(checks))


REGISTRY = SourceSpec(
    scenario=SCENARIO,
    agency="market regulation (company registry)",
    table="company_registry",
    description="Registered companies of the fuel trade: gas stations, supply depots and trading "
    "companies, with canonical credit codes and names.",
    keys=("credit_code",),
    date_column="opened_on",
    columns=(
        _c(
            "credit_code",
            "string",
            "unified social credit code (canonical, valid check character)",
            regex=USCC_PATTERN,
            unique=True,
        ),
        _c("name", "string", "registered company name (canonical spelling)", unique=True),
        _c("district", "string", "district of registration", isin=list(DISTRICTS)),
        _c("address", "string", "registered address"),
        _c("business_scope", "string", "licensed business (retail, wholesale, chemicals trade)"),
        _c("opened_on", "date", "date the business was established"),
        _c("registered_capital_yuan", "float64", "registered capital", unit="yuan", **_NONNEG),
        _c(
            "investor_code",
            "string",
            "credit code of the corporate investor (chains share one)",
            nullable=True,
        ),
        _c(
            "nozzles",
            "int64",
            "fuel nozzles (stations only)",
            unit="count",
            nullable=True,
            min=1,
            max=40,
        ),
        _c(
            "tanks",
            "int64",
            "underground tanks (stations only)",
            unit="count",
            nullable=True,
            min=1,
            max=20,
        ),
        _c(
            "tank_capacity_m3",
            "float64",
            "total tank capacity (stations only)",
            unit="m3",
            nullable=True,
            **_NONNEG,
        ),
    ),
)

FILINGS = SourceSpec(
    scenario=SCENARIO,
    agency="tax bureau (monthly VAT and consumption tax returns)",
    table="tax_filings",
    description="One return per station and month as filed; some months missing, some filed late "
    "and some filed twice (identical or amended). Codes and names as the tax bureau typed them.",
    keys=("taxpayer_code", "period"),
    date_column="period",
    filed_column="filed_on",
    columns=(
        _c(
            "filing_id",
            "string",
            "return number (repeated on a re-filing of the same return, identical or amended)",
        ),
        _c("taxpayer_code", "string", "taxpayer credit code as typed (may need normalising)"),
        _c("taxpayer_name", "string", "taxpayer name as typed by the tax bureau"),
        _c("period", "date", "first day of the month the return covers"),
        _c(
            "declared_gasoline_litres",
            "float64",
            "gasoline sales declared",
            unit="litre",
            **_NONNEG,
        ),
        _c("declared_diesel_litres", "float64", "diesel sales declared", unit="litre", **_NONNEG),
        _c("fuel_revenue_yuan", "float64", "fuel sales revenue excl. VAT", unit="yuan", **_NONNEG),
        _c(
            "other_revenue_yuan",
            "float64",
            "other goods revenue excl. VAT (shop, chemicals)",
            unit="yuan",
            **_NONNEG,
        ),
        _c("output_vat_yuan", "float64", "output VAT at 13% of revenue", unit="yuan", **_NONNEG),
        _c("input_vat_yuan", "float64", "input VAT of the month's purchase invoices", unit="yuan"),
        _c(
            "consumption_tax_yuan",
            "float64",
            "consumption tax (1.52 yuan/L gasoline, 1.20 diesel)",
            unit="yuan",
            **_NONNEG,
        ),
        _c(
            "filed_on",
            "date",
            "day the return reached the tax bureau (deadline: 15th of next month)",
        ),
    ),
)

INVOICES = SourceSpec(
    scenario=SCENARIO,
    agency="tax bureau (VAT e-invoice platform)",
    table="purchase_invoices",
    description="VAT invoices for fuel and other goods sold to stations. Red-letter (negative) "
    "invoices reverse earlier ones; buyer codes and names as the seller typed them.",
    keys=("invoice_no",),
    date_column="issued_on",
    columns=(
        _c("invoice_no", "string", "20-digit e-invoice number", unique=True, regex=r"^[0-9]{20}$"),
        _c("seller_code", "string", "seller credit code"),
        _c("seller_name", "string", "seller name"),
        _c("buyer_code", "string", "buyer credit code as typed by the seller"),
        _c("buyer_name", "string", "buyer name as typed by the seller"),
        _c(
            "product_name",
            "string",
            "tax-category and product name on the invoice",
            isin=list(PRODUCT_NAMES),
        ),
        _c(
            "quantity_litres",
            "float64",
            "quantity (negative on a red-letter invoice)",
            unit="litre",
        ),
        _c("unit_price_yuan", "float64", "unit price excl. VAT", unit="yuan/litre", **_NONNEG),
        _c(
            "amount_yuan",
            "float64",
            "amount excl. VAT (negative on a red-letter invoice)",
            unit="yuan",
        ),
        _c("vat_yuan", "float64", "VAT at 13%", unit="yuan"),
        _c("issued_on", "date", "issue date"),
    ),
)

WAYBILLS = SourceSpec(
    scenario=SCENARIO,
    agency="transport / emergency management (hazardous-goods e-waybills)",
    table="tanker_waybills",
    description="Every tanker load of fuel delivered to a station, booked or not. Parties by name "
    "only, as the carrier's system spells them.",
    keys=("waybill_no",),
    date_column="shipped_at",
    columns=(
        _c("waybill_no", "string", "e-waybill number", unique=True),
        _c("shipper_name", "string", "depot or company that loaded the tanker"),
        _c("consignee_name", "string", "receiving station as the carrier spells it"),
        _c("consignee_district", "string", "district of the receiving station", **_DISTRICT),
        _c("product", "string", "hazardous good carried", isin=["汽油", "柴油"]),
        _c("un_number", "string", "UN number of the good", isin=["UN1203", "UN1202"]),
        _c("litres", "float64", "litres loaded", unit="litre", min=0, max=40_000),
        _c("shipped_at", "datetime", "departure time"),
    ),
)

CAMERAS = SourceSpec(
    scenario=SCENARIO,
    agency="traffic police (entrance cameras)",
    table="traffic_cameras",
    description="Vehicles entering each camera-covered station per month; a noisy proxy of true "
    "sales (cameras miss some entrances). Sites named as the police record them.",
    keys=("site_name", "period"),
    date_column="period",
    columns=(
        _c("site_name", "string", "station as named in the police camera register"),
        _c("district", "string", "district of the site", **_DISTRICT),
        _c("period", "date", "first day of the month counted"),
        _c(
            "vehicles_entered",
            "int64",
            "vehicles entering in the month",
            unit="vehicles",
            **_NONNEG,
        ),
        _c(
            "heavy_vehicles_entered",
            "int64",
            "heavy goods vehicles among them",
            unit="vehicles",
            **_NONNEG,
        ),
    ),
)

SOURCES: list[SourceSpec] = [REGISTRY, FILINGS, INVOICES, WAYBILLS, CAMERAS]

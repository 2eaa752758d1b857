"""Scenario ``fuel_tax``: refined-oil tax evasion by gas stations (成品油涉税).

About 1,000 stations x SCALE over Beijing's 16 districts and about 20 supply depots x SCALE.
Five agency tables: the company registry (market regulation), monthly tax filings and purchase
e-invoices (tax bureau), hazardous-goods tanker waybills (transport / emergency management) and
vehicle counts at station entrances (traffic police). Planted patterns, at about 14% of stations
in all: blatant undeclared cash sales, subtle under-declaration inside honest noise, off-book
purchases, fuel invoiced under a non-oil name, a crooked supplier feeding many evaders, and two
combinations. The world is in ``_fuel_world``; each agency's view in ``_fuel_tables``,
``_fuel_invoices`` and ``_fuel_filings``; truth and the crude past rules in ``_fuel_truth``.
"""

from __future__ import annotations

import pandas as pd

from models.fuel_tax.declared import declare
from models.fuel_tax.filings import cameras_table, filings_table
from models.fuel_tax.invoices import invoices_table
from models.fuel_tax.loads import delivered_litres, make_loads
from models.fuel_tax.sources import SOURCES
from models.fuel_tax.tables import registry_table, waybills_table
from models.fuel_tax.truth import crude_flags, monthly_truth, station_truth, supplier_truth
from models.fuel_tax.world import (
    SCENARIO,
    assign_fraud,
    make_companies,
    make_stations,
    month_starts,
    n_crooked,
    prices,
    true_sales,
)
from pool.history import HistoryParams, verification_history
from pool.rng import component_rng
from pool.spec import ScenarioPool, SimConfig

__all__ = ["SOURCES", "simulate"]
ENTITY = "gas station; entity_id = the station's canonical unified social credit code"


def simulate(config: SimConfig) -> ScenarioPool:
    """Simulate the whole scenario: agency tables, verification history and truth."""
    companies = make_companies(config)
    stations = make_stations(config, companies)
    fraud = assign_fraud(config, stations)
    sold = true_sales(config, stations)
    retail = prices(config)
    delivered = delivered_litres(config, stations, *sold)
    loads = make_loads(config, stations, fraud, delivered)
    invoices, totals = invoices_table(config, companies, stations, loads, retail, sold)
    declared = declare(config, fraud, sold, retail)
    filings, facts = filings_table(config, companies, stations, declared, totals.input_vat)
    tables = {
        "company_registry": registry_table(config, companies, stations),
        "tax_filings": filings,
        "purchase_invoices": invoices,
        "tanker_waybills": waybills_table(config, companies, loads),
        "traffic_cameras": cameras_table(config, companies, stations, sold),
    }
    truth = station_truth(config, companies, stations, fraud, declared)
    entity = truth["entity_id"].to_numpy(object)
    flags = crude_flags(config, entity, declared, facts, totals)
    monthly = monthly_truth(config, entity, sold, delivered, declared, facts)
    end = month_starts(config)[-1] + pd.offsets.MonthEnd(0)
    history = verification_history(
        flags,
        truth,
        component_rng(config.seed, SCENARIO, "history"),
        start=config.start,
        end=end.date(),
        prefix="FT",
        params=HistoryParams(capacity=max(1, round(2 * config.scale))),
        amount_column="evaded_tax_yuan",
        accrued=monthly.rename(columns={"evaded_tax_yuan": "amount"}),
    )
    extra = {
        "monthly": monthly,
        "suppliers": supplier_truth(companies, fraud, n_crooked(config.scale)),
    }
    return ScenarioPool(SCENARIO, ENTITY, tables, history, truth, truth_tables=extra)

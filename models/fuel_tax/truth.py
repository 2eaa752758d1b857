"""Ground truth of ``fuel_tax`` and the crude rules of the past that produced its labels.

The truth says, per station, whether it evades, how, since when and how much tax it evaded, and
for honest stations the innocent reason it may look odd. The crude rules are what prosecutors
ran before this project: "declared sales below 70% of invoiced purchases" and "no filing for
three months". They catch blatant cash evasion and closed stations, rarely anything subtle,
which is exactly the bias the verification history must carry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.fuel_tax.declared import Declared
from models.fuel_tax.filings import FilingFacts
from models.fuel_tax.invoices import InvoiceTotals
from models.fuel_tax.world import Companies, Fraud, Stations, month_starts
from pool.spec import SimConfig

RULE_LOW_DECLARED = "declared_below_70pct_of_invoiced"
RULE_NO_FILING = "no_filing_3_months"
LOW_DECLARED_RATIO = 0.7
MIN_INVOICED_LITRES = 50_000
#: How likely a verifier proves each pattern once a lead is on the desk.
DETECT_PROB = {
    "cash_undeclared": 0.9,
    "subtle_underdeclare": 0.65,
    "off_book_purchases": 0.85,
    "product_renaming": 0.85,
    "supplier_network": 0.8,
}


def _run_dates(config: SimConfig) -> np.ndarray:
    """Rules for month m run on the first day of month m + 2 (after the filing deadline)."""
    return pd.date_range(pd.Timestamp(config.start), periods=config.months + 2, freq="MS")[
        2:
    ].to_numpy()


def crude_flags(
    config: SimConfig,
    entity: np.ndarray,
    declared: Declared,
    facts: FilingFacts,
    totals: InvoiceTotals,
) -> pd.DataFrame:
    """Flags of the past crude rules: entity_id, flagged_on, rule, data_error."""
    run = _run_dates(config)
    seen = facts.first_filed <= run[None, :].astype("datetime64[us]")
    total = declared.gas + declared.diesel
    low = (
        seen
        & (totals.oil_litres > MIN_INVOICED_LITRES)
        & (total < LOW_DECLARED_RATIO * totals.oil_litres)
    )
    unseen = facts.exists & ~seen
    gap = unseen[:, 2:] & unseen[:, 1:-1] & unseen[:, :-2]
    really_filed = facts.filed[:, 2:] | facts.filed[:, 1:-1] | facts.filed[:, :-2]
    frames = []
    for rule, mask, error, offset in (
        (RULE_LOW_DECLARED, low, np.zeros_like(low), 0),
        (RULE_NO_FILING, gap, really_filed, 2),
    ):
        s, m = np.nonzero(mask)
        frames.append(
            pd.DataFrame(
                {
                    "entity_id": entity[s],
                    "flagged_on": run[m + offset],
                    "rule": rule,
                    "data_error": error[s, m],
                }
            )
        )
    flags = pd.concat(frames, ignore_index=True)
    end = month_starts(config)[-1] + pd.offsets.MonthEnd(0)
    return flags.loc[flags["flagged_on"] <= end].reset_index(drop=True)


def _oddity(config: SimConfig, stations: Stations) -> np.ndarray:
    """The innocent reason an honest station may look odd (first that applies)."""
    transfers = (stations.chain >= 0) & (np.abs(stations.transfer_factor - 1) > 0.05)
    return np.select(
        [
            stations.opened_month > 0,
            stations.renovation.any(axis=1),
            transfers,
            stations.kind == "truck_stop",
            stations.kind == "highway",
            stations.kind == "rural",
        ],
        ["new_station", "renovation", "chain_transfers", "truck_stop", "highway", "rural_seasonal"],
        "none",
    ).astype(object)


def station_truth(
    config: SimConfig, companies: Companies, stations: Stations, fraud: Fraud, declared: Declared
) -> pd.DataFrame:
    """One row per station: is it evading, how, since when, and how much tax it evaded."""
    entity = companies.code[stations.idx_in_companies]
    is_fraud = fraud.pattern != "none"
    starts = month_starts(config)
    start_month = np.minimum(fraud.start_month, config.months - 1)
    detect = [
        max(DETECT_PROB[p] for p in str(x).split("+")) if x != "none" else 0.0
        for x in fraud.pattern
    ]
    vat = declared.evaded_vat.sum(axis=1)
    ctax = declared.evaded_consumption.sum(axis=1)
    return pd.DataFrame(
        {
            "entity_id": entity,
            "district": stations.district,
            "is_fraud": is_fraud,
            "pattern": fraud.pattern,
            "evasion_start": pd.Series(
                np.where(is_fraud, starts.to_numpy()[start_month], np.datetime64("NaT"))
            ),
            "evaded_vat_yuan": np.round(vat, 2),
            "evaded_consumption_tax_yuan": np.round(ctax, 2),
            "evaded_tax_yuan": np.round(vat + ctax, 2),
            "innocent_oddity": np.where(is_fraud, "none", _oddity(config, stations)),
            "kind": stations.kind,
            "chain_id": stations.chain,
            "main_supplier_code": companies.code[np.flatnonzero(companies.role == "supplier")][
                stations.main_supplier
            ],
            "crooked_supplier_code": np.where(
                fraud.crooked_supplier >= 0,
                companies.code[np.flatnonzero(companies.role == "supplier")][
                    np.maximum(fraud.crooked_supplier, 0)
                ],
                None,
            ),
            "detect_prob": detect,
            "after_drift": _after_drift(config, fraud),
        }
    )


def _after_drift(config: SimConfig, fraud: Fraud) -> np.ndarray:
    """What an evader did from the drift month: "stopped", "ghost_supply" or "" (no change)."""
    horizon = config.months
    return np.select(
        [fraud.stop_month < horizon, fraud.ghost_month < horizon], ["stopped", "ghost_supply"], ""
    ).astype(object)


def monthly_truth(
    config: SimConfig,
    entity: np.ndarray,
    sold: tuple[np.ndarray, np.ndarray],
    delivered: np.ndarray,
    declared: Declared,
    facts: FilingFacts,
) -> pd.DataFrame:
    """One row per station and month it existed: true, delivered and declared litres, evasion."""
    s, m = np.nonzero(facts.exists)
    return pd.DataFrame(
        {
            "entity_id": entity[s],
            "period": month_starts(config).to_numpy()[m],
            "true_gasoline_litres": np.round(sold[0][s, m]),
            "true_diesel_litres": np.round(sold[1][s, m]),
            "delivered_litres": np.round(delivered[s, m].sum(axis=-1)),
            "declared_litres": np.round(declared.gas[s, m] + declared.diesel[s, m]),
            "evading": declared.active[s, m],
            "evaded_tax_yuan": np.round(
                declared.evaded_vat[s, m] + declared.evaded_consumption[s, m], 2
            ),
            "really_filed": facts.filed[s, m],
        }
    )


def supplier_truth(companies: Companies, fraud: Fraud, crooked: int) -> pd.DataFrame:
    """One row per supplier: is it crooked, and how many evading stations it feeds off the books."""
    sup = np.flatnonzero(companies.role == "supplier")
    fed = np.bincount(fraud.crooked_supplier[fraud.crooked_supplier >= 0], minlength=len(sup))
    return pd.DataFrame(
        {
            "supplier_code": companies.code[sup],
            "name": companies.name[sup],
            "is_crooked": np.arange(len(sup)) < crooked,
            "network_stations": fed,
        }
    )

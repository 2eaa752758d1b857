"""Shared fixtures and join helpers for the pool tests.

Registered for every test by ``tests/conftest.py``. Pools are built once
per test session (a module-level cache keyed by configuration, so two test files importing the
same fixture do not build twice) into ``tmp_path_factory`` folders, through the real build.

The join helpers are the plain "data collision" a feature pipeline would do: normalise codes
and names, take the latest filing per station and month, and sum per station.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pool.build import build
from pool.keys import normalise_code
from pool.load import load_pool, load_truth
from pool.names import normalise_name
from pool.spec import SimConfig

FUEL_SCALE = 0.3
DRIFT_MONTH = 18
_BUILT: dict[tuple, Path] = {}


def built_pool(factory: pytest.TempPathFactory, scenarios: tuple[str, ...], **config) -> Path:
    """Build a pool once per session for this configuration; return its data root."""
    key = (scenarios, tuple(sorted(config.items())))
    if key not in _BUILT:
        root = factory.mktemp("pool")
        build(SimConfig(**config), root, list(scenarios))
        _BUILT[key] = root
    return _BUILT[key]


@pytest.fixture(scope="session")
def fuel_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data root of a fuel_tax pool at SCALE 0.3, seed 42, no drift."""
    return built_pool(tmp_path_factory, ("fuel_tax",), seed=42, scale=FUEL_SCALE)


@pytest.fixture(scope="session")
def fuel_drift_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same pool with fraudsters adapting from month 18."""
    return built_pool(
        tmp_path_factory, ("fuel_tax",), seed=42, scale=FUEL_SCALE, drift_month=DRIFT_MONTH
    )


@pytest.fixture(scope="session")
def fuel(fuel_root: Path) -> dict[str, pd.DataFrame]:
    """Validated fuel_tax tables (history included)."""
    return load_pool(fuel_root, "fuel_tax")


@pytest.fixture(scope="session")
def fuel_truth(fuel_root: Path) -> pd.DataFrame:
    """Ground truth per station."""
    return load_truth(fuel_root, "fuel_tax")


def map_unique(values: pd.Series, fn) -> pd.Series:
    """``values.map(fn)`` computed once per distinct value (tables repeat codes and names)."""
    text = values.astype(str)
    unique = text.unique()
    return text.map(dict(zip(unique, map(fn, unique), strict=True)))


def name_index(registry: pd.DataFrame) -> dict[str, str]:
    """Normalised company name -> canonical credit code."""
    names = registry["name"].map(normalise_name)
    return dict(zip(names, registry["credit_code"], strict=True))


def by_name(names: pd.Series, index: dict[str, str]) -> pd.Series:
    """Credit codes for names as another agency spelled them (None when no match)."""
    unique = pd.Series(names.astype(str).unique())
    mapping = dict(
        zip(
            unique,
            unique.map(lambda x: index.get(normalise_name(x, drop_branch=True))),
            strict=True,
        )
    )
    return names.astype(str).map(mapping)


def latest_filings(filings: pd.DataFrame) -> pd.DataFrame:
    """One filing per normalised code and period: the last one filed."""
    out = filings.assign(code=map_unique(filings["taxpayer_code"], normalise_code))
    out = out.sort_values("filed_on", kind="stable").drop_duplicates(
        ["code", "period"], keep="last"
    )
    return out.assign(declared=out["declared_gasoline_litres"] + out["declared_diesel_litres"])


def oil_invoice_mask(invoices: pd.DataFrame) -> pd.Series:
    """Invoices under a refined-oil tax category (gasoline or diesel)."""
    return invoices["product_name"].astype(str).str.contains(r"^\*(?:汽油|柴油)\*", regex=True)


def station_view(tables: dict[str, pd.DataFrame], since=None, until=None) -> pd.DataFrame:
    """Per-station totals over [since, until): the natural single ratios of the data collision."""
    reg = tables["company_registry"]
    index = name_index(reg)
    lo = pd.Timestamp(since) if since is not None else pd.Timestamp.min
    hi = pd.Timestamp(until) if until is not None else pd.Timestamp.max
    f = latest_filings(tables["tax_filings"])
    f = f[(f["period"] >= lo) & (f["period"] < hi)]
    inv = tables["purchase_invoices"]
    inv = inv[(inv["issued_on"] >= lo) & (inv["issued_on"] < hi)]
    inv = inv.assign(code=map_unique(inv["buyer_code"], normalise_code), oil=oil_invoice_mask(inv))
    wb = tables["tanker_waybills"]
    wb = wb[(wb["shipped_at"] >= lo) & (wb["shipped_at"] < hi)]
    wb = wb.assign(code=by_name(wb["consignee_name"], index))
    cam = tables["traffic_cameras"]
    cam = cam[(cam["period"] >= lo) & (cam["period"] < hi)].assign(
        code=lambda d: by_name(d["site_name"], index)
    )
    view = pd.DataFrame(index=reg.loc[reg["business_scope"] == "成品油零售", "credit_code"])
    view["declared"] = f.groupby("code")["declared"].sum()
    view["invoiced_oil"] = inv[inv["oil"]].groupby("code")["quantity_litres"].sum()
    view["invoiced_all"] = inv.groupby("code")["quantity_litres"].sum()
    view["waybill"] = wb.groupby("code")["litres"].sum()
    view["vehicles"] = cam.groupby("code")["vehicles_entered"].sum()
    declared_on_camera_months = f.merge(cam[["code", "period"]], on=["code", "period"])
    view["declared_cam"] = declared_on_camera_months.groupby("code")["declared"].sum()
    view["declared_over_invoiced"] = view["declared"] / view["invoiced_oil"]
    view["waybill_over_invoiced"] = view["waybill"] / view["invoiced_all"]
    view["non_oil_share"] = 1 - view["invoiced_oil"] / view["invoiced_all"]
    view["declared_per_vehicle"] = view["declared_cam"] / view["vehicles"]
    return view


def best_f1(score: pd.Series, positive: pd.Series) -> float:
    """Best F1 of any threshold rule ``score >= t`` or ``score <= t`` (NaN scores never flagged)."""
    best = 0.0
    y = positive.to_numpy(bool)
    for sign in (1.0, -1.0):
        s = (sign * score).to_numpy(float)
        order = np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")
        hits = np.cumsum(y[order])
        flagged = np.arange(1, len(s) + 1)
        valid = ~np.isnan(s[order])
        precision, recall = hits / flagged, hits / max(y.sum(), 1)
        f1 = np.where(
            valid & (hits > 0), 2 * precision * recall / (precision + recall + 1e-12), 0.0
        )
        best = max(best, float(f1.max()))
    return best

"""Behaviour of the simulated ``fuel_tax`` pool: patterns, joins, history bias, defects, drift.

One pool at SCALE 0.3 (300 stations, 30 months) and its drifted twin are built once per session
through the real build (see ``pool_fixtures``).
"""

from __future__ import annotations

import pandas as pd
import pytest
from pool_fixtures import (
    DRIFT_MONTH,
    FUEL_SCALE,
    best_f1,
    latest_filings,
    map_unique,
    name_index,
    station_view,
)

from models.fuel_tax.truth import RULE_LOW_DECLARED, RULE_NO_FILING
from models.fuel_tax.world import GHOST, NETWORK, PATTERN_RATES
from pool.keys import is_valid_uscc, normalise_code
from pool.load import load_pool
from pool.names import normalise_name

CASH, SUBTLE = "cash_undeclared", "subtle_underdeclare"
OFF_BOOK, RENAMING = "off_book_purchases", "product_renaming"


def _has(truth: pd.DataFrame, pattern: str) -> pd.Series:
    return truth["pattern"].str.split("+").map(lambda parts: pattern in parts)


@pytest.fixture(scope="module")
def view(fuel, fuel_truth) -> pd.DataFrame:  # noqa: F811
    """Per-station ratios joined with the truth, and whether the station has evaded for at
    least a year of the horizon (half the evaders start late; a late starter's few months are
    diluted in whole-horizon ratios)."""
    truth = fuel_truth.set_index("entity_id")
    out = station_view(fuel).join(truth[["pattern", "is_fraud"]])
    assert out["pattern"].notna().all()
    start = truth["evasion_start"].reindex(out.index)
    out["year_long"] = start.notna() & (start <= pd.Timestamp("2024-06-01"))
    return out


def test_each_pattern_planted_at_its_prevalence(fuel_truth):  # noqa: F811
    n = len(fuel_truth)
    assert n == round(1000 * FUEL_SCALE)
    counts = fuel_truth["pattern"].value_counts()
    for pattern, rate in PATTERN_RATES.items():
        assert counts.get(pattern, 0) == round(rate * n), pattern
    network = counts.get(NETWORK, 0)
    assert 1 <= network <= 0.05 * n
    overall = fuel_truth["is_fraud"].mean()
    assert 0.10 <= overall <= 0.18
    assert (fuel_truth["is_fraud"] == (fuel_truth["pattern"] != "none")).all()
    evaded = fuel_truth.loc[fuel_truth["is_fraud"], "evaded_tax_yuan"]
    assert (evaded > 0).all() and 1e6 <= evaded.median() <= 8e6
    assert (fuel_truth.loc[~fuel_truth["is_fraud"], "evaded_tax_yuan"] == 0).all()


def test_districts_uneven_like_beijing(fuel_truth):  # noqa: F811
    counts = fuel_truth["district"].value_counts()
    big = ["Chaoyang", "Daxing", "Haidian", "Fengtai", "Tongzhou", "Changping", "Shunyi"]
    assert counts.index[:5].isin(big).sum() >= 4
    assert counts.get("Chaoyang", 0) > 3 * counts.get("Dongcheng", 0)


def test_blatant_cash_visible_in_declared_vs_invoiced(view):
    cash = view["pattern"] == CASH
    honest = view["pattern"] == "none"
    assert (view.loc[cash & view["year_long"], "declared_over_invoiced"] < 0.75).mean() >= 0.8
    assert (view.loc[honest, "declared_over_invoiced"] < 0.75).mean() <= 0.02
    assert best_f1(view.loc[cash | honest, "declared_over_invoiced"], cash[cash | honest]) >= 0.85


def test_off_book_visible_through_waybill_invoice_join(view):
    off = view["pattern"].isin([OFF_BOOK, NETWORK, f"{CASH}+{OFF_BOOK}"])
    honest = view["pattern"] == "none"
    assert (view.loc[off, "waybill_over_invoiced"] > 1.05).mean() >= 0.9
    assert (view.loc[honest, "waybill_over_invoiced"] > 1.05).mean() <= 0.03
    # but invisible in the tax bureau's own data: they declare what they invoice
    assert view.loc[view["pattern"] == OFF_BOOK, "declared_over_invoiced"].median() > 0.9


def test_renaming_visible_through_invoice_product_names(view, fuel_truth):  # noqa: F811
    renamed = view["pattern"].str.contains(RENAMING)
    honest = view["pattern"] == "none"
    assert (view.loc[renamed & view["year_long"], "non_oil_share"] > 0.1).all()
    assert (view.loc[honest, "non_oil_share"] < 0.08).all()
    assert best_f1(view.loc[renamed | honest, "non_oil_share"], renamed[renamed | honest]) >= 0.9
    # innocent: truck stops and motorway sites buy AdBlue by the litre
    kind = fuel_truth.set_index("entity_id")["kind"].reindex(view.index)
    heavy = honest & kind.isin(["truck_stop", "highway"])
    assert (
        view.loc[heavy, "non_oil_share"].median()
        > 3 * view.loc[honest & (kind == "urban"), "non_oil_share"].median()
    )


def test_crooked_supplier_ships_off_book_to_many_stations(fuel, fuel_root):  # noqa: F811
    suppliers = pd.read_parquet(fuel_root / "truth" / "fuel_tax_suppliers.parquet")
    crooked = set(suppliers.loc[suppliers["is_crooked"], "supplier_code"])
    to_code = _code_of(fuel)
    wb = fuel["tanker_waybills"]
    shipper = wb["shipper_name"].astype(str)
    codes = dict(zip(shipper.unique(), map(to_code, shipper.unique()), strict=True))
    shipped = wb.groupby(shipper.map(codes))["litres"].sum()
    inv = fuel["purchase_invoices"]
    invoiced = inv.groupby(inv["seller_code"].astype(str))["quantity_litres"].sum()
    unbilled = 1 - invoiced.reindex(shipped.index).fillna(0) / shipped
    registered = unbilled[unbilled.index.isin(suppliers["supplier_code"])]
    assert registered[registered.index.isin(crooked)].min() > 0.1
    assert registered[~registered.index.isin(crooked)].max() < 0.03
    served = fuel_truth_network_count(fuel_root)
    assert served >= 3


def fuel_truth_network_count(root) -> int:
    """How many stations the crooked suppliers feed off the books (from the supplier truth)."""
    suppliers = pd.read_parquet(root / "truth" / "fuel_tax_suppliers.parquet")
    return int(suppliers.loc[suppliers["is_crooked"], "network_stations"].sum())


def test_subtle_pattern_not_caught_by_any_single_ratio(view):
    subtle = view["pattern"] == SUBTLE
    pool = subtle | (view["pattern"] == "none")
    for column in (
        "declared_over_invoiced",
        "declared_per_vehicle",
        "waybill_over_invoiced",
        "non_oil_share",
    ):
        assert best_f1(view.loc[pool, column], subtle[pool]) < 0.55, column


def test_joins_need_normalisation(fuel):  # noqa: F811
    reg = fuel["company_registry"]
    raw_names = set(reg["name"])
    for table, column in (("tanker_waybills", "consignee_name"), ("traffic_cameras", "site_name")):
        names = fuel[table][column].astype(str)
        exact = names.isin(raw_names).mean()
        index = name_index(reg)
        fixed = names.map(lambda x: normalise_name(x, drop_branch=True)).isin(set(index)).mean()
        assert exact < 0.8 and fixed > 0.99, table
    codes = fuel["tax_filings"]["taxpayer_code"]
    assert codes.isin(set(reg["credit_code"])).mean() < 0.995
    assert codes.map(normalise_code).isin(set(reg["credit_code"])).mean() > 0.99


def test_defects_present(fuel):  # noqa: F811
    filings = fuel["tax_filings"]
    period_end = filings["period"] + pd.offsets.MonthEnd(0)
    late = (filings["filed_on"] - period_end).dt.days > 15
    assert 0.03 <= late.mean() <= 0.12
    assert ((filings["filed_on"] - period_end).dt.days > 60).sum() > 0
    latest = latest_filings(filings)
    assert len(filings) > len(latest)  # duplicated filings
    dup_keys = filings.assign(code=filings["taxpayer_code"].map(normalise_code))
    groups = dup_keys.groupby(["code", "period"])["declared_gasoline_litres"].nunique()
    assert (groups > 1).any()  # some re-filings are amended
    codes = filings["taxpayer_code"]
    assert codes.str.contains(" ").any() and codes.str.contains("-").any()
    assert codes.str.contains("[a-z]").any() and codes.str.contains("O").any()
    bad = ~latest["code"].map(is_valid_uscc)
    assert 0 < bad.mean() < 0.02
    buyer = map_unique(fuel["purchase_invoices"]["buyer_code"], normalise_code)
    assert 0 < (~map_unique(buyer, is_valid_uscc)).mean() < 0.02
    names = fuel["traffic_cameras"]["site_name"].astype(str)
    for marker in ("（", "(", "\u3000", " ", "加油站"):
        assert names.str.contains(marker, regex=False).any(), marker
    assert (fuel["purchase_invoices"]["quantity_litres"] < 0).any()  # red-letter invoices


def test_missing_months_and_innocent_oddities(fuel, fuel_truth, fuel_root):  # noqa: F811
    monthly = pd.read_parquet(fuel_root / "truth" / "fuel_tax_monthly.parquet")
    filed = latest_filings(fuel["tax_filings"]).groupby("code").size()
    existed = monthly.groupby("entity_id").size()
    missing = (existed - filed.reindex(existed.index).fillna(0)).clip(lower=0)
    assert 0.01 <= missing.sum() / existed.sum() <= 0.06
    oddity = fuel_truth.set_index("entity_id")["innocent_oddity"]
    new = oddity.index[oddity == "new_station"]
    assert len(new) > 0 and existed[new].max() < existed.max()
    to_code = _code_of(fuel)
    sites = fuel["traffic_cameras"]["site_name"].astype(str)
    codes = dict(zip(sites.unique(), map(to_code, sites.unique()), strict=True))
    cams = fuel["traffic_cameras"].assign(code=sites.map(codes))
    heavy = cams.groupby("code")[["heavy_vehicles_entered", "vehicles_entered"]].sum()
    share = heavy["heavy_vehicles_entered"] / heavy["vehicles_entered"]
    kind = fuel_truth.set_index("entity_id")["kind"].reindex(share.index)
    assert share[kind == "truck_stop"].median() > 2 * share[kind == "urban"].median()


def _code_of(tables: dict[str, pd.DataFrame]):
    index = name_index(tables["company_registry"])
    return lambda name: index.get(normalise_name(name, drop_branch=True))


def test_history_is_biased_toward_what_crude_rules_catch(fuel, fuel_truth):  # noqa: F811
    history = fuel["verification_history"].merge(
        fuel_truth[["entity_id", "pattern", "is_fraud"]], on="entity_id"
    )
    assert set(history["rule"]) <= {RULE_LOW_DECLARED, RULE_NO_FILING, "tip_off"}
    verified = set(history["entity_id"])
    truth = fuel_truth.assign(verified=fuel_truth["entity_id"].isin(verified))
    rate = truth.groupby(truth["pattern"])["verified"].mean()
    assert rate[CASH] > 0.8
    assert rate[CASH] > 2 * rate[SUBTLE]
    assert rate["none"] < 0.15
    frauds = truth[truth["is_fraud"]]
    cash_share_verified = (frauds.loc[frauds["verified"], "pattern"] == CASH).mean()
    assert cash_share_verified > 1.5 * (frauds["pattern"] == CASH).mean()
    assert (~frauds["verified"]).mean() > 0.3  # frauds no one looked at
    assert (history.loc[~history["is_fraud"], "outcome"] != "case_filed").all()
    found = history.loc[history["is_fraud"] & (history["outcome"] != "invalid"), "outcome"]
    assert (found == "case_filed").mean() >= 0.6
    assert (history["verified_on"] > history["flagged_on"]).all()
    cases = history[history["outcome"] == "case_filed"]
    assert (cases["amount_recovered"] > 0).all()
    assert (history.loc[history["outcome"] != "case_filed", "amount_recovered"] == 0).all()


def test_history_respects_capacity(fuel):  # noqa: F811
    history = fuel["verification_history"]
    per = history.groupby(["district", history["flagged_on"].dt.to_period("M")]).size()
    assert per.max() <= max(1, round(2 * FUEL_SCALE))


def _split(df: pd.DataFrame, column: str, cut: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    return df[df[column] < cut].reset_index(drop=True), df[df[column] >= cut].reset_index(drop=True)


DATE_OF = {
    "company_registry": None,
    "tax_filings": "period",
    "purchase_invoices": "issued_on",
    "tanker_waybills": "shipped_at",
    "traffic_cameras": "period",
    "verification_history": "verified_on",
}


def test_drift_changes_data_only_after_its_month(fuel, fuel_drift_root):  # noqa: F811
    drifted = load_pool(fuel_drift_root, "fuel_tax")
    cut = pd.Timestamp("2023-01-01") + pd.DateOffset(months=DRIFT_MONTH)
    changed_after = []
    for table, column in DATE_OF.items():
        if column is None:
            pd.testing.assert_frame_equal(fuel[table], drifted[table])
            continue
        before, after = _split(fuel[table], column, cut)
        before_d, after_d = _split(drifted[table], column, cut)
        pd.testing.assert_frame_equal(before, before_d, obj=table)
        changed_after.append(not after.equals(after_d))
    assert any(changed_after)
    # ghost tankers leave no waybill and no invoice: drift only removes rows after its month
    for table, column in (("tanker_waybills", "shipped_at"), ("purchase_invoices", "issued_on")):
        after, after_d = _split(fuel[table], column, cut)[1], _split(drifted[table], column, cut)[1]
        assert len(after_d) < len(after), table


def test_drift_deters_some_evaders_and_moves_the_rest_to_ghost_supply(fuel_drift_root):  # noqa: F811
    """From the drift month: deterred evaders stop; the others, and those who start later, take
    part of their fuel by ghost tanker and declare only the rest, so filings, waybills and
    invoices agree with each other, while the traffic cameras still see the missing sales."""
    drifted = load_pool(fuel_drift_root, "fuel_tax")
    truth = pd.read_parquet(fuel_drift_root / "truth" / "fuel_tax.parquet").set_index("entity_id")
    monthly = pd.read_parquet(fuel_drift_root / "truth" / "fuel_tax_monthly.parquet")
    cut = pd.Timestamp("2023-01-01") + pd.DateOffset(months=DRIFT_MONTH)
    fate = truth["after_drift"]
    early = truth["is_fraud"] & (truth["evasion_start"] < cut)
    assert set(fate[early]) == {"stopped", GHOST}
    assert (fate[truth["is_fraud"] & ~early] == GHOST).all()
    assert (fate[~truth["is_fraud"]] == "").all()
    # truth: deterred stations evade no more, the others still do
    late = monthly[monthly["period"] >= cut]
    evading = late.groupby("entity_id")["evading"].any()
    assert not evading[fate[fate == "stopped"].index].any()
    assert evading[fate[fate == GHOST].index].all()
    # data: the waybill collision that found the cash evaders before sees nothing after ...
    before = station_view(drifted, until=cut).join(truth[["pattern", "after_drift"]])
    after = station_view(drifted, since=cut + pd.DateOffset(months=1)).join(
        truth[["pattern", "after_drift"]]
    )
    ghost = after["after_drift"] == GHOST
    cash = (before["pattern"] == CASH) & ghost
    honest = before["pattern"] == "none"
    ratio = lambda v: v["declared"] / v["waybill"]  # noqa: E731
    assert ratio(before)[cash].median() < 0.8 * ratio(before)[honest].median()
    assert ratio(after)[ghost].median() > 0.9 * ratio(after)[honest].median()
    assert after.loc[ghost, "waybill_over_invoiced"].median() < 1.03
    # ... but the litres declared per vehicle counted still fall short
    per_vehicle = after["declared_per_vehicle"]
    assert per_vehicle[ghost].median() < 0.8 * per_vehicle[honest].median()

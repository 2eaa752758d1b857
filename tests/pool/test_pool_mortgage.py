"""The mortgage_loans simulation: schemas, patterns, joins, subtlety, history, defects, drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.mortgage_loans import simulation as ml
from models.mortgage_loans.market import market_value
from pool.arrow import to_arrow_table, to_pandas
from pool.keys import is_valid_id, normalise_code
from pool.load import validate
from pool.names import normalise_name
from pool.schemas import history_source, truth_source
from pool.spec import SimConfig

SCALE = 0.1
DRIFT_MONTH = 18
START = pd.Timestamp(2023, 1, 1)
BLATANT = ("shell_bridge", "shell_buy_after")


@pytest.fixture(scope="module")
def pool():
    return ml.simulate(SimConfig(seed=11, scale=SCALE))


@pytest.fixture(scope="module")
def drifted():
    return ml.simulate(SimConfig(seed=11, scale=SCALE, drift_month=DRIFT_MONTH))


def _household_purchases(t: dict[str, pd.DataFrame], loans: pd.DataFrame) -> pd.DataFrame:
    """Purchases by the borrower or the spouse on the application, with days after the loan."""
    apps = t["loan_applications"].set_index("loan_id")
    people = pd.concat(
        [
            pd.DataFrame(
                {
                    "loan_id": loans.index,
                    "person": loans["borrower_key"].to_numpy(),
                    "who": "borrower",
                }
            ),
            pd.DataFrame(
                {
                    "loan_id": loans.index,
                    "person": apps["spouse_id"].reindex(loans.index).to_numpy(),
                    "who": "spouse",
                }
            ).dropna(subset=["person"]),
        ]
    )
    tx = t["property_transactions"].assign(person=lambda d: d["buyer_id"].map(normalise_code))
    buys = people.merge(tx[["person", "property_id", "contract_on"]], on="person")
    buys = buys[
        buys["property_id"].to_numpy()
        != loans.loc[buys["loan_id"], "collateral_property_id"].to_numpy()
    ]
    buys["after"] = (
        buys["contract_on"] - loans.loc[buys["loan_id"], "loan_date"].to_numpy()
    ).dt.days
    return buys


@pytest.fixture(scope="module")
def joined(pool) -> pd.DataFrame:
    """One row per loan with the joined evidence a supervision model would compute."""
    t = pool.tables
    loans = t["loans"].drop_duplicates("loan_id").set_index("loan_id")
    loans["borrower_key"] = loans["borrower_id"].map(normalise_code)
    code = loans["company_code"].map(normalise_code)
    comp = t["companies"].set_index("credit_code").reindex(code.to_numpy())
    age = (loans["loan_date"].to_numpy() - comp["founded_on"].to_numpy()) / np.timedelta64(1, "D")
    last = t["shareholder_changes"].groupby("credit_code")["change_date"].max()
    transfer_age = (loans["loan_date"] - code.map(last)).dt.days
    tax = t["tax_filings"].drop_duplicates(["credit_code", "quarter_end"], keep="last")
    revenue = code.map(tax.groupby("credit_code")["revenue_yuan"].mean()).fillna(0.0)
    tx = (
        t["property_transactions"]
        .drop_duplicates("property_id", keep="last")
        .set_index("property_id")
    )
    coll = tx.reindex(loans["collateral_property_id"].to_numpy())
    coll_age = (loans["loan_date"].to_numpy() - coll["contract_on"].to_numpy()) / np.timedelta64(
        1, "D"
    )
    ratio = loans["appraisal_value_yuan"].to_numpy() / coll["price_yuan"].to_numpy()
    fair = market_value(
        coll["district"].to_numpy(),
        coll["area_sqm"].to_numpy(),
        (loans["loan_date"].to_numpy().astype("datetime64[D]").astype("int64")),
    )
    buys = _household_purchases(t, loans)

    def bought(lo: int, hi: int, who: tuple[str, ...] = ("borrower", "spouse")) -> np.ndarray:
        hit = buys[(buys["after"] >= lo) & (buys["after"] <= hi) & buys["who"].isin(who)]
        return loans.index.isin(hit["loan_id"])

    apps = t["loan_applications"].set_index("loan_id").reindex(loans.index)
    phone_n = apps["contact_phone"].map(apps["contact_phone"].value_counts())
    agent_n = apps["agent_phone"].map(apps["agent_phone"].value_counts()).fillna(0)
    officer_n = loans["loan_officer_id"].map(loans["loan_officer_id"].value_counts())
    truth = pool.truth.set_index("entity_id").reindex(loans.index)
    return pd.DataFrame(
        {
            "pattern": truth["pattern"].to_numpy(),
            "young_6m": age < 183,
            "young_12m": age < 365,
            "transfer_180d": (transfer_age < 180).to_numpy(),
            "transfer_2y": (transfer_age < 730).to_numpy(),
            "zero_revenue": (revenue <= 0).to_numpy(),
            "revenue_lt_150k": (revenue < 150_000).to_numpy(),
            "revenue_lt_300k": (revenue < 300_000).to_numpy(),
            "borrower_buy_90d": bought(-90, 90, ("borrower",)),
            "household_buy_90d": bought(-90, 90),
            "household_buy_0_365": bought(0, 365),
            "household_buy_60_365": bought(60, 365),
            "household_buy_90_240": bought(90, 240),
            "spouse_buy_0_365": bought(0, 365, ("spouse",)),
            "divorced": (apps["marital_status"] == "divorced").to_numpy(),
            "collateral_bought_90d": coll_age < 90,
            "appraisal_over_recent_price_1_3": (ratio > 1.3) & (coll_age < 365),
            "appraisal_over_price_1_1": ratio > 1.1,
            "appraisal_over_fair_1_1": loans["appraisal_value_yuan"].to_numpy() > 1.1 * fair,
            "phone_shared_3": (phone_n >= 3).to_numpy(),
            "agent_2": (agent_n >= 2).to_numpy(),
            "agent_5": (agent_n >= 5).to_numpy(),
            "busy_officer": (officer_n >= officer_n.quantile(0.95)).to_numpy(),
        },
        index=loans.index,
    )


def _reach(joined: pd.DataFrame, patterns: tuple[str, ...]) -> pd.DataFrame:
    """Recall on ``patterns`` and precision against honest loans, for every single rule."""
    target = joined["pattern"].isin(patterns)
    honest = joined["pattern"] == "none"
    rows = []
    for rule in joined.columns.drop("pattern"):
        hit = joined[rule].astype(bool)
        tp, fp = (hit & target).sum(), (hit & honest).sum()
        rows.append({"rule": rule, "recall": tp / target.sum(), "precision": tp / max(tp + fp, 1)})
    return pd.DataFrame(rows).set_index("rule")


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = ml.simulate(SimConfig(seed=5, scale=0.03))
    b = ml.simulate(SimConfig(seed=5, scale=0.03))
    c = ml.simulate(SimConfig(seed=6, scale=0.03))
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    pd.testing.assert_frame_equal(a.history, b.history)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.tables["loans"]["amount_yuan"].equals(c.tables["loans"]["amount_yuan"])


@pytest.mark.parametrize(
    "config, field",
    [
        (SimConfig(scale=0), "scale"),
        (SimConfig(months=0), "months"),
        (SimConfig(drift_month=30), "drift_month"),
    ],
)
def test_bad_config_names_the_field(config: SimConfig, field: str) -> None:
    with pytest.raises(ValueError, match=f"mortgage_loans: SimConfig.{field}"):
        ml.simulate(config)


def test_every_table_passes_its_schema(pool) -> None:
    for spec in ml.SOURCES:
        frame = to_pandas(to_arrow_table(pool.tables[spec.table], spec), spec)
        validate(frame, spec)
    hist = history_source(ml.SCENARIO)
    validate(to_pandas(to_arrow_table(pool.history, hist), hist), hist)
    validate(pool.truth, truth_source(ml.SCENARIO), strict=False)
    assert set(pool.tables) == {s.table for s in ml.SOURCES}


def test_patterns_at_intended_prevalence(pool) -> None:
    share = pool.truth["pattern"].value_counts(normalize=True)
    for pattern, rate in {
        "shell_bridge": 0.04,
        "shell_buy_after": 0.035,
        "subtle_spouse": 0.045,
    }.items():
        assert share[pattern] == pytest.approx(rate, abs=0.4 * rate), pattern
    assert 0.09 < pool.truth["is_fraud"].mean() < 0.15  # misuse in the low teens percent
    blatant = pool.truth[pool.truth["pattern"].isin(BLATANT)]
    assert 0.8 < blatant["ring_id"].notna().mean() < 0.97


def test_each_pattern_visible_through_its_join(joined) -> None:
    p = joined["pattern"]
    bridge, after, subtle = (
        joined[p == "shell_bridge"],
        joined[p == "shell_buy_after"],
        joined[p == "subtle_spouse"],
    )
    assert (
        bridge["collateral_bought_90d"] & bridge["appraisal_over_recent_price_1_3"]
    ).mean() > 0.95
    assert (after["household_buy_0_365"] & after["zero_revenue"]).mean() > 0.9
    for frame in (bridge, after):
        assert (frame["transfer_180d"] | frame["young_6m"]).mean() > 0.95  # shell bought or founded
        assert frame["zero_revenue"].mean() > 0.95
    assert subtle["household_buy_60_365"].mean() > 0.35  # spouse or borrower, months later
    assert subtle["revenue_lt_300k"].mean() > 0.9
    assert subtle["zero_revenue"].mean() < 0.02
    assert (~subtle["household_buy_60_365"] & subtle["divorced"]).mean() > 0.2  # paper divorces


def test_subtle_pattern_escapes_every_single_rule(joined) -> None:
    reach = _reach(joined, ("subtle_spouse",))
    caught = reach[(reach["recall"] >= 0.5) & (reach["precision"] >= 0.5)]
    assert caught.empty, caught
    combo = (
        joined["household_buy_60_365"]
        & joined["revenue_lt_300k"]
        & joined["appraisal_over_fair_1_1"]
    )
    target, honest = joined["pattern"] == "subtle_spouse", joined["pattern"] == "none"
    assert (combo & target).sum() / (combo & (target | honest)).sum() > reach["precision"].max()


def test_blatant_patterns_caught_by_one_rule(joined) -> None:
    reach = _reach(joined, BLATANT)
    assert reach.loc["zero_revenue", "recall"] > 0.95
    assert reach.loc["zero_revenue", "precision"] > 0.7  # a few honest firms declare nothing
    net = _reach(joined, BLATANT).loc["phone_shared_3"]
    assert net["recall"] > 0.5 and net["precision"] > 0.3  # ring phones before drift


def test_history_biased_toward_what_crude_rules_catch(pool) -> None:
    h = pool.history.merge(pool.truth[["entity_id", "pattern", "oddities"]], on="entity_id")
    assert set(h["rule"]) <= {"borrower_home_purchase_90d", "company_younger_6m", "tip_off"}
    sizes = pool.truth.groupby("pattern").size()
    labelled = (h.groupby("pattern")["entity_id"].nunique() / sizes).fillna(0.0)
    assert labelled[list(BLATANT)].min() > 0.3
    assert labelled["subtle_spouse"] < 0.1
    assert labelled["none"] < 0.15
    honest = h[h["pattern"] == "none"]
    assert not (honest["outcome"] == "case_filed").any()
    young = honest[honest["rule"] == "company_younger_6m"]
    assert young["oddities"].str.contains("young_company").mean() > 0.9


def test_innocent_oddities_present(pool, joined) -> None:
    honest = pool.truth[pool.truth["pattern"] == "none"]
    odd = honest["oddities"]
    assert 0.04 < odd.str.contains("young_company").mean() < 0.12
    assert 0.02 < odd.str.contains("household_purchase_90d").mean() < 0.1
    assert odd.str.contains("shared_accountant_phone").mean() > 0.01
    assert odd.str.contains("broker").mean() > 0.2
    loans = (
        pool.tables["loans"]
        .drop_duplicates("loan_id")
        .set_index("loan_id")
        .loc[honest["entity_id"]]
    )
    hot = loans["collateral_property_id"].str[1:7].isin(["110101", "110102", "110105", "110108"])
    high = odd.str.contains("high_appraisal").to_numpy()
    assert high[hot.to_numpy()].mean() > 3 * high[~hot.to_numpy()].mean()


def test_defects_present(pool) -> None:
    t = pool.tables
    ids = t["loans"]["borrower_id"]
    norm = ids.map(normalise_code)
    assert (ids != norm).mean() > 0.005
    assert 0.001 < (~norm.map(is_valid_id)).mean() < 0.02
    assert (t["loans"]["company_code"] != t["loans"]["company_code"].map(normalise_code)).any()
    names = t["loans"]["company_name"]
    assert (names != names.map(normalise_name)).any()
    assert t["loans"]["loan_id"].duplicated().any()
    tax = t["tax_filings"]
    assert tax.duplicated(["credit_code", "quarter_end"]).any()  # amended re-filings
    late = (tax["filed_on"] - tax["quarter_end"]).dt.days > 60
    assert late.any()
    per_company = tax.groupby("credit_code")["quarter_end"].agg(["min", "max", "nunique"])
    span = (per_company["max"].dt.to_period("Q") - per_company["min"].dt.to_period("Q")).map(
        lambda d: d.n + 1
    )
    assert (per_company["nunique"] < span).mean() > 0.1  # missing quarters
    tx = t["property_transactions"]["buyer_id"]
    assert (tx != tx.map(normalise_code)).any()


def test_drift_changes_only_what_comes_after(pool, drifted) -> None:
    cut = START + pd.DateOffset(months=DRIFT_MONTH)
    a, b = pool.tables, drifted.tables
    early = a["loans"]["loan_date"] < cut
    pd.testing.assert_frame_equal(a["loans"][early], b["loans"][early])
    ids = a["loans"].loc[early, "loan_id"].unique()
    for name, key in (("loan_applications", "loan_id"),):
        pd.testing.assert_frame_equal(
            a[name][a[name][key].isin(ids)], b[name][b[name][key].isin(ids)]
        )
    codes = a["loans"].loc[early, "company_code"].map(normalise_code)
    for name in ("companies", "tax_filings", "shareholder_changes"):
        fa = a[name][a[name]["credit_code"].isin(codes)].reset_index(drop=True)
        fb = b[name][b[name]["credit_code"].isin(codes)].reset_index(drop=True)
        pd.testing.assert_frame_equal(fa, fb)
    for name in ("property_transactions", "mortgage_registrations"):
        pd.testing.assert_frame_equal(a[name], b[name])
    old = pool.truth["loan_date"] < cut
    pd.testing.assert_frame_equal(pool.truth[old], drifted.truth[old])
    h_a, h_b = pool.history, drifted.history
    pd.testing.assert_frame_equal(h_a[h_a["flagged_on"] < cut], h_b[h_b["flagged_on"] < cut])


def test_drift_fades_network_and_shell_signals(pool, drifted) -> None:
    cut = START + pd.DateOffset(months=DRIFT_MONTH)

    def late_ring_stats(p) -> tuple[float, float]:
        apps = p.tables["loan_applications"]
        truth = p.truth.set_index("entity_id").loc[apps["loan_id"]]
        late = (truth["loan_date"] >= cut).to_numpy() & truth["ring_id"].notna().to_numpy()
        shared = apps["contact_phone"].map(apps["contact_phone"].value_counts()) >= 3
        loans = (
            p.tables["loans"].drop_duplicates("loan_id").set_index("loan_id").loc[apps["loan_id"]]
        )
        changes = p.tables["shareholder_changes"].groupby("credit_code")["change_date"].max()
        held = (loans["loan_date"] - loans["company_code"].map(normalise_code).map(changes)).dt.days
        return shared.to_numpy()[late].mean(), (held.to_numpy()[late] < 180).mean()

    shared_before, fresh_before = late_ring_stats(pool)
    shared_after, fresh_after = late_ring_stats(drifted)
    assert shared_before > 0.5 and shared_after < 0.05
    assert fresh_before > 0.5 and fresh_after < 0.05
    assert drifted.truth["drifted"].any() and not pool.truth["drifted"].any()

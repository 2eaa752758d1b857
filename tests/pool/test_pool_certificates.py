"""The fake_certificates simulation: schemas, patterns, joins, subtlety, history, defects, drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.fake_certificates import simulation as fc
from pool.arrow import to_arrow_table, to_pandas
from pool.keys import is_valid_id, is_valid_uscc, normalise_code
from pool.load import validate
from pool.schemas import history_source, truth_source
from pool.sim.people import (
    DISTRICT_CODES,
    birth_days,
    id_numbers,
    old_15_digit,
    uscc_codes,
)
from pool.spec import DISTRICTS, SimConfig

SCALE = 0.08
DRIFT_MONTH = 18
COUNTERFEIT = ("not_in_registry", "other_holder")


@pytest.fixture(scope="module")
def pool():
    return fc.simulate(SimConfig(seed=7, scale=SCALE))


@pytest.fixture(scope="module")
def drifted():
    return fc.simulate(SimConfig(seed=7, scale=SCALE, drift_month=DRIFT_MONTH))


def _cert_key(raw: pd.Series) -> pd.Series:
    """Declared certificate numbers normalised the way a careful analyst would."""
    key = raw.map(normalise_code)
    return key.where(key.str.startswith("T"), "T" + key)


@pytest.fixture(scope="module")
def joined(pool):
    """One row per site record with its registry row, domain record and exam status."""
    t = pool.tables
    site = t["site_workers"].drop_duplicates("site_record_id").reset_index(drop=True)
    reg = t["certificate_registry"].set_index("cert_no")
    found = reg.reindex(_cert_key(site["declared_cert_no"]).to_numpy()).reset_index(drop=True)
    dom = t["lookup_domains"].set_index("domain")
    host = site["lookup_url"].str.extract(r"https://([^/]+)/")[0]
    drec = dom.reindex(host.to_numpy()).reset_index(drop=True)
    ex = t["training_exams"]
    passed = set(ex.loc[ex["passed"], "candidate_id"] + "|" + ex.loc[ex["passed"], "job_type"])
    truth = pool.truth.set_index("entity_id").loc[site["site_record_id"]].reset_index()
    worker = site["worker_id"].map(normalise_code)
    return pd.DataFrame(
        {
            "pattern": truth["pattern"],
            "in_registry": found["holder_id"].notna(),
            "holder_mismatch": found["holder_id"].notna()
            & (worker.str.len() == 18)
            & (found["holder_id"] != worker),
            "job_mismatch": found["job_type"].notna()
            & (found["job_type"] != site["declared_job_type"]),
            "no_exam_digital": found["issued_on"].ge(pd.Timestamp("2019-01-01"))
            & ~(found["holder_id"] + "|" + found["job_type"]).isin(passed),
            "no_exam_any": ~(worker + "|" + site["declared_job_type"]).isin(passed),
            "lapsed": (found["expires_on"] < site["presented_on"])
            | (found["revoked_on"] < site["presented_on"]),
            "expired": found["expires_on"] < site["presented_on"],
            "revoked_ever": found["revoked_on"].notna(),
            "not_listed": drec["on_official_list"].eq(False),
            "not_government": drec["registrant_kind"].ne("government")
            & drec["registrant_kind"].notna(),
            "domain_young_1y": (site["presented_on"] - drec["registered_on"]).dt.days < 365,
            "domain_young_90d": (site["presented_on"] - drec["registered_on"]).dt.days < 90,
            "no_icp": drec["icp_filing"].isna() & drec.index.notna(),
            "name_mismatch": found["holder_name"].notna()
            & (found["holder_name"] != site["worker_name"]),
            "score_low": found["exam_score"] < 84,
            "no_qr": site["lookup_url"].isna(),
        }
    )


def test_id_and_code_generators_agree_with_keys() -> None:
    rng = np.random.default_rng(0)
    ids = id_numbers(birth_days(500, 19_000, rng, 40, 10), rng)
    assert all(is_valid_id(i) for i in ids)
    assert all(is_valid_uscc(c) for c in uscc_codes(np.array(DISTRICTS * 20), rng))
    old = old_15_digit(ids[:5])
    pairs = zip(old, ids[:5], strict=True)
    assert all(len(o) == 15 and o[:6] == i[:6] and o[6:12] == i[8:14] for o, i in pairs)
    assert tuple(DISTRICT_CODES) == DISTRICTS


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = fc.simulate(SimConfig(seed=3, scale=0.02))
    b = fc.simulate(SimConfig(seed=3, scale=0.02))
    c = fc.simulate(SimConfig(seed=4, scale=0.02))
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    pd.testing.assert_frame_equal(a.history, b.history)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.tables["site_workers"]["worker_id"].equals(c.tables["site_workers"]["worker_id"])


def test_every_table_passes_its_schema(pool) -> None:
    for spec in fc.SOURCES:
        frame = to_pandas(to_arrow_table(pool.tables[spec.table], spec), spec)
        validate(frame, spec)
    hist = history_source(fc.SCENARIO)
    validate(to_pandas(to_arrow_table(pool.history, hist), hist), hist)
    validate(pool.truth, truth_source(fc.SCENARIO), strict=False)
    assert set(pool.tables) == {s.table for s in fc.SOURCES}


def test_patterns_at_intended_prevalence(pool) -> None:
    share = pool.truth["pattern"].value_counts(normalize=True)
    expected = {
        "not_in_registry": 0.012,
        "other_holder": 0.006,
        "wrong_job_type": 0.004,
        "no_exam": 0.004,
        "lookalike_domain": 0.006,
    }
    for pattern, rate in expected.items():
        assert share.get(pattern, 0.0) == pytest.approx(rate, abs=max(0.5 * rate, 0.003)), pattern
    assert 0.025 < pool.truth["is_fraud"].mean() < 0.045
    counterfeit = pool.truth[pool.truth["pattern"].isin(COUNTERFEIT)]
    assert 0.3 < counterfeit["ring_id"].notna().mean() < 0.7


def test_each_pattern_visible_through_its_join(joined) -> None:
    p = joined["pattern"]
    honest = p == "none"
    assert (~joined.loc[p == "not_in_registry", "in_registry"]).mean() > 0.97
    assert joined.loc[honest, "in_registry"].mean() > 0.97
    assert joined.loc[p == "other_holder", "holder_mismatch"].mean() > 0.9
    assert joined.loc[p == "wrong_job_type", "job_mismatch"].mean() > 0.95
    assert joined.loc[p == "no_exam", "no_exam_digital"].mean() > 0.95
    lad = joined.loc[p == "lookalike_domain"]
    assert (lad["lapsed"] & lad["not_listed"]).mean() > 0.95
    assert (
        lad["in_registry"].all()
        and not lad["holder_mismatch"].any()
        and not lad["job_mismatch"].any()
    )


def _single_rule_reach(joined: pd.DataFrame, pattern: str) -> pd.DataFrame:
    """Recall on ``pattern`` and precision against honest records, for every single rule."""
    target, honest = joined["pattern"] == pattern, joined["pattern"] == "none"
    rows = []
    for rule in joined.columns.drop("pattern"):
        hit = joined[rule].fillna(False).astype(bool)
        tp, fp = (hit & target).sum(), (hit & honest).sum()
        rows.append({"rule": rule, "recall": tp / target.sum(), "precision": tp / max(tp + fp, 1)})
    return pd.DataFrame(rows).set_index("rule")


def test_subtle_pattern_escapes_every_single_rule(joined) -> None:
    reach = _single_rule_reach(joined, "lookalike_domain")
    caught = reach[(reach["recall"] >= 0.5) & (reach["precision"] >= 0.5)]
    assert caught.empty, caught
    # ...while the conjunction the pattern was built on does far better than any single rule.
    both = joined["lapsed"] & joined["not_listed"]
    target = joined["pattern"] == "lookalike_domain"
    honest = joined["pattern"] == "none"
    precision = (both & target).sum() / (both & (target | honest)).sum()
    assert precision > reach["precision"][["lapsed", "not_listed"]].max()


def test_blatant_pattern_caught_by_one_rule(joined) -> None:
    reach = _single_rule_reach(joined, "not_in_registry")
    assert reach.loc["in_registry", "recall"] < 0.05  # the rule is "not in registry"
    flagged = ~joined["in_registry"]
    target = joined["pattern"] == "not_in_registry"
    assert (flagged & target).sum() / target.sum() > 0.97
    assert (flagged & target).sum() / flagged.sum() > 0.9


def test_fakes_cluster_at_ring_foremen(pool) -> None:
    site = pool.tables["site_workers"].drop_duplicates("site_record_id")
    truth = pool.truth.set_index("entity_id").loc[site["site_record_id"]]
    fake_share = (
        pd.Series(truth["is_fraud"].to_numpy(), index=site["foreman_id"]).groupby(level=0).mean()
    )
    ring_foremen = site.loc[truth["ring_id"].notna().to_numpy(), "foreman_id"].unique()
    assert fake_share.loc[ring_foremen].median() > 0.3
    assert fake_share.drop(ring_foremen).mean() < 0.05


def test_history_biased_toward_what_crude_rules_catch(pool) -> None:
    h = pool.history.merge(pool.truth[["entity_id", "pattern", "oddities"]], on="entity_id")
    assert set(h["rule"]) <= {"cert_not_in_registry", "site_inspection", "tip_off"}
    sizes = pool.truth.groupby("pattern").size()
    labelled = (h.groupby("pattern")["entity_id"].nunique() / sizes).fillna(0.0)
    assert labelled["not_in_registry"] > 0.4
    assert labelled["lookalike_domain"] < 0.2
    assert labelled["none"] < 0.15
    honest = h[h["pattern"] == "none"]
    assert not (honest["outcome"] == "case_filed").any()
    registry_honest = honest[honest["rule"] == "cert_not_in_registry"]
    slips = registry_honest["oddities"].str.contains("cert_format|late_registry")
    assert slips.mean() > 0.9  # the exact-match rule fires on typing slips and late entries
    assert (registry_honest["outcome"] == "invalid").mean() > 0.25


def test_defects_present(pool) -> None:
    site = pool.tables["site_workers"]
    raw = site["worker_id"]
    norm = raw.map(normalise_code)
    assert (raw != norm).mean() > 0.005  # format variants
    eighteen = norm[norm.str.len() == 18]
    assert 0.001 < (~eighteen.map(is_valid_id)).mean() < 0.02  # bad check characters
    assert (norm.str.len() == 15).mean() > 0.005  # old 15-digit IDs
    assert (~site["declared_cert_no"].str.startswith("T")).mean() > 0.005
    assert site["site_record_id"].duplicated().sum() > 0  # uploaded twice
    assert (site["recorded_on"] - site["presented_on"]).dt.days.max() > 30  # late uploads
    odd = pool.truth["oddities"]
    for kind in (
        "expired",
        "overdue_review",
        "late_registry",
        "name_variant",
        "multi_cert",
        "old_id",
    ):
        assert odd.str.contains(kind).any(), kind
    honest = pool.truth["pattern"] == "none"
    assert 0.02 < odd[honest].str.contains("expired").mean() < 0.12
    exams = pool.tables["training_exams"]
    assert exams.duplicated(["candidate_id", "exam_on", "job_type"]).any()


def test_drift_changes_only_what_comes_after(pool, drifted) -> None:
    cut = pd.Timestamp(2023, 1, 1) + pd.DateOffset(months=DRIFT_MONTH)
    a, b = pool.tables, drifted.tables
    for name in ("certificate_registry", "training_exams"):
        pd.testing.assert_frame_equal(a[name], b[name])
    before = a["site_workers"]["presented_on"] < cut
    pd.testing.assert_frame_equal(a["site_workers"][before], b["site_workers"][before])
    old_truth = pool.truth["presented_on"] < cut
    pd.testing.assert_frame_equal(pool.truth[old_truth], drifted.truth[old_truth])
    h_a, h_b = pool.history, drifted.history
    pd.testing.assert_frame_equal(h_a[h_a["flagged_on"] < cut], h_b[h_b["flagged_on"] < cut])
    used = a["site_workers"].loc[before, "lookup_url"].str.extract(r"https://([^/]+)/")[0].dropna()
    dom_a = a["lookup_domains"].set_index("domain").loc[used.unique()]
    dom_b = b["lookup_domains"].set_index("domain").loc[used.unique()]
    pd.testing.assert_frame_equal(dom_a, dom_b)
    assert not a["site_workers"][~before].equals(b["site_workers"][~before])


def test_drift_defeats_the_registry_lookup(pool, drifted) -> None:
    def found_share(p) -> float:
        site = p.tables["site_workers"].drop_duplicates("site_record_id").reset_index(drop=True)
        truth = p.truth.set_index("entity_id").loc[site["site_record_id"]].reset_index()
        late = truth["is_fraud"] & (
            truth["presented_on"] >= pd.Timestamp(2023, 1, 1) + pd.DateOffset(months=DRIFT_MONTH)
        )
        late &= truth["pattern"].isin(COUNTERFEIT)
        keys = _cert_key(site.loc[late, "declared_cert_no"])
        return keys.isin(set(p.tables["certificate_registry"]["cert_no"])).mean()

    assert found_share(pool) < 0.5
    assert found_share(drifted) > 0.95
    assert drifted.truth["drifted"].sum() > 0 and not pool.truth["drifted"].any()

"""fake_certificates and mortgage_loans features on hand-made pools: values worked out by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from features import registry
from features.build import build_features
from features.testing import broken_check, resident_id, uscc, write_pool

T = pd.Timestamp
W1, W2, W3 = (resident_id(f"1101051990010{i}00{i}") for i in (1, 2, 3))
OTHER = resident_id("11010519800101999")
EMP_A, EMP_B = uscc("91110105MA0000011"), uscc("91110105MA0000012")


def _cert(
    no, holder, job="electrician", score=90.0, issued="2022-01-01", entered=None, revoked=None
) -> dict:
    return {
        "cert_no": no,
        "holder_id": holder,
        "holder_name": "张三",
        "job_type": job,
        "issuing_authority": "110105",
        "issued_on": T(issued),
        "expires_on": T(issued) + pd.DateOffset(years=6),
        "last_review_on": None,
        "revoked_on": T(revoked) if revoked else None,
        "exam_score": score,
        "entered_on": T(entered or issued),
    }


def _site(
    rid,
    worker,
    cert,
    emp,
    job="electrician",
    url="https://cx.mem.gov.cn/q",
    presented="2024-06-01",
    foreman="F1",
) -> dict:
    return {
        "site_record_id": rid,
        "site_id": "S1",
        "district": "Chaoyang",
        "employer_code": emp,
        "employer_name": "某劳务有限公司",
        "foreman_name": "王",
        "foreman_id": foreman,
        "worker_name": "张三",
        "worker_id": worker,
        "declared_cert_no": cert,
        "declared_job_type": job,
        "lookup_url": url,
        "presented_on": T(presented),
        "recorded_on": T(presented) + pd.Timedelta(days=1),
    }


def _exam(eid, who, passed=True, on="2021-12-01", job="electrician") -> dict:
    return {
        "exam_id": eid,
        "candidate_id": who,
        "candidate_name": "张三",
        "job_type": job,
        "training_institution": "中心",
        "training_hours": 60,
        "exam_on": T(on),
        "theory_score": 90.0 if passed else 50.0,
        "practical_score": 90.0,
        "passed": passed,
        "recorded_on": T(on) + pd.Timedelta(days=5),
    }


def test_fake_certificates_by_hand(tmp_path):
    certs = [
        _cert("T110105220000001", W1),
        _cert("T110105220000002", OTHER),
        _cert("T110105220000003", W3, job="welding_cutting", score=70.0, revoked="2024-01-01"),
        _cert("T110105220000009", W2, entered="2024-08-01"),
    ]  # entered after AS_OF
    sites = [
        _site("SR000000001", W1, " t110105220000001", EMP_A),  # genuine, typed loosely
        _site(
            "SR000000002",
            W2,
            "T110105220000002",
            EMP_A,  # someone else's certificate
            url="https://bj-tzzy-cx.cn/q?x=1",
        ),
        _site("SR000000003", W3, "T110105220000003", EMP_A),  # wrong job, revoked, low score
        _site("SR000000004", W2, "T110105220000009", EMP_B, url=""),  # not yet in registry
        _site("SR000000005", W3, "T110105220000002", EMP_B),  # same number as SR2
    ]
    exams = [_exam("E1", W1), _exam("E2", W2, passed=False), _exam("E3", W3, on="2024-09-01")]
    domains = [
        {
            "domain": "cx.mem.gov.cn",
            "registered_on": T("2018-01-01"),
            "registrant_kind": "government",
            "icp_filing": "x",
            "on_official_list": True,
        },
        {
            "domain": "bj-tzzy-cx.cn",
            "registered_on": T("2024-05-02"),
            "registrant_kind": "individual",
            "icp_filing": "",
            "on_official_list": False,
        },
    ]
    history = [
        {
            "lead_id": "L1",
            "entity_id": "SR000000002",
            "district": "Chaoyang",
            "rule": "r",
            "flagged_on": T("2024-06-10"),
            "verified_on": T("2024-07-01"),
            "outcome": "case_filed",
            "amount_recovered": 0.0,
        }
    ]
    root = write_pool(
        tmp_path,
        registry.get("fake_certificates").sources,
        {
            "certificate_registry": certs,
            "site_workers": sites,
            "training_exams": exams,
            "lookup_domains": domains,
            "verification_history": history,
        },
    )
    f = build_features("fake_certificates", date(2024, 7, 31), root).frame.set_index("entity_id")
    s1, s2, s3, s4, s5 = (f.loc[f"SR00000000{i}"] for i in range(1, 6))
    assert (
        s1[
            [
                "cert_not_in_registry",
                "holder_id_mismatch",
                "job_type_mismatch",
                "invalid_when_presented",
                "no_passed_exam",
                "lookup_unofficial",
            ]
        ].sum()
        == 0
    )
    assert s1["lookup_domain_age_days"] == (T("2024-06-01") - T("2018-01-01")).days
    assert s2["holder_id_mismatch"] == 1 and s2["lookup_unofficial"] == 1
    assert s2["lookup_domain_age_days"] == 30
    assert s2["no_passed_exam"] == 1 and s2["no_training_record"] == 0  # failed attempt
    assert s2["cert_shared"] == 1 and s5["cert_shared"] == 1
    assert s3["job_type_mismatch"] == 1 and s3["invalid_when_presented"] == 1
    assert s3["registry_score_below_pass"] == 1
    assert s3["no_training_record"] == 1  # its exam is dated after the presentation
    assert s4["cert_not_in_registry"] == 1 and np.isnan(s4["holder_id_mismatch"])
    assert np.isnan(s4["lookup_unofficial"])  # no QR code on the card
    # bad = not in registry, other holder or other job: SR2, SR3, SR4 and SR5 (other holder)
    assert s1["employer_bad_rate"] == pytest.approx(2 / 2)  # SR2, SR3 among A's others
    assert s4["employer_bad_rate"] == pytest.approx(1.0)  # SR5
    assert s1["foreman_bad_rate"] == pytest.approx(4 / 4)
    assert f["label"].to_dict() == pytest.approx(
        {
            "SR000000001": np.nan,
            "SR000000002": 1.0,
            "SR000000003": np.nan,
            "SR000000004": np.nan,
            "SR000000005": np.nan,
        },
        nan_ok=True,
    )


def _loan(
    lid,
    borrower,
    company,
    officer="E1",
    loan_date="2024-03-01",
    amount=700_000.0,
    appraisal=1_600_000.0,
    prop="P1",
) -> dict:
    return {
        "loan_id": lid,
        "bank": "B",
        "branch_id": "BR1",
        "district": "Haidian",
        "loan_officer_id": officer,
        "borrower_id": borrower,
        "borrower_name": "李四",
        "company_code": company,
        "company_name": "某公司",
        "amount_yuan": amount,
        "term_months": 36,
        "annual_rate": 0.04,
        "loan_date": T(loan_date),
        "stated_purpose": "working_capital",
        "collateral_property_id": prop,
        "appraisal_value_yuan": appraisal,
        "appraisal_firm": "A",
        "reported_on": T(loan_date) + pd.Timedelta(days=3),
    }


def _app(lid, phone, address="地址1", agent="", spouse=None) -> dict:
    return {
        "loan_id": lid,
        "applied_on": T("2024-01-15"),
        "contact_phone": phone,
        "contact_address": address,
        "agent_name": "中介" if agent else "",
        "agent_phone": agent,
        "marital_status": "married" if spouse else "single",
        "spouse_id": spouse,
        "spouse_name": "配偶" if spouse else "",
    }


def test_mortgage_loans_by_hand(tmp_path):
    shell, real = uscc("91110108MA0000021"), uscc("91110108MA0000022")
    b1, b2, spouse2 = (resident_id(f"1101081985010{i}12{i}") for i in (1, 2, 3))
    loans = [
        _loan("LN1", b1, shell, prop="P1"),
        _loan("LN2", broken_check(b2), real, prop="P2", appraisal=1_000_000.0),
        _loan(
            "LN3", b2, real, officer="E1", loan_date="2024-02-01", prop="P2", appraisal=1_000_000.0
        ),
    ]
    apps = [
        _app("LN1", "13800000000", agent="13900000000"),
        _app("LN2", "13800000000", address="地址2", agent="13900000000"),
        _app("LN3", "13700000000", address="地址3", spouse=spouse2),
    ]
    companies = [
        {
            "credit_code": shell,
            "name": "壳",
            "founded_on": T("2024-01-01"),
            "registered_capital_yuan": 1e5,
            "district": "Haidian",
        },
        {
            "credit_code": real,
            "name": "实",
            "founded_on": T("2010-03-01"),
            "registered_capital_yuan": 1e6,
            "district": "Haidian",
        },
    ]
    changes = [
        {
            "change_id": "C1",
            "credit_code": shell,
            "change_date": T("2024-02-10"),
            "from_holder_id": OTHER,
            "to_holder_id": b1,
            "share_pct": 100.0,
            "consideration_yuan": 20000.0,
            "recorded_on": T("2024-02-15"),
        }
    ]
    filings = [
        {
            "credit_code": real,
            "quarter_end": T(q),
            "revenue_yuan": 250_000.0,
            "filed_on": T(q) + pd.Timedelta(days=10),
        }
        for q in ("2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31")
    ]
    trans = [
        {
            "transaction_id": "X1",
            "property_id": "P1",
            "buyer_id": b1,
            "price_yuan": 1_000_000.0,
            "contract_on": T("2020-05-01"),
            "registered_on": T("2020-05-10"),
        },
        {
            "transaction_id": "X2",
            "property_id": "P2",
            "buyer_id": b2,
            "price_yuan": 900_000.0,
            "contract_on": T("2015-05-01"),
            "registered_on": T("2015-05-10"),
        },
        {
            "transaction_id": "X3",
            "property_id": "P9",
            "buyer_id": b1,
            "price_yuan": 1_000_000.0,
            "contract_on": T("2024-04-15"),
            "registered_on": T("2024-04-20"),
        },  # 45 days later
        {
            "transaction_id": "X4",
            "property_id": "P8",
            "buyer_id": spouse2,
            "price_yuan": 1e6,
            "contract_on": T("2024-05-01"),
            "registered_on": T("2024-05-05"),
        },
        {
            "transaction_id": "X5",
            "property_id": "P7",
            "buyer_id": b2,
            "price_yuan": 1e6,
            "contract_on": T("2024-08-01"),
            "registered_on": T("2024-08-05"),
        },  # after AS_OF
    ]
    root = write_pool(
        tmp_path,
        registry.get("mortgage_loans").sources,
        {
            "loans": loans,
            "loan_applications": apps,
            "companies": companies,
            "shareholder_changes": changes,
            "tax_filings": filings,
            "property_transactions": trans,
            "mortgage_registrations": [],
            "verification_history": [],
        },
    )
    f = build_features("mortgage_loans", date(2024, 6, 30), root).frame.set_index("entity_id")
    l1, l2, l3 = f.loc["LN1"], f.loc["LN2"], f.loc["LN3"]
    assert l1["company_age_days"] == 60  # 1 Jan to 1 Mar 2024
    assert l1["days_since_share_transfer"] == 20 and l1["borrower_bought_shares"] == 1
    assert l1["revenue_last_year"] == 0 and np.isnan(l1["loan_to_revenue"])
    assert l1["days_to_home_purchase"] == 45 and l1["home_purchase_within_year"] == 1
    assert l1["appraisal_to_price"] == pytest.approx(1.6)
    assert l1["loans_sharing_phone"] == 1 and l1["loans_by_agent"] == 1
    assert np.isnan(l3["loans_by_agent"])  # no agent on the file
    assert l2["revenue_last_year"] == pytest.approx(1_000_000.0)
    assert l2["loan_to_revenue"] == pytest.approx(0.7)
    assert l2["borrower_id_invalid"] == 1 and l3["borrower_id_invalid"] == 0
    assert np.isnan(l2["days_to_home_purchase"])  # typo'd ID; X5 is after the as-of date
    assert l3["days_to_home_purchase"] == (T("2024-05-01") - T("2024-02-01")).days  # spouse
    assert l3["appraisal_to_price"] == pytest.approx(1_000_000 / 900_000)
    # officer E1: LN1 flagged (young company, fresh transfer), LN2 and LN3 not
    assert l1["officer_flagged_share"] == 0 and l2["officer_flagged_share"] == 0.5
    assert f["label"].isna().all()

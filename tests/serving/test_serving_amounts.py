"""The lead list sorted by amount and expected value, and a lead's amount and evidence view,
through the service in-process (the sandbox deployment)."""

from __future__ import annotations

import pytest

from serving.evidence_series import peer_summary


def _leads(client, sandbox, **params) -> list[dict]:
    got = client.get(
        "/v1/leads", params=params, headers={"Authorization": f"Bearer {sandbox.keys['admin']}"}
    )
    assert got.status_code == 200, got.text
    return got.json()["items"]


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("amount", lambda x: x["amount"]),
        ("expected_value", lambda x: x["expected_value"]),
        ("probability", lambda x: x["probability"]),
    ],
)
def test_leads_sort_by_amount_and_expected_value_across_pages(client, sandbox, sort, key):
    first = _leads(client, sandbox, sort=sort, page_size=20)
    second = _leads(client, sandbox, sort=sort, page_size=20, page=2)
    values = [key(x) for x in first + second]
    assert values == sorted(values, reverse=True) and len(set(values)) > 5
    if sort != "probability":  # the sandbox's probability is a monotone map of its score
        by_score = [x["id"] for x in _leads(client, sandbox, page_size=40)]
        assert [x["id"] for x in first + second] != by_score  # another order, not a relabel


def test_unknown_sort_is_a_422_naming_the_choices(client, sandbox):
    got = client.get(
        "/v1/leads?sort=value", headers={"Authorization": f"Bearer {sandbox.keys['admin']}"}
    )
    assert got.status_code == 422 and "expected_value" in got.text


def test_a_lead_carries_amount_unit_interval_and_its_evidence_view(client, sandbox):
    lead = _leads(client, sandbox, sort="amount")[0]
    assert lead["amount_unit"] == "yuan" and lead["amount"] > 0
    assert lead["probability_low"] <= lead["probability"] <= lead["probability_high"]
    assert lead["expected_value"] == pytest.approx(lead["probability"] * lead["amount"])
    detail = client.get(
        f"/v1/leads/{lead['id']}", headers={"Authorization": f"Bearer {sandbox.keys['admin']}"}
    ).json()
    stakes = detail["amount_at_stake"]
    assert stakes["declared"] and stakes["unit"] == "yuan"
    assert stakes["description"]["zh"].startswith("未申报销售应缴税款")
    assert "90%区间" in stakes["probability_text"]["zh"]
    got = client.get(
        f"/v1/leads/{lead['id']}/evidence",
        headers={"Authorization": f"Bearer {sandbox.keys['admin']}"},
    )
    assert got.status_code == 200, got.text
    view = got.json()["evidence_view"]
    assert view["kind"] == "monthly"
    by_name = {s["name"]: s for s in view["series"]}
    assert set(by_name) == {"declared", "invoiced", "delivered", "vehicles"}
    assert all(len(s["points"]) == 12 for s in by_name.values())
    declared = sum(p["value"] for p in by_name["declared"]["points"])
    delivered = sum(p["value"] for p in by_name["delivered"]["points"])
    assert declared < delivered  # the sandbox's stations declare a share of what they receive
    peers = {p["feature"]: p for p in view["peers"]}
    assert set(peers) == {"declared_to_delivered", "declared_per_vehicle"}


def test_peer_summary_places_the_entity_in_its_peers():
    import numpy as np

    out = peer_summary("f", {"zh": "比", "en": "ratio"}, 0.9, np.arange(100) / 100.0, "district")
    assert out["n"] == 100 and sum(out["counts"]) == 100 and len(out["edges"]) == 21
    assert out["percentile"] == pytest.approx(0.91)
    assert out["quartiles"][1] == pytest.approx(0.495)
    empty = peer_summary("f", {}, None, np.array([np.nan]), None)
    assert empty["counts"] == [] and empty["percentile"] is None


def test_evidence_of_another_district_is_refused(client, sandbox):
    lead = _leads(client, sandbox, district="Haidian")[0]
    got = client.get(
        f"/v1/leads/{lead['id']}/evidence",
        headers={"Authorization": f"Bearer {sandbox.keys['staff:Chaoyang']}"},
    )
    assert got.status_code == 403

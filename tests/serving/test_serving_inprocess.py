"""Serving, in-process through the BentoML service's ASGI app: scores, leads, security, bad
input, the access matrix, alias changes without restart and the last-good fallback.

The service runs against a sandbox (real MLflow sqlite registry with a registered LightGBM pyfunc,
a migrated lead store with leads and hashed keys, a feature table), built once per session and
copied per module.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from serving import access
from serving.sandbox import FEATURES, SCENARIO, fit_scorer, register

ROLE_KEYS = ("system", "data_scientist", "admin", "staff:Haidian", "staff:Chaoyang")


SERVICE_ENV = {"SERVING_MAX_BODY_BYTES": "300000"}  # the body limit, tested below


@pytest.fixture(scope="module")
def table(sandbox) -> pd.DataFrame:
    return pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")


def auth(sandbox, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys[who]}"}


def rows(table: pd.DataFrame, n: int) -> list[dict]:
    head = table.head(n)
    return [
        {
            "entity_id": r["entity_id"],
            "features": {f: (None if pd.isna(r[f]) else float(r[f])) for f in FEATURES},
        }
        for r in head.to_dict("records")
    ]


def lead_in(client, sandbox, district: str, status: str = "new") -> int:
    got = client.get(
        "/v1/leads", params={"district": district, "status": status}, headers=auth(sandbox, "admin")
    ).json()
    assert got["items"], f"no {status} lead left in {district}"
    return got["items"][0]["id"]


# ---------------------------------------------------------------------------- scoring
def test_score_rows_names_the_version_and_explains_only_the_top(client, sandbox, table) -> None:
    body = {"scenario": SCENARIO, "rows": rows(table, 40), "explain_top": 3, "max_reasons": 2}
    got = client.post("/v1/score", json=body, headers=auth(sandbox, "system"))
    assert got.status_code == 200, got.text
    data = got.json()
    assert data["model"]["version"] == "1" and data["model"]["alias"] == "champion"
    assert (
        data["count"] == 40
        and [r["entity_id"] for r in data["results"]] == table["entity_id"].head(40).tolist()
    )
    explained = [r for r in data["results"] if r["reasons"]]
    assert sorted(r["rank"] for r in explained) == [1, 2, 3]
    assert all(len(r["reasons"]) == 2 for r in explained)
    assert all(0 < r["percentile"] <= 100 for r in data["results"])
    assert (
        "population" not in data["percentile_basis"] and "2000 entities" in data["percentile_basis"]
    )
    # the sandbox's truth is driven by declared_share and waybill_gap: the top row's first
    # reason must be one of them, with a positive SHAP value
    top = min(explained, key=lambda r: r["rank"])
    assert top["reasons"][0]["feature"] in {"declared_share", "waybill_gap"}
    assert top["reasons"][0]["shap"] > 0 and top["reasons"][0]["text"]


def test_score_by_entity_id_matches_rows_and_all(client, sandbox, table) -> None:
    ids = table["entity_id"].head(5).tolist()
    by_id = client.post(
        "/v1/score",
        json={"scenario": SCENARIO, "entity_ids": ids},
        headers=auth(sandbox, "data_scientist"),
    ).json()
    by_rows = client.post(
        "/v1/score",
        json={"scenario": SCENARIO, "rows": rows(table, 5)},
        headers=auth(sandbox, "data_scientist"),
    ).json()
    assert [r["score"] for r in by_id["results"]] == pytest.approx(
        [r["score"] for r in by_rows["results"]]
    )
    everything = client.post(
        "/v1/score",
        json={"scenario": SCENARIO, "all_entities": True, "explain_top": 10, "layout": "columns"},
        headers=auth(sandbox, "admin"),
    ).json()
    assert everything["count"] == len(table) and len(everything["reasons"]) == 10
    assert sorted(everything["rank"]) == list(range(1, len(table) + 1))


@pytest.mark.parametrize(
    "body, status, where",
    [
        (
            {
                "scenario": SCENARIO,
                "rows": [{"entity_id": "a", "features": {"declared_share": "NaN"}}],
            },
            422,
            "declared_share",
        ),
        ({"scenario": SCENARIO, "all_entities": True, "colour": "red"}, 422, "colour"),
        ({"scenario": SCENARIO}, 422, "exactly one"),
        ({"scenario": SCENARIO, "rows": [], "explain_top": 1}, 422, "empty"),
        ({"scenario": SCENARIO, "all_entities": True, "explain_top": -1}, 422, "explain_top"),
        ({"scenario": "no_such_scenario", "all_entities": True}, 404, "no_such_scenario"),
        ({"scenario": SCENARIO, "entity_ids": ["not-an-entity"]}, 404, "not-an-entity"),
        (
            {
                "scenario": SCENARIO,
                "rows": [{"entity_id": "a", "features": {"declared_share": 1.0}}],
            },
            422,
            "missing feature",
        ),
    ],
)
def test_bad_score_requests(client, sandbox, body, status, where) -> None:
    got = client.post("/v1/score", json=body, headers=auth(sandbox, "system"))
    assert got.status_code == status, got.text
    assert where in got.text
    assert set(got.json()) >= {"status", "error"}


def test_nan_and_infinity_literals_refused(client, sandbox) -> None:
    features = ", ".join(f'"{f}": 1.0' for f in FEATURES[1:])
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = (
            '{"scenario": "fuel_tax", "rows": [{"entity_id": "a", "features": '
            f'{{"declared_share": {literal}, {features}}}}}]}}'
        )
        got = client.post(
            "/v1/score",
            content=raw,
            headers={**auth(sandbox, "system"), "Content-Type": "application/json"},
        )
        assert got.status_code == 422, (literal, got.text)
        assert "declared_share" in got.text


def test_unknown_feature_named(client, sandbox, table) -> None:
    row = rows(table, 1)[0]
    row["features"]["pump_colour"] = 1.0
    got = client.post(
        "/v1/score", json={"scenario": SCENARIO, "rows": [row]}, headers=auth(sandbox, "system")
    )
    assert got.status_code == 422 and "pump_colour" in got.text


def test_body_size_limit(client, sandbox, table) -> None:
    big = {"scenario": SCENARIO, "rows": rows(table, 2000)}
    got = client.post("/v1/score", json=big, headers=auth(sandbox, "system"))
    assert got.status_code == 413 and "limit" in got.json()["error"]

    def chunks():  # no Content-Length: the limit must hold while streaming
        yield b'{"scenario": "fuel_tax", "entity_ids": ['
        for _ in range(40_000):
            yield b'"xxxxxxxxxxxxxxxx",'
        yield b'"x"]}'

    streamed = client.post(
        "/v1/score",
        content=chunks(),
        headers={**auth(sandbox, "system"), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_unknown_route_and_method(client, sandbox) -> None:
    missing = client.get("/v1/no/such/route", headers=auth(sandbox, "admin"))
    assert missing.status_code == 404 and "no/such/route" in missing.json()["error"]
    wrong = client.delete("/v1/score", headers=auth(sandbox, "admin"))
    assert wrong.status_code in (404, 405) and "error" in wrong.json()


def test_missing_and_wrong_keys(client, sandbox) -> None:
    body = {"scenario": SCENARIO, "all_entities": True}
    assert client.post("/v1/score", json=body).status_code == 401
    wrong = client.post("/v1/score", json=body, headers={"X-API-Key": "abc.def"})
    assert wrong.status_code == 401 and wrong.headers.get("www-authenticate") == "Bearer"
    header = client.post("/v1/score", json=body, headers={"X-API-Key": sandbox.keys["system"]})
    assert header.status_code == 200
    staff = client.post("/v1/score", json=body, headers=auth(sandbox, "staff:Haidian"))
    assert staff.status_code == 403 and "staff" in staff.json()["error"]


# ---------------------------------------------------------------------------- leads
def test_staff_see_their_district_only(client, sandbox) -> None:
    mine = client.get(
        "/v1/leads", params={"page_size": 500}, headers=auth(sandbox, "staff:Haidian")
    ).json()
    assert mine["total"] > 0 and {i["district"] for i in mine["items"]} == {"Haidian"}
    other = client.get(
        "/v1/leads", params={"district": "Chaoyang"}, headers=auth(sandbox, "staff:Haidian")
    )
    assert other.status_code == 403
    everyone = client.get(
        "/v1/leads", params={"page_size": 500}, headers=auth(sandbox, "data_scientist")
    ).json()
    assert len({i["district"] for i in everyone["items"]}) > 2
    assert everyone["total"] == len(sandbox.lead_ids)
    foreign = lead_in(client, sandbox, "Chaoyang")
    assert (
        client.get(f"/v1/leads/{foreign}", headers=auth(sandbox, "staff:Haidian")).status_code
        == 403
    )


def test_pagination_and_ranking(client, sandbox) -> None:
    first = client.get(
        "/v1/leads", params={"page_size": 7, "page": 1}, headers=auth(sandbox, "admin")
    ).json()
    second = client.get(
        "/v1/leads", params={"page_size": 7, "page": 2}, headers=auth(sandbox, "admin")
    ).json()
    assert first["total"] == second["total"] == len(sandbox.lead_ids)
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    scores = [i["score"] for i in first["items"] + second["items"]]
    assert scores == sorted(scores, reverse=True)


def test_lead_detail_masks_ids_and_reveal_needs_a_reason(client, sandbox) -> None:
    lead = lead_in(client, sandbox, "Haidian")
    masked = client.get(f"/v1/leads/{lead}", headers=auth(sandbox, "staff:Haidian"))
    assert masked.status_code == 200
    text = masked.json()["lead"]["reasons"][-1]["text"]
    assert "********" in text and masked.json()["revealed"] is False
    no_reason = client.get(
        f"/v1/leads/{lead}", params={"reveal": "true"}, headers=auth(sandbox, "staff:Haidian")
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    scientist = client.get(
        f"/v1/leads/{lead}",
        params={"reveal": "true", "reason": "curious"},
        headers=auth(sandbox, "data_scientist"),
    )
    assert scientist.status_code == 403
    why = "verification visit on site, case 2025-017"
    revealed = client.get(
        f"/v1/leads/{lead}",
        params={"reveal": "true", "reason": why},
        headers=auth(sandbox, "staff:Haidian"),
    ).json()
    assert "********" not in revealed["lead"]["reasons"][-1]["text"]
    audit = client.get(
        "/v1/audit",
        params={"object_type": "lead", "object_id": str(lead)},
        headers=auth(sandbox, "admin"),
    ).json()
    actions = [(e["action"], e["reason"]) for e in audit]
    assert ("read_lead_revealed", why) in actions and ("read_lead", None) in actions


def test_export_is_masked_and_audited(client, sandbox) -> None:
    got = client.get(
        "/v1/leads/export.csv",
        params={"district": "Haidian"},
        headers=auth(sandbox, "staff:Haidian"),
    )
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    lines = got.text.strip().splitlines()
    assert lines[0].startswith("id,scenario,entity_id,district,score")
    assert len(lines) > 1 and all(",Haidian," in line for line in lines[1:])
    audit = client.get(
        "/v1/audit", params={"object_type": "leads"}, headers=auth(sandbox, "admin")
    ).json()
    assert any(e["action"] == "export_leads" and e["role"] == "staff" for e in audit)


def test_hand_over_verify_outcome_loop(client, sandbox) -> None:
    staff = auth(sandbox, "staff:Haidian")
    lead = lead_in(client, sandbox, "Haidian")
    early = client.post(f"/v1/leads/{lead}/start", json={}, headers=staff)
    assert early.status_code == 409 and "new" in early.json()["error"]
    past = client.post(
        f"/v1/leads/{lead}/assign",
        headers=staff,
        json={"unit": "Haidian tax unit", "assignee": "Wang", "deadline": "2020-01-01"},
    )
    assert past.status_code == 422 and "deadline" in past.text
    deadline = (date.today() + timedelta(days=14)).isoformat()
    assigned = client.post(
        f"/v1/leads/{lead}/assign",
        headers=staff,
        json={"unit": "Haidian tax unit", "assignee": "Wang", "deadline": deadline},
    )
    assert assigned.status_code == 200 and assigned.json()["status"] == "dispatched"
    assert (
        client.post(f"/v1/leads/{lead}/start", json={"note": "site visit"}, headers=staff).json()[
            "status"
        ]
        == "verifying"
    )
    outcome = {
        "outcome": "case_filed",
        "amount_recovered": 1250000.0,
        "case_reference": "京海检 2025 12",
    }
    first = client.post(f"/v1/leads/{lead}/outcome", json=outcome, headers=staff)
    assert first.status_code == 200 and first.json()["created"] is True
    again = client.post(f"/v1/leads/{lead}/outcome", json=outcome, headers=staff)
    assert again.status_code == 200 and again.json()["created"] is False
    other = client.post(
        f"/v1/leads/{lead}/outcome", json={**outcome, "outcome": "no_case"}, headers=staff
    )
    assert other.status_code == 409
    listed = client.get("/v1/leads", params={"status": "case_filed"}, headers=staff).json()
    assert lead in [i["id"] for i in listed["items"]]
    detail = client.get(f"/v1/leads/{lead}", headers=staff).json()
    assert [h["to_status"] for h in detail["history"]] == [
        "new",
        "dispatched",
        "verifying",
        "case_filed",
    ]
    assert detail["outcome"]["outcome"] == "case_filed"
    assert client.post("/v1/leads/999999/outcome", json=outcome, headers=staff).status_code == 404
    negative = client.post(
        f"/v1/leads/{lead}/outcome",
        headers=staff,
        json={"outcome": "case_filed", "amount_recovered": -5},
    )
    assert negative.status_code == 422 and "amount_recovered" in negative.text


def test_keys_and_whoami(client, sandbox) -> None:
    admin = auth(sandbox, "admin")
    made = client.post(
        "/v1/keys",
        json={"name": "new analyst", "role": "staff", "district": "Daxing"},
        headers=admin,
    )
    assert made.status_code == 201
    me = client.get("/v1/whoami", headers={"Authorization": f"Bearer {made.json()['secret']}"})
    assert me.json() == {
        "key_id": made.json()["key_id"],
        "name": "new analyst",
        "role": "staff",
        "district": "Daxing",
    }
    missing = client.post("/v1/keys", json={"name": "x", "role": "staff"}, headers=admin)
    assert missing.status_code == 422 and "district" in missing.text
    assert (
        client.post(
            "/v1/keys", json={"name": "x", "role": "admin"}, headers=auth(sandbox, "data_scientist")
        ).status_code
        == 403
    )


def test_ledger_lists_the_served_version(client, sandbox) -> None:
    got = client.get("/v1/ledger", headers=auth(sandbox, "data_scientist"))
    assert got.status_code == 200
    first = next(r for r in got.json() if str(r["version"]) == "1")
    assert first["scenario"] == SCENARIO and "champion" in first["aliases"]
    assert first["issued"] == len(sandbox.lead_ids)
    assert client.get("/v1/ledger", headers=auth(sandbox, "staff:Haidian")).status_code == 403


# ---------------------------------------------------------------------------- access matrix
def request_for(method: str, path: str, lead_id: int) -> tuple[str, dict | None, dict]:
    """A well-formed request for every route (so only access decides 401/403)."""
    url = path.replace("{lead_id}", str(lead_id))
    deadline = (date.today() + timedelta(days=30)).isoformat()
    bodies = {
        "/v1/score": {"scenario": SCENARIO, "entity_ids": []},
        "/v1/keys": {"name": "matrix", "role": "system"},
        "/v1/leads/{lead_id}/assign": {"unit": "u", "assignee": "a", "deadline": deadline},
        "/v1/leads/{lead_id}/start": {},
        "/v1/leads/{lead_id}/outcome": {"outcome": "no_case"},
    }
    return url, bodies.get(path) if method == "POST" else None, {}


@pytest.mark.parametrize("route", sorted(access.ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_access_matrix(client, sandbox, route) -> None:
    method, path = route
    action = access.ROUTES[route]
    lead = lead_in(client, sandbox, "Haidian", status="new")
    url, body, _ = request_for(method, path, lead)
    anonymous = client.request(method, url, json=body)
    assert anonymous.status_code == 401, (route, anonymous.text)
    for who in ROLE_KEYS:
        role, _, district = who.partition(":")
        got = client.request(method, url, json=body, headers=auth(sandbox, who))
        granted = access.reach(action, role)
        lead_route = "{lead_id}" in path
        allowed = granted is not None and (
            granted is access.Reach.ALL or not lead_route or district == "Haidian"
        )
        if allowed:
            assert got.status_code not in (401, 403) and got.status_code < 500, (who, got.text)
        else:
            assert got.status_code == 403, (who, route, got.status_code, got.text)


# ---------------------------------------------------------------------------- models
def wait_for(client, sandbox, condition, timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        models = client.get("/v1/models", headers=auth(sandbox, "admin")).json()
        if condition(models) or time.monotonic() > deadline:
            return models
        time.sleep(0.25)


def champion(models: list[dict]) -> dict:
    return next(m for m in models if m["alias"] == "champion")


def estimator_path(sandbox, version: str) -> Path:
    from mlflow.tracking import MlflowClient

    uri = MlflowClient(sandbox.tracking_uri).get_model_version_download_uri(
        f"supervision-{SCENARIO}", version
    )
    return Path(urlparse(uri).path) / "artifacts" / "estimator.joblib"


def test_alias_change_picked_up_without_restart(client, sandbox, table) -> None:
    labels = (table["declared_share"] < table["declared_share"].median()).astype(int)
    new = fit_scorer(table, labels.to_numpy(), seed=3, n_estimators=20)
    version = register(sandbox, new, table, "champion")
    models = wait_for(client, sandbox, lambda m: champion(m)["version"] == version)
    assert champion(models)["version"] == version, models
    got = client.post(
        "/v1/score",
        json={"scenario": SCENARIO, "rows": rows(table, 3)},
        headers=auth(sandbox, "system"),
    ).json()
    assert got["model"]["version"] == version
    old = register(sandbox, new, table, None)
    from mlflow.tracking import MlflowClient

    MlflowClient(sandbox.tracking_uri).set_registered_model_alias(
        f"supervision-{SCENARIO}", "challenger", "1"
    )
    models = wait_for(
        client,
        sandbox,
        lambda m: any(x["alias"] == "challenger" and x["version"] == "1" for x in m),
    )
    shadowed = client.post(
        "/v1/score",
        json={"scenario": SCENARIO, "all_entities": True},
        headers=auth(sandbox, "system"),
    )
    assert shadowed.json()["model"]["version"] == version and '"1"' not in shadowed.text[:300]
    from serving.service import app

    app.state.ctx.shadow.drain()
    stats = app.state.ctx.shadow.stats[SCENARIO].as_dict()
    assert stats["batches"] >= 1 and -1 <= stats["mean_rank_corr"] <= 1
    assert old != version


def test_broken_version_keeps_the_last_good_one(client, sandbox, table) -> None:
    serving_now = champion(client.get("/v1/models", headers=auth(sandbox, "admin")).json())
    broken = register(
        sandbox,
        fit_scorer(table, (table["nozzles"] > 6).to_numpy().astype(int), seed=5, n_estimators=5),
        table,
        None,
    )
    estimator_path(sandbox, broken).write_bytes(b"not a pickle")
    from mlflow.tracking import MlflowClient

    MlflowClient(sandbox.tracking_uri).set_registered_model_alias(
        f"supervision-{SCENARIO}", "champion", broken
    )
    models = wait_for(
        client,
        sandbox,
        lambda m: (
            champion(m)["registry_version"] == broken and champion(m)["last_error"] is not None
        ),
    )
    now = champion(models)
    assert now["registry_version"] == broken and now["version"] == serving_now["version"]
    assert now["last_error"]
    got = client.post(
        "/v1/score",
        json={"scenario": SCENARIO, "rows": rows(table, 2)},
        headers=auth(sandbox, "system"),
    )
    assert got.status_code == 200 and got.json()["model"]["version"] == serving_now["version"]
    health = client.get("/v1/health").json()
    assert health["status"] == "ok"

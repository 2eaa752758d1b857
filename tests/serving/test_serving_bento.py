"""The real Bento: ``bentoml build`` from ``bentofile.yaml`` into a temporary BENTOML_HOME,
``bentoml serve <tag>`` on a free loopback port (stopped by its process group id), the typed
endpoints answering with the champion's scores, and ``/metrics`` scraped after real traffic.

The served scores are compared with the registry's champion loaded in this process through
MLflow's own pyfunc (answers carry 6 decimals, so the tolerance is 5e-7 absolute).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest

from serving.launch import ROOT, running_service
from serving.sandbox import FEATURES, SCENARIO, cached, fit_scorer, register

BENTOML = Path(sys.executable).parent / "bentoml"
UV = ROOT / ".tools" / "bin" / "uv"
EXPLAIN_PER_MINUTE = 30


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    template = tmp_path_factory.getbasetemp() / "serving-sandbox-template"
    built = cached(template, tmp_path_factory.mktemp("bento") / "sbx")
    table = pd.read_parquet(built.features_dir / f"{SCENARIO}.parquet")
    labels = (table["waybill_gap"] > table["waybill_gap"].median()).to_numpy().astype(int)
    register(built, fit_scorer(table, labels, seed=11, n_estimators=10), table, "challenger")
    return built


def bento_env(home: Path) -> dict[str, str]:
    """BentoML's home in the test's folder, no telemetry, and the pinned uv on PATH (BentoML
    calls ``uv`` while building)."""
    return {
        **os.environ,
        "BENTOML_HOME": str(home),
        "BENTOML_DO_NOT_TRACK": "True",
        "PATH": f"{UV.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@pytest.fixture(scope="module")
def bento(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """``bentoml build`` of this checkout; (tag, BENTOML_HOME)."""
    home = tmp_path_factory.mktemp("bentoml-home")
    done = subprocess.run(
        [str(BENTOML), "build", "--output", "tag"],
        cwd=ROOT,
        env=bento_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tag = re.search(r"__tag__:(\S+)", done.stdout)
    assert tag, done.stdout[-2000:]
    return tag.group(1), home


@pytest.fixture(scope="module")
def server(bento, sandbox, tmp_path_factory):
    """The built Bento served on 127.0.0.1 (a small explained-rows budget, to see a 429)."""
    tag, home = bento
    log = tmp_path_factory.mktemp("bento-log") / "serve.log"
    env = {
        **bento_env(home),
        **sandbox.env(refresh_seconds=1.0),
        "SERVING_EXPLAIN_ROWS_PER_MINUTE": str(EXPLAIN_PER_MINUTE),
    }
    with running_service(env, log, target=tag) as base:
        yield base


def key(sandbox, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys[who]}"}


def champion_scores(sandbox, table: pd.DataFrame) -> np.ndarray:
    """The champion's scores computed here, through MLflow's pyfunc (not the service's code)."""
    mlflow.set_tracking_uri(sandbox.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/supervision-{SCENARIO}@champion")
    return model.predict(table.loc[:, list(FEATURES)])["score"].to_numpy(dtype="float64")


def test_bento_holds_code_web_page_migrations_and_pinned_packages(bento) -> None:
    tag, home = bento
    name, version = tag.split(":")
    folder = home / "bentos" / name / version
    src = folder / "src"
    for part in (
        "serving/service.py",
        "serving/web/index.html",
        "serving/web/app.js",
        "leads/migrations/env.py",
        "leads/migrations/versions/0001_initial.py",
        "features/build.py",
        "training/pyfunc.py",
        "models/fuel_tax/__init__.py",
    ):
        assert (src / part).is_file(), part
    assert not (src / "tests").exists() and not (src / "data").exists()
    pinned = (folder / "env" / "python" / "requirements.txt").read_text()
    for package in ("lightgbm", "mlflow", "shap", "duckdb"):
        assert re.search(rf"^{package}==\S+$", pinned, re.M), package
    assert "supervision_leads" in (folder / "bento.yaml").read_text()


def test_requirements_are_the_lock(tmp_path) -> None:
    """``requirements/bento.txt`` is exactly what uv exports from ``uv.lock`` (so the Bento
    installs what the tests ran with); re-export with ``make bento`` after changing the lock."""
    out = tmp_path / "req.txt"
    subprocess.run(
        [
            str(UV),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "--format",
            "requirements-txt",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (ROOT / "requirements" / "bento.txt").read_text()


def test_bento_scores_equal_in_process_scores(server, sandbox) -> None:
    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    picked = table.sample(40, random_state=3)
    expected = champion_scores(sandbox, picked)
    got = httpx.post(
        f"{server}/bento/score",
        headers=key(sandbox, "system"),
        timeout=60,
        json={"scenario": SCENARIO, "entity_ids": picked["entity_id"].tolist()},
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["model"]["version"] == "1" and body["model"]["alias"] == "champion"
    assert [r["entity_id"] for r in body["results"]] == picked["entity_id"].tolist()
    served = np.array([r["score"] for r in body["results"]])
    np.testing.assert_allclose(served, expected, rtol=0, atol=5e-7)
    rows = [
        {
            "entity_id": r["entity_id"],
            "features": {f: None if pd.isna(r[f]) else float(r[f]) for f in FEATURES},
        }
        for r in picked.head(5).to_dict("records")
    ]
    by_rows = httpx.post(
        f"{server}/bento/score",
        headers=key(sandbox, "data_scientist"),
        json={"scenario": SCENARIO, "rows": rows},
        timeout=60,
    ).json()
    np.testing.assert_allclose(
        [r["score"] for r in by_rows["results"]], expected[:5], rtol=0, atol=5e-7
    )
    v1 = httpx.post(
        f"{server}/v1/score",
        headers=key(sandbox, "system"),
        timeout=60,
        json={"scenario": SCENARIO, "entity_ids": picked["entity_id"].tolist()},
    )
    assert [r["score"] for r in v1.json()["results"]] == served.tolist()


def test_bento_explain_gives_reasons_for_every_row(server, sandbox) -> None:
    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    ids = table["entity_id"].head(3).tolist()
    got = httpx.post(
        f"{server}/bento/explain",
        headers=key(sandbox, "admin"),
        timeout=60,
        json={"scenario": SCENARIO, "entity_ids": ids, "max_reasons": 2},
    )
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    assert [r["entity_id"] for r in results] == ids
    assert all(len(r["reasons"]) == 2 and r["reasons"][0]["feature"] in FEATURES for r in results)


def test_bento_endpoints_check_key_and_role(server, sandbox) -> None:
    body = {"scenario": SCENARIO, "all_entities": True}
    for route in ("/bento/score", "/bento/explain"):
        payload = body if route == "/bento/score" else {"scenario": SCENARIO, "entity_ids": ["x"]}
        none = httpx.post(f"{server}{route}", json=payload, timeout=30)
        assert none.status_code == 401 and "API key" in none.json()["error"]
        assert "results" not in none.text
        wrong = httpx.post(
            f"{server}{route}", json=payload, timeout=30, headers={"X-API-Key": "not-a-key"}
        )
        assert wrong.status_code == 401
        staff = httpx.post(
            f"{server}{route}",
            json=payload,
            timeout=30,
            headers={"X-API-Key": sandbox.keys["staff:Haidian"]},
        )
        assert staff.status_code == 403 and "staff" in staff.json()["error"]
    bad = httpx.post(
        f"{server}/bento/score",
        headers=key(sandbox, "system"),
        timeout=30,
        json={**body, "explain_everything": True},
    )
    assert bad.status_code == 400 and "explain_everything" in bad.text
    unknown = httpx.post(
        f"{server}/bento/score",
        headers=key(sandbox, "system"),
        timeout=30,
        json={"scenario": "no_such_model", "all_entities": True},
    )
    assert unknown.status_code == 404 and "no_such_model" in unknown.json()["error"]


def samples(text: str, family: str) -> dict[str, float]:
    """``{labels: value}`` of one metric family in Prometheus' text format."""
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^{family}(\{{.*\}})? (\S+)$", line)  # values may hold braces
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


def value(text: str, family: str, **labels: str) -> float:
    """Sum of a family's samples whose labels include ``labels`` (0 when none)."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in samples(text, family).items() if all(w in k for w in wanted))


def test_metrics_move_with_traffic(server, sandbox) -> None:
    staff = key(sandbox, "staff:Haidian")
    lead = httpx.get(f"{server}/v1/leads", params={"status": "new"}, headers=staff).json()
    lead_id = lead["items"][0]["id"]
    deadline = (date.today() + timedelta(days=10)).isoformat()
    for step, payload in (
        ("assign", {"unit": "Haidian unit 1", "assignee": "Wang", "deadline": deadline}),
        ("start", {}),
        ("outcome", {"outcome": "case_filed", "case_reference": "C-1"}),
    ):
        done = httpx.post(f"{server}/v1/leads/{lead_id}/{step}", json=payload, headers=staff)
        assert done.status_code == 200, (step, done.text)
    before = httpx.get(f"{server}/metrics").text
    system = key(sandbox, "system")
    all_rows = httpx.post(
        f"{server}/v1/score",
        headers=system,
        timeout=60,
        json={"scenario": SCENARIO, "all_entities": True},
    )
    assert all_rows.status_code == 200
    count = all_rows.json()["count"]
    ids = [r["entity_id"] for r in all_rows.json()["results"][:7]]
    assert (
        httpx.post(
            f"{server}/bento/score",
            headers=system,
            timeout=60,
            json={"scenario": SCENARIO, "entity_ids": ids},
        ).status_code
        == 200
    )
    explain = {"scenario": SCENARIO, "all_entities": True, "explain_top": EXPLAIN_PER_MINUTE}
    statuses = [
        httpx.post(f"{server}/v1/score", headers=system, json=explain, timeout=60).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 429]
    assert httpx.get(f"{server}/v1/leads/{lead_id}", headers=staff).status_code == 200
    after = ""
    for _ in range(60):  # the shadow worker scores the challenger off the request path
        after = httpx.get(f"{server}/metrics").text
        if value(after, "supervision_shadow_batches", scenario=SCENARIO) >= 1:
            break
        httpx.post(f"{server}/v1/models/refresh", headers=key(sandbox, "admin"))
    rows = "supervision_rows_scored_total"
    assert (
        value(after, rows, endpoint="/v1/score", version="1")
        - value(before, rows, endpoint="/v1/score", version="1")
        == 2 * count
    )
    assert (
        value(after, rows, endpoint="/bento/score") - value(before, rows, endpoint="/bento/score")
        == 7
    )
    latency = "supervision_request_duration_seconds_count"
    assert (
        value(after, latency, route="/v1/score", status="200")
        - value(before, latency, route="/v1/score", status="200")
        == 2
    )
    assert value(after, latency, route="/v1/leads/{lead_id}", method="GET") >= 1
    assert value(after, latency, route="/bento/score", status="200") >= 1
    refusals = "supervision_refusals_total"
    assert (
        value(after, refusals, route_class="score", status="429")
        - value(before, refusals, route_class="score", status="429")
        == 1
    )
    assert (
        value(after, "supervision_served_version", scenario=SCENARIO, alias="champion", version="1")
        == 1
    )
    assert value(after, "supervision_served_version", alias="challenger", version="2") == 1
    assert value(after, "supervision_shadow_batches", scenario=SCENARIO) >= 1
    overlap = value(after, "supervision_shadow_top_overlap", scenario=SCENARIO)
    assert 0 <= overlap <= 1
    assert value(after, "supervision_leads_issued", version="1") == len(sandbox.lead_ids)
    assert value(after, "supervision_leads_cases", version="1") == 1
    assert value(after, "supervision_conversion", version="1") == 1.0
    assert "bentoml_service_request_total" in after or "bentoml_service_request" in after


def test_bento_endpoints_never_fail_under_schemathesis(server, sandbox) -> None:
    """Generated bodies (valid or not) against the served Bento's typed endpoints, with a
    system key, a staff key and none: never a 5xx, and every 200 matches the documented schema.
    (BentoML documents only 200/400/404/500 for its endpoints, so 401/403/429/503 are not
    checked for conformance here.)"""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_url(f"{server}/docs.json")
    selected = [r.ok() for r in schema.include(path_regex="^/bento/").get_all_operations()]
    assert {op.path for op in selected} == {"/bento/score", "/bento/explain"}
    ids = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")["entity_id"].head(3)
    keys = [key(sandbox, "system"), {"X-API-Key": sandbox.keys["staff:Haidian"]}, {}]
    checks = [not_a_server_error, response_schema_conformance]
    for operation in selected:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case) -> None:
            for headers in keys:
                case.call_and_validate(headers=headers, checks=checks, timeout=60)
            if isinstance(case.body, dict):  # aimed at the served scenario and real entities
                case.body["scenario"] = SCENARIO
                if case.body.get("entity_ids"):
                    case.body["entity_ids"] = ids.tolist()
                case.call_and_validate(headers=keys[0], checks=checks, timeout=60)

        run()

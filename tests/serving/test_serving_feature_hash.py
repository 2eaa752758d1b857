"""The feature-set hash checked at load, against a real MLflow registry and lead store.

A version is loaded only when the ``feature_set_hash`` logged with it at training equals the
hash the served feature table was built with. A mismatch (a tampered or missing tag, or a feature
table rebuilt by changed code) keeps the last good version serving and shows the reason in
``/v1/models``; with no good version the scenario answers 503 naming the reason.
"""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from starlette.testclient import TestClient

from serving.app import attach, build_context, create_app
from serving.sandbox import FEATURE_SET_HASH, SCENARIO, cached, fit_scorer, register
from serving.settings import ServingSettings

NAME = f"supervision-{SCENARIO}"


def started(sandbox, patch: pytest.MonkeyPatch):
    for name, value in sandbox.env(refresh_seconds=0).items():
        patch.setenv(name, value)
    settings = ServingSettings.from_env()
    app = create_app()
    ctx = build_context(settings)
    attach(app, ctx, settings)
    return app, ctx


@pytest.fixture(scope="module")
def service(sandbox):
    patch = pytest.MonkeyPatch()
    try:
        app, ctx = started(sandbox, patch)
        yield app, ctx
        ctx.close()
    finally:
        patch.undo()  # even when the start fails: no setting leaks into later tests


def admin(sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys['admin']}"}


def champion(client: TestClient, sandbox) -> dict:
    models = client.get("/v1/models", headers=admin(sandbox)).json()
    return next(m for m in models if m["alias"] == "champion")


def small_model(table: pd.DataFrame, seed: int):
    labels = (table["nozzles"] > 6).to_numpy().astype(int)
    return fit_scorer(table, labels, seed=seed, n_estimators=5)


def test_tampered_hash_keeps_the_last_good_version(service, sandbox) -> None:
    app, ctx = service
    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    client = TestClient(app)
    assert champion(client, sandbox)["version"] == "1"
    tampered = register(
        sandbox,
        small_model(table, 1),
        table,
        "champion",
        tags={"feature_set_hash": "0123456789abcdef"},
    )
    events = client.post("/v1/models/refresh", headers=admin(sandbox)).json()
    assert any(f"version {tampered} failed" in e for e in events), events
    now = champion(client, sandbox)
    assert now["version"] == "1" and now["registry_version"] == tampered
    assert "0123456789abcdef" in now["last_error"] and FEATURE_SET_HASH in now["last_error"]
    assert "FeatureSetMismatch" in now["last_error"]
    got = client.post(
        "/v1/score",
        headers={"X-API-Key": sandbox.keys["system"]},
        json={"scenario": SCENARIO, "entity_ids": table["entity_id"].head(2).tolist()},
    )
    assert got.status_code == 200 and got.json()["model"]["version"] == "1"


def test_version_without_a_hash_is_refused(service, sandbox) -> None:
    app, ctx = service
    table = pd.read_parquet(sandbox.features_dir / f"{SCENARIO}.parquet")
    client = TestClient(app)
    good = register(sandbox, small_model(table, 2), table, None)
    mlflow = MlflowClient(sandbox.tracking_uri)
    source = mlflow.get_model_version(NAME, good).source
    bare = mlflow.create_model_version(
        NAME, source, run_id=mlflow.get_model_version(NAME, good).run_id
    ).version
    mlflow.set_registered_model_alias(NAME, "champion", bare)
    client.post("/v1/models/refresh", headers=admin(sandbox))
    now = champion(client, sandbox)
    assert now["version"] == "1" and now["registry_version"] == str(bare)
    assert "carries no feature_set_hash tag" in now["last_error"]
    mlflow.set_registered_model_alias(NAME, "champion", good)  # a matching version loads
    client.post("/v1/models/refresh", headers=admin(sandbox))
    now = champion(client, sandbox)
    assert now["version"] == good and now["last_error"] is None


def test_changed_feature_table_loads_no_version(tmp_path_factory) -> None:
    """The feature table was rebuilt by changed code (another hash): the champion trained on
    the old one is not loaded at start, and scoring answers 503 with the reason."""
    changed = cached(
        tmp_path_factory.getbasetemp() / "serving-sandbox-template",
        tmp_path_factory.mktemp("hash-changed") / "sbx",
    )
    path = changed.features_dir / f"{SCENARIO}.parquet"
    table = pd.read_parquet(path)
    table.assign(feature_set_hash="fedcba9876543210").to_parquet(path, index=False)
    patch = pytest.MonkeyPatch()
    app, ctx = started(changed, patch)
    try:
        client = TestClient(app)
        now = champion(client, changed)
        assert now["version"] is None and now["registry_version"] == "1"
        assert "fedcba9876543210" in now["last_error"]
        got = client.post(
            "/v1/score",
            headers={"X-API-Key": changed.keys["system"]},
            json={"scenario": SCENARIO, "all_entities": True},
        )
        assert got.status_code == 503 and "fedcba9876543210" in got.json()["error"]
        assert client.get("/v1/health").json()["status"] == "degraded"
    finally:
        ctx.close()
        patch.undo()

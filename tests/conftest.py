"""Fixtures shared across the suite, registered once here so no test module star-imports them:
the lead-store fixtures (``leads_fixtures``: SQLite and PostgreSQL stores, the session's
PostgreSQL server) and the simulated pools built once per session (``pool_fixtures``). Plain
helpers (``make_run``, ``ManualClock``, ...) are imported by name where they are used. The
service fixtures below (``sandbox``, ``client``) serve every in-process service test."""

import pytest

pytest_plugins = ["leads_fixtures", "pool_fixtures"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    """A served deployment for this test module: a copy of the session's sandbox (registry, lead
    store, feature table and a key per role, built once by ``serving.sandbox.cached``)."""
    from serving.sandbox import cached

    template = tmp_path_factory.getbasetemp() / "serving-sandbox-template"
    return cached(template, tmp_path_factory.mktemp("sandbox") / "sbx")


@pytest.fixture(scope="module")
def client(sandbox, request: pytest.FixtureRequest):
    """The service in-process on ``sandbox`` (a Starlette test client; the app's own startup
    and shutdown run). A module's ``SERVICE_ENV`` dict adds settings to the sandbox's."""
    from starlette.testclient import TestClient

    patch = pytest.MonkeyPatch()
    env = {**sandbox.env(refresh_seconds=0.5), **getattr(request.module, "SERVICE_ENV", {})}
    for name, value in env.items():
        patch.setenv(name, value)
    from serving.service import asgi

    try:
        with TestClient(asgi(), raise_server_exceptions=True) as test_client:
            yield test_client
    finally:
        patch.undo()


@pytest.fixture
def toy_root(tmp_path):
    """The toy permits model's pool (``amount_world``); unregisters the model afterwards."""
    import pandas as pd
    from amount_world import PERMITS, A, B

    from features import registry
    from features.testing import write_pool
    from pool.schemas import history_source

    rows = [
        {
            "permit_id": f"P{i}",
            "company_code": code,
            "district": "Daxing",
            "issued_on": pd.Timestamp("2024-01-05"),
            "value_yuan": value,
            "expired": False,
        }
        for i, (code, value) in enumerate([(A, 1e6), (A, 3e6), (B, 5e5)])
    ]
    yield write_pool(
        tmp_path,
        (PERMITS, history_source("toy_amounts")),
        {"permits": rows, "verification_history": []},
    )
    if "toy_amounts" in registry.names():
        registry.unregister("toy_amounts")

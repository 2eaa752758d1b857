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

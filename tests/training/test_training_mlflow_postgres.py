"""MLflow tracking and model registry on PostgreSQL, as a team would run them: a throwaway
PostgreSQL server started here (``leads.pgserver``, stopped by its PID), the real train job
pointed at it through ``SUPERVISION_MLFLOW_URI``, and the service's model hub loading the
champion back from it. The runs and versions are read straight from PostgreSQL's tables, so the
test fails if anything went to a local sqlite store instead.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace

import numpy as np
import psycopg
import pytest
from pool_fixtures import fuel_root  # noqa: F401 - the session's small fuel_tax pool

from leads.pgserver import find_bindir, start_server
from training.mlflow_setup import open_client, resolve
from training.train_policy import policy_for

SCENARIO = "fuel_tax"
LENIENT = {SCENARIO: replace(policy_for(SCENARIO), floor=0.0, capacity=3)}
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg():
    if find_bindir() is None:
        message = "PostgreSQL binaries not found; install with: apt-get install -y postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def trained(pg, fuel_root, tmp_path_factory):  # noqa: F811 - the imported fixture
    """``training.train.run`` with the registry on PostgreSQL (artifacts in a shared folder)."""
    from training.train import run

    url = pg.create_database(f"mlflow_{uuid.uuid4().hex[:8]}")
    folder = tmp_path_factory.mktemp("team")
    patch = pytest.MonkeyPatch()
    patch.setenv("SUPERVISION_MLFLOW_URI", url)
    patch.setenv("SUPERVISION_MLFLOW_ARTIFACTS", str(folder / "artifacts"))
    patch.chdir(folder)  # a stray default store would land here, and the test would see it
    try:
        outcomes, _ = run(
            [SCENARIO],
            str(fuel_root),
            seed=7,
            root=None,
            leads_url=f"sqlite:///{folder / 'leads.db'}",
            policies=LENIENT,
            require_real=False,
        )
    finally:
        patch.undo()
    return url, folder, outcomes[0]


def pg_rows(url: str, sql: str) -> list[tuple]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def test_train_registers_into_postgres(trained) -> None:
    url, folder, outcome = trained
    assert outcome.lifecycle == "champion" and outcome.champion == outcome.version
    versions = pg_rows(url, "SELECT name, version FROM model_versions")
    assert (f"supervision-{SCENARIO}", outcome.version) in versions
    aliases = pg_rows(url, "SELECT name, alias, version FROM registered_model_aliases")
    assert (f"supervision-{SCENARIO}", "champion", outcome.version) in aliases
    runs = pg_rows(url, "SELECT count(*) FROM runs WHERE status = 'FINISHED'")
    assert runs[0][0] >= 1
    tags = dict(
        pg_rows(url, f"SELECT key, value FROM model_version_tags WHERE version = {outcome.version}")
    )
    assert len(tags["feature_set_hash"]) == 16
    assert not (folder / "mlruns").exists()  # nothing went to a local sqlite store


def test_service_loads_the_champion_from_postgres(trained, fuel_root) -> None:  # noqa: F811
    import mlflow

    from serving.app import reference_scores
    from serving.champions import ModelHub
    from serving.feature_cache import FeatureSource, pool_loader, table_hash

    url, folder, outcome = trained
    client = open_client(resolve(tracking_uri=url, artifact_root=folder / "artifacts"))
    features = FeatureSource(pool_loader(fuel_root))
    hub = ModelHub(
        client,
        0,
        reference_scores(features),
        feature_hash=lambda s: table_hash(features.table(s), s),
    )
    hub.start()
    served = hub.get(SCENARIO, "champion")
    assert served.version == str(outcome.version)
    table = features.table(SCENARIO)
    mine = served.predict(table)["score"].to_numpy()
    theirs = (
        mlflow.pyfunc.load_model(f"models:/supervision-{SCENARIO}@champion")
        .predict(table.loc[:, list(served.columns)])["score"]
        .to_numpy()
    )
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=0)
    assert np.isfinite(mine).all() and len(mine) == len(table)

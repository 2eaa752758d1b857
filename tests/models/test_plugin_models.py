"""An office's own supervision model, outside the package, through the whole spine.

The model folder is made in a temp directory the way an analyst would: the example model file
(``examples/social_insurance/model.py``, copied, one source pointed at a database table), the
registry as an Excel file, contributions as a GB18030 CSV with Chinese headers, and the tax
bureau's wage returns as a table in a PostgreSQL server the test starts. One setting
(``SUPERVISION_MODELS``) names the file; then the train entry point, the lead store, the
service over HTTP (``bentoml serve``) and the staff web page in Chromium all see the model.
No file of the package is edited.
"""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from pool import discovery

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "social_insurance"
NAME = "social_insurance"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def office_folder(folder: Path, db_url: str) -> Path:
    """The example model with its wage returns read from ``db_url``'s table ``iit_wages``."""
    make = runpy.run_path(str(EXAMPLE / "make_exports.py"))
    frames = make["exports"](300, 11)
    wages = frames.pop("个税申报.csv")
    make["write"](folder, frames)
    engine = sa.create_engine(db_url)
    wages.to_sql("iit_wages", engine, index=False)
    engine.dispose()
    text = (EXAMPLE / "model.py").read_text(encoding="utf-8")
    old = 'origin=FileOrigin(\n        path="个税申报.csv",\n        encoding="gb18030",\n        columns={'
    assert old in text
    text = text.replace(old, f'origin=DatabaseOrigin(url="{db_url}", table="iit_wages", columns={{')
    text = text.replace(
        "from pool.origins import FileOrigin", "from pool.origins import DatabaseOrigin, FileOrigin"
    )
    (folder / "model.py").write_text(text, encoding="utf-8")
    return folder / "model.py"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pg_server):  # noqa: F811
    base = tmp_path_factory.mktemp("office")
    db_url = pg_server.create_database("tax_bureau")
    model = office_folder(base / "office", db_url)
    patch = pytest.MonkeyPatch()
    patch.setenv(discovery.ENV_MODELS, str(model))
    patch.delenv("SUPERVISION_DATA", raising=False)
    patch.delenv("LEADS_DB_URL", raising=False)
    from training.train import main

    code = main(["--scenarios", NAME, "--data", str(base / "data"), "--root", str(base)])
    yield base, model, code
    patch.undo()
    discovery.reset()


def test_train_entry_point_registers_gates_and_writes_leads(trained) -> None:
    from leads.store import LeadStore
    from training import model_registry as reg
    from training.mlflow_setup import open_client, resolve

    base, _, code = trained
    assert code == 0
    client = open_client(resolve(root=base))
    assert reg.alias_version(client, NAME, reg.CHAMPION) is not None
    report = (base / "data" / "pool" / NAME / "import_report.json").read_text(encoding="utf-8")
    assert "gb18030" in report and "iit_wages" in report
    store = LeadStore.open(f"sqlite:///{base / 'data' / 'leads.db'}")
    try:
        leads = store.list_leads(scenario=NAME)
        assert leads, "the champion wrote no leads"
        truth = pd.read_csv(base / "office" / "truth.csv").set_index("entity_id")["is_fraud"]
        # the planted under-declarers are what the model ranks first
        top = [v.entity_id for v in leads][:20]
        assert truth.reindex(top).mean() >= 0.6
    finally:
        store.close()


def test_service_and_web_page_serve_the_plugin(trained, tmp_path) -> None:
    from leads.auth import create_api_key
    from leads.store import LeadStore
    from serving.launch import running_service

    base, model, _ = trained
    store = LeadStore.open(f"sqlite:///{base / 'data' / 'leads.db'}")
    try:
        system = create_api_key(store, name="sys", role="system", actor="test")[1]
        lead = store.list_leads(scenario=NAME)[0]
        staff = create_api_key(
            store, name="desk", role="staff", actor="test", district=lead.district
        )[1]
    finally:
        store.close()
    env = {
        discovery.ENV_MODELS: str(model),
        "SUPERVISION_DATA": str(base / "data"),
        "SUPERVISION_MLFLOW_URI": f"sqlite:///{base / 'mlruns' / 'mlflow.db'}",
        "SUPERVISION_MLFLOW_ARTIFACTS": str(base / "mlruns" / "artifacts"),
        "LEADS_DB_URL": f"sqlite:///{base / 'data' / 'leads.db'}",
        "SERVING_REFRESH_SECONDS": "2",
        "BENTOML_HOME": str(tmp_path / "bentoml"),
    }
    with running_service(env, tmp_path / "serve.log") as url:
        got = httpx.post(
            f"{url}/v1/score",
            headers={"Authorization": f"Bearer {system}"},
            json={"scenario": NAME, "all_entities": True, "explain_top": 3},
            timeout=120,
        )
        assert got.status_code == 200, got.text
        results = got.json()["results"]
        assert len(results) == 300 and sum(1 for r in results if r["reasons"]) == 3
        detail = httpx.get(f"{url}/v1/leads/{lead.id}", headers={"X-API-Key": staff}, timeout=60)
        assert detail.status_code == 200, detail.text
        tables = set(detail.json()["evidence"])
        assert {"contributions", "wages"} <= tables, tables
        _detector_as_champion_explains_one_row(url, system, base, results[0])
        if not CHROMIUM.exists():
            pytest.skip("Debian chromium is not installed")
        _web_page_lists(url, staff, lead.entity_id)


def _detector_as_champion_explains_one_row(url: str, key: str, base: Path, first: dict) -> None:
    """With the detector baseline served, a one-row explained score is answered (was a 500)."""
    import time

    from training import model_registry as reg
    from training.lifecycle import promote
    from training.mlflow_setup import open_client, resolve

    client = open_client(resolve(root=base))
    detector = next(
        v.version for v in reg.list_versions(client, NAME) if v.tags.get("kind") == "detector"
    )
    promote(client, NAME, detector, decided_by="test", reason="detector serves")
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        models = httpx.get(f"{url}/v1/models", headers=headers, timeout=30).json()
        if any(
            m.get("scenario") == NAME
            and str(m.get("version")) == str(detector)
            and m.get("alias") == "champion"
            for m in models
        ):
            break
        time.sleep(1)
    else:
        pytest.fail("the service never picked up the detector as champion")
    from features.build import build_features
    from features.points import latest_as_of

    table = build_features(NAME, latest_as_of(base / "data", NAME), base / "data").frame
    row = table[table["entity_id"] == first["entity_id"]].iloc[0]
    features = {
        c: (None if pd.isna(row[c]) else float(row[c]))
        for c in ("insured_to_paid", "base_to_wages", "months_uninsured")
    }
    got = httpx.post(
        f"{url}/v1/score",
        headers=headers,
        timeout=60,
        json={
            "scenario": NAME,
            "explain_top": 1,
            "rows": [{"entity_id": first["entity_id"], "features": features}],
        },
    )
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer["model"]["version"] == str(detector)
    assert answer["results"][0]["reasons"]


def _web_page_lists(url: str, key: str, entity: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{url}/ui/")
            page.fill("#key", key)
            page.click("#login-form button")
            expect(page.locator("#f-scenario")).to_contain_text(NAME)
            page.select_option("#f-scenario", NAME)
            page.click("#filters button")
            expect(page.locator("#leads tbody")).to_contain_text(NAME)
        finally:
            browser.close()


def test_models_discovered_from_a_folder_and_refused_twice(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(EXAMPLE / "model.py", folder / "si.py")
    monkeypatch.setenv(discovery.ENV_MODELS, str(folder))
    assert NAME in discovery.names()
    shutil.copy(EXAMPLE / "model.py", folder / "si_again.py")
    discovery.reset()
    with pytest.raises(discovery.DiscoveryError, match="declared twice"):
        discovery.names()
    monkeypatch.setenv(discovery.ENV_MODELS, str(tmp_path / "nowhere"))
    discovery.reset()
    with pytest.raises(discovery.DiscoveryError, match="does not exist"):
        discovery.names()
    discovery.reset()

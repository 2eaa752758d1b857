"""Personal data masked by declaration (对案不对人): every column a scenario's sources declare
``personal``, in every spelling the simulated pool produces, never leaves the service unmasked
without an audited reveal.

Two levels: every declared value of a small real pool (SCALE 0.05) through the masking of source
records, and the running service (in-process) answering lead lists, lead details, the CSV export
and the audit log for leads whose records carry the pool's odd spellings (spaced, hyphenated,
O-for-0, lower-case x, 15-digit, bad check character).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from starlette.testclient import TestClient

from pool.build import build
from pool.keys import normalise_code
from pool.load import load_pool
from pool.spec import ColumnSpec, SimConfig
from serving.masking import mask_evidence, mask_text, personal_columns
from serving.sandbox import cached

SCENARIOS = ("fake_certificates", "mortgage_loans")
#: the lead's own table in each scenario: where its declared personal columns show
OWN_TABLE = {"fake_certificates": "site_workers", "mortgage_loans": "loans"}
LEADS_PER_SCENARIO = 40


@pytest.fixture(scope="module")
def pool_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("masking-pool")
    build(SimConfig(seed=42, scale=0.05), root, list(SCENARIOS))
    return root


@pytest.fixture(scope="module")
def tables(pool_root) -> dict[str, dict[str, pd.DataFrame]]:
    return {s: load_pool(pool_root, s) for s in SCENARIOS}


def spellings(values: pd.Series) -> set[str]:
    """How the values are typed: canonical, 15-digit, spaced, hyphenated, O for 0, lower x."""
    kinds = set()
    for raw in values.dropna().astype(str):
        code = normalise_code(raw) or ""
        kinds.add("15-digit" if len(code) == 15 else "18" if len(code) == 18 else "other")
        kinds |= {
            k
            for k, hit in (
                ("spaced", " " in raw.strip()),
                ("hyphen", "-" in raw),
                ("letter_o", "O" in raw),
                ("lower_x", raw.endswith("x")),
            )
            if hit
        }
    return kinds


def leaks(text: str, value: str, kind: str) -> bool:
    """True when a personal value shows in ``text``, as typed or in its canonical form."""
    forms = {value.strip()}
    if kind in ("id", "phone"):
        forms.add(normalise_code(value) or "")
    return any(f and len(f) >= 7 and f in text for f in forms)


def test_personal_kinds_are_validated() -> None:
    assert ColumnSpec("x", "string", "x", personal="id").personal == "id"
    with pytest.raises(ValueError, match="personal='passport'"):
        ColumnSpec("x", "string", "x", personal="passport")


def test_every_declared_column_is_masked_in_every_spelling(tables) -> None:
    seen: set[str] = set()
    for scenario in SCENARIOS:
        declared = personal_columns(scenario)
        assert declared, scenario
        for table, columns in declared.items():
            frame = tables[scenario][table]
            evidence = {
                table: {
                    "count": len(frame),
                    "by_name": 0,
                    "rows": frame.astype(object).where(frame.notna(), None).to_dict("records"),
                }
            }
            masked = mask_evidence(evidence, declared)[table]["rows"]
            for column, kind in columns.items():
                if kind == "id":
                    seen |= spellings(frame[column])
                for before, after in zip(frame[column], (r[column] for r in masked), strict=True):
                    if before is None or pd.isna(before):
                        assert after is None
                        continue
                    assert after != before and "*" in after, (table, column, before)
                    assert not leaks(after, str(before), kind), (table, column, before, after)
    assert {"18", "15-digit", "spaced", "hyphen", "letter_o"} <= seen


@pytest.mark.parametrize(
    "typed",
    [
        "110105198001010027",
        "110105198001010O2x",
        "1101 0519 8001 0100 27",
        "110-105198001010027",
        "11010580010100 2",
        "110105800101002",
        " 110105198001010027 ",
        "T110105198001010027",
        "13812345678",
        "138 1234 5678",
    ],
)
def test_the_shape_net_catches_every_spelling_in_free_text(typed) -> None:
    text = f"holder {typed} also presented another card"
    masked = mask_text(text)
    assert masked != text and "*" in masked
    assert not leaks(masked, typed, "id")


@pytest.mark.parametrize(
    "kept",
    [
        "911101087178851234",
        "2024-01-01 2024-02-01",
        "T110105201012345",
        "SR000000123",
        "invoice 12345678901234567890",
        "declared 65% of 12,000 litres",
    ],
)
def test_the_shape_net_leaves_codes_dates_and_numbers(kept) -> None:
    assert mask_text(kept) == kept


def picked_entities(tables: dict[str, dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Per scenario, entities whose own records carry odd spellings first, then ordinary ones."""
    out = {}
    for scenario in SCENARIOS:
        own = tables[scenario][OWN_TABLE[scenario]]
        key = own.columns[0]
        ids = [c for c, k in personal_columns(scenario)[OWN_TABLE[scenario]].items() if k == "id"]
        odd = pd.Series(False, index=own.index)
        for column in ids:
            text = own[column].astype(str)
            odd |= text.ne(text.map(normalise_code)) | text.str.len().ne(18)
        chosen = pd.concat([own[odd], own[~odd]]).drop_duplicates(key).head(LEADS_PER_SCENARIO)
        out[scenario] = chosen.rename(columns={key: "entity_id"})
    return out


@pytest.fixture(scope="module")
def service(tmp_path_factory, pool_root, tables):
    """The service on the pool, with leads for the picked entities of both scenarios."""
    from leads.runs import LeadInput, LeadRun
    from leads.store import LeadStore

    template = tmp_path_factory.getbasetemp() / "serving-sandbox-template"
    sandbox = cached(template, tmp_path_factory.mktemp("masking") / "sbx")
    entities = picked_entities(tables)
    store = LeadStore.open(sandbox.leads_url)
    try:
        for scenario, frame in entities.items():
            inputs = [
                LeadInput(
                    entity_id=row["entity_id"],
                    district="Haidian",
                    score=1.0 - i / 100,
                    rank=i + 1,
                    reasons=[{"feature": "f", "value": 1.0, "shap": 0.1, "text": "value 1"}],
                )
                for i, row in enumerate(frame.to_dict("records"))
            ]
            store.upsert_leads(
                LeadRun(
                    run_id=f"mask-{scenario}",
                    scenario=scenario,
                    model_name=f"supervision-{scenario}",
                    model_version="1",
                    as_of=date(2025, 6, 30),
                    leads=inputs,
                ),
                actor="test",
            )
    finally:
        store.close()
    from serving.app import attach, build_context, create_app
    from serving.settings import ServingSettings

    patch = pytest.MonkeyPatch()
    try:
        for name, value in sandbox.env(refresh_seconds=60).items():
            patch.setenv(name, value)
        patch.setenv("SUPERVISION_DATA", str(pool_root))
        settings = ServingSettings.from_env()
        app = create_app()
        ctx = build_context(settings)
        attach(app, ctx, settings)
        with TestClient(app) as client:
            yield client, sandbox, entities
        ctx.close()
    finally:
        patch.undo()  # even when the start fails: no setting leaks into later tests


def personal_values(tables, entities) -> list[tuple[str, str, str]]:
    """(column, kind, raw value) of every declared personal value in the picked entities'
    own records."""
    out = []
    for scenario, frame in entities.items():
        for column, kind in personal_columns(scenario)[OWN_TABLE[scenario]].items():
            out += [(column, kind, str(v)) for v in frame[column].dropna()]
    return out


def test_no_personal_value_leaves_the_service_without_an_audited_reveal(service, tables) -> None:
    client, sandbox, entities = service
    values = personal_values(tables, entities)
    assert {k for _, k, _ in values} == {"id", "name"}
    bodies = []
    for who in ("staff:Haidian", "admin"):
        headers = {"Authorization": f"Bearer {sandbox.keys[who]}"}
        for scenario in SCENARIOS:
            listed = client.get(
                "/v1/leads", params={"scenario": scenario, "page_size": 500}, headers=headers
            )
            assert listed.status_code == 200
            bodies.append(listed.text)
            for item in listed.json()["items"]:
                detail = client.get(f"/v1/leads/{item['id']}", headers=headers)
                assert detail.status_code == 200 and detail.json()["revealed"] is False
                records = detail.json()["evidence"][OWN_TABLE[scenario]]["rows"]
                for column in personal_columns(scenario)[OWN_TABLE[scenario]]:
                    assert all("*" in (r[column] or "*") for r in records), (column, records)
                bodies.append(json.dumps(detail.json(), ensure_ascii=False))
        export = client.get("/v1/leads/export.csv", headers=headers)
        assert export.status_code == 200
        bodies.append(export.text)
    admin = {"Authorization": f"Bearer {sandbox.keys['admin']}"}
    bodies.append(
        json.dumps(
            client.get("/v1/audit", params={"limit": 5000}, headers=admin).json(),
            ensure_ascii=False,
        )
    )
    text = "\n".join(bodies)
    leaked = [(c, v) for c, k, v in values if k != "name" and leaks(text, v, k)]
    assert not leaked, leaked[:5]


def test_reveal_shows_the_values_and_is_audited_with_its_reason(service, tables) -> None:
    client, sandbox, entities = service
    headers = {"Authorization": f"Bearer {sandbox.keys['staff:Haidian']}"}
    scenario = "fake_certificates"
    entity = entities[scenario].iloc[0]
    lead = next(
        i
        for i in client.get(
            "/v1/leads", params={"scenario": scenario, "page_size": 500}, headers=headers
        ).json()["items"]
        if i["entity_id"] == entity["entity_id"]
    )
    why = "site inspection 2025-031, worker identity check"
    revealed = client.get(
        f"/v1/leads/{lead['id']}", params={"reveal": "true", "reason": why}, headers=headers
    ).json()
    row = revealed["evidence"]["site_workers"]["rows"][0]
    assert revealed["revealed"] is True and row["worker_id"] == entity["worker_id"]
    assert row["worker_name"] == entity["worker_name"]
    audit = client.get(
        "/v1/audit",
        params={"object_type": "lead", "object_id": str(lead["id"])},
        headers={"Authorization": f"Bearer {sandbox.keys['admin']}"},
    ).json()
    assert ("read_lead_revealed", why) in [(e["action"], e["reason"]) for e in audit]

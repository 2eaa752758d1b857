"""``layout: "arrow"`` answers the same scores as the JSON layouts, as an Arrow IPC stream: the
same rows in the same order, scores, probabilities, percentiles, ranks and reasons, with the
model version in the schema's metadata. Behaviour only; its speed is measured by ``make bench``
(``--only serving``)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from serving.sandbox import SCENARIO
from serving.score_arrow import MEDIA_TYPE

SERVICE_ENV = {"SERVING_RATE_PER_MINUTE": "100000", "SERVING_RATE_BURST": "100000"}


def auth(sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys['system']}"}


def both(client, sandbox, body: dict) -> tuple[pa.Table, dict]:
    """The Arrow answer (read back) and the columns answer of the same request."""
    got = client.post("/v1/score", json={**body, "layout": "arrow"}, headers=auth(sandbox))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == MEDIA_TYPE
    want = client.post("/v1/score", json={**body, "layout": "columns"}, headers=auth(sandbox))
    assert want.status_code == 200, want.text
    return pa.ipc.open_stream(got.content).read_all(), want.json()


@pytest.mark.parametrize(
    "body",
    [
        {"all_entities": True, "explain_top": 25},
        {"all_entities": True},
        {"entity_ids": "first three", "explain_all": True, "max_reasons": 2},
    ],
    ids=["all, top 25 explained", "all, none explained", "three ids, all explained"],
)
def test_the_arrow_answer_equals_the_columns_answer(client, sandbox, body: dict) -> None:
    if body.get("entity_ids") == "first three":
        first = client.post(
            "/v1/score",
            json={"scenario": SCENARIO, "all_entities": True, "layout": "columns"},
            headers=auth(sandbox),
        ).json()
        body = {**body, "entity_ids": first["entity_id"][:3]}
    table, want = both(client, sandbox, {"scenario": SCENARIO, **body})
    assert table.num_rows == want["count"] > 0
    assert table.schema.field("rank").type == pa.int64()
    columns = table.to_pydict()
    for name in ("entity_id", "score", "probability", "percentile", "rank"):
        assert columns[name] == want[name], name
    reasons = {
        e: json.loads(text)
        for e, text in zip(columns["entity_id"], columns["reasons"], strict=True)
        if text is not None
    }
    assert reasons == want["reasons"]
    asked = want["count"] if body.get("explain_all") else min(body.get("explain_top", 0), 10**9)
    assert len(reasons) == min(asked, want["count"])
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert json.loads(meta["model"]) == want["model"]
    assert meta["scenario"] == SCENARIO and int(meta["count"]) == want["count"]
    assert meta["percentile_basis"] == want["percentile_basis"]


def test_an_unknown_layout_is_a_422_naming_the_field(client, sandbox) -> None:
    got = client.post(
        "/v1/score",
        json={"scenario": SCENARIO, "all_entities": True, "layout": "parquet"},
        headers=auth(sandbox),
    )
    assert got.status_code == 422
    assert "layout" in got.text


def test_the_columns_layout_holds_the_records_answer_row_for_row(client, sandbox) -> None:
    body = {"scenario": SCENARIO, "all_entities": True, "explain_top": 25}
    records = client.post("/v1/score", json=body, headers=auth(sandbox)).json()
    columns = client.post(
        "/v1/score", json={**body, "layout": "columns"}, headers=auth(sandbox)
    ).json()
    head = ("scenario", "model", "percentile_basis", "count")
    assert {k: columns[k] for k in head} == {k: records[k] for k in head}
    for field in ("entity_id", "score", "probability", "percentile", "rank"):
        assert columns[field] == [row[field] for row in records["results"]], field
    explained = {
        r["entity_id"]: r["reasons"] for r in records["results"] if r["reasons"] is not None
    }
    assert columns["reasons"] == explained and len(explained) == 25


def test_the_openapi_document_states_the_layouts_and_their_answers() -> None:
    from serving.app import create_app

    spec = create_app().openapi()
    layout = spec["components"]["schemas"]["ScoreRequest"]["properties"]["layout"]
    assert layout["enum"] == ["records", "columns", "arrow"] and layout["default"] == "records"
    assert "parallel lists" in layout["description"] and MEDIA_TYPE in layout["description"]
    answer = spec["paths"]["/v1/score"]["post"]["responses"]["200"]["content"]
    refs = json.dumps(answer["application/json"]["schema"])
    assert "ScoreResponse" in refs and "ScoreColumns" in refs
    assert MEDIA_TYPE in answer
    columns = spec["components"]["schemas"]["ScoreColumns"]["properties"]
    assert {"entity_id", "score", "probability", "percentile", "rank", "reasons"} <= set(columns)

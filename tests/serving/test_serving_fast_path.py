"""The scoring path on numpy (issue 15) gives exactly what the pandas reference gives: the same
rows, scores, probabilities, peers and reasons, and the same 404 for unknown entity ids.

The fast path reads the feature table as a float64 matrix with an id->row dict and the reasons'
declarations and district medians prepared at model load; the reference builds frames per request
(``batch_frame``, ``ServedModel.predict``, ``shap_reasons.explain``). Behaviour only: how fast is
measured by ``make bench`` (``--only serving``), never here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from serving import shap_reasons
from serving.api_score import batch_frame, batch_rows, score_batch
from serving.champions import ServedModel
from serving.error_handling import ApiError
from serving.feature_cache import EntityMatrix, as_entity_table
from serving.sandbox import FEATURES, SCENARIO
from serving.schemas import ScoreRequest
from serving.scoring import (
    frame_from_rows,
    percentiles,
    ranks,
    rows_to_explain,
    select_entities,
    values_from_rows,
)

SERVICE_ENV = {"SERVING_RATE_PER_MINUTE": "100000", "SERVING_RATE_BURST": "100000"}


@pytest.fixture(scope="module")
def ctx(client):
    """The started service's context (the in-process client's app)."""
    from serving.service import app

    return app.state.ctx


@pytest.fixture(scope="module")
def ids(ctx) -> list[str]:
    """300 ids of the served table in random order, some twice."""
    table = ctx.features.table(SCENARIO)
    picked = table.index.to_series().sample(300, random_state=3).tolist()
    return picked + picked[:7]


def auth(sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys['system']}"}


def reference_answer(ctx, req: ScoreRequest) -> dict:
    """``score_batch``'s answer built the pandas way (frames, ``predict``, ``explain``)."""
    served = ctx.hub.get(req.scenario)
    frame = batch_frame(ctx, req, served)
    out = served.predict(frame)
    scores = out["score"].to_numpy(dtype="float64")
    picked = rows_to_explain(scores, req.explain_top, req.explain_all)
    if not req.explain_all:  # the top rows by a full stable sort: a tie at the cut keeps the first
        picked = np.argsort(-scores, kind="stable")[: req.explain_top]
    background = ctx.features.maybe_table(req.scenario)
    reasons = shap_reasons.explain(served, frame.iloc[picked], req.max_reasons, background)
    return {
        "entity_id": frame.index.astype(str).tolist(),
        "score": np.round(scores, 6).tolist(),
        "probability": np.round(out["probability"].to_numpy(dtype="float64"), 6).tolist(),
        "reasons": {str(frame.index[i]): r for i, r in zip(picked, reasons, strict=True)},
        "rank": ranks(scores).tolist(),
        "percentile": np.round(percentiles(scores, served.reference), 3).tolist(),
    }


def test_matrix_rows_equal_the_frame_rows(ctx, ids) -> None:
    served = ctx.hub.get(SCENARIO)
    table = ctx.features.table(SCENARIO)
    matrix = ctx.features.matrix(SCENARIO, served.columns)
    assert matrix is ctx.features.matrix(SCENARIO, served.columns)  # built once, at load
    assert matrix.values.flags["C_CONTIGUOUS"] and matrix.values.dtype == np.float64
    expected = select_entities(table, ids).loc[:, list(served.columns)].astype("float64")
    got = matrix.values[matrix.positions(ids)]
    np.testing.assert_array_equal(got, expected.to_numpy())  # NaN where the frame has NaN
    assert np.isnan(got).any(), "the sandbox has missing values; they must stay NaN"
    assert matrix.ids == table.index.astype(str).tolist()
    batch = batch_rows(ctx, ScoreRequest(scenario=SCENARIO, entity_ids=ids), served)
    assert batch.ids == ids
    pd.testing.assert_frame_equal(batch.frame(served.columns), expected)


def test_unknown_ids_give_the_same_404_on_both_paths(ctx, ids) -> None:
    served = ctx.hub.get(SCENARIO)
    table = ctx.features.table(SCENARIO)
    matrix = ctx.features.matrix(SCENARIO, served.columns)
    asked = [ids[0], "NOT-AN-ENTITY", ids[1]] + [f"GHOST{i}" for i in range(6)]
    with pytest.raises(ApiError) as slow:
        select_entities(table, asked)
    with pytest.raises(ApiError) as fast:
        matrix.positions(asked)
    assert fast.value.status == slow.value.status == 404
    assert str(fast.value) == str(slow.value)
    assert "7 entity id(s)" in str(fast.value) and "NOT-AN-ENTITY" in str(fast.value)
    assert list(matrix.lookup(asked)[1:3]) == [-1, matrix.row_of[ids[1]]]


def test_unknown_ids_are_a_404_over_http(client, sandbox, ids) -> None:
    body = {"scenario": SCENARIO, "entity_ids": [ids[0], "NOT-AN-ENTITY"], "explain_top": 1}
    got = client.post("/v1/score", json=body, headers=auth(sandbox))
    assert got.status_code == 404, got.text
    assert "1 entity id(s) not in the latest feature table: NOT-AN-ENTITY" in got.json()["error"]


def test_score_array_equals_predict(ctx, ids) -> None:
    served = ctx.hub.get(SCENARIO)
    table = ctx.features.table(SCENARIO)
    matrix = ctx.features.matrix(SCENARIO, served.columns)
    for rows in (matrix.positions(ids[:1]), matrix.positions(ids), np.arange(len(matrix))):
        score, probability = served.score_array(matrix.values[rows])
        out = served.predict(table.iloc[rows])
        np.testing.assert_array_equal(score, out["score"].to_numpy(dtype="float64"))
        np.testing.assert_array_equal(probability, out["probability"].to_numpy(dtype="float64"))


def test_score_batch_equals_the_pandas_reference(ctx, ids) -> None:
    """Scores, probabilities, ranks, percentiles (one sort on the fast path, separate ones in
    the reference) and reasons, for one entity, some, a few explained all, and the table."""
    requests = [
        ScoreRequest(scenario=SCENARIO, entity_ids=ids[:1], explain_top=1),
        ScoreRequest(scenario=SCENARIO, entity_ids=ids, explain_top=40, max_reasons=6),
        ScoreRequest(scenario=SCENARIO, entity_ids=ids[:50], explain_all=True, max_reasons=2),
        ScoreRequest(scenario=SCENARIO, all_entities=True, explain_top=300),
    ]
    for req in requests:
        got = score_batch(ctx, req)
        want = reference_answer(ctx, req)
        for field in ("entity_id", "score", "probability", "rank", "percentile"):
            assert got[field] == want[field], field
        assert got["reasons"] == want["reasons"]
        assert all(r and r[0]["text"] for r in got["reasons"].values())


def test_feature_rows_give_the_same_answer_as_their_frame(ctx, ids) -> None:
    """Rows sent in the request, including an entity the population does not know (its peers
    are the population's medians) and a missing value."""
    served = ctx.hub.get(SCENARIO)
    table = ctx.features.table(SCENARIO)
    sent = []
    for n, entity in enumerate(ids[:30] + ["NEW-ENTITY"]):
        source = table.loc[entity if entity in table.index else ids[0]]
        features = {f: (None if pd.isna(source[f]) else float(source[f])) for f in FEATURES}
        if n == 3:
            features["waybill_gap"] = None
        sent.append({"entity_id": entity, "features": features})
    req = ScoreRequest.model_validate(
        {"scenario": SCENARIO, "rows": sent, "explain_all": True, "max_reasons": 4}
    )
    got_ids, values = values_from_rows(req.rows, served.columns)
    frame = frame_from_rows(req.rows, served.columns)
    assert got_ids == frame.index.tolist()
    np.testing.assert_array_equal(values, frame.to_numpy())
    got, want = score_batch(ctx, req), reference_answer(ctx, req)
    assert got["score"] == want["score"] and got["reasons"] == want["reasons"]
    assert "NEW-ENTITY" in got["reasons"]


def test_the_http_answer_equals_the_reference(client, sandbox, ctx, ids) -> None:
    body = {"scenario": SCENARIO, "entity_ids": ids[:5], "explain_top": 5, "layout": "columns"}
    got = client.post("/v1/score", json=body, headers=auth(sandbox))
    assert got.status_code == 200, got.text
    want = reference_answer(ctx, ScoreRequest.model_validate(body))
    data = got.json()
    assert data["entity_id"] == want["entity_id"] and data["score"] == want["score"]
    assert data["reasons"] == want["reasons"]
    single = {"scenario": SCENARIO, "entity_ids": ids[7:8], "explain_top": 1}
    record = client.post("/v1/score", json=single, headers=auth(sandbox)).json()["results"][0]
    reference = reference_answer(ctx, ScoreRequest.model_validate(single))
    assert record["entity_id"] == ids[7] and record["score"] == reference["score"][0]
    assert record["reasons"] == reference["reasons"][ids[7]]


def test_prepared_peers_equal_peer_medians() -> None:
    """District medians per entity, with an unknown entity, a row whose district is missing
    and a district whose median of a column is NaN (both fall back to the overall median)."""
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "entity_id": [f"e{i}" for i in range(n)],
            "district": rng.choice(["A", "B", "C"], n).astype(object),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )
    frame.loc[frame["district"] == "C", "y"] = np.nan
    frame.loc[5, "district"] = None
    table = as_entity_table(frame)
    matrix = EntityMatrix.of(table, ("x", "y"))
    model = ServedModel(
        scenario="peers-demo",
        name="supervision-peers-demo",
        version="1",
        alias="champion",
        run_id=None,
        model=None,
        columns=("x", "y"),
        loaded_at=datetime.now(UTC),
    )
    prepared = shap_reasons.prepare(model, matrix)
    asked = ["e1", "e5", "unknown", *table.index[table["district"] == "C"][:3], "e1"]
    expected = shap_reasons.peer_medians(pd.Index(asked), table, ["x", "y"])
    np.testing.assert_array_equal(prepared.peers(asked), expected)
    assert prepared is shap_reasons.prepare(model, matrix)  # reused while nothing changed

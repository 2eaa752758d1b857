"""A scored batch as an Arrow IPC stream (``layout: "arrow"``): the columnar answer for batch
systems scoring a whole feature table.

Why: a JSON answer of 100,000 rows costs its client more to parse (about 130 ms) than the
service spends scoring them; an Arrow stream is read without parsing. One record batch holds
the rows in input order: ``entity_id`` (string), ``score``, ``probability`` (null where the
model has none), ``percentile`` (float64), ``rank`` (int64) and ``reasons`` (the JSON list of
the row's reasons, as in the JSON layouts; null for a row not explained). The schema's metadata
carries ``scenario``, ``model`` (JSON: name, version, alias, run_id), ``percentile_basis`` and
``count``, so the answer still names the model version that made its scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pydantic_core

MEDIA_TYPE = "application/vnd.apache.arrow.stream"


def reasons_column(ids: Sequence[str], reasons: Mapping[str, Any]) -> pa.Array:
    """Per row, its reasons as JSON text (NaN written as null), or null when not explained."""
    return pa.array(
        [
            None if e not in reasons else pydantic_core.to_json(reasons[e], inf_nan_mode="null")
            for e in ids
        ]
        if reasons
        else [None] * len(ids),
        type=pa.string(),
    )


def arrow_answer(head: Mapping[str, Any], columns: Mapping[str, Any]) -> bytes:
    """The IPC stream of a scored batch: ``columns`` holds ``entity_id`` (list) and the
    ``score``, ``probability``, ``percentile`` and ``rank`` arrays, and ``reasons`` by id;
    ``head`` the scenario, model, percentile basis and count."""
    ids = columns["entity_id"]
    probability = np.asarray(columns["probability"], dtype="float64")
    table = pa.table(
        {
            "entity_id": pa.array(ids, type=pa.string()),
            "score": pa.array(np.asarray(columns["score"], dtype="float64")),
            "probability": pa.array(probability, mask=np.isnan(probability)),
            "percentile": pa.array(np.asarray(columns["percentile"], dtype="float64")),
            "rank": pa.array(np.asarray(columns["rank"], dtype="int64")),
            "reasons": reasons_column(ids, columns["reasons"]),
        }
    )
    metadata = {
        "scenario": str(head["scenario"]),
        "model": pydantic_core.to_json(head["model"]).decode(),
        "percentile_basis": str(head["percentile_basis"]),
        "count": str(head["count"]),
    }
    table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()

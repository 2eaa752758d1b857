"""A model's evidence view computed: every entity's dated series from its pool's tables, with
the same key normalisation and label guard as the feature build (``features.build``). The view's
declaration lives in ``features.evidence``; this module sits above the build that it reuses."""

from __future__ import annotations

from collections.abc import Mapping

import ibis.common.exceptions as ibis_errors
import pandas as pd

from features.build import LabelGuard
from features.engines import connect
from features.evidence import COLUMNS, EvidenceError, EvidenceView
from features.keys import normalise_sources
from features.sources import register_frames
from features.spec import BuildContext


def evidence_frame(model: object, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The model's evidence series for every entity of ``frames`` (its pool's tables)."""
    view: EvidenceView | None = getattr(model, "evidence", None)
    name = getattr(model, "name", "?")
    if view is None or not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    con = connect("duckdb")
    specs = {s.table: s for s in model.sources}  # type: ignore[attr-defined]
    tables = normalise_sources(register_frames(frames, specs), model.joins, con)  # type: ignore[attr-defined]
    hidden = set(getattr(model, "label_sources", ())) & set(tables)
    try:
        expr = view.build(LabelGuard(tables, hidden, name), BuildContext(None, "duckdb"))
    except (AttributeError, KeyError, ibis_errors.IbisError) as exc:
        raise EvidenceError(
            f"model {name!r}: evidence view refers to something its sources do not have: {exc}"
        ) from None
    missing = [c for c in COLUMNS if c not in expr.columns]
    if missing:
        raise EvidenceError(f"model {name!r}: evidence view did not return column(s) {missing}")
    if not expr.schema()["value"].is_numeric():
        raise EvidenceError(
            f"model {name!r}: evidence 'value' is {expr.schema()['value']}, not a number"
        )
    out = con.execute(expr.select(*COLUMNS))
    unknown = sorted(set(out["series"].dropna()) - {s.name for s in view.series})
    if unknown:
        raise EvidenceError(f"model {name!r}: evidence view gives undeclared series {unknown}")
    out["entity_id"] = out["entity_id"].astype("string")
    out["period"] = pd.to_datetime(out["period"])
    out["value"] = pd.to_numeric(out["value"]).astype("float64")
    return (
        out.dropna(subset=["period"])
        .sort_values(["entity_id", "series", "period"], kind="stable")
        .reset_index(drop=True)
    )

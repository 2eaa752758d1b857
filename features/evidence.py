"""A model's evidence view, declared: the colliding quantities as pictures, before the rows.

Staff are convinced by one chart of declared vs invoiced vs delivered litres per month, not by
hundreds of invoices. A model declares ``evidence=EvidenceView(...)``: an Ibis expression over
its sources giving, per entity, dated values of named series (``entity_id, period, series,
value``), the series' labels and units per language, whether they are monthly quantities
(lines) or events on one time line (a loan, a home purchase, a share transfer), and which
features to show against the entity's peers. ``evidence_frame`` computes it for every entity of
a pool at once (the service caches it per pool version). A series the view does not declare, a
non-numeric value, a missing column or a label source read is refused naming the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import ibis.common.exceptions as ibis_errors
import ibis.expr.types as ir
import pandas as pd

from features.spec import BuildContext

Kind = Literal["monthly", "events"]
KINDS: tuple[str, ...] = ("monthly", "events")
COLUMNS: tuple[str, ...] = ("entity_id", "period", "series", "value")
#: sources (cut, keys normalised, labels hidden), context -> entity_id, period, series, value
EvidenceFn = Callable[[Mapping[str, ir.Table], BuildContext], ir.Table]


class EvidenceError(ValueError):
    """A model's evidence view cannot be computed as declared."""


@dataclass(frozen=True)
class Series:
    """One quantity on the chart: its name in the expression, its label per language (``zh``
    first), its unit and axis (``right`` for a count beside litres, e.g. vehicles)."""

    name: str
    texts: Mapping[str, str]
    unit: str = ""
    axis: Literal["left", "right"] = "left"

    def text(self, lang: str) -> str:
        return dict(self.texts).get(lang) or dict(self.texts).get("en") or self.name


@dataclass(frozen=True)
class EvidenceView:
    """What a lead of the model shows before its source rows (see the module docstring).

    ``peers``: feature name -> its label per language, each shown as the entity's value
    against the distribution of its peer group (the feature's ``peer_group``, else all).
    """

    build: EvidenceFn = field(compare=False)
    series: tuple[Series, ...]
    kind: Kind = "monthly"
    peers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)

    def check(self, model: str, features: list[str]) -> None:
        """Refuse a view that cannot work, naming the model and the field."""
        if not callable(self.build):
            raise ValueError(f"model {model!r}: evidence build must be a function")
        if self.kind not in KINDS:
            raise ValueError(f"model {model!r}: evidence kind must be one of {KINDS}, "
                             f"got {self.kind!r}")
        names = [s.name for s in self.series]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"model {model!r}: evidence series must be named, each once: "
                             f"{names}")
        unknown = [f for f in self.peers if f not in features]
        if unknown:
            raise ValueError(f"model {model!r}: evidence peers name undeclared feature(s) "
                             f"{unknown}")


def evidence_frame(model: object, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The model's evidence series for every entity of ``frames`` (its pool's tables)."""
    from features.build import LabelGuard
    from features.engines import connect
    from features.keys import normalise_sources
    from features.sources import register_frames

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
        raise EvidenceError(f"model {name!r}: evidence view refers to something its sources "
                            f"do not have: {exc}") from None
    missing = [c for c in COLUMNS if c not in expr.columns]
    if missing:
        raise EvidenceError(f"model {name!r}: evidence view did not return column(s) {missing}")
    if not expr.schema()["value"].is_numeric():
        raise EvidenceError(f"model {name!r}: evidence 'value' is {expr.schema()['value']}, "
                            "not a number")
    out = con.execute(expr.select(*COLUMNS))
    unknown = sorted(set(out["series"].dropna()) - {s.name for s in view.series})
    if unknown:
        raise EvidenceError(f"model {name!r}: evidence view gives undeclared series {unknown}")
    out["entity_id"] = out["entity_id"].astype("string")
    out["period"] = pd.to_datetime(out["period"])
    out["value"] = pd.to_numeric(out["value"]).astype("float64")
    return out.dropna(subset=["period"]).sort_values(["entity_id", "series", "period"],
                                                     kind="stable").reset_index(drop=True)

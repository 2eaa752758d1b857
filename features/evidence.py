"""A model's evidence view, declared: the colliding quantities as pictures, before the rows.

Staff are convinced by one chart of declared vs invoiced vs delivered litres per month, not by
hundreds of invoices. A model declares ``evidence=EvidenceView(...)``: an Ibis expression over
its sources giving, per entity, dated values of named series (``entity_id, period, series,
value``), the series' labels and units per language, whether they are monthly quantities
(lines) or events on one time line (a loan, a home purchase, a share transfer), and which
features to show against the entity's peers. ``features.evidence_build.evidence_frame`` computes
it for every entity of a pool at once (the service caches it per pool version). A series the view does not declare, a
non-numeric value, a missing column or a label source read is refused naming the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import ibis
import ibis.expr.types as ir

from features.spec import BuildContext

Kind = Literal["monthly", "events"]
KINDS: tuple[str, ...] = ("monthly", "events")
COLUMNS: tuple[str, ...] = ("entity_id", "period", "series", "value")
#: sources (cut, keys normalised, labels hidden), context -> entity_id, period, series, value
EvidenceFn = Callable[[Mapping[str, ir.Table], BuildContext], ir.Table]


def series_rows(
    table: ir.Table, entity: ir.Value, period: ir.Value, series: str, value: ir.Value
) -> ir.Table:
    """One series of a view's expression from ``table``: the columns ``COLUMNS``, the period as
    a date and the value as a float (``ibis.union`` the series of a view together)."""
    return table.select(
        entity_id=entity,
        period=period.cast("date"),
        series=ibis.literal(series),
        value=value.cast("float64"),
    )


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
            raise ValueError(
                f"model {model!r}: evidence kind must be one of {KINDS}, got {self.kind!r}"
            )
        names = [s.name for s in self.series]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"model {model!r}: evidence series must be named, each once: {names}")
        unknown = [f for f in self.peers if f not in features]
        if unknown:
            raise ValueError(
                f"model {model!r}: evidence peers name undeclared feature(s) {unknown}"
            )

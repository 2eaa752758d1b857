"""Labels as they were known on a date: outcomes of past leads, never the ground truth.

A label exists only where someone verified a lead: 1 if any verification up to the date ended in
a filed case, 0 if verifications ended only in "no case", NaN if the entity was never verified
or only ever closed as "invalid" (the data behind the lead was wrong, which says nothing about
the entity). The history passed in is already cut as of the date (flagged and verified by then).
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.spec import BuildContext

HISTORY_TABLE = "verification_history"


def history_labels(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """One row per verified entity: ``entity_id`` and ``label`` (1.0, 0.0 or NULL)."""
    if HISTORY_TABLE not in sources:
        # a model that declares no past verifications: its only labels will be the outcomes of
        # its own leads (merged in by training from the lead store)
        return ibis.memtable(
            {"entity_id": [], "label": []}, schema={"entity_id": "string", "label": "float64"}
        )
    h = sources[HISTORY_TABLE]
    per = h.group_by("entity_id").aggregate(
        cases=(h.outcome == "case_filed").cast("int64").sum(),
        no_cases=(h.outcome == "no_case").cast("int64").sum(),
    )
    label = ibis.cases(
        (per.cases > 0, 1.0),
        (per.no_cases > 0, 0.0),
        else_=ibis.null("float64"),
    )
    return per.select("entity_id", label=label.cast("float64"))

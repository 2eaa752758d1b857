"""Attach agency rows to entities: by code first, by normalised name where the code fails.

Agencies type codes wrongly (a broken check character, a digit dropped) but usually spell the
name recognisably, and some agencies (carriers, traffic police) record names only. The lookup by
name uses only names that identify exactly one entity, so a shared name can never multiply rows.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def unique_names(entities: ir.Table, key: str, name: str) -> ir.Table:
    """(``_n_key``, ``_n_name``) for names that belong to exactly one entity."""
    per = entities.group_by(_n_name=entities[name]).aggregate(
        _n_key=entities[key].min(), _n_count=entities[key].nunique()
    )
    return per.filter((per._n_count == 1) & per._n_name.notnull()).select("_n_key", "_n_name")


def resolve(
    table: ir.Table,
    entities: ir.Table,
    *,
    key: str,
    name: str,
    code_column: str | None = None,
    name_column: str | None = None,
    out: str = "entity",
) -> ir.Table:
    """``table`` plus column ``out``: the entity key its code (or else its name) points to.

    Rows that match neither keep a NULL ``out``; callers drop them only after the join report
    has counted them.
    """
    result = table
    parts = []
    if code_column is not None:
        codes = entities.select(_c_key=entities[key]).distinct()
        result = result.left_join(codes, result[code_column] == codes._c_key).select(
            *result.columns, "_c_key"
        )
        parts.append("_c_key")
    if name_column is not None:
        names = unique_names(entities, key, name)
        result = result.left_join(names, result[name_column] == names._n_name).select(
            *result.columns, "_n_key"
        )
        parts.append("_n_key")
    found = [result[p] for p in parts]
    result = result.mutate(**{out: ibis.coalesce(*found) if len(found) > 1 else found[0]})
    drop = [c for c in ("_c_key", "_n_key") if c in result.columns]
    return result.drop(*drop)

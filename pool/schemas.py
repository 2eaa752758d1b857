"""Validation schemas (pandera), generated from the ``SourceSpec`` declarations.

A column is declared once, in its scenario's ``SOURCES``; its dtype, nullability and checks
become a pandera schema here, so the catalog, the files and the validation cannot disagree. The
verification history and the ground truth have fixed shapes (COMMON contract) declared here too.
"""

from __future__ import annotations

import pandera.pandas as pa

from pool.history import OUTCOMES
from pool.origins import Origin
from pool.spec import DISTRICTS, ColumnSpec, SourceSpec

PANDAS_DTYPES: dict[str, str | type] = {
    "string": str,
    "int64": "int64",
    "float64": "float64",
    "bool": "bool",
    "date": "datetime64[us]",
    "datetime": "datetime64[us]",
}
KNOWN_CHECKS = ("min", "max", "isin", "regex", "unique", "min_length", "max_length")
HISTORY_TABLE = "verification_history"


class SpecError(ValueError):
    """A source declaration that cannot become a schema (unknown dtype or check)."""


def _checks(spec: SourceSpec, col: ColumnSpec) -> list[pa.Check]:
    unknown = sorted(set(col.checks) - set(KNOWN_CHECKS))
    if unknown:
        raise SpecError(
            f"{spec.scenario}.{spec.table}: column {col.name!r} has unknown checks {unknown}; "
            f"known: {', '.join(KNOWN_CHECKS)}"
        )
    rules = col.checks
    checks = []
    if "min" in rules:
        checks.append(pa.Check.ge(rules["min"]))
    if "max" in rules:
        checks.append(pa.Check.le(rules["max"]))
    if "isin" in rules:
        checks.append(pa.Check.isin(list(rules["isin"])))
    if "regex" in rules:
        checks.append(pa.Check.str_matches(rules["regex"]))
    if "min_length" in rules or "max_length" in rules:
        checks.append(pa.Check.str_length(rules.get("min_length"), rules.get("max_length")))
    return checks


def column_schema(spec: SourceSpec, col: ColumnSpec) -> pa.Column:
    """One pandera column: declared dtype, nullability, uniqueness and checks."""
    if col.dtype not in PANDAS_DTYPES:
        raise SpecError(
            f"{spec.scenario}.{spec.table}: column {col.name!r} declares unknown dtype {col.dtype!r}"
        )
    dtype = PANDAS_DTYPES[col.dtype]
    if col.dtype == "int64" and col.nullable:
        dtype = "Int64"
    return pa.Column(
        dtype,
        nullable=col.nullable,
        unique=bool(col.checks.get("unique", False)),
        checks=_checks(spec, col),
        description=col.meaning,
        title=col.name,
    )


def source_schema(spec: SourceSpec, *, strict: bool = True) -> pa.DataFrameSchema:
    """The pandera schema of a declared source; ``strict`` rejects undeclared columns."""
    columns = {c.name: column_schema(spec, c) for c in spec.columns}
    return pa.DataFrameSchema(
        columns,
        strict=strict,
        name=f"{spec.scenario}.{spec.table}",
        description=spec.description,
    )


def history_source(scenario: str, origin: Origin | None = None) -> SourceSpec:
    """The verification history of a scenario, declared like an agency table (``origin``: where
    an office's own record of past verifications is read from)."""
    return SourceSpec(
        origin=origin,
        scenario=scenario,
        agency="procuratorate (case management)",
        table=HISTORY_TABLE,
        description=(
            "Closed leads of the past: which crude rule (or tip-off) flagged an entity, when it "
            "was verified and the outcome. The only labels; biased toward what the rules caught."
        ),
        keys=("lead_id", "entity_id"),
        date_column="flagged_on",
        filed_column="verified_on",
        columns=(
            ColumnSpec("lead_id", "string", "identifier of the lead", checks={"unique": True}),
            ColumnSpec("entity_id", "string", "canonical id of the entity the lead is about"),
            ColumnSpec(
                "district",
                "string",
                "district whose unit verified the lead",
                checks={"isin": list(DISTRICTS)},
            ),
            ColumnSpec("rule", "string", "past crude rule that flagged the entity, or 'tip_off'"),
            ColumnSpec("flagged_on", "date", "day the lead was created"),
            ColumnSpec("verified_on", "date", "day verification closed"),
            ColumnSpec(
                "outcome", "string", "result of verification", checks={"isin": list(OUTCOMES)}
            ),
            ColumnSpec(
                "amount_recovered",
                "float64",
                "tax, fines or funds recovered by the case",
                unit="yuan",
                checks={"min": 0},
            ),
        ),
    )


def truth_source(scenario: str) -> SourceSpec:
    """The minimum shape of a scenario's ground truth (extra columns are allowed)."""
    return SourceSpec(
        scenario=scenario,
        agency="simulation (ground truth, never read by training)",
        table="truth",
        description="True state of every entity, for evaluation and the simulated verifier only.",
        keys=("entity_id",),
        columns=(
            ColumnSpec("entity_id", "string", "canonical entity id", checks={"unique": True}),
            ColumnSpec(
                "district", "string", "district of the entity", checks={"isin": list(DISTRICTS)}
            ),
            ColumnSpec("is_fraud", "bool", "whether the entity is really fraudulent"),
            ColumnSpec("pattern", "string", "planted fraud pattern, 'none' if honest"),
        ),
    )

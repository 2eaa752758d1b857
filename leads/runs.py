"""What a scoring run hands to the store: its identity and one row per flagged entity.

Validation happens here, before any transaction, so a bad run is refused whole with an error
naming the row and column at fault and the store is left untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .errors import InvalidValue, MissingActor

REQUIRED_COLUMNS: tuple[str, ...] = ("entity_id", "district", "score", "rank")


@dataclass(frozen=True)
class LeadInput:
    """One flagged entity: higher ``score`` = more suspicious; ``rank`` 1 = top of the list.

    ``reasons`` is whatever explains the score (e.g. a list of {feature, value, contribution,
    text}); it must be JSON-serialisable. ``amount`` is the declared estimate of what the lead
    puts at stake, in ``amount_unit`` (both None: the model declares no estimate; the unit
    alone: no estimate for this entity); ``probability_low``/``probability_high`` bound
    ``probability``.
    """

    entity_id: str
    district: str
    score: float
    rank: int
    probability: float | None = None
    reasons: Any = field(default_factory=list)
    amount: float | None = None
    amount_unit: str | None = None
    probability_low: float | None = None
    probability_high: float | None = None


@dataclass(frozen=True)
class LeadRun:
    """A scoring run's leads for one scenario, with the model that made them."""

    run_id: str
    scenario: str
    model_name: str
    model_version: str
    as_of: date
    leads: Sequence[LeadInput]

    @classmethod
    def from_frame(cls, frame: Any, **identity: Any) -> LeadRun:
        """Build a run from a DataFrame with ``entity_id, district, score, rank`` (+ optional
        ``probability``, ``reasons``); ``identity`` gives run_id, scenario, model_name,
        model_version and as_of."""
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise InvalidValue("columns", sorted(frame.columns), f"missing {', '.join(missing)}")
        records = frame.to_dict("records")
        leads = [_input_from_record(i, r) for i, r in enumerate(records)]
        return cls(leads=leads, **identity)


def _optional(record: Mapping[str, Any], name: str) -> Any:
    """A column's value, None when absent, None or NaN."""
    value = record.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _number(row: int, record: Mapping[str, Any], name: str) -> float | None:
    value = _optional(record, name)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"leads[{row}].{name}", value, "not a number") from exc


def _input_from_record(row: int, record: Mapping[str, Any]) -> LeadInput:
    """One frame row as a LeadInput; NaN probabilities and amounts become None."""
    probability = _number(row, record, "probability")
    unit = _optional(record, "amount_unit")
    try:
        rank = int(record["rank"])
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"leads[{row}].rank", record["rank"], "not an integer") from exc
    return LeadInput(
        entity_id=str(record["entity_id"]),
        district=str(record["district"]),
        score=float(record["score"]),
        rank=rank,
        probability=probability,
        reasons=_plain(record.get("reasons", [])),
        amount=_number(row, record, "amount"),
        amount_unit=None if unit is None else str(unit),
        probability_low=_number(row, record, "probability_low"),
        probability_high=_number(row, record, "probability_high"),
    )


def _plain(value: Any) -> Any:
    """Numpy arrays and scalars inside reasons become plain lists and numbers (JSON-safe)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(name: str, value: object) -> str:
    """A non-empty string field, or an error naming it."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(name, value, "must be a non-empty string")
    return value.strip()


def _check_input(row: int, lead: LeadInput) -> None:
    """Refuse one bad row with the row index and field in the error."""
    prefix = f"leads[{row}]"
    _text(f"{prefix}.entity_id", lead.entity_id)
    _text(f"{prefix}.district", lead.district)
    if not isinstance(lead.score, int | float) or not math.isfinite(lead.score):
        raise InvalidValue(f"{prefix}.score", lead.score, "must be a finite number")
    if not isinstance(lead.rank, int) or lead.rank < 1:
        raise InvalidValue(f"{prefix}.rank", lead.rank, "must be an integer >= 1")
    p = lead.probability
    if p is not None and (not isinstance(p, int | float) or not 0.0 <= p <= 1.0):
        raise InvalidValue(f"{prefix}.probability", p, "must be in [0, 1] or None")
    _check_amount(prefix, lead)
    _check_interval(prefix, lead)


def _check_amount(prefix: str, lead: LeadInput) -> None:
    """An amount is a finite number >= 0 with its unit; a unit alone means "not estimable"."""
    a = lead.amount
    if a is not None and (not isinstance(a, int | float) or not math.isfinite(a) or a < 0):
        raise InvalidValue(f"{prefix}.amount", a, "must be a finite number >= 0 or None")
    if lead.amount_unit is not None:
        _text(f"{prefix}.amount_unit", lead.amount_unit)
    elif a is not None:
        raise InvalidValue(f"{prefix}.amount_unit", None, "an amount needs its unit")


def _check_interval(prefix: str, lead: LeadInput) -> None:
    """The interval, when given, lies in [0, 1] and holds the probability."""
    low, high, p = lead.probability_low, lead.probability_high, lead.probability
    if low is None and high is None:
        return
    if low is None or high is None or p is None:
        raise InvalidValue(
            f"{prefix}.probability_low",
            (low, high),
            "an interval needs both bounds and the probability",
        )
    if not 0.0 <= low <= p <= high <= 1.0:
        raise InvalidValue(
            f"{prefix}.probability_low",
            (low, p, high),
            "must satisfy 0 <= low <= probability <= high <= 1",
        )


def validate_run(run: LeadRun, actor: str) -> None:
    """Check a whole run before it touches the database."""
    if not isinstance(actor, str) or not actor.strip():
        raise MissingActor()
    for name in ("run_id", "scenario", "model_name", "model_version"):
        _text(name, getattr(run, name))
    if not isinstance(run.as_of, date):
        raise InvalidValue("as_of", run.as_of, "must be a date")
    seen: dict[str, int] = {}
    for row, lead in enumerate(run.leads):
        _check_input(row, lead)
        if lead.entity_id in seen:
            raise InvalidValue(
                f"leads[{row}].entity_id",
                lead.entity_id,
                f"duplicates leads[{seen[lead.entity_id]}]",
            )
        seen[lead.entity_id] = row

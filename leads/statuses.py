"""The life cycle of a lead (交办 - 核查 - 成案/不成案/无效), as data.

``new`` -> ``dispatched`` (handed to a unit with an assignee and a deadline) -> ``verifying`` ->
one of the final outcomes. A dispatched lead may be dispatched again (re-assigned, or its
deadline moved when it is chased); every such change is still a history row. ``overdue`` is not a
status: it is derived from the deadline, so it can never disagree with it.
"""

from __future__ import annotations

from .errors import UnknownStatus

NEW = "new"
DISPATCHED = "dispatched"
VERIFYING = "verifying"
CASE_FILED = "case_filed"
NO_CASE = "no_case"
INVALID = "invalid"

OUTCOMES: tuple[str, ...] = (CASE_FILED, NO_CASE, INVALID)
STATUSES: tuple[str, ...] = (NEW, DISPATCHED, VERIFYING, *OUTCOMES)
OPEN_STATUSES: tuple[str, ...] = (NEW, DISPATCHED, VERIFYING)
ACTIVE_STATUSES: tuple[str, ...] = (DISPATCHED, VERIFYING)  # have a deadline that can pass

TRANSITIONS: dict[str, tuple[str, ...]] = {
    NEW: (DISPATCHED,),
    DISPATCHED: (DISPATCHED, VERIFYING),
    VERIFYING: OUTCOMES,
    CASE_FILED: (),
    NO_CASE: (),
    INVALID: (),
}


def check_status(value: object, field: str = "status") -> str:
    """Return ``value`` if it is a known status, else raise :class:`UnknownStatus`."""
    if value not in STATUSES:
        raise UnknownStatus(value, STATUSES, field)
    return str(value)


def check_outcome(value: object, field: str = "outcome") -> str:
    """Return ``value`` if it is a final outcome, else raise :class:`UnknownStatus`."""
    if value not in OUTCOMES:
        raise UnknownStatus(value, OUTCOMES, field)
    return str(value)


def allowed_next(status: str) -> tuple[str, ...]:
    """The statuses a lead in ``status`` may move to."""
    return TRANSITIONS[check_status(status)]

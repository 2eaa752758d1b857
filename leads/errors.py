"""Errors the lead store raises: each names the field (and lead) at fault.

Callers (the command line, the web service) turn them into one clear line or an HTTP status
without parsing messages: ``field`` says which input was wrong, ``lead_id`` which lead.
"""

from __future__ import annotations


class LeadStoreError(Exception):
    """Base class: a request the store refused; nothing was changed."""

    def __init__(self, message: str, *, field: str | None = None, lead_id: int | None = None):
        super().__init__(message)
        self.field = field
        self.lead_id = lead_id


class UnknownLead(LeadStoreError, LookupError):
    """No lead has this id."""

    def __init__(self, lead_id: int):
        super().__init__(f"no lead with lead_id {lead_id}", field="lead_id", lead_id=lead_id)


class UnknownStatus(LeadStoreError, ValueError):
    """A status (or outcome) that is not one of the known values."""

    def __init__(self, value: object, allowed: tuple[str, ...], field: str = "status"):
        super().__init__(f"{field} {value!r} is not one of {', '.join(allowed)}", field=field)
        self.value = value


class MissingActor(LeadStoreError, ValueError):
    """Every change must say who made it."""

    def __init__(self, field: str = "actor"):
        super().__init__(f"{field} is required: every change records who made it", field=field)


class InvalidValue(LeadStoreError, ValueError):
    """A field with a value the rules refuse (deadline in the past, negative amount, ...)."""

    def __init__(self, field: str, value: object, reason: str, lead_id: int | None = None):
        where = f" (lead {lead_id})" if lead_id is not None else ""
        super().__init__(f"{field} {value!r}{where}: {reason}", field=field, lead_id=lead_id)
        self.value = value


class IllegalTransition(LeadStoreError):
    """A status change the lead's life cycle does not allow."""

    def __init__(self, lead_id: int, from_status: str, to_status: str, allowed: tuple[str, ...]):
        options = ", ".join(allowed) if allowed else "nothing (final status)"
        super().__init__(
            f"lead {lead_id}: cannot go from {from_status!r} to {to_status!r}; "
            f"allowed from {from_status!r}: {options}",
            field="status",
            lead_id=lead_id,
        )
        self.from_status = from_status
        self.to_status = to_status


class OutcomeConflict(LeadStoreError):
    """A second, different outcome for a lead that already has one."""

    def __init__(self, lead_id: int, existing: str, requested: str):
        super().__init__(
            f"lead {lead_id} already has outcome {existing!r}; refusing a different one "
            f"({requested!r})",
            field="outcome",
            lead_id=lead_id,
        )
        self.existing = existing
        self.requested = requested


class AuditUnavailable(LeadStoreError):
    """The audit row of a read could not be committed (the store is down, full or locked past
    its timeout): the read must not be answered. The service answers 503."""

    def __init__(self, message: str):
        super().__init__(f"{message}; the read was not answered, try again later", field=None)

"""Who may do what: the service's access matrix, written down as data.

Every route names one action; the matrix maps each action to the roles allowed and how far each
role reaches. ``own_district`` means a staff key sees and changes only the leads of the district
its key was issued for (a district procuratorate sees its own leads, DOMAIN.md). Keeping the matrix
as data lets the tests walk every route against every role, and lets the README print it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Reach(StrEnum):
    """How far an allowed role reaches."""

    ALL = "all"
    OWN_DISTRICT = "own_district"


ROLES: Final = ("system", "staff", "data_scientist", "admin")

#: action -> {role: reach}; a role missing from an action's entry is refused (403).
MATRIX: Final[dict[str, dict[str, Reach]]] = {
    "score": {"system": Reach.ALL, "data_scientist": Reach.ALL, "admin": Reach.ALL},
    "models.read": {"system": Reach.ALL, "data_scientist": Reach.ALL, "admin": Reach.ALL},
    "models.refresh": {"admin": Reach.ALL},
    "leads.read": {
        "staff": Reach.OWN_DISTRICT,
        "data_scientist": Reach.ALL,
        "admin": Reach.ALL,
    },
    "leads.export": {
        "staff": Reach.OWN_DISTRICT,
        "data_scientist": Reach.ALL,
        "admin": Reach.ALL,
    },
    "leads.write": {"staff": Reach.OWN_DISTRICT, "admin": Reach.ALL},
    "ids.reveal": {"staff": Reach.OWN_DISTRICT, "admin": Reach.ALL},
    "ledger.read": {"data_scientist": Reach.ALL, "admin": Reach.ALL},
    "audit.read": {"admin": Reach.ALL},
    "keys.manage": {"admin": Reach.ALL},
    "whoami": {role: Reach.ALL for role in ROLES},
}

#: route (method, path template) -> action; the single place a route's permission is decided.
ROUTES: Final[dict[tuple[str, str], str]] = {
    ("POST", "/v1/score"): "score",
    ("GET", "/v1/models"): "models.read",
    ("POST", "/v1/models/refresh"): "models.refresh",
    ("GET", "/v1/leads"): "leads.read",
    ("GET", "/v1/leads/export.csv"): "leads.export",
    ("GET", "/v1/leads/{lead_id}"): "leads.read",
    ("GET", "/v1/leads/{lead_id}/evidence"): "leads.read",
    ("POST", "/v1/leads/{lead_id}/assign"): "leads.write",
    ("POST", "/v1/leads/{lead_id}/start"): "leads.write",
    ("POST", "/v1/leads/{lead_id}/outcome"): "leads.write",
    ("GET", "/v1/leads/{lead_id}/handover.pdf"): "leads.read",
    ("GET", "/v1/leads/{lead_id}/handover.html"): "leads.read",
    ("GET", "/v1/handover.pdf"): "leads.read",
    ("GET", "/v1/handover.html"): "leads.read",
    ("GET", "/v1/ledger"): "ledger.read",
    ("GET", "/v1/audit"): "audit.read",
    ("POST", "/v1/keys"): "keys.manage",
    ("GET", "/v1/whoami"): "whoami",
}

#: routes that need no key at all (health probes and the static web page).
PUBLIC_PATHS: Final = ("/healthz", "/livez", "/readyz", "/v1/health", "/ui")


def reach(action: str, role: str) -> Reach | None:
    """How far ``role`` reaches for ``action``; None when refused.

    Raises KeyError for an action the matrix does not declare, so a new route cannot silently
    default to open.
    """
    return MATRIX[action].get(role)


def allows_district(action: str, role: str, own: str | None, target: str | None) -> bool:
    """True when ``role`` (with district ``own``) may act on an object in district ``target``."""
    granted = reach(action, role)
    if granted is None:
        return False
    if granted is Reach.ALL:
        return True
    return own is not None and target == own


def as_markdown() -> str:
    """The matrix as a markdown table (rows: actions, columns: roles), for the README."""
    head = "| action | " + " | ".join(ROLES) + " |\n|---|" + "---|" * len(ROLES) + "\n"
    rows = [
        f"| `{action}` | " + " | ".join(str(grants.get(r, "-")) for r in ROLES) + " |"
        for action, grants in MATRIX.items()
    ]
    return head + "\n".join(rows) + "\n"

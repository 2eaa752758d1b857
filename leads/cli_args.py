"""The argument parsers of the lead store's entry points (``python -m leads``, whose main is
:mod:`leads.cli`, and ``python -m leads.simulate``), declared without importing them, SQLAlchemy
or any heavy library, so ``supervision leads --help`` answers at once.

Four values are defined here, their one home, and imported by the modules that use them (which
import SQLAlchemy or pandas): :data:`ROLES` (``leads.models``), :data:`LEAD_SORTS`
(``leads.reads``) and the verifiers' defaults :data:`CAPACITY` and :data:`DEADLINE_DAYS`
(``leads.simulate.VerifierParams``).
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn

from console.parsers import module_docstring, module_parser, prog

from . import statuses
from .calendar import LOCAL_TZ

#: What an API key may do (the ``api_keys.role`` check of ``leads.models``).
ROLES: tuple[str, ...] = ("system", "staff", "data_scientist", "admin")
#: The orders ``leads list --sort`` and ``GET /v1/leads?sort=`` offer, largest first
#: (``leads.reads``).
LEAD_SORTS: tuple[str, ...] = ("score", "amount", "expected_value", "probability")
#: Leads a simulated district holds in hand per scenario (``VerifierParams.capacity``).
CAPACITY = 6
#: Days a simulated unit has to verify a dispatched lead (``VerifierParams.deadline_days``).
DEADLINE_DAYS = 30


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _deadline(text: str) -> date | int:
    """``YYYY-MM-DD``, or ``+N``: N days from today, resolved later on the store's calendar."""
    if text.startswith("+") and text[1:].isdigit():
        return int(text[1:])
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"deadline {text!r} is not YYYY-MM-DD or +DAYS") from exc


def _start_day(text: str) -> date:
    """``YYYY-MM-DD``, or ``today`` on the Beijing calendar."""
    if text == "today":
        return datetime.now(LOCAL_TZ).date()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"start {text!r} is not YYYY-MM-DD or 'today'") from exc


def _common() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--actor", required=True, help="who is acting (recorded with every change)")
    common.add_argument(
        "--db", help="store URL (default: $LEADS_DB_URL or sqlite:///data/leads.db)"
    )
    common.add_argument("--data", help="data root for the default SQLite file (default: data)")
    common.add_argument("--reason", help="stated reason (goes to the audit log)")
    common.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="language of the table headers (default zh)",
    )
    return common


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", help="only this model's leads")
    parser.add_argument("--district", help="only this district's leads")


def leads_parser() -> argparse.ArgumentParser:
    """``python -m leads``: one subcommand per task; the description is :mod:`leads.cli`'s
    whole docstring."""
    parser = _Parser(prog=prog("python -m leads"), description=module_docstring("leads.cli"))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = [_common()]
    p = sub.add_parser("list", parents=common, help="leads, most suspicious first")
    _filters(p)
    p.add_argument("--status", choices=statuses.STATUSES, help="only leads in this status")
    p.add_argument("--overdue", action="store_true", help="only leads past their deadline")
    p.add_argument("--limit", type=int, default=50, help="most leads shown (default 50)")
    p.add_argument(
        "--sort",
        choices=LEAD_SORTS,
        default="score",
        help="score (default), amount at stake, expected_value (probability x "
        "amount) or probability; largest first",
    )
    p = sub.add_parser("show", parents=common, help="one lead with its history")
    p.add_argument("lead_id", type=int)
    p = sub.add_parser("assign", parents=common, help="dispatch a lead to a unit (交办)")
    p.add_argument("lead_id", type=int)
    p.add_argument("--unit", required=True, help="the verifying unit")
    p.add_argument("--assignee", required=True, help="the person in the unit who verifies")
    p.add_argument("--deadline", required=True, type=_deadline, help="YYYY-MM-DD or +DAYS")
    p = sub.add_parser("start", parents=common, help="start verifying a dispatched lead (核查)")
    p.add_argument("lead_id", type=int)
    p = sub.add_parser("outcome", parents=common, help="record a verified lead's outcome")
    p.add_argument("lead_id", type=int)
    p.add_argument(
        "--status", required=True, choices=statuses.OUTCOMES, help="what the verification found"
    )
    p.add_argument("--amount", type=float, default=0.0, help="amount recovered, yuan")
    p.add_argument("--case-ref", help="case reference number")
    p = sub.add_parser("overdue", parents=common, help="leads past their deadline (督办)")
    _filters(p)
    p = sub.add_parser("stats", parents=common, help="hit-to-case conversion with intervals")
    p.add_argument("--scenario", help="only this model (default: every model)")
    p.add_argument(
        "--by",
        default="scenario,model_version",
        help="comma-separated, from: scenario, model_name, model_version, district, week",
    )
    p = sub.add_parser("create-key", parents=common, help="create an API key for the service")
    p.add_argument("--name", required=True, help="who or what the key is for")
    p.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    p.add_argument("--district", help="required for staff keys")
    return parser


def simulate_parser() -> argparse.ArgumentParser:
    """``python -m leads.simulate``."""
    parser = module_parser("leads.simulate")
    parser.add_argument("--data", type=Path, default=None, help="data root (default: data)")
    parser.add_argument("--db", help="store URL (default: $LEADS_DB_URL or <data>/leads.db)")
    parser.add_argument("--days", type=int, default=60, help="days simulated (default 60)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--capacity",
        type=int,
        default=CAPACITY,
        help="leads a district holds in hand per scenario",
    )
    parser.add_argument(
        "--deadline-days",
        type=int,
        default=DEADLINE_DAYS,
        help="days a unit has to verify a dispatched lead",
    )
    parser.add_argument(
        "--start",
        type=_start_day,
        help="first day: YYYY-MM-DD or 'today' (default: the day after the "
        "latest as-of date or simulated change)",
    )
    return parser

"""``python -m leads``: the lead store for staff and scripts (list, show, assign, start,
outcome, overdue, stats, create-key). Every command names its ``--actor``; a refused request
prints one line starting with ``error:`` and exits with status 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, timedelta
from typing import NoReturn

from sqlalchemy.exc import SQLAlchemyError

from console.parsers import prog
from console.tables import cell, format_table

from . import auth, db, statuses
from .errors import LeadStoreError
from .models import ROLES
from .reads import LEAD_SORTS
from .store import LeadStore

LIST_COLUMNS = (
    "id",
    "scenario",
    "entity_id",
    "district",
    "status",
    "score",
    "rank",
    "model_version",
    "unit",
    "assignee",
    "deadline",
    "overdue",
    "amount",
    "amount_unit",
)
STATS_COLUMNS = (
    "issued",
    "verified",
    "cases",
    "no_case",
    "invalid",
    "conversion",
    "lower",
    "upper",
)


class UsageError(Exception):
    """Bad command-line input (reported like a store refusal: one line, exit 2)."""


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


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m leads`` argument parser with one subcommand per task."""
    parser = _Parser(prog=prog("python -m leads"), description=__doc__)
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


def _leads_table(store: LeadStore, rows: list, lang: str) -> str:
    return format_table([asdict(v) for v in rows], LIST_COLUMNS, lang)


def cmd_list(store: LeadStore, args: argparse.Namespace) -> str:
    rows = store.list_leads(
        scenario=args.scenario,
        district=args.district,
        status=args.status,
        overdue=True if args.overdue else None,
        limit=args.limit,
        sort=args.sort,
    )
    total = store.count_leads(
        scenario=args.scenario,
        district=args.district,
        status=args.status,
        overdue=True if args.overdue else None,
    )
    store.audit(
        actor=args.actor,
        action="list_leads",
        object_type="lead",
        reason=args.reason,
        details={
            "scenario": args.scenario,
            "district": args.district,
            "status": args.status,
            "overdue": args.overdue,
            "shown": len(rows),
        },
    )
    return f"{_leads_table(store, rows, args.lang)}\n{len(rows)} of {total} leads"


def _plain(value: object) -> str:
    """A value for the key-value part of ``show``: like a table cell, but says "no"."""
    return "no" if value is False else cell(value)


def cmd_show(store: LeadStore, args: argparse.Namespace) -> str:
    detail = store.detail(args.lead_id)
    store.audit(
        actor=args.actor,
        action="read_lead",
        object_type="lead",
        object_id=str(args.lead_id),
        reason=args.reason,
    )
    lead = asdict(detail.lead)
    head = "\n".join(f"{k:>18}: {_plain(v)}" for k, v in lead.items() if k != "reasons")
    parts = [
        head,
        f"{'reasons':>18}: {json.dumps(lead['reasons'], ensure_ascii=False)}",
        "\nhistory",
        format_table(
            [asdict(h) for h in detail.history],
            ("at", "from_status", "to_status", "actor", "note"),
            args.lang,
        ),
        "\nscores",
        format_table(
            [asdict(s) for s in detail.scores],
            ("recorded_at", "run_id", "model_version", "score", "rank"),
            args.lang,
        ),
        "\nassignments",
        format_table(
            [asdict(a) for a in detail.assignments],
            ("assigned_at", "unit", "assignee", "deadline", "assigned_by"),
            args.lang,
        ),
    ]
    if detail.outcome is not None:
        parts += [
            "\noutcome",
            format_table(
                [asdict(detail.outcome)],
                (
                    "outcome",
                    "amount_recovered",
                    "case_reference",
                    "model_version",
                    "actor",
                    "recorded_at",
                ),
                args.lang,
            ),
        ]
    return "\n".join(parts)


def cmd_assign(store: LeadStore, args: argparse.Namespace) -> str:
    deadline = args.deadline
    if isinstance(deadline, int):
        deadline = store.today() + timedelta(days=deadline)
    view = store.dispatch(
        args.lead_id,
        unit=args.unit,
        assignee=args.assignee,
        deadline=deadline,
        actor=args.actor,
        note=args.reason,
    )
    return f"lead {view.id} dispatched to {view.unit} / {view.assignee}, due {view.deadline}"


def cmd_start(store: LeadStore, args: argparse.Namespace) -> str:
    view = store.start_verification(args.lead_id, actor=args.actor, note=args.reason)
    return f"lead {view.id} is now {view.status}"


def cmd_outcome(store: LeadStore, args: argparse.Namespace) -> str:
    out = store.record_outcome(
        args.lead_id,
        outcome=args.status,
        amount_recovered=args.amount,
        case_reference=args.case_ref,
        actor=args.actor,
        note=args.reason,
    )
    verb = "recorded" if out.created else "already recorded (unchanged)"
    return f"lead {out.lead_id}: outcome {out.outcome} {verb}"


def cmd_overdue(store: LeadStore, args: argparse.Namespace) -> str:
    rows = store.overdue(scenario=args.scenario, district=args.district)
    store.audit(
        actor=args.actor,
        action="list_overdue",
        object_type="lead",
        reason=args.reason,
        details={"scenario": args.scenario, "district": args.district},
    )
    table = [{**asdict(v), "days_overdue": v.days_overdue} for v in rows]
    return (
        format_table(
            table, (*LIST_COLUMNS[:5], "unit", "assignee", "deadline", "days_overdue"), args.lang
        )
        + f"\n{len(rows)} overdue"
    )


def cmd_stats(store: LeadStore, args: argparse.Namespace) -> str:
    from . import stats  # pandas: imported only for this command, to keep the others quick

    by = [b.strip() for b in args.by.split(",") if b.strip()]
    unknown = [b for b in by if b not in stats.DIMENSIONS]
    if unknown or not by:
        raise UsageError(f"--by {args.by!r}: choose from {', '.join(stats.DIMENSIONS)}")
    table = stats.conversion_table(store.engine, by, scenario=args.scenario)
    return format_table(table.to_dict("records"), (*by, *STATS_COLUMNS), args.lang)


def cmd_create_key(store: LeadStore, args: argparse.Namespace) -> str:
    key_id, secret = auth.create_api_key(
        store, name=args.name, role=args.role, district=args.district, actor=args.actor
    )
    return f"key_id: {key_id}\nsecret: {secret}\n(the secret is shown once and not stored)"


COMMANDS: dict[str, Callable[[LeadStore, argparse.Namespace], str]] = {
    "list": cmd_list,
    "show": cmd_show,
    "assign": cmd_assign,
    "start": cmd_start,
    "outcome": cmd_outcome,
    "overdue": cmd_overdue,
    "stats": cmd_stats,
    "create-key": cmd_create_key,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 2 with one ``error:`` line when refused."""
    args = build_parser().parse_args(argv)
    try:
        if not args.actor.strip():
            raise UsageError("--actor must name who is acting")
        store = LeadStore.open(args.db or db.default_url(args.data))
        try:
            print(COMMANDS[args.command](store, args))
        except BrokenPipeError:  # e.g. piped into `head`: the reader left, nothing to report
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        finally:
            store.close()
    except (LeadStoreError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(database_error_line(exc), file=sys.stderr)
        return 2
    return 0


def database_error_line(exc: SQLAlchemyError) -> str:
    """The first line of a database error, for a one-line ``error:`` message."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"error: lead store unavailable: {first}"

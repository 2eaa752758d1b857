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
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from console.tables import cell, format_table

from . import auth, db
from .cli_args import leads_parser
from .errors import LeadStoreError
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


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m leads`` argument parser with one subcommand per task (declared in
    :mod:`leads.cli_args`, so ``--help`` needs none of this module's imports)."""
    return leads_parser()


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

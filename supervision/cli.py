"""``supervision``: one command for the whole job, from the pool to the service.

Each subcommand runs a package's own entry point (the same one ``python -m ...`` runs), so its
``--help`` lists every option. Heavy libraries are imported inside the commands, never here, so
``supervision --help`` answers at once; a subcommand's ``--help`` is printed by its light parser
(``<package>/cli_args.py``, the one the entry point parses with) without importing the entry
module. Exit codes, for every subcommand: 0 done, 2 the input
was refused (the message names what), 1 an internal failure (see ``console.exits``).
"""

from __future__ import annotations

import importlib
import sys

import typer

from console.exits import REFUSED, run

app = typer.Typer(
    name="supervision",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Explained, ranked leads for prosecutors' legal supervision models: build the pool, "
    "import an office's data, compute features, train and gate models, keep the ledger, "
    "serve the leads. Exit codes: 0 done, 2 input refused, 1 internal failure.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
#: Subcommands that hand every argument (``--help`` too) to a package's entry point.
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


HELP = ("-h", "--help")
#: Each pass-through subcommand's entry module and light parser (``"package.cli_args:function"``).
PARSERS: dict[str, tuple[str, str]] = {}


def _light_help(parser: str, prog: str, args: list[str]) -> int | None:
    """Parse ``args`` with the light parser ``parser`` (``"package.cli_args:name"``) named
    ``supervision <prog>``: the exit code of the ``--help`` it printed, or None when no help
    was printed (the help flag was an option's value), so the entry point must run."""
    from console.parsers import running_as  # deferred: argparse, kept off `supervision --help`

    where, _, name = parser.partition(":")
    build = getattr(importlib.import_module(where), name)
    with running_as(f"supervision {prog}"):
        light = build()
    try:
        light.parse_args(args)
    except SystemExit as done:
        sys.stdout.flush()
        return done.code if isinstance(done.code, int) else REFUSED
    return None


def _delegate(module: str, prog: str, args: list[str], parser: str) -> None:
    """Run ``module.main(args)`` named ``supervision <prog>`` and exit with its code; ``--help``
    is answered by the light ``parser`` without importing ``module``."""
    from console.parsers import running_as  # deferred: argparse, kept off `supervision --help`

    if any(arg in HELP for arg in args):
        code = _light_help(parser, prog, args)
        if code is not None:
            raise typer.Exit(code)

    def main(argv: list[str] | None) -> int:
        entry = importlib.import_module(module).main
        with running_as(f"supervision {prog}"):
            return int(entry(argv))

    raise typer.Exit(run(main, list(args)))


def _passthrough(name: str, module: str, parser: str, summary: str) -> None:
    """Register ``supervision <name> ...`` as ``python -m <module> ...``, whose argument parser
    is ``parser`` (``"package.cli_args:function"``)."""

    PARSERS[name] = (module, parser)

    def command(ctx: typer.Context) -> None:
        _delegate(module, name, ctx.args, parser)

    command.__doc__ = (
        f"{summary} Runs python -m {module}; `supervision {name} --help` lists options."
    )
    app.command(name, short_help=summary, context_settings=PASS_THROUGH, add_help_option=False)(
        command
    )


for _name, _module, _parser, _summary in (
    (
        "pool",
        "pool.build",
        "pool.cli_args:build_parser",
        "Build the simulated data pool (scale, seed, months, drift).",
    ),
    (
        "import",
        "pool.importer",
        "pool.cli_args:importer_parser",
        "Import the office models' files and database tables.",
    ),
    (
        "features",
        "features.build",
        "features.cli_args:build_parser",
        "Build one model's feature table as of a date.",
    ),
    (
        "feature-docs",
        "features.docs",
        "features.cli_args:docs_parser",
        "Print the feature documentation (Markdown).",
    ),
    (
        "train",
        "training.train",
        "training.cli_args:train_parser",
        "The main job: features, fit, gate, register, leads out.",
    ),
    (
        "ledger",
        "training.ledger",
        "training.cli_args:ledger_parser",
        "The model ledger: every model and version.",
    ),
    (
        "approve",
        "training.approve",
        "training.cli_args:approve_parser",
        "Record a certification of a model version.",
    ),
    (
        "loop",
        "training.loop",
        "training.cli_args:loop_parser",
        "The closed loop: train, verify, retire, monthly.",
    ),
    (
        "verify",
        "leads.simulate",
        "leads.cli_args:simulate_parser",
        "Simulated verifying staff act on dispatched leads.",
    ),
    (
        "leads",
        "leads.cli",
        "leads.cli_args:leads_parser",
        "The lead store: list, show, dispatch, outcomes.",
    ),
    (
        "bench",
        "benchmarks.run",
        "benchmarks.cli_args:run_parser",
        "Benchmarks: a table and reports/bench.json.",
    ),
    (
        "adbench",
        "benchmarks.adbench",
        "benchmarks.cli_args:adbench_parser",
        "ADBench: the detectors beside the paper's numbers.",
    ),
    (
        "odds",
        "benchmarks.odds",
        "benchmarks.cli_args:odds_parser",
        "ODDS: the detectors beside PyOD's benchmark table.",
    ),
    (
        "card-fraud",
        "benchmarks.card_fraud",
        "benchmarks.cli_args:card_fraud_parser",
        "The card-fraud daily protocol on simulated payments.",
    ),
    (
        "batch",
        "serving.batch",
        "serving.cli_args:batch_parser",
        "Score a whole feature table with a champion (local or Spark).",
    ),
):
    _passthrough(_name, _module, _parser, _summary)


@app.command("serve", short_help="The BentoML service and the staff web page.")
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(3000, help="port to listen on"),
    keep_alive: int = typer.Option(5, help="seconds an idle connection is kept open"),
) -> None:
    """The BentoML service and the staff web page, on 127.0.0.1:3000 by default."""
    import os
    from pathlib import Path

    import serving
    from serving.launch import workers_option
    from settings import SettingsError, get_settings

    if not 0 < port < 65536:
        print(f"error: --port {port} is not a port number", file=sys.stderr)
        raise typer.Exit(REFUSED)
    # the folder holding the serving package, so an installed copy serves as well as the repo
    where = str(Path(serving.__file__).resolve().parent.parent)
    command = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "serving.service:SupervisionLeads",
        "--working-dir",
        where,
        "--host",
        host,
        "--port",
        str(port),
        "--timeout-keep-alive",
        str(keep_alive),
    ]
    try:
        workers = get_settings().serving_workers
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(REFUSED) from None
    os.environ.update(workers_option(workers, os.environ))
    sys.stdout.flush()
    os.execv(sys.executable, command)


@app.command("settings", short_help="Print every setting: variable, type, default, meaning.")
def settings_table() -> None:
    """Print every setting: variable, type, default, meaning."""
    from settings import markdown_table

    print(markdown_table(), end="")


def main() -> None:
    """The console script's entry point. A pass-through subcommand's ``--help`` is answered
    before Typer runs (its command machinery imports pydantic, a third of a CPU second)."""
    name, *args = sys.argv[1:] or [""]
    if name in PARSERS and any(arg in HELP for arg in args):
        code = _light_help(PARSERS[name][1], name, args)
        if code is not None:
            raise SystemExit(code)
    app()


if __name__ == "__main__":
    main()

"""``supervision``: one command for the whole job, from the pool to the service.

Each subcommand runs a package's own entry point (the same one ``python -m ...`` runs), so its
``--help`` lists every option. Heavy libraries are imported inside the commands, never here, so
``supervision --help`` answers at once. Exit codes, for every subcommand: 0 done, 2 the input
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


def _delegate(module: str, prog: str, args: list[str]) -> None:
    """Run ``module.main(args)`` named ``supervision <prog>`` and exit with its code."""
    # deferred: kept off the `supervision --help` path
    from console.parsers import running_as

    def main(argv: list[str] | None) -> int:
        entry = importlib.import_module(module).main
        with running_as(f"supervision {prog}"):
            return int(entry(argv))

    raise typer.Exit(run(main, list(args)))


def _passthrough(name: str, module: str, summary: str) -> None:
    """Register ``supervision <name> ...`` as ``python -m <module> ...``."""

    def command(ctx: typer.Context) -> None:
        _delegate(module, name, ctx.args)

    command.__doc__ = (
        f"{summary} Runs python -m {module}; `supervision {name} --help` lists options."
    )
    app.command(name, short_help=summary, context_settings=PASS_THROUGH, add_help_option=False)(
        command
    )


for _name, _module, _summary in (
    ("pool", "pool.build", "Build the simulated data pool (scale, seed, months, drift)."),
    ("import", "pool.importer", "Import the office models' files and database tables."),
    ("features", "features.build", "Build one model's feature table as of a date."),
    ("feature-docs", "features.docs", "Print the feature documentation (Markdown)."),
    ("train", "training.train", "The main job: features, fit, gate, register, leads out."),
    ("ledger", "training.ledger", "The model ledger: every model and version."),
    ("approve", "training.approve", "Record a certification of a model version."),
    ("loop", "training.loop", "The closed loop: train, verify, retire, monthly."),
    ("verify", "leads.simulate", "Simulated verifying staff act on dispatched leads."),
    ("leads", "leads.cli", "The lead store: list, show, dispatch, outcomes."),
    ("bench", "benchmarks.run", "Benchmarks: a table and reports/bench.json."),
    ("adbench", "benchmarks.adbench", "ADBench: the detectors beside the paper's numbers."),
    ("odds", "benchmarks.odds", "ODDS: the detectors beside PyOD's benchmark table."),
    ("card-fraud", "benchmarks.card_fraud", "The card-fraud daily protocol on simulated payments."),
    ("batch", "serving.batch", "Score a whole feature table with a champion (local or Spark)."),
):
    _passthrough(_name, _module, _summary)


@app.command("serve", short_help="The BentoML service and the staff web page.")
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(3000, help="port to listen on"),
    keep_alive: int = typer.Option(5, help="seconds an idle connection is kept open"),
) -> None:
    """The BentoML service and the staff web page, on 127.0.0.1:3000 by default."""
    import os
    from pathlib import Path

    # deferred: the service's libraries load only for `serve`
    import serving

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
    sys.stdout.flush()
    os.execv(sys.executable, command)


@app.command("settings", short_help="Print every setting: variable, type, default, meaning.")
def settings_table() -> None:
    """Print every setting: variable, type, default, meaning."""
    # deferred: settings loads pydantic, kept off the `--help` path
    from settings import markdown_table

    print(markdown_table(), end="")


def main() -> None:
    """The console script's entry point."""
    app()


if __name__ == "__main__":
    main()

"""``supervision <subcommand> --help`` answers from the light parsers (``<package>/cli_args.py``)
without importing the entry module or any heavy library, and prints the very text the entry
module's own ``--help`` prints (issue 16)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from console import exits
from console.parsers import running_as
from supervision.cli import PARSERS

#: Libraries a ``--help`` must not import (each costs from a tenth of a second to seconds).
HEAVY = (
    "mlflow",
    "lightgbm",
    "sklearn",
    "pyod",
    "duckdb",
    "pandas",
    "numpy",
    "pyarrow",
    "bentoml",
    "pyspark",
    "torch",
    "xgboost",
    "catboost",
    "scipy",
    "sqlalchemy",
)
#: Runs ``supervision <argv>`` as the console script does, then prints (last, on stderr) the
#: heavy top-level packages found in ``sys.modules`` and whether the entry module was imported.
WRAPPER = """
import atexit, json, sys
heavy, entry = json.loads(sys.argv[1]), sys.argv[2]
def report():
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
    print("\\nLOADED " + json.dumps([loaded, entry in sys.modules]), file=sys.stderr)
atexit.register(report)
sys.argv = ["supervision", *sys.argv[3:]]
from supervision.cli import main
main()
"""
COLUMNS = "100"


def _fresh_help(entry: str, *argv: str) -> tuple[int, str, list[str], bool]:
    """Exit code, stdout, the heavy libraries and whether ``entry`` was imported, for one
    ``supervision <argv>`` in a fresh interpreter."""
    env = {**os.environ, "COLUMNS": COLUMNS}
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, json.dumps(HEAVY), entry, *argv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    marker = done.stderr.rpartition("LOADED ")[2]
    assert marker, done.stderr
    loaded, imported = json.loads(marker)
    return done.returncode, done.stdout, loaded, imported


def _entry_help(module: str, name: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What ``python -m <module> <argv>`` prints, run in this process as ``supervision <name>``."""
    main = importlib.import_module(module).main
    capsys.readouterr()
    with running_as(f"supervision {name}"), pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == exits.DONE
    return capsys.readouterr().out


def _options(parser: object) -> set[str]:
    return {opt for action in parser._actions for opt in action.option_strings}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help_is_complete_and_imports_nothing_heavy(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, parser = PARSERS[name]
    code, out, loaded, imported = _fresh_help(module, name, "--help")
    assert code == exits.DONE, out
    assert loaded == [], f"supervision {name} --help imported {loaded}"
    assert not imported, f"supervision {name} --help imported {module}"
    assert out.startswith(f"usage: supervision {name} ")
    monkeypatch.setenv("COLUMNS", COLUMNS)
    full = _entry_help(module, name, ["--help"], capsys)
    assert out == full  # the entry module's own --help, word for word
    where, _, function = parser.partition(":")
    for option in _options(getattr(importlib.import_module(where), function)()):
        assert option in out, option


@pytest.mark.parametrize("command", ["list", "show", "assign", "outcome", "create-key"])
def test_a_lead_store_command_help_is_its_own(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, loaded, imported = _fresh_help("leads.cli", "leads", command, "-h")
    assert code == exits.DONE, out
    assert loaded == [] and not imported
    assert out.startswith(f"usage: supervision leads {command} ")
    monkeypatch.setenv("COLUMNS", COLUMNS)
    assert out == _entry_help("leads.cli", "leads", [command, "-h"], capsys)


def test_a_help_flag_given_as_a_value_reaches_the_entry_point() -> None:
    """``--note --help`` is refused by the same parser the entry point uses (exit 2, the option
    named), not answered with help."""
    code, out, loaded, _ = _fresh_help("training.approve", "approve", "--note", "--help")
    assert code == exits.REFUSED
    assert "Record one line" not in out


def test_the_light_parsers_values_have_one_home() -> None:
    """The choices and defaults ``--help`` shows are defined once, in ``<package>/cli_args.py``,
    and the modules that use them import them (the same object, not an equal copy that could
    drift). ``features.engines`` still keeps its own copy of the engine names: equal, checked."""
    from benchmarks import adbench, card_fraud
    from benchmarks import cli_args as bench_args
    from features import cli_args as features_args
    from features import engines
    from leads import cli_args as leads_args
    from leads import models, reads, simulate
    from serving import batch
    from serving import cli_args as serving_args
    from training import cli_args as training_args
    from training import lifecycle, loop

    assert lifecycle.LINES is training_args.LINES
    assert loop.LOOP_CAPACITY is training_args.LOOP_CAPACITY
    assert models.ROLES is leads_args.ROLES
    assert reads.LEAD_SORTS is leads_args.LEAD_SORTS
    assert simulate.VerifierParams().capacity == leads_args.CAPACITY
    assert simulate.VerifierParams().deadline_days == leads_args.DEADLINE_DAYS
    assert adbench.REPO is bench_args.REPO
    assert adbench.DEFAULT_MAX_ROWS is bench_args.DEFAULT_MAX_ROWS
    assert adbench.SUPERVISED_PEERS is bench_args.SUPERVISED_PEERS
    sim = card_fraud.Simulation()
    assert (sim.customers, sim.terminals, sim.days) == (
        bench_args.CUSTOMERS,
        bench_args.TERMINALS,
        bench_args.DAYS,
    )
    assert batch.ENGINES is serving_args.ENGINES
    assert tuple(engines.ENGINES) == tuple(features_args.ENGINES)

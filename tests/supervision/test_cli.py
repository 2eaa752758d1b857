"""The ``supervision`` tool: every subcommand reachable with a complete ``--help``, one
exit-code rule (0 done, 2 input refused, 1 internal failure), quiet progress off a terminal."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console import exits
from console.progress import enabled, progress
from supervision.cli import app

ROOT = Path(__file__).resolve().parents[2]
PASSED_ON = [
    "pool",
    "import",
    "features",
    "feature-docs",
    "train",
    "ledger",
    "approve",
    "loop",
    "verify",
    "leads",
    "bench",
    "adbench",
    "odds",
]
OWN = ["serve", "settings"]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_top_level_help_lists_every_command_without_cutting_a_line() -> None:
    code, out = _invoke("--help")
    assert code == exits.DONE
    for name in PASSED_ON + OWN:
        assert f"\n  {name} " in out, name
    assert "..." not in out.split("Commands:")[1]  # click shortens a summary it cannot fit
    assert "0 done, 2 input refused, 1 internal failure" in " ".join(out.split())


@pytest.mark.parametrize("name", PASSED_ON + OWN)
def test_every_subcommand_help_is_complete(name: str) -> None:
    code, out = _invoke(name, "--help")
    assert code == exits.DONE, out
    assert f"supervision {name}" in out  # the parser calls itself by the tool's name
    usage, _, rest = out.partition("\n\n")
    description = " ".join(rest.split("\n\n", 1)[0].split())
    assert description and description[-1] in ".)", f"cut mid-sentence: {description!r}"
    # every option explains itself (argparse leaves a bare flag line otherwise)
    lines = out.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("--") and "  " not in text:
            following = lines[i + 1].strip() if i + 1 < len(lines) else ""
            assert following and not following.startswith("-"), f"{name}: {text} has no help"


@pytest.mark.parametrize(
    "task", ["list", "show", "assign", "start", "outcome", "overdue", "stats", "create-key"]
)
def test_every_lead_store_task_explains_each_option(task: str) -> None:
    code, out = _invoke("leads", task, "--help")
    assert code == exits.DONE and f"supervision leads {task}" in out
    lines = [*out.split("options:", 1)[1].splitlines(), ""]
    bare = [  # a help text, when given, is on the flag's line or indented on the next one
        line
        for line, after in zip(lines, lines[1:], strict=False)
        if line.startswith("  --") and "  " not in line.strip() and not after.startswith(" " * 8)
    ]
    assert not bare, f"options without help: {bare}"


def test_a_bad_option_is_refused_with_2() -> None:
    code, _ = _invoke("pool", "--no-such-option")
    assert code == exits.REFUSED


def test_a_bad_value_is_refused_with_2_naming_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "supervision.cli", "pool", "--scale", "-1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == exits.REFUSED and "--scale must be positive" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_setting_is_refused_with_2_naming_the_variable(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SUPERVISION_DISTRICT_CAPACITY": "many"}
    done = subprocess.run(
        [sys.executable, "-m", "supervision.cli", "ledger", "--no-store", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == exits.REFUSED, done.stderr
    assert "SUPERVISION_DISTRICT_CAPACITY='many'" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_model_is_refused_with_2_by_the_module_alias_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "features.build", "--scenario", "no_such"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == exits.REFUSED and "no_such" in done.stderr


def test_the_rule_maps_what_an_entry_point_did_not_catch() -> None:
    def broken(_argv: list[str] | None) -> int:
        raise RuntimeError("disk on fire")

    def refused(_argv: list[str] | None) -> int:
        raise SystemExit("--x must be positive")

    assert exits.run(broken) == exits.FAILED
    assert exits.run(refused) == exits.REFUSED
    assert exits.run(lambda _argv: 0) == exits.DONE


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal_and_never_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not enabled()
    with progress("quiet", total=2) as advance:
        advance()
    assert sys.stderr.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert enabled()
    monkeypatch.setenv("CI", "true")
    assert not enabled()

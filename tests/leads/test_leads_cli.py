"""``python -m leads`` through real subprocesses: tables out, one-line errors with exit code 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from leads_fixtures import make_run, snapshot

from leads.store import LeadStore

ROOT = Path(__file__).resolve().parents[2]


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEADS_DB_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "leads", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def seeded(db_url: str) -> str:
    store = LeadStore.open(db_url, migrate=False)
    store.upsert_leads(
        make_run("r1", ["E1", "E2", "E3"], district=["Haidian", "Chaoyang", "Haidian"])
    )
    store.close()
    return db_url


def test_cli_walks_a_lead_through_its_life(seeded: str) -> None:
    listed = _cli(seeded, "list", "--actor", "clerk", "--district", "Haidian")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["编号", "模型", "对象", "区"]  # Chinese first
    assert [ln.split()[2] for ln in lines[2:4]] == ["E1", "E3"] and lines[-1] == "2 of 2 leads"
    english = _cli(seeded, "list", "--actor", "clerk", "--district", "Haidian", "--lang", "en")
    assert english.stdout.splitlines()[0].split()[:4] == ["id", "scenario", "entity_id", "district"]
    steps = [
        (
            "assign",
            "1",
            "--unit",
            "Haidian procuratorate",
            "--assignee",
            "Wang",
            "--deadline",
            "+14",
            "--actor",
            "head",
        ),
        ("start", "1", "--actor", "Wang"),
        (
            "outcome",
            "1",
            "--status",
            "case_filed",
            "--amount",
            "1200000",
            "--case-ref",
            "HD-2026-7",
            "--actor",
            "Wang",
        ),
    ]
    for step in steps:
        done = _cli(seeded, *step)
        assert done.returncode == 0, done.stderr
    again = _cli(seeded, *steps[-1])
    assert again.returncode == 0 and "already recorded" in again.stdout
    shown = _cli(seeded, "show", "1", "--actor", "clerk", "--reason", "review")
    assert "case_filed" in shown.stdout and "HD-2026-7" in shown.stdout
    assert re.search(r"verifying\s+case_filed\s+Wang", shown.stdout)
    stats = _cli(seeded, "stats", "--actor", "clerk", "--by", "scenario,district")
    haidian = next(ln for ln in stats.stdout.splitlines() if "Haidian" in ln).split()
    assert haidian[2:6] == ["2", "1", "1", "0"]  # issued, verified, cases, no_case
    overdue = _cli(seeded, "overdue", "--actor", "clerk")
    assert overdue.returncode == 0 and overdue.stdout.strip().endswith("0 overdue")
    key = _cli(
        seeded,
        "create-key",
        "--actor",
        "admin",
        "--name",
        "HD staff",
        "--role",
        "staff",
        "--district",
        "Haidian",
    )
    assert key.returncode == 0 and "secret: " in key.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "42", "--actor", "clerk"), "no lead with lead_id 42"),
        (("start", "1", "--actor", "Wang"), "cannot go from 'new' to 'verifying'"),
        (("outcome", "1", "--status", "maybe", "--actor", "Wang"), "invalid choice: 'maybe'"),
        (("list",), "required: --actor"),
        (
            (
                "assign",
                "1",
                "--unit",
                "u",
                "--assignee",
                "a",
                "--deadline",
                "2020-01-01",
                "--actor",
                "h",
            ),
            "deadline '2020-01-01' (lead 1): is in the past",
        ),
        (
            ("assign", "1", "--unit", "u", "--assignee", "a", "--deadline", "soon", "--actor", "h"),
            "not YYYY-MM-DD",
        ),
        (("stats", "--actor", "x", "--by", "colour"), "--by 'colour'"),
        (
            ("create-key", "--actor", "admin", "--name", "n", "--role", "staff"),
            "staff keys need the district",
        ),
    ],
)
def test_cli_errors_are_one_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """On SQLite only: the store-level refusals are tested on both databases elsewhere."""
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    store = LeadStore.open(url)
    store.upsert_leads(make_run("r1", ["E1"]))
    before = snapshot(store.engine)
    done = _cli(url, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert snapshot(store.engine) == before
    store.close()


def test_cli_unreachable_database_is_one_line() -> None:
    done = _cli("postgresql+psycopg://nobody@127.0.0.1:1/none", "list", "--actor", "x")
    assert done.returncode == 2 and done.stderr.startswith("error: lead store unavailable")
    assert len(done.stderr.strip().splitlines()) == 1


def test_tables_align_chinese_by_display_width() -> None:
    from console.tables import format_table, width

    rows = [{"name": "海淀加油站", "n": 3}, {"name": "Shell 12", "n": 12}]
    lines = format_table(rows, ["name", "n"]).splitlines()
    assert width("海淀加油站") == 10 and width("abc") == 3
    assert len({width(line) for line in lines}) == 1  # every line ends in the same column
    assert lines[2].startswith("海淀加油站  ") and lines[3].startswith("Shell 12    ")

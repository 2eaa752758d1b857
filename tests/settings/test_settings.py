"""One settings object: every variable typed and described, nothing else reads the environment,
and the README's table is the object's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from settings import Settings, SettingsError, get_settings, markdown_table, variable_names
from settings.packages import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
#: Every package but the settings object itself, and the example plug-in models.
SCANNED = tuple(p for p in PACKAGES if p != "settings") + ("examples",)
#: Reading the environment: os.getenv, environ.get, environ[...] as a value, "in os.environ".
READS = re.compile(
    r"getenv\(|environ\.get\(|environ\[[^\]]+\](?!\s*=[^=])|in os\.environ"
    r"|environ\.setdefault\("
)


def test_nothing_but_the_settings_object_reads_the_environment() -> None:
    offenders = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if READS.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "read the environment through settings.get_settings():\n" + "\n".join(
        offenders
    )


def test_the_grep_would_catch_each_way_of_reading() -> None:
    for line in (
        'os.getenv("X")',
        'os.environ.get("X")',
        'x = os.environ["X"]',
        'if "X" in os.environ:',
        'os.environ.setdefault("X", "1")',
    ):
        assert READS.search(line), line
    assert not READS.search('os.environ["X"] = "1"')  # a write, for a child process or library


def test_every_field_is_typed_described_and_defaulted() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description and len(info.description) > 15, name
        assert info.annotation is not None, name
        assert not info.is_required(), name
    assert "SUPERVISION_DATA" in variable_names() and "LEADS_DB_URL" in variable_names()


def test_values_come_from_the_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPERVISION_DATA", raising=False)
    assert get_settings().supervision_data == Path("data")
    monkeypatch.setenv("SUPERVISION_DATA", "/srv/pool")
    monkeypatch.setenv("SERVING_QUEUE_SCORE", "7")
    monkeypatch.setenv("SUPERVISION_REQUIRE_REAL_APPROVALS", "yes")
    got = get_settings()
    assert got.supervision_data == Path("/srv/pool") and got.serving_queue_score == 7
    assert got.supervision_require_real_approvals is True
    monkeypatch.setenv("SUPERVISION_DATA", "")  # empty = unset
    assert get_settings().supervision_data == Path("data")


def test_an_unchanged_environment_is_parsed_once_and_a_change_is_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPERVISION_DATA", "/srv/a")
    first = get_settings()
    assert get_settings() is first  # the same frozen object: no re-parse on the hot path
    monkeypatch.setenv("supervision_data", "/srv/b")  # any spelling of the name counts
    monkeypatch.delenv("SUPERVISION_DATA")
    assert get_settings().supervision_data == Path("/srv/b")
    monkeypatch.setenv("UNRELATED_VARIABLE_FOR_THE_TEST", "1")
    assert get_settings() is get_settings()
    monkeypatch.delenv("supervision_data")
    monkeypatch.setenv("SUPERVISION_DATA", "/srv/a")
    assert get_settings().supervision_data == Path("/srv/a")
    monkeypatch.setenv("SERVING_QUEUE_SCORE", "many")  # a bad value is refused on every call
    for _ in range(2):
        with pytest.raises(SettingsError, match="SERVING_QUEUE_SCORE"):
            get_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERVING_QUEUE_SCORE", "many"),
        ("SERVING_CONCURRENCY_READS", "0"),
        ("SUPERVISION_DISTRICT_CAPACITY", "-3"),
        ("SUPERVISION_LOG_FORMAT", "xml"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=rf"{name}='{value}'"):
        get_settings()


def test_the_readme_settings_table_is_generated_from_the_object() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- settings-table:start -->\n(.*?)<!-- settings-table:end -->", readme, re.S
    )
    assert found, "README.md lacks the settings-table markers"
    assert found.group(1) == markdown_table(), "regenerate: python -m settings"

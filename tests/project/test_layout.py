"""The README's layout table lists exactly the top-level folders the repository holds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_folders() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Layout", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `([^`/]+)/` \|", table, re.M)


def tracked_folders() -> set[str]:
    files = subprocess.run(
        ["git", "ls-files"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.splitlines()
    return {f.split("/", 1)[0] for f in files if "/" in f and not f.startswith(".")}


def test_the_layout_table_matches_the_tree() -> None:
    listed = readme_folders()
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    assert set(listed) == tracked_folders(), (
        f"in the tree, not in README: {sorted(tracked_folders() - set(listed))}; "
        f"in README, not in the tree: {sorted(set(listed) - tracked_folders())}"
    )

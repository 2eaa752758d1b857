"""Feature documentation as Markdown, printed from the same declarations that compute them.

``python -m features.docs`` prints every scenario; ``--scenario fuel_tax`` one of them;
``--module my_model.py`` includes a model declared outside the package.
"""

from __future__ import annotations

import sys

from console import exits
from features import registry
from features.cli_args import docs_parser
from features.spec import ScenarioFeatures


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def scenario_markdown(scenario: ScenarioFeatures) -> str:
    """One scenario: entity, sources, and a table of its features."""
    lines = [
        f"## `{scenario.name}`",
        "",
        scenario.description,
        "",
        f"Entity: {scenario.entity}.",
        "",
        "Sources: " + ", ".join(f"`{s.table}` ({s.agency})" for s in scenario.sources) + ".",
        "",
        "| feature | description | unit | suspicious when | peers | reason shown |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in scenario.features:
        lines.append(
            f"| `{f.name}` | {_cell(f.description)} | {_cell(f.unit)} | {f.direction} | "
            f"{f.peer_group or ''} | {_cell(f.reason_template)} |"
        )
    return "\n".join(lines) + "\n"


def markdown(names: list[str] | None = None) -> str:
    """Documentation of the given scenarios (all registered ones by default)."""
    parts = ["# Features", ""]
    for name in names or registry.names():
        parts.append(scenario_markdown(registry.get(name)))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = docs_parser()
    args = parser.parse_args(argv)
    try:
        if args.module:
            registry.load_module(args.module)
        print(markdown(args.scenario))
    except (registry.UnknownScenarioError, FileNotFoundError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

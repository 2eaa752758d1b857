"""Record one line's certification of a model version (双认证).

``python -m training.approve --scenario fuel_tax --version 3 --line business --approver "Li Wei"``

The business line and the data department each approve; when both have, the version becomes the
scenario's champion (the previous champion steps back to challenger). Who and when are written to
the version's tags in the MLflow registry, where the ledger reads them.
"""

from __future__ import annotations

import argparse
import sys

from console import exits
from training import model_registry as reg
from training.cli_args import approve_parser
from training.lifecycle import approve


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = approve_parser()
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # deferred: mlflow loads when the command runs, not for `--help`
    from training.mlflow_setup import open_client, resolve

    client = open_client(resolve(root=args.root))
    if args.scenario not in reg.list_scenarios(client):
        print(
            f"no registered model for scenario {args.scenario!r}; known: "
            f"{', '.join(reg.list_scenarios(client)) or 'none'}",
            file=sys.stderr,
        )
        return 2
    try:
        decision = approve(
            client, args.scenario, args.version, args.line, args.approver, note=args.note
        )
    except (reg.LifecycleError, ValueError, PermissionError) as exc:
        print(f"approval refused: {exc}", file=sys.stderr)
        return 2
    print(
        f"{reg.model_name(args.scenario)} v{args.version}: {decision.lifecycle} ({decision.reason})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

"""The model ledger (模型台账) as the service shows it: ``training.ledger.ledger_rows`` (registry
versions joined with conversion from the lead store) as JSON-ready dicts."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlflow.tracking import MlflowClient

from training.ledger import ConversionSource
from training.ledger import ledger_rows as training_ledger_rows


def ledger_rows(client: MlflowClient, store: ConversionSource) -> list[dict[str, Any]]:
    """One row per scenario and version: registry facts plus conversion from the lead store."""
    return [dataclasses.asdict(row) for row in training_ledger_rows(client, store)]

"""The model ledger (模型台账) as the service shows it: registry versions joined with conversion.

The training package owns the ledger; when it offers ``training.ledger.ledger_rows`` the service
shows exactly that. Otherwise the same facts are read here from their two sources of truth: the
registry (lifecycle, approvals and metrics as version tags, aliases) and the lead store (leads
issued, verified, cases and conversion per version).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from mlflow.tracking import MlflowClient

MODEL_PREFIX = "supervision-"


def _shared_ledger() -> Any:
    try:
        return getattr(importlib.import_module("training.ledger"), "ledger_rows", None)
    except ImportError:
        return None


def registry_rows(client: MlflowClient) -> list[dict[str, Any]]:
    """Every registered version of every scenario with its tags and aliases."""
    rows = []
    for model in client.search_registered_models(f"name LIKE '{MODEL_PREFIX}%'"):
        scenario = model.name.removeprefix(MODEL_PREFIX)
        for mv in client.search_model_versions(f"name = '{model.name}'"):
            rows.append({"scenario": scenario, "model_name": model.name,
                         "version": str(mv.version), "aliases": sorted(mv.aliases or []),
                         "lifecycle": mv.tags.get("lifecycle", "candidate"),
                         "run_id": mv.run_id, "tags": dict(mv.tags)})
    return sorted(rows, key=lambda r: (r["scenario"], int(r["version"])))


def ledger_rows(client: MlflowClient, store: Any) -> list[dict[str, Any]]:
    """One row per scenario and version: registry facts plus conversion from the lead store."""
    shared = _shared_ledger()
    if callable(shared):
        return [dataclasses.asdict(r) if dataclasses.is_dataclass(r) else dict(r)
                for r in shared(client, store)]
    rows = registry_rows(client)
    conversions: dict[tuple[str, str], dict[str, Any]] = {}
    for scenario in sorted({r["scenario"] for r in rows}):
        for conv in store.conversion_by_version(scenario):
            data = dataclasses.asdict(conv) if dataclasses.is_dataclass(conv) else dict(conv)
            conversions[(scenario, str(data["model_version"]))] = data
    empty = {"issued": 0, "verified": 0, "cases": 0, "conversion": None}
    for row in rows:
        conv = conversions.get((row["scenario"], row["version"]), empty)
        row.update({k: conv.get(k) for k in ("issued", "verified", "cases", "conversion",
                                              "lower", "upper")})
    return rows

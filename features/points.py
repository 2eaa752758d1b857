"""Which model's data is whose, and what date a model is judged as of: facts about the
discovered supervision models and the pool that training, serving and the lead store share.

Here, below training and serving, so the service answers these questions without importing the
training package.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from features import registry
from pool import discovery
from pool.importer import has_origins, import_manifest
from pool.load import data_root


def simulated_scenarios() -> list[str]:
    """Models whose declaration carries a simulator (the simulated pool builds them)."""
    return discovery.simulated()


def imported_scenarios() -> list[str]:
    """Models whose rows come from declared origins (files, a database): the importer's."""
    return [name for name in discovery.names() if has_origins(registry.get(name))]


def data_owner(name: str) -> str:
    """The model whose pool holds ``name``'s data: its supervision point when that is a
    discovered model (a rule model beside a learnt one reads the point's sources), else itself."""
    point = registry.get(name).supervision_point
    return point if point in discovery.names() else name


def point_models(name: str) -> list[str]:
    """Every discovered model of ``name``'s supervision point (``name`` included), sorted."""
    point = registry.get(name).supervision_point
    return sorted(n for n in discovery.names() if registry.get(n).supervision_point == point)


def pool_config(data: str | Path | None) -> dict:
    """The simulation configuration recorded in the pool manifest."""
    manifest = data_root(data) / "pool" / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"no pool manifest at {manifest}; build the pool first")
    return json.loads(manifest.read_text())["config"]


def latest_as_of(data: str | Path | None, scenario: str) -> date | None:
    """The as-of date a run trains on: None (everything) for a model that is not point in
    time, the latest business date of an imported model's sources, else the last day of the
    simulated pool's last month."""
    model = registry.get(scenario)
    if not model.point_in_time:
        return None
    scenario = data_owner(scenario)
    if scenario in imported_scenarios():
        return import_manifest(data_root(data), registry.get(scenario)).latest_date
    config = pool_config(data)
    start = date.fromisoformat(config["start"])
    months = start.month - 1 + int(config["months"])
    first_after = date(start.year + months // 12, months % 12 + 1, 1)
    return first_after - timedelta(days=1)

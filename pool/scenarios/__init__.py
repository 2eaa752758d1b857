"""Registry of simulated scenarios: name -> module ``pool.scenarios.<name>``.

Each module exposes ``SOURCES: list[SourceSpec]`` and ``simulate(config: SimConfig) ->
ScenarioPool``. Modules are imported lazily, so one scenario that fails to import (or is not
written yet) does not stop the others from building.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pool.spec import SourceSpec

SCENARIOS: tuple[str, ...] = ("fuel_tax", "fake_certificates", "mortgage_loans")


class UnknownScenarioError(KeyError):
    """A scenario name that is not in the registry."""


def get_scenario(name: str) -> ModuleType:
    """Import and return the module of scenario ``name``."""
    if name not in SCENARIOS:
        raise UnknownScenarioError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return importlib.import_module(f"{__name__}.{name}")


def available_scenarios() -> list[str]:
    """Registered scenarios whose module imports (a missing sibling is skipped)."""
    names = []
    for name in SCENARIOS:
        try:
            get_scenario(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        names.append(name)
    return names


def sources(name: str) -> list[SourceSpec]:
    """The declared sources (agency tables) of scenario ``name``."""
    return list(get_scenario(name).SOURCES)

"""Registry of scenario feature views: name -> ``ScenarioFeatures``.

Built-in scenarios live in ``features.scenarios.<name>`` and are imported only when first asked
for (nothing happens at import). A new supervision model registers itself with ``register`` or
is loaded from any file or module with ``load_module``; see the README section
"Add a supervision model".
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from features.spec import ScenarioFeatures

#: Built-in scenarios and the module that declares each one (as ``FEATURES``).
BUILTINS: dict[str, str] = {
    "bid_rigging": "features.scenarios.bid_rigging",
    "fuel_tax": "features.scenarios.fuel_tax",
    "fake_certificates": "features.scenarios.fake_certificates",
    "mortgage_loans": "features.scenarios.mortgage_loans",
}

_REGISTERED: dict[str, ScenarioFeatures] = {}


class UnknownScenarioError(KeyError):
    """A scenario name nobody registered."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(scenario: ScenarioFeatures, *, replace: bool = False) -> ScenarioFeatures:
    """Add a scenario's feature view; refuse to silently shadow another one."""
    if not isinstance(scenario, ScenarioFeatures):
        raise TypeError(f"register() needs a ScenarioFeatures, got {type(scenario).__name__}")
    known = _REGISTERED.get(scenario.name)
    if known is not None and known is not scenario and not replace:
        raise ValueError(f"scenario {scenario.name!r} is already registered (replace=True)")
    _REGISTERED[scenario.name] = scenario
    return scenario


def unregister(name: str) -> None:
    """Forget a registered scenario (built-ins come back on the next ``get``)."""
    _REGISTERED.pop(name, None)


def get(name: str) -> ScenarioFeatures:
    """The feature view of scenario ``name``, importing a built-in on first use."""
    if name not in _REGISTERED and name in BUILTINS:
        module = importlib.import_module(BUILTINS[name])
        register(_features_of(module, BUILTINS[name]))
    if name not in _REGISTERED:
        raise UnknownScenarioError(f"unknown scenario {name!r}; known: {', '.join(names())}")
    return _REGISTERED[name]


def names() -> list[str]:
    """Every scenario name that ``get`` accepts: built-ins and registered ones."""
    return sorted(set(BUILTINS) | set(_REGISTERED))


def load_module(target: str | Path) -> ScenarioFeatures:
    """Import a module (dotted name or ``.py`` path) that declares ``FEATURES`` and register it.

    This is how a supervision model written outside the package plugs in.
    """
    path = Path(str(target))
    if path.suffix == ".py":
        if not path.is_file():
            raise FileNotFoundError(f"scenario module {path} does not exist")
        mod_name = f"features_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import scenario module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
        where = str(path)
    else:
        module = importlib.import_module(str(target))
        where = str(target)
    return register(_features_of(module, where), replace=True)


def _features_of(module: object, where: str) -> ScenarioFeatures:
    found = getattr(module, "FEATURES", None)
    if not isinstance(found, ScenarioFeatures):
        raise TypeError(f"module {where} must define FEATURES = ScenarioFeatures(...)")
    return found

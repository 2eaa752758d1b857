"""The feature views of the discovered supervision models: name -> ``SupervisionModel``.

Which models exist is said once, by ``pool.discovery`` (the built-in ``models`` package and the
``SUPERVISION_MODELS`` setting). This module adds the feature layer's view of them: ``get``
returns the declaration (a ``SupervisionModel``, which is a ``ScenarioFeatures``), ``register``
and ``load_module`` add one by hand (tests, notebooks, one-off files).
"""

from __future__ import annotations

from pathlib import Path

from features.model import SupervisionModel
from features.spec import ScenarioFeatures
from pool import discovery


class UnknownScenarioError(discovery.UnknownModelError):
    """A model name no listed location declares."""


def _as_model(view: ScenarioFeatures) -> SupervisionModel:
    if isinstance(view, SupervisionModel):
        return view
    if not isinstance(view, ScenarioFeatures):
        raise TypeError(f"expected a SupervisionModel, got {type(view).__name__}")
    return SupervisionModel.of(view)


def register(
    scenario: ScenarioFeatures, *, replace: bool = False, where: str = "registered in-process"
) -> SupervisionModel:
    """Add a model by hand; refuse to silently shadow another one."""
    model = _as_model(scenario)
    try:
        discovery.register(model, where=where, replace=replace)
    except discovery.DiscoveryError as exc:
        raise ValueError(f"{exc} (replace=True)") from exc
    return model


def unregister(name: str) -> None:
    """Forget a model added with ``register`` (discovered ones stay)."""
    discovery.unregister(name)


def get(name: str) -> SupervisionModel:
    """The declaration of model ``name``."""
    try:
        found = discovery.get(name)
    except discovery.UnknownModelError as exc:
        raise UnknownScenarioError(str(exc)) from exc
    return _as_model(found)


def names() -> list[str]:
    """Every model name ``get`` accepts."""
    return discovery.names()


def load_module(target: str | Path) -> SupervisionModel:
    """Import one file, folder or dotted module declaring ``MODEL`` and register it."""
    found = discovery.import_location(str(target))
    if not found:
        raise TypeError(f"module {target} must define MODEL = SupervisionModel(...)")
    if len(found) > 1:
        raise TypeError(
            f"{target} declares {len(found)} models "
            f"({', '.join(m.name for m in found)}); load one file, or list the "
            "folder in $SUPERVISION_MODELS"
        )
    return register(found[0], replace=True, where=str(target))

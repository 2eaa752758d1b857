"""The model ledger's storage: one MLflow registered model per scenario, lifecycle and evidence
as version tags, ``champion``/``challenger`` as aliases.

Every decision (gate, approval, promotion, retirement) reads and writes the registry through these
functions, never by sorting runs. Transitions between lifecycle states are checked here, so an
illegal one (say ``dropped`` to ``champion``) is refused with an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

MODEL_PREFIX = "supervision-"
CANDIDATE, DROPPED, CHALLENGER, CHAMPION, RETIRED = (
    "candidate",
    "dropped",
    "challenger",
    "champion",
    "retired",
)
LIFECYCLES = (CANDIDATE, DROPPED, CHALLENGER, CHAMPION, RETIRED)
ALIASES = (CHAMPION, CHALLENGER)

# Which lifecycle may follow which. A superseded champion steps back to ``challenger`` (still
# certified, a fallback); ``dropped`` and ``retired`` are final.
ALLOWED = {
    CANDIDATE: {DROPPED, CHALLENGER},
    CHALLENGER: {CHAMPION, RETIRED},
    CHAMPION: {CHALLENGER, RETIRED},
    DROPPED: set(),
    RETIRED: set(),
}


class LifecycleError(ValueError):
    """An illegal lifecycle transition or an unknown scenario/version."""


@dataclass(frozen=True)
class VersionInfo:
    """What the ledger needs about one registered version."""

    scenario: str
    version: int
    lifecycle: str
    tags: dict[str, str]
    run_id: str | None
    aliases: tuple[str, ...]


def now_iso() -> str:
    """UTC timestamp for ``decided_at`` tags (seconds resolution)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def model_name(scenario: str) -> str:
    """Registered model name of a scenario."""
    return f"{MODEL_PREFIX}{scenario}"


def ensure_model(client: MlflowClient, scenario: str) -> str:
    """Create the scenario's registered model if it does not exist yet; return its name."""
    name = model_name(scenario)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name,
            tags={"scenario": scenario},
            description=f"Supervision model for scenario {scenario!r}: one version per training.",
        )
    return name


def register_version(
    client: MlflowClient, scenario: str, model_uri: str, run_id: str, tags: Mapping[str, object]
) -> int:
    """Register a logged model as a new ``candidate`` version and return its number."""
    name = ensure_model(client, scenario)
    all_tags = {k: str(v) for k, v in tags.items()}
    all_tags.update({"lifecycle": CANDIDATE, "lifecycle_at": now_iso(), "scenario": scenario})
    mv = client.create_model_version(name, model_uri, run_id=run_id, tags=all_tags)
    return int(mv.version)


def get_version(client: MlflowClient, scenario: str, version: int | str) -> VersionInfo:
    """One version with its tags and aliases; a clear error if it does not exist."""
    try:
        mv = client.get_model_version(model_name(scenario), str(version))
    except MlflowException as exc:
        raise LifecycleError(
            f"no version {version} of model {model_name(scenario)!r} in the registry"
        ) from exc
    return VersionInfo(
        scenario=scenario,
        version=int(mv.version),
        lifecycle=mv.tags.get("lifecycle", CANDIDATE),
        tags=dict(mv.tags),
        run_id=mv.run_id,
        aliases=tuple(mv.aliases),
    )


def version_source(client: MlflowClient, scenario: str, version: int | str) -> str:
    """Where a version's model artifacts are (its ``source`` URI); a clear error if it has none."""
    source = client.get_model_version(model_name(scenario), str(version)).source
    if not source:
        raise LifecycleError(
            f"version {version} of model {model_name(scenario)!r} has no source artifact URI"
        )
    return str(source)


def list_versions(client: MlflowClient, scenario: str) -> list[VersionInfo]:
    """All versions of a scenario's model, oldest first (by registry version number)."""
    try:
        found = client.search_model_versions(f"name = '{model_name(scenario)}'")
    except MlflowException:
        return []
    # search results carry no aliases in the sqlite store: read them from the model once
    aliases = client.get_registered_model(model_name(scenario)).aliases if found else {}
    infos = [
        VersionInfo(
            scenario=scenario,
            version=int(mv.version),
            lifecycle=mv.tags.get("lifecycle", CANDIDATE),
            tags=dict(mv.tags),
            run_id=mv.run_id,
            aliases=tuple(sorted(a for a, v in aliases.items() if str(v) == str(mv.version))),
        )
        for mv in found
    ]
    return sorted(infos, key=lambda v: v.version)


def list_scenarios(client: MlflowClient) -> list[str]:
    """Scenarios that have a registered model."""
    models = client.search_registered_models(f"name LIKE '{MODEL_PREFIX}%'")
    return sorted(m.name.removeprefix(MODEL_PREFIX) for m in models)


def set_tags(client: MlflowClient, scenario: str, version: int, tags: Mapping[str, object]) -> None:
    """Write evidence tags on a version (values stringified, as MLflow stores them)."""
    name = model_name(scenario)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, str(value))


def set_lifecycle(
    client: MlflowClient, scenario: str, version: int, state: str, evidence: Mapping[str, object]
) -> None:
    """Move a version to ``state`` if the transition is legal, with its evidence tags."""
    if state not in LIFECYCLES:
        raise LifecycleError(f"unknown lifecycle {state!r}; expected one of {LIFECYCLES}")
    current = get_version(client, scenario, version).lifecycle
    if state != current and state not in ALLOWED[current]:
        raise LifecycleError(
            f"{model_name(scenario)} v{version}: transition {current} -> {state} is not allowed"
        )
    set_tags(client, scenario, version, {**evidence, "lifecycle": state, "lifecycle_at": now_iso()})


def alias_version(client: MlflowClient, scenario: str, alias: str) -> int | None:
    """Version the alias points to, or None."""
    try:
        return int(client.get_model_version_by_alias(model_name(scenario), alias).version)
    except MlflowException:
        return None


def set_alias(client: MlflowClient, scenario: str, alias: str, version: int) -> None:
    """Point ``alias`` (champion or challenger) at ``version``."""
    if alias not in ALIASES:
        raise LifecycleError(f"unknown alias {alias!r}; expected one of {ALIASES}")
    client.set_registered_model_alias(model_name(scenario), alias, str(version))


def drop_alias(client: MlflowClient, scenario: str, alias: str) -> None:
    """Remove an alias if it exists."""
    if alias_version(client, scenario, alias) is not None:
        client.delete_registered_model_alias(model_name(scenario), alias)


def set_model_tag(client: MlflowClient, scenario: str, key: str, value: object) -> None:
    """A tag on the registered model itself (e.g. the monitoring run id)."""
    client.set_registered_model_tag(model_name(scenario), key, str(value))


def model_tags(client: MlflowClient, scenario: str) -> dict[str, str]:
    """Tags of the registered model."""
    return dict(client.get_registered_model(model_name(scenario)).tags)

"""Where MLflow keeps runs, artifacts and the model registry; created on first use, not at import.

The contract (DESIGN.md): tracking and registry in ``sqlite:///<root>/mlruns/mlflow.db`` and
artifacts under ``<root>/mlruns/artifacts``. MLflow's plain-folder store refuses to start in
MLflow 3, so the default is always the sqlite store. Nothing here touches the disk or the global
MLflow state at import time: ``resolve`` only computes paths, ``open_client`` creates them.

Strongest first: an explicit ``tracking_uri``; an explicit ``root`` (tests, the train job's
``--root``); ``SUPERVISION_MLFLOW_URI`` / ``SUPERVISION_MLFLOW_ARTIFACTS``; ``MLFLOW_TRACKING_URI``;
the default under ``SUPERVISION_ROOT`` or the current directory. An explicit root outranks the
environment because ``mlflow.set_tracking_uri`` itself writes ``MLFLOW_TRACKING_URI``, so a
process that opened one store would otherwise be stuck with it.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from settings import get_settings

ENV_URI = "SUPERVISION_MLFLOW_URI"
ENV_ARTIFACTS = "SUPERVISION_MLFLOW_ARTIFACTS"
ENV_ROOT = "SUPERVISION_ROOT"


@dataclass(frozen=True)
class MlflowSettings:
    """Resolved locations: one sqlite URI for tracking and registry, one artifact folder."""

    tracking_uri: str
    artifact_root: Path

    @property
    def registry_uri(self) -> str:
        """The registry lives in the same sqlite database as the runs."""
        return self.tracking_uri


def resolve(
    root: Path | str | None = None,
    tracking_uri: str | None = None,
    artifact_root: Path | str | None = None,
) -> MlflowSettings:
    """Compute the MLflow locations without creating anything.

    Why: tests and the train job point at a temporary or project root, while a deployment can
    point every process at one shared database through the environment.
    """
    env = get_settings()
    base = Path(root or env.supervision_root or Path.cwd()).resolve()
    uri = tracking_uri
    if not uri and root is None:
        uri = env.supervision_mlflow_uri or env.mlflow_tracking_uri
    uri = uri or f"sqlite:///{base / 'mlruns' / 'mlflow.db'}"
    if uri.startswith("file:") or "://" not in uri:
        raise ValueError(
            f"MLflow tracking URI {uri!r} is a plain-folder store, which MLflow 3 refuses; "
            "use sqlite:///path/to/mlflow.db"
        )
    art = artifact_root or (None if root is not None else env.supervision_mlflow_artifacts)
    art = art or base / "mlruns" / "artifacts"
    return MlflowSettings(tracking_uri=uri, artifact_root=Path(art).resolve())


def quiet_mlflow() -> None:
    """Silence MLflow's per-call chatter (alembic migrations, pip inference, UI hints).

    Why: the train job prints one summary table; MLflow's INFO logs would bury it.
    """
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # a setting for MLflow itself
    warnings.filterwarnings("ignore", module="mlflow")


def open_client(settings: MlflowSettings | None = None) -> MlflowClient:
    """Create the store folders if needed, point MLflow at them and return a client.

    The global tracking URI is set too, because ``mlflow.start_run`` and ``log_model`` use it.
    """
    settings = settings or resolve()
    if settings.tracking_uri.startswith("sqlite:///"):
        Path(settings.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    settings.artifact_root.mkdir(parents=True, exist_ok=True)
    quiet_mlflow()
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri)
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.registry_uri)


def experiment_id(client: MlflowClient, name: str, settings: MlflowSettings) -> str:
    """Get or create an experiment whose artifacts go under the configured artifact root."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = (settings.artifact_root / name).as_uri()
    return client.create_experiment(name, artifact_location=location)

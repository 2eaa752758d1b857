"""The service's settings, read from the environment when the service starts (never at import).

| variable | default | meaning |
| --- | --- | --- |
| ``SUPERVISION_DATA`` | ``data`` | pool root (feature tables and source records) |
| ``LEADS_DB_URL`` | ``sqlite:///<data>/leads.db`` | lead store |
| ``SUPERVISION_MLFLOW_URI`` / ``MLFLOW_TRACKING_URI`` | ``sqlite:///mlruns/mlflow.db`` | registry |
| ``SERVING_REFRESH_SECONDS`` | ``10`` | how often the registry's aliases are polled |
| ``SERVING_FEATURES_DIR`` | unset | read ``<dir>/<scenario>.parquet`` instead of building features |
| ``SERVING_MAX_BODY_BYTES`` | ``67108864`` (64 MiB) | request size limit (413 above) |
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class ServingSettings:
    """Where the service finds its parts and how it behaves."""

    data_root: Path
    leads_url: str | None = None
    tracking_uri: str | None = None
    refresh_seconds: float = 10.0
    max_body_bytes: int = DEFAULT_MAX_BODY
    features_dir: Path | None = None

    def feature_loader(self) -> Callable[[str], pd.DataFrame] | None:
        """A loader of precomputed tables when ``features_dir`` is set, else None."""
        if self.features_dir is None:
            return None
        folder = self.features_dir

        def load(scenario: str) -> pd.DataFrame:
            return pd.read_parquet(folder / f"{scenario}.parquet")

        return load

    @classmethod
    def from_env(cls) -> ServingSettings:
        """Settings from the environment, with the project's defaults."""
        return cls(
            data_root=Path(os.environ.get("SUPERVISION_DATA", "data")),
            leads_url=os.environ.get("LEADS_DB_URL") or None,
            tracking_uri=os.environ.get("SUPERVISION_MLFLOW_URI")
            or os.environ.get("MLFLOW_TRACKING_URI") or None,
            refresh_seconds=float(os.environ.get("SERVING_REFRESH_SECONDS", "10")),
            features_dir=Path(os.environ["SERVING_FEATURES_DIR"])
            if os.environ.get("SERVING_FEATURES_DIR") else None,
            max_body_bytes=int(os.environ.get("SERVING_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY))),
        )

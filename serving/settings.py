"""The service's settings, taken from the project's one settings object (``settings``, the
``SERVING_*`` variables and the shared ones) when the service starts, never at import.

A value that is not a number, or out of range, stops the service naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from settings import get_settings

from .admission import AdmissionSettings

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
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    explain_max_rows: int = 1000
    explain_rows_per_minute: int = 20_000
    header_timeout: float = 10.0
    workers: int = 1

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
        """Settings from the environment (through ``settings.get_settings``)."""
        env = get_settings()
        return cls(
            data_root=env.supervision_data,
            leads_url=env.leads_db_url,
            tracking_uri=env.supervision_mlflow_uri or env.mlflow_tracking_uri,
            refresh_seconds=env.serving_refresh_seconds,
            features_dir=env.serving_features_dir,
            max_body_bytes=env.serving_max_body_bytes,
            admission=AdmissionSettings(
                concurrency={
                    "score": env.serving_concurrency_score,
                    "reads": env.serving_concurrency_reads,
                    "writes": env.serving_concurrency_writes,
                },
                queue={
                    "score": env.serving_queue_score,
                    "reads": env.serving_queue_reads,
                    "writes": env.serving_queue_writes,
                },
                queue_timeout=env.serving_queue_timeout_seconds,
                body_timeout=env.serving_body_timeout_seconds,
                rate_per_minute=env.serving_rate_per_minute,
                rate_burst=env.serving_rate_burst,
                workers=env.serving_workers,
            ),
            explain_max_rows=env.serving_explain_max_rows,
            explain_rows_per_minute=env.serving_explain_rows_per_minute,
            header_timeout=env.serving_header_timeout_seconds,
            workers=env.serving_workers,
        )

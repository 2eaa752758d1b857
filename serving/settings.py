"""The service's settings, read from the environment when the service starts (never at import).

| variable | default | meaning |
| --- | --- | --- |
| ``SUPERVISION_DATA`` | ``data`` | pool root (feature tables and source records) |
| ``LEADS_DB_URL`` | ``sqlite:///<data>/leads.db`` | lead store |
| ``SUPERVISION_MLFLOW_URI`` / ``MLFLOW_TRACKING_URI`` | ``sqlite:///mlruns/mlflow.db`` | registry |
| ``SERVING_REFRESH_SECONDS`` | ``10`` | how often the registry's aliases are polled |
| ``SERVING_FEATURES_DIR`` | unset | read ``<dir>/<scenario>.parquet`` instead of building features |
| ``SERVING_MAX_BODY_BYTES`` | ``67108864`` (64 MiB) | request size limit (413 above) |
| ``SERVING_CONCURRENCY_{SCORE,READS,WRITES}`` | ``2``, ``2``, ``1`` | requests running at once per route class |
| ``SERVING_QUEUE_{SCORE,READS,WRITES}`` | ``16``, ``64``, ``32`` | requests waiting per route class (503 beyond, and at once when the expected wait at the measured service time passes the timeout) |
| ``SERVING_QUEUE_TIMEOUT_SECONDS`` | ``0.25`` | longest wait for a slot before a 503 |
| ``SERVING_RATE_PER_MINUTE`` / ``SERVING_RATE_BURST`` | ``6000`` / ``200`` | requests per API key (429 beyond) |
| ``SERVING_EXPLAIN_MAX_ROWS`` | ``1000`` | rows explained in one request (422 beyond) |
| ``SERVING_EXPLAIN_ROWS_PER_MINUTE`` | ``20000`` | rows explained per API key and minute (429 beyond) |
| ``SERVING_HEADER_TIMEOUT_SECONDS`` | ``10`` | a connection must send a complete request's headers within this after opening or after its last answer (closed otherwise: slow-header and idle sockets) |
| ``SERVING_BODY_TIMEOUT_SECONDS`` | ``10`` | longest pause while a body streams in (408) |

A value that is not a number, or out of range, stops the service naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .admission import (
    CLASSES,
    DEFAULT_CONCURRENCY,
    DEFAULT_QUEUE,
    DEFAULT_QUEUE_TIMEOUT,
    AdmissionSettings,
)

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
            admission=AdmissionSettings(
                concurrency={c: int(_number(f"SERVING_CONCURRENCY_{c.upper()}",
                                            DEFAULT_CONCURRENCY[c], 1)) for c in CLASSES},
                queue={c: int(_number(f"SERVING_QUEUE_{c.upper()}", DEFAULT_QUEUE[c], 0))
                       for c in CLASSES},
                queue_timeout=_number("SERVING_QUEUE_TIMEOUT_SECONDS", DEFAULT_QUEUE_TIMEOUT,
                                      0.0),
                body_timeout=_number("SERVING_BODY_TIMEOUT_SECONDS", 10.0, 0.1),
                rate_per_minute=_number("SERVING_RATE_PER_MINUTE", 6000.0, 1.0),
                rate_burst=_number("SERVING_RATE_BURST", 200.0, 1.0)),
            explain_max_rows=int(_number("SERVING_EXPLAIN_MAX_ROWS", 1000, 0)),
            explain_rows_per_minute=int(_number("SERVING_EXPLAIN_ROWS_PER_MINUTE", 20_000, 1)),
            header_timeout=_number("SERVING_HEADER_TIMEOUT_SECONDS", 10.0, 0.1),
        )


def _number(name: str, default: float, minimum: float) -> float:
    """A numeric setting from the environment; a bad value stops the service naming it."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum:g}")
    return value

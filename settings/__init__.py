"""Every environment variable the project reads, in one typed object: the lowest layer.

Nothing else in the project reads ``os.environ`` (``tests/settings/test_settings.py`` greps for it). Each
call of :func:`get_settings` sees the environment as it is now (parsed again whenever a variable
it uses changed), so a setting changed by a test or a parent process takes effect on the next
call, and nothing is read at import. A value that does not
parse stops the caller with :class:`SettingsError` naming the variable, never a silent default.

The README's settings table is generated from :class:`Settings` (``python -m settings``), and a
test checks that the README holds exactly that table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "SettingsError", "get_settings", "markdown_table", "variable_names"]


class SettingsError(ValueError):
    """An environment variable holds a value the project cannot use (the message names it)."""


class Settings(BaseSettings):
    """The project's settings: each field is the environment variable of the same name in
    capitals. An unset or empty variable takes the default."""

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", env_ignore_empty=True, frozen=True
    )

    # -- the pool, the models, the lead store ---------------------------------------------------
    supervision_data: Path = Field(
        Path("data"),
        description="root of the data pool, feature tables and the default lead "
        "store (`<data>/leads.db`)",
    )
    supervision_models: str = Field(
        "",
        description="where the office's own supervision models are: folders, files or "
        "dotted module names, separated by `:` or `,` (the built-in `models/` are always found)",
    )
    leads_db_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the lead store (SQLite or PostgreSQL); unset: "
        "`sqlite:///<data>/leads.db`",
    )

    # -- MLflow ---------------------------------------------------------------------------------
    supervision_root: Path | None = Field(
        None,
        description="project root under which `mlruns/` (the MLflow store) lives; "
        "unset: the current folder",
    )
    supervision_mlflow_uri: str | None = Field(
        None,
        description="MLflow tracking and registry URI (a database URI such as "
        "`sqlite:///...`); unset: `MLFLOW_TRACKING_URI`, else `sqlite:///<root>/mlruns/mlflow.db`",
    )
    mlflow_tracking_uri: str | None = Field(
        None, description="MLflow's own variable, used when `SUPERVISION_MLFLOW_URI` is unset"
    )
    supervision_mlflow_artifacts: Path | None = Field(
        None, description="MLflow artifact folder; unset: `<root>/mlruns/artifacts`"
    )

    # -- the ledger's policy --------------------------------------------------------------------
    supervision_district_capacity: int | None = Field(
        None,
        ge=1,
        description="leads a district can verify per cadence period, overriding "
        "every model's declared `capacity`",
    )
    supervision_require_real_approvals: bool = Field(
        False, description="refuse demo certifications: a champion needs two named approvers"
    )

    # -- the service ----------------------------------------------------------------------------
    serving_refresh_seconds: float = Field(
        10.0,
        ge=0,
        description="how often the service polls the registry's aliases (`0`: load once at "
        "start, never poll)",
    )
    serving_features_dir: Path | None = Field(
        None, description="read `<dir>/<scenario>.parquet` instead of building feature tables"
    )
    serving_max_body_bytes: int = Field(
        64 * 1024 * 1024, ge=1, description="largest request body accepted (413 above)"
    )
    serving_workers: int = Field(
        1,
        ge=1,
        le=64,
        description="worker processes of the service (`make serve`, the HTTP tests and the "
        "benchmark); each loads the models and polls the registry itself; the per-key rates "
        "are split between them, the admission slots and queues are per worker",
    )
    serving_concurrency_score: int = Field(2, ge=1, description="scoring requests running at once")
    serving_concurrency_reads: int = Field(2, ge=1, description="read requests running at once")
    serving_concurrency_writes: int = Field(1, ge=1, description="write requests running at once")
    serving_queue_score: int = Field(
        16, ge=0, description="scoring requests waiting for a slot (503 beyond)"
    )
    serving_queue_reads: int = Field(
        64, ge=0, description="read requests waiting for a slot (503 beyond)"
    )
    serving_queue_writes: int = Field(
        32, ge=0, description="write requests waiting for a slot (503 beyond)"
    )
    serving_queue_timeout_seconds: float = Field(
        0.25,
        ge=0,
        description="longest wait for a slot before a 503 (and a 503 at once when the expected "
        "wait at the measured service time passes it)",
    )
    serving_rate_per_minute: float = Field(
        6000.0, ge=1, description="requests per API key and minute (429 beyond)"
    )
    serving_rate_burst: float = Field(
        200.0, ge=1, description="requests an API key may send at once before the rate applies"
    )
    serving_explain_max_rows: int = Field(
        1000, ge=0, description="rows explained in one request (422 beyond)"
    )
    serving_explain_rows_per_minute: int = Field(
        20_000, ge=1, description="rows explained per API key and minute (429 beyond)"
    )
    serving_header_timeout_seconds: float = Field(
        10.0,
        ge=0.1,
        description="a connection must send a complete request's headers within "
        "this after opening or after its last answer (closed otherwise)",
    )
    serving_body_timeout_seconds: float = Field(
        10.0, ge=0.1, description="longest pause while a request body streams in (408)"
    )
    # -- how much of the machine a job may use (read and checked by `pool.resources`) ---------
    supervision_threads: str | None = Field(
        None,
        description="threads for LightGBM, the detectors, DuckDB and the streamed validation "
        "(a whole number >= 1); unset: every core this process may run on",
    )
    supervision_validate_rows: str | None = Field(
        None,
        description="rows per chunk when the pool is validated (a whole number); unset: 500,000",
    )
    supervision_duckdb_memory: str | None = Field(
        None,
        description="DuckDB's memory limit, e.g. `8GB` (past it joins, aggregations and sorts "
        "spill); unset: DuckDB's own, 80% of RAM",
    )
    supervision_duckdb_temp: str | None = Field(
        None,
        description="DuckDB's spill folder (created if absent; set it for out-of-core feature "
        "builds); unset: DuckDB's own",
    )
    supervision_spark_master: str | None = Field(
        None,
        description="the Spark master URL (`local[N]`, `spark://host:port`, `yarn`, "
        "`k8s://...`); unset: `local[2]`",
    )
    supervision_spark_driver_memory: str | None = Field(
        None, description="Spark driver memory, e.g. `4g`; unset: Spark's own"
    )
    supervision_spark_executor_memory: str | None = Field(
        None, description="Spark executor memory, e.g. `8g`; unset: Spark's own"
    )
    supervision_spark_executor_cores: str | None = Field(
        None, description="cores per Spark executor (a whole number); unset: Spark's own"
    )
    supervision_spark_partitions: str | None = Field(
        None, description="Spark shuffle partitions (a whole number); unset: 2"
    )
    supervision_spark_conf: str | None = Field(
        None,
        description="any other Spark settings, `spark.a=1; spark.b=x`, applied last (so they "
        "override the ones above)",
    )
    pyspark_python: Path | None = Field(
        None,
        description="the Python that Spark's workers run (`ENGINE=spark`); unset: the "
        "project's own interpreter",
    )
    supervision_chromium: Path = Field(
        Path("/usr/bin/chromium"), description="the Chromium that renders hand-over PDFs"
    )

    # -- logs, progress, benchmarks --------------------------------------------------------------
    supervision_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="lowest level of the project's log lines"
    )
    supervision_log_format: Literal["text", "json"] = Field(
        "text", description="`text` for people, `json` for one JSON object per log line"
    )
    ci: bool = Field(
        False, description="set by CI: no progress bars (they are also off when not a terminal)"
    )
    supervision_shared: Path | None = Field(
        None,
        description="the shared reference folder (ADBench/ODDS data); unset: `shared/` "
        "beside the repository",
    )
    supervision_bench_max_rss_gib: float = Field(
        20.0,
        gt=0,
        description="the scale benchmark stops a scale whose resident set passes this many GiB",
    )
    supervision_bench_tmp: Path | None = Field(
        None,
        description="where the scale benchmark builds its pools; unset: the system's "
        "temporary folder",
    )
    bench_pool_cache: Path | None = Field(
        None, description="where `make bench` keeps its built pools; unset: `<temp>/bench-pools`"
    )


# Parsed settings by the environment entries they were parsed from. Building a ``Settings``
# costs about 25 ms (pydantic-settings inspects every field's type on each build), and hot paths
# ask for settings many times per request (model discovery, for one); a snapshot of the
# relevant variables costs microseconds, so an unchanged environment returns the same frozen
# object and a changed one is parsed afresh. Bounded: a test suite that changes variables
# often keeps only the latest snapshots.
_PARSED: dict[tuple[tuple[str, str], ...], Settings] = {}
_PARSED_MAX = 32


def _snapshot() -> tuple[tuple[str, str], ...]:
    """The environment entries that can change the settings (names as the fields spell them)."""
    fields = Settings.model_fields
    return tuple(sorted((k.lower(), v) for k, v in os.environ.items() if k.lower() in fields))


def get_settings() -> Settings:
    """The settings as the environment says now; a bad value raises :class:`SettingsError`.

    Read afresh whenever a variable the settings use has changed since the last call, so a
    setting changed by a test or a parent process takes effect on the next call."""
    key = _snapshot()
    found = _PARSED.get(key)
    if found is not None:
        return found
    parsed = _parse()
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)), None)
    _PARSED[key] = parsed
    return parsed


def _parse() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise SettingsError("bad setting: " + "; ".join(problems)) from None


def variable_names() -> list[str]:
    """Every environment variable the project reads, in declaration order."""
    return [name.upper() for name in Settings.model_fields]


def _default(name: str) -> str:
    value = Settings.model_fields[name].default
    if value is None or value == "":
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def _type(name: str) -> str:
    annotation = Settings.model_fields[name].annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if args and get_origin(annotation) is not Literal:  # X | None
        annotation = args[0]
    return getattr(annotation, "__name__", str(annotation))


def markdown_table() -> str:
    """The README's settings table: variable, type, default, meaning."""
    lines = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        lines.append(
            f"| `{name.upper()}` | {_type(name)} | {_default(name)} | {info.description} |"
        )
    return "\n".join(lines) + "\n"

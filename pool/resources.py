"""How much of the machine a job may use: threads, DuckDB memory and spill, the Spark master.

Read from :class:`settings.Settings` when asked (never at import), each bad value refused naming
the variable:

* ``SUPERVISION_THREADS``: threads for LightGBM, the detectors, DuckDB and the streamed
  validation (default: every core this process may run on);
* ``SUPERVISION_DUCKDB_MEMORY``: DuckDB's memory limit, e.g. ``8GB`` (default: DuckDB's own,
  80 % of RAM); past it, joins, aggregations and sorts spill to
* ``SUPERVISION_DUCKDB_TEMP``: DuckDB's spill folder (default: DuckDB's own, ``.tmp`` beside a
  file database, none for an in-memory one, so set it for out-of-core feature builds);
* ``SUPERVISION_SPARK_MASTER``: the Spark master URL (default ``local[2]``), with
  ``SUPERVISION_SPARK_DRIVER_MEMORY``, ``SUPERVISION_SPARK_EXECUTOR_MEMORY``,
  ``SUPERVISION_SPARK_EXECUTOR_CORES``, ``SUPERVISION_SPARK_PARTITIONS`` (shuffle partitions,
  default 2) for a cluster, and ``SUPERVISION_SPARK_CONF`` (``spark.a=1; spark.b=x``, any other
  Spark setting, applied last);
* ``SUPERVISION_VALIDATE_ROWS``: rows per chunk when the pool is validated (default 500,000).

``parallel_map`` runs independent tasks (the point comparison's fits) on up to ``threads()``
worker threads and splits the threads between them: inside a task ``threads()`` answers its
share, so LightGBM, the detectors and DuckDB started there do not oversubscribe the cores.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from typing import TypeVar

from settings import SettingsError, get_settings

_T = TypeVar("_T")
_R = TypeVar("_R")
#: the threads of one task of ``parallel_map`` (None: not inside one)
_SHARE: ContextVar[int | None] = ContextVar("supervision_thread_share", default=None)

_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_MASTER = re.compile(r"^(local(\[(\d+|\*)(,\d+)?\])?|(spark|yarn|k8s|mesos)(://\S+)?|yarn)$")


class ResourceSettingError(SettingsError):
    """An environment setting about resources that cannot be used; names the variable."""


def _env(name: str) -> str | None:
    """The raw text of the setting ``name`` (its environment variable), None when unset; the
    checks below give the error that names the variable and what it should hold."""
    value = getattr(get_settings(), name.lower())
    return value.strip() if value is not None and value.strip() else None


def _positive_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ResourceSettingError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ResourceSettingError(f"{name}={raw!r} must be at least 1")
    return value


def _size(name: str) -> str | None:
    raw = _env(name)
    if raw is not None and not _SIZE.match(raw):
        raise ResourceSettingError(f"{name}={raw!r} is not a size such as 8GB, 512MB or 2GiB")
    return raw


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells, else the count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def threads() -> int:
    """Threads a job may use (``SUPERVISION_THREADS``, default every available core); inside a
    task of ``parallel_map``, that task's share of them."""
    share = _SHARE.get()
    return share if share is not None else _positive_int("SUPERVISION_THREADS", available_cores())


def parallel_map(fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """``[fn(item) for item in items]``, on up to ``threads()`` worker threads, each task told
    ``threads() // workers`` threads (at least one) by ``threads()``. Results keep the items'
    order; on a failure the tasks not started are cancelled and it is raised once the running
    ones end. One thread: in this thread,
    in order. ``fn`` must not depend on which task ran first (the results must not change)."""
    todo = list(items)
    total = threads()
    workers = min(total, len(todo))
    if workers <= 1:
        return [fn(item) for item in todo]
    share = max(1, total // workers)

    def task(item: _T) -> _R:
        _SHARE.set(share)
        return fn(item)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="supervision") as pool:
        futures = [pool.submit(copy_context().run, task, item) for item in todo]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


#: Below this many rows a LightGBM prediction runs on one thread.
SMALL_PREDICT_ROWS = 10_000


def predict_threads(rows: int) -> int:
    """OpenMP threads for a LightGBM prediction of ``rows`` rows: one for a small batch, else
    :func:`threads`. Why: the results are the same on any number of threads, but starting
    and joining the thread team dominates a small prediction; one row took 15 ms on every core
    of a busy 2-core machine and 0.13 ms on one thread."""
    return 1 if rows < SMALL_PREDICT_ROWS else threads()


def validate_rows() -> int:
    """Rows per chunk of the streamed pool validation (``SUPERVISION_VALIDATE_ROWS``)."""
    return _positive_int("SUPERVISION_VALIDATE_ROWS", 500_000)


@dataclass(frozen=True)
class DuckDBSettings:
    """What a DuckDB connection is told at start: threads, memory limit, spill folder."""

    threads: int
    memory_limit: str | None
    temp_directory: str | None

    def statements(self) -> list[str]:
        """The ``SET`` statements that apply these settings."""
        out = [f"SET threads = {self.threads}"]
        if self.memory_limit is not None:
            out.append(f"SET memory_limit = '{self.memory_limit}'")
        if self.temp_directory is not None:
            out.append("SET temp_directory = '" + self.temp_directory.replace("'", "''") + "'")
        return out


def duckdb_settings() -> DuckDBSettings:
    """DuckDB threads, memory limit and spill folder from the environment."""
    temp = _env("SUPERVISION_DUCKDB_TEMP")
    if temp is not None:
        try:
            os.makedirs(temp, exist_ok=True)
        except OSError as exc:
            raise ResourceSettingError(
                f"SUPERVISION_DUCKDB_TEMP={temp!r} cannot be created: {exc}"
            ) from None
    return DuckDBSettings(threads(), _size("SUPERVISION_DUCKDB_MEMORY"), temp)


@dataclass(frozen=True)
class SparkSettings:
    """Where Spark runs and with what (the Spark path beyond one machine)."""

    master: str
    driver_memory: str | None
    executor_memory: str | None
    executor_cores: int | None
    partitions: int
    conf: Mapping[str, str] = field(default_factory=dict)


def spark_settings() -> SparkSettings:
    """Spark master and resources from the environment (default ``local[2]``)."""
    master = _env("SUPERVISION_SPARK_MASTER") or "local[2]"
    if not _MASTER.match(master):
        raise ResourceSettingError(
            f"SUPERVISION_SPARK_MASTER={master!r} is not a Spark master URL (local, local[N], "
            "local[*], spark://host:port, yarn, k8s://...)"
        )
    cores = _env("SUPERVISION_SPARK_EXECUTOR_CORES")
    return SparkSettings(
        master=master,
        driver_memory=_spark_size("SUPERVISION_SPARK_DRIVER_MEMORY"),
        executor_memory=_spark_size("SUPERVISION_SPARK_EXECUTOR_MEMORY"),
        executor_cores=_positive_int("SUPERVISION_SPARK_EXECUTOR_CORES", 1) if cores else None,
        partitions=_positive_int("SUPERVISION_SPARK_PARTITIONS", 2),
        conf=parse_spark_conf(_env("SUPERVISION_SPARK_CONF") or ""),
    )


def parse_spark_conf(raw: str) -> dict[str, str]:
    """``SUPERVISION_SPARK_CONF``: ``"spark.a=1; spark.b=x"`` -> ``{"spark.a": "1", "spark.b":
    "x"}``, applied after the engine's defaults and the settings above (so it overrides them).
    An item that is not ``key=value`` or a key that is not ``spark.*`` is refused, named."""
    conf: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(";")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ResourceSettingError(f"SUPERVISION_SPARK_CONF: {item!r} is not key=value")
        if not key.startswith("spark."):
            raise ResourceSettingError(
                f"SUPERVISION_SPARK_CONF: {key!r} is not a Spark setting (spark.*)"
            )
        conf[key] = value
    return conf


def _spark_size(name: str) -> str | None:
    raw = _env(name)
    if raw is not None and not re.match(r"^\d+[kmgt]?$", raw, re.IGNORECASE):
        raise ResourceSettingError(f"{name}={raw!r} is not a Spark size such as 4g or 512m")
    return raw

"""Where feature expressions run: DuckDB (default, embedded) or Spark (``local[2]`` unless
``SUPERVISION_SPARK_MASTER`` names another master, see ``pool.resources``).

The feature definitions are Ibis expressions, so the same code compiles to DuckDB SQL or to
Spark SQL. DuckDB needs no server and is the default; Spark is for pools beyond one machine.
The Spark session is expensive to start (10-20 s), so one session is created on first use and
reused for the life of the process.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from functools import lru_cache
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from pool.resources import duckdb_settings, spark_settings
from settings import get_settings

ENGINES: tuple[str, ...] = ("duckdb", "spark")


class EngineError(RuntimeError):
    """An engine that is unknown or cannot start."""


def connect(engine: str = "duckdb") -> BaseBackend:
    """An Ibis backend for ``engine`` ("duckdb" | "spark").

    DuckDB: a fresh in-memory database per call (cheap, isolated), told its threads, memory
    limit and spill folder (``pool.resources``: ``SUPERVISION_THREADS``,
    ``SUPERVISION_DUCKDB_MEMORY``, ``SUPERVISION_DUCKDB_TEMP``), so past the limit its joins and
    aggregations run out of core. Spark: an Ibis backend on the process-wide session (see
    ``spark_session``).
    """
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        for statement in duckdb_settings().statements():
            con.raw_sql(statement)
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session())
    raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


@lru_cache(maxsize=1)
def spark_session() -> Any:
    """The single Spark session: no UI, few shuffle partitions, quiet logs.

    Its master and resources come from ``pool.resources.spark_settings``:
    ``SUPERVISION_SPARK_MASTER`` (default ``local[2]``; ``spark://host:7077``, ``yarn``,
    ``k8s://...`` for a cluster), ``SUPERVISION_SPARK_DRIVER_MEMORY``,
    ``SUPERVISION_SPARK_EXECUTOR_MEMORY``, ``SUPERVISION_SPARK_EXECUTOR_CORES`` and
    ``SUPERVISION_SPARK_PARTITIONS`` (shuffle partitions and default parallelism, default 2);
    ``SUPERVISION_SPARK_CONF`` adds or overrides any other ``spark.*`` setting.

    Feature plans are wide (dozens of joins) over modest data, so planning and code generation
    dominate: whole-stage code generation and adaptive re-planning are off, which makes local
    runs several times faster; on a cluster, set them back with the usual Spark settings.

    Its warehouse lives in a temporary folder removed at exit, so nothing is written to the
    work tree; the session time zone is UTC so dates mean the same as in DuckDB.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a locked dependency
        raise EngineError("the spark engine needs pyspark installed") from exc
    settings = spark_settings()
    warehouse = tempfile.mkdtemp(prefix="features-spark-")
    atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
    os.environ["PYSPARK_PYTHON"] = str(get_settings().pyspark_python or _python())  # for Spark
    logging.getLogger("py4j").setLevel(logging.ERROR)
    builder = (
        SparkSession.builder.master(settings.master)
        .appName("supervision-features")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(settings.partitions))
        .config("spark.default.parallelism", str(settings.partitions))
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.warehouse.dir", os.path.join(warehouse, "warehouse"))
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .config("spark.sql.ansi.enabled", "false")
    )
    for key, value in (
        ("spark.driver.memory", settings.driver_memory),
        ("spark.executor.memory", settings.executor_memory),
        ("spark.executor.cores", settings.executor_cores),
    ):
        if value is not None:
            builder = builder.config(key, str(value))
    for key, value in settings.conf.items():  # SUPERVISION_SPARK_CONF, applied last
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java/Py4J failures come in many types
        raise EngineError(
            f"cannot start Spark on master {settings.master!r} (is Java installed, "
            f"is the master reachable?): {exc}"
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _python() -> str:
    import sys

    return sys.executable


def materialise(con: BaseBackend, table: ir.Table) -> ir.Table:
    """Compute a *small* table once and hand it back as an in-memory table for later queries.

    Used for the raw -> canonical key mappings (one row per distinct key value, thousands of
    rows even for millions of source rows), so the string work is not repeated by every query
    that joins on a key. Arrow is the carrier on both engines; Ibis registers the result with
    whichever engine runs the next query. (Ibis's ``cache()`` is not used: it binds in-memory
    tables to the default backend and emits a DROP statement the locked sqlglot renders wrongly.)
    """
    return ibis.memtable(con.to_pyarrow(table))


def computed(table: ir.Table) -> ir.Table:
    """Run one part of a feature plan now and hand back its rows as an in-memory table.

    For per-entity parts (one row per entity, a few columns) of a wide plan: joined lazily, every
    part's joins and windows run in one pipeline and their hash tables are held together, so the
    engine's memory is the sum of the parts; computed one after the other, it is the largest part
    plus the (small) per-entity results. The rows are the same either way.
    """
    return ibis.memtable(table.to_pyarrow())

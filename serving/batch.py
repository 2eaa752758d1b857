"""Batch scoring of a whole feature table, in this process or on Spark through MLflow's
``pyfunc.spark_udf``: the same registered pyfunc, so the same scores, on as many machines as the
Spark master gives.

    python -m serving.batch --scenario fuel_tax --engine spark --out scores.parquet
    python -m serving.batch --scenario fuel_tax --features table.parquet --engine local --out s.parquet

The feature table is a Parquet file written by ``features.build`` (``--features``; Spark reads it
itself, so it may be larger than one machine's memory) or, without it, built from the pool under
``--data`` as of its latest date. The model is the registry's ``champion`` of the scenario unless
``--model-uri`` names another (``models:/supervision-<scenario>/<version>``). As the service does,
a registered version whose ``feature_set_hash`` differs from the table's is refused, naming both.
The Spark master and settings come from ``SUPERVISION_SPARK_MASTER`` / ``SUPERVISION_SPARK_CONF``
(``pool.resources.spark_settings``). The answer is a Parquet file (``--engine local``) or folder
(``--engine spark``) of ``entity_id``, ``score``, ``probability``, written to a temporary name
beside ``--out`` and renamed when complete, so a failed run leaves no partial result under
``--out``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from console import exits
from serving.cli_args import ENGINES, batch_parser

OUTPUT = ("score", "probability")


class BatchError(ValueError):
    """A batch that cannot run: bad input named, nothing written."""


@dataclass(frozen=True)
class BatchModel:
    """A registered model version to score with."""

    uri: str
    name: str | None
    version: str | None
    columns: tuple[str, ...]
    tags: dict[str, str]


def resolve_model(client: Any, scenario: str, model_uri: str | None) -> BatchModel:
    """The champion of ``scenario`` (or ``model_uri``) with its input columns and tags."""
    import mlflow

    name = f"supervision-{scenario}"
    uri = model_uri or f"models:/{name}@champion"
    version = None
    tags: dict[str, str] = {}
    if uri.startswith("models:/"):
        ref = uri.removeprefix("models:/")
        reg_name, _, rest = ref.partition("@") if "@" in ref else ref.partition("/")
        try:
            mv = (
                client.get_model_version_by_alias(reg_name, rest)
                if "@" in ref
                else client.get_model_version(reg_name, rest)
            )
        except Exception as exc:  # noqa: BLE001 - MLflow raises several kinds here
            raise BatchError(f"model {uri!r} is not in the registry: {exc}") from exc
        name, version, tags = reg_name, str(mv.version), dict(mv.tags)
    info = mlflow.models.get_model_info(uri)
    if info.signature is None:
        raise BatchError(f"model {uri!r} was logged without an input signature")
    return BatchModel(uri, name, version, tuple(info.signature.inputs.input_names()), tags)


def table_hash_of(frame_columns: list[str], sample: Any) -> str | None:
    """The table's ``feature_set_hash`` from a small sample, or None when it has no column."""
    if "feature_set_hash" not in frame_columns:
        return None
    found = sorted({str(v) for v in sample if v is not None})
    if len(found) != 1:
        raise BatchError(
            f"the feature table carries {len(found)} feature_set_hash values "
            f"({', '.join(found[:3])}); expected exactly one"
        )
    return found[0]


def check_hash(model: BatchModel, table_hash: str | None, scenario: str) -> None:
    """Refuse a registered version trained on another feature set than the table's."""
    # deferred: champions loads the served-model machinery, needed only to check a hash
    from .champions import FeatureSetMismatch, check_feature_set

    if model.version is None:
        return  # a run or file URI: no registry tags to compare
    if table_hash is None:
        raise BatchError(
            f"the {scenario} feature table has no feature_set_hash column, so "
            f"{model.name} version {model.version} cannot be checked against it"
        )
    try:
        check_feature_set(
            model.name or scenario,
            SimpleNamespace(version=model.version, tags=model.tags),
            table_hash,
        )
    except FeatureSetMismatch as exc:
        raise BatchError(str(exc)) from None


def check_columns(model: BatchModel, columns: list[str]) -> None:
    missing = [c for c in model.columns if c not in columns]
    if missing:
        raise BatchError(f"the feature table lacks the model's column(s) {missing}")
    if "entity_id" not in columns:
        raise BatchError("the feature table has no entity_id column")


def score_local(frame: pd.DataFrame, model: BatchModel) -> pd.DataFrame:
    """Every row scored in this process by the pyfunc (MLflow's own ``predict``)."""
    import mlflow

    check_columns(model, list(frame.columns))
    check_hash(
        model,
        table_hash_of(list(frame.columns), frame.get("feature_set_hash", pd.Series()).unique()),
        model.name or "",
    )
    out = mlflow.pyfunc.load_model(model.uri).predict(
        frame.loc[:, list(model.columns)].astype("float64")
    )
    return pd.DataFrame(
        {
            "entity_id": frame["entity_id"].astype(str).to_numpy(),
            **{c: out[c].to_numpy(dtype="float64") for c in OUTPUT},
        }
    )


def score_spark(sdf: Any, model: BatchModel) -> Any:
    """A Spark DataFrame of ``entity_id``, ``score``, ``probability``: the pyfunc applied to
    every partition by ``mlflow.pyfunc.spark_udf`` (in the current environment)."""
    import mlflow
    from pyspark.sql import functions as F

    check_columns(model, list(sdf.columns))
    if "feature_set_hash" in sdf.columns:
        sample = [r[0] for r in sdf.select("feature_set_hash").distinct().limit(5).collect()]
        check_hash(model, table_hash_of(sdf.columns, sample), model.name or "")
    else:
        check_hash(model, None, model.name or "")
    udf = mlflow.pyfunc.spark_udf(
        sdf.sparkSession,
        model.uri,
        env_manager="local",
        result_type="score double, probability double",
    )
    inputs = [F.col(c).cast("double").alias(c) for c in model.columns]
    scored = sdf.select(
        F.col("entity_id").cast("string").alias("entity_id"), udf(*inputs).alias("out")
    )
    return scored.select("entity_id", *[F.col(f"out.{c}").alias(c) for c in OUTPUT])


def partial_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")


def run(
    scenario: str,
    engine: str,
    out: Path,
    features: Path | None = None,
    data: Path | None = None,
    model_uri: str | None = None,
    tracking_uri: str | None = None,
) -> tuple[int, str]:
    """Score the table and write the result; returns the rows scored and where they were
    scored (``local``, or ``spark <master>``)."""
    # deferred: mlflow loads when a batch runs, not for `--help`
    from training.mlflow_setup import open_client, resolve

    if engine not in ENGINES:
        raise BatchError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if out.exists():
        raise BatchError(f"{out} exists; remove it or choose another --out")
    if features is not None and not features.exists():
        raise BatchError(f"feature table {features} does not exist")
    client = open_client(resolve(tracking_uri=tracking_uri))
    model = resolve_model(client, scenario, model_uri)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(out)
    try:
        if engine == "local":
            frame = pd.read_parquet(features) if features else pool_table(scenario, data)
            result = score_local(frame, model)
            result.to_parquet(tmp, index=False)
            rows, where = len(result), "local"
        else:
            # deferred: pyspark loads only for a Spark run
            from features.engines import spark_session

            spark = spark_session()
            sdf = (
                spark.read.parquet(str(features.resolve()))
                if features
                else spark.createDataFrame(pool_table(scenario, data))
            )
            result = score_spark(sdf, model)
            result.write.parquet(str(tmp.resolve()))
            rows = spark.read.parquet(str(tmp.resolve())).count()
            where = f"spark {spark.sparkContext.master}"
        tmp.rename(out)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
    return rows, where


def pool_table(scenario: str, data: Path | None) -> pd.DataFrame:
    """The scenario's features from the pool under ``data`` as of its latest date."""
    # deferred: ibis and the feature build load when a batch runs, not for `--help`
    from features.build import build_features
    from features.points import latest_as_of

    root = data or Path("data")
    if not root.exists():
        raise BatchError(f"no pool under {root}; give --features or --data")
    return build_features(scenario, latest_as_of(root, scenario), root).frame


def model_label(args: argparse.Namespace) -> str:
    return args.model_uri or f"models:/supervision-{args.scenario}@champion"


def main(argv: list[str] | None = None) -> int:
    parser = batch_parser()
    args = parser.parse_args(argv)
    try:
        rows, where = run(
            args.scenario,
            args.engine,
            args.out,
            args.features,
            args.data,
            args.model_uri,
            args.tracking_uri,
        )
    except BatchError as exc:
        print(f"batch scoring stopped: {exc}", file=sys.stderr)
        return exits.REFUSED
    print(
        f"{rows} rows of {args.scenario} scored with {model_label(args)} on {where} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

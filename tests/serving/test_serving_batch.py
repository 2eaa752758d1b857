"""Batch scoring beyond one machine: a feature table scored on Spark through MLflow's
``pyfunc.spark_udf`` (local Spark here, master from ``SUPERVISION_SPARK_MASTER``) gives the same
scores as the registered pyfunc in this process (relative tolerance 1e-9; measured: equal), and
bad input stops the batch naming the fault with nothing written.
"""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest

from pool.resources import ResourceSettingError, parse_spark_conf, spark_settings
from serving.batch import BatchError, run
from serving.launch import ROOT
from serving.sandbox import FEATURES, SCENARIO, fit_scorer, register


def in_process(sandbox, table: pd.DataFrame) -> pd.Series:
    mlflow.set_tracking_uri(sandbox.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/supervision-{SCENARIO}@champion")
    scores = model.predict(table.loc[:, list(FEATURES)])["score"].to_numpy(dtype="float64")
    return pd.Series(scores, index=table["entity_id"].to_numpy())


@pytest.mark.spark
def test_spark_scores_equal_in_process_scores(sandbox, tmp_path) -> None:
    table_path = sandbox.features_dir / f"{SCENARIO}.parquet"
    out = tmp_path / "scores.parquet"
    env = {
        **os.environ,
        **sandbox.env(),
        "SUPERVISION_SPARK_MASTER": "local[1]",
        "SUPERVISION_SPARK_CONF": "spark.sql.shuffle.partitions=1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "serving.batch",
            "--scenario",
            SCENARIO,
            "--engine",
            "spark",
            "--features",
            str(table_path),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on spark local[1]" in done.stdout, done.stdout
    assert out.is_dir() and not list(tmp_path.glob(".*partial*"))
    table = pd.read_parquet(table_path)
    got = pd.read_parquet(out).set_index("entity_id")
    assert len(got) == len(table) and got.index.is_unique
    expected = in_process(sandbox, table)
    np.testing.assert_allclose(
        got.loc[expected.index, "score"].to_numpy(), expected.to_numpy(), rtol=1e-9, atol=0
    )
    assert got["probability"].between(0, 1).all()
    local = tmp_path / "local.parquet"
    rows, where = run(
        SCENARIO, "local", local, features=table_path, tracking_uri=sandbox.tracking_uri
    )
    assert rows == len(table) and where == "local"
    mine = pd.read_parquet(local).set_index("entity_id")
    np.testing.assert_allclose(
        mine.loc[expected.index, "score"].to_numpy(), expected.to_numpy(), rtol=1e-9, atol=0
    )


def test_batch_refuses_another_feature_set_and_writes_nothing(sandbox, tmp_path) -> None:
    table_path = sandbox.features_dir / f"{SCENARIO}.parquet"
    table = pd.read_parquet(table_path)
    labels = (table["nozzles"] > 6).to_numpy().astype(int)
    version = register(
        sandbox,
        fit_scorer(table, labels, seed=4, n_estimators=5),
        table,
        None,
        tags={"feature_set_hash": "00000000deadbeef"},
    )
    out = tmp_path / "scores.parquet"
    with pytest.raises(BatchError, match="00000000deadbeef"):
        run(
            SCENARIO,
            "local",
            out,
            features=table_path,
            tracking_uri=sandbox.tracking_uri,
            model_uri=f"models:/supervision-{SCENARIO}/{version}",
        )
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(BatchError, match="lacks the model's column"):
        narrow = tmp_path / "narrow.parquet"
        table.drop(columns=["nozzles"]).to_parquet(narrow)
        run(SCENARIO, "local", out, features=narrow, tracking_uri=sandbox.tracking_uri)
    assert not out.exists()
    out.write_text("earlier result")
    with pytest.raises(BatchError, match="exists"):
        run(SCENARIO, "local", out, features=table_path, tracking_uri=sandbox.tracking_uri)
    assert out.read_text() == "earlier result"


def test_spark_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPERVISION_SPARK_MASTER", raising=False)
    monkeypatch.delenv("SUPERVISION_SPARK_CONF", raising=False)
    assert spark_settings().master == "local[2]"
    monkeypatch.setenv("SUPERVISION_SPARK_MASTER", "spark://head:7077")
    monkeypatch.setenv(
        "SUPERVISION_SPARK_CONF", "spark.executor.memory=4g; spark.sql.shuffle.partitions=64;"
    )
    got = spark_settings()
    assert got.master == "spark://head:7077"
    assert got.conf == {"spark.executor.memory": "4g", "spark.sql.shuffle.partitions": "64"}
    with pytest.raises(
        ResourceSettingError, match="SUPERVISION_SPARK_CONF: 'executor.memory' is not a Spark"
    ):
        parse_spark_conf("executor.memory=4g")
    with pytest.raises(ResourceSettingError, match="'spark.executor.memory' is not key=value"):
        parse_spark_conf("spark.executor.memory")

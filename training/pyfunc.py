"""The served model: an MLflow pyfunc that returns suspicion scores and calibrated probabilities.

MLflow's built-in sklearn/lightgbm flavours of a classifier answer ``predict`` with class labels,
which is useless for ranking leads. This wrapper answers with two columns: ``score`` (higher =
more suspicious, the ranking) and ``probability`` (calibrated chance that a lead becomes a case;
NaN for an unsupervised detector or a rule model, which have none); a rule model also answers
``rules``, the names of the rules that fired on each row. The fitted estimator is stored as a joblib
artifact, so it can also be loaded natively with ``joblib.load`` without MLflow.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc import PythonModel, PythonModelContext

ESTIMATOR_ARTIFACT = "estimator"
ESTIMATOR_FILE = "estimator.joblib"
OUTPUT_COLUMNS = ("score", "probability")
#: Extra output column of a rule model: the names of the rules fired, comma-separated.
RULES_COLUMN = "rules"


class LeadScoringModel(PythonModel):
    """Pyfunc wrapper: feature frame in, ``score`` and ``probability`` out.

    ``columns`` fixes the feature order the estimator was fitted on; missing columns are an error
    naming them, extra columns are ignored (the serving side may send entity ids along).
    """

    def __init__(self, columns: list[str], kind: str) -> None:
        self.columns = list(columns)
        self.kind = kind
        self.estimator: Any = None

    def load_context(self, context: PythonModelContext) -> None:
        """Load the fitted estimator from its joblib artifact."""
        self.estimator = joblib.load(context.artifacts[ESTIMATOR_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        """Score rows; never return labels."""
        return score_frame(self.estimator, self.columns, model_input)


def score_frame(estimator: Any, columns: list[str], frame: pd.DataFrame) -> pd.DataFrame:
    """Scores and probabilities of ``estimator`` on ``frame[columns]``.

    Why a free function: training, the pyfunc and the lead writer must score identically.
    """
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame, columns=columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"model input lacks feature column(s) {missing}")
    X = frame[columns].astype("float64")
    # a rule model: score and the rules fired (joined names), no probability
    if hasattr(estimator, "fired_labels"):
        return pd.DataFrame(
            {
                "score": np.asarray(estimator.decision_function(X), dtype="float64"),
                "probability": np.full(len(X), np.nan),
                RULES_COLUMN: estimator.fired_labels(X, ","),
            },
            index=frame.index,
        )
    if hasattr(estimator, "score_and_probability"):  # one pass (LeadScorer)
        score, probability = estimator.score_and_probability(X)
        return pd.DataFrame(
            {
                "score": np.asarray(score, dtype="float64"),
                "probability": np.asarray(probability, dtype="float64"),
            },
            index=frame.index,
        )
    score = np.asarray(estimator.decision_function(X), dtype="float64")
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X), dtype="float64")
        probability = proba[:, 1] if proba.ndim == 2 else proba
    else:
        probability = np.full(len(X), np.nan)
    return pd.DataFrame({"score": score, "probability": probability}, index=frame.index)


@dataclass(frozen=True)
class LoggedModelRef:
    """Where a logged pyfunc lives, for registration."""

    model_uri: str
    run_id: str


def log_scoring_model(
    estimator: Any,
    columns: list[str],
    example: pd.DataFrame,
    kind: str = "scorer",
    name: str = "model",
) -> LoggedModelRef:
    """Log ``estimator`` as a pyfunc in the active run, with signature and input example.

    Why explicit ``pip_requirements``: letting MLflow infer them starts a subprocess that imports
    the model, the slowest part of logging; the environment is already pinned by ``uv.lock``.
    """
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_scoring_model needs an active MLflow run")
    example = example[columns].head(5).astype("float64")
    output = score_frame(estimator, columns, example)
    signature = infer_signature(example, output)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ESTIMATOR_FILE
        joblib.dump(estimator, path)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=LeadScoringModel(columns, kind),
            artifacts={ESTIMATOR_ARTIFACT: str(path)},
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(),
        )
    return LoggedModelRef(model_uri=info.model_uri, run_id=run.info.run_id)


def _requirements() -> list[str]:
    """Pinned versions of what unpickling a scorer needs."""
    import lightgbm
    import pyod
    import sklearn

    return [
        f"mlflow=={mlflow.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"lightgbm=={lightgbm.__version__}",
        f"pyod=={pyod.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
    ]


def load_estimator(model_uri: str) -> Any:
    """The fitted estimator inside a logged pyfunc, loaded natively (joblib), without MLflow's
    pyfunc wrapper."""
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    return joblib.load(local / "artifacts" / ESTIMATOR_FILE)


def load_columns(model_uri: str) -> list[str]:
    """Feature columns a logged model expects, read from its signature."""
    info = mlflow.models.get_model_info(model_uri)
    return [spec.name for spec in info.signature.inputs.inputs]

"""One scenario's candidate: backtest, fit, explain, and the MLflow run that records it all.

The run holds parameters, metrics with intervals, the data and feature-set hashes, the code
version, and artifacts (precision@k and PR plots, a SHAP summary, a sample of ranked leads with
reasons); the model is logged as the scoring pyfunc. MLflow calls are batched (one ``log_batch``,
one artifact upload, one model log) to keep the bookkeeping cheap.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from evaluation.backtest import backtest  # noqa: E402
from evaluation.metrics import precision_at_k_interval  # noqa: E402
from training.calibration import BetaBinCalibrator, reliability_plot  # noqa: E402
from training.pyfunc import LoggedModelRef, log_scoring_model, score_frame  # noqa: E402
from training.train_data import BacktestSplit  # noqa: E402


@dataclass
class BacktestResult:
    """The candidate judged on the holdout: metrics and the per-row scores the gate reuses."""

    metrics: dict[str, float]
    labels: np.ndarray
    scores: np.ndarray
    holdout: pd.DataFrame
    known_on: pd.Series
    k: int
    per_period: pd.DataFrame | None = None  # walk-forward figures of a model with a cadence
    probability: np.ndarray | None = None  # calibrated P(case) per holdout row (NaN: none)


def run_backtest(
    split: BacktestSplit, columns: list[str], make_model: Any, k: int, fit: Any = None
) -> BacktestResult:
    """Fit on the cutoff's rows, score the later-labelled rows (``evaluation.backtest``);
    ``fit(X, y)``, when given, fits (or reuses the job's fit, ``training.fit_cache``) instead of
    ``make_model().fit(X, y)``."""
    captured: dict[str, np.ndarray] = {}
    fit = fit if fit is not None else (lambda X, y: make_model().fit(X, y))

    def fit_score(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        model = fit(train[columns], train["label"].to_numpy(dtype=float))
        scored = score_frame(model, columns, test)
        captured["scores"] = scored["score"].to_numpy(dtype=float)
        captured["probability"] = scored["probability"].to_numpy(dtype=float)
        return captured["scores"]

    holdout = split.holdout
    if len(holdout) == 0 or holdout["label"].nunique() < 2:
        raise ValueError(
            f"backtest holdout after {split.cutoff} has {len(holdout)} labelled "
            "rows and needs both cases and no-cases; lengthen holdout_months"
        )
    table = backtest(
        split.frame, fit_score, period="period", label="label", delay=1, ks=(k,), min_labelled=1
    )
    if "scores" not in captured:
        raise ValueError(
            f"backtest cutoff {split.cutoff} has no verified outcome to train on "
            "(nothing was verified by then); pick a later as-of date or a shorter "
            "holdout"
        )
    labels = holdout["label"].to_numpy(dtype=float)
    pk = precision_at_k_interval(labels, captured["scores"], k)
    row = table.iloc[-1]
    metrics = {
        "precision_at_k": pk.value,
        "precision_at_k_low": pk.low,
        "precision_at_k_high": pk.high,
        "k": float(pk.k),
        "recall_at_k": float(row[f"recall@{k}"]),
        "average_precision": float(row["average_precision"]),
        "roc_auc": float(row["roc_auc"]),
        "base_rate": float(labels.mean()),
        "n_holdout": float(len(labels)),
        "n_train_labelled": float(row["n_train_labelled"]),
    }
    return BacktestResult(
        metrics,
        labels,
        captured["scores"],
        holdout.reset_index(drop=True),
        split.known_on.reset_index(drop=True),
        pk.k,
        probability=captured["probability"],
    )


def code_version(repo: Path | None = None) -> str:
    """Git commit of the code (``+dirty`` when the tree has changes); ``unknown`` outside git."""
    cwd = repo or Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "training", "features", "evaluation", "pool"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head[:12]}{'+dirty' if dirty else ''}"


def plot_precision_at_k(result: BacktestResult, path: Path) -> None:
    """Precision@k for every k on the holdout, with the base rate for reference."""
    order = np.argsort(-result.scores, kind="stable")
    hits = np.cumsum(result.labels[order])
    ks = np.arange(1, len(hits) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ks, hits / ks, label="candidate")
    ax.axhline(result.labels.mean(), color="grey", ls="--", label="base rate (verified rows)")
    ax.axvline(result.k, color="red", ls=":", label=f"k = {result.k}")
    ax.set(
        xlabel="k (top-ranked verified holdout rows)",
        ylabel="precision@k",
        ylim=(0, 1.02),
        title="Backtest precision@k",
    )
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_pr_curve(result: BacktestResult, path: Path) -> None:
    """Precision-recall curve of the candidate on the holdout."""
    precision, recall, _ = precision_recall_curve(result.labels, result.scores)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.step(recall, precision, where="post")
    ax.set(
        xlabel="recall",
        ylabel="precision",
        ylim=(0, 1.02),
        title=f"Backtest PR curve (AP = {result.metrics['average_precision']:.3f})",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def shap_summary(contributions: pd.DataFrame, folder: Path) -> None:
    """Mean |SHAP| per feature over the explained rows, as CSV and a bar plot."""
    mean_abs = contributions.abs().mean().sort_values()
    mean_abs.rename("mean_abs_shap").to_csv(folder / "shap_summary.csv", index_label="feature")
    fig, ax = plt.subplots(figsize=(6, max(3, 0.3 * len(mean_abs))))
    ax.barh(mean_abs.index, mean_abs.to_numpy())
    ax.set(xlabel="mean |SHAP contribution|", title="What drives the scores")
    fig.tight_layout()
    fig.savefig(folder / "shap_summary.png", dpi=80)
    plt.close(fig)


def calibration_artifacts(model: Any) -> dict[str, Any]:
    """The reliability plot of a scorer's calibration (none for a model without bins)."""

    calibrator = getattr(model, "calibrator_", None)
    if not isinstance(calibrator, BetaBinCalibrator):
        return {}
    return {"plots/reliability.png": lambda p: reliability_plot(calibrator, p)}


@dataclass(frozen=True)
class RunRecord:
    """What the run produced, for registration."""

    run_id: str
    model: LoggedModelRef


def record_run(
    experiment: str,
    run_name: str,
    params: Mapping[str, object],
    metrics: dict[str, float],
    tags: dict[str, str],
    artifacts: dict[str, Any],
    model: Any,
    columns: list[str],
    example: pd.DataFrame,
    kind: str,
) -> RunRecord:
    """Write the run: one batch of params/metrics/tags, one artifact folder, the pyfunc.

    ``artifacts`` maps a file name to a writer ``f(path)`` (plots) or a DataFrame (CSV); a
    scorer's reliability plot is added here (``calibration_artifacts``).
    """
    artifacts = {**artifacts, **calibration_artifacts(model)}
    with mlflow.start_run(experiment_id=experiment, run_name=run_name) as run:
        client = mlflow.MlflowClient()
        client.log_batch(
            run.info.run_id,
            metrics=[
                Metric(k, float(v), 0, 0)
                for k, v in metrics.items()
                if v is not None and np.isfinite(v)
            ],
            params=[Param(k, str(v)[:500]) for k, v in params.items()],
            tags=[RunTag(k, str(v)) for k, v in tags.items()],
        )
        with tempfile.TemporaryDirectory() as tmp:
            for name, content in artifacts.items():
                path = Path(tmp) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, pd.DataFrame):
                    content.to_csv(path, index=False)
                else:
                    content(path)
            mlflow.log_artifacts(tmp)
        ref = log_scoring_model(model, columns, example, kind=kind)
    return RunRecord(run.info.run_id, ref)

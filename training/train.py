"""``make train``: for every scenario, build features, fit and backtest a candidate, record it in
MLflow, register it, gate it, certify it (labelled demo approvals unless real ones are
mandatory), promote it, and write the served champion's top leads per district to the lead store.

``python -m training.train [--scenarios ...] [--data data] [--seed 42] [--root .]``

Ends with a table: scenario, version, lifecycle, precision@k, what changed. A pool that fails
validation stops the job before anything is registered. Same seed, same data: same metrics.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from console import exits, logs
from console.progress import progress
from console.tables import format_frame
from evaluation.backtest import compare_picks, format_picks
from evaluation.metrics import average_precision, roc_auc, wilson_interval
from features import registry as feature_registry
from features.amount import AMOUNT_COLUMN
from features.build import build_features, feature_set_hash
from features.points import data_owner, latest_as_of
from pool.importer import ImportFailure
from pool.load import PoolError
from training import model_registry as reg
from training import panel as pn
from training.cli_args import train_parser
from training.explain import explain_scorer
from training.fit_cache import FitCache
from training.lifecycle import (
    Decision,
    GateInput,
    certify_demo,
    gate_candidate,
    mark_baseline,
    promote,
)
from training.meter import Meter
from training.mlflow_setup import MlflowSettings, experiment_id, open_client, resolve
from training.overlap import check_overlap
from training.pyfunc import load_estimator
from training.rule_scorer import rule_scorer_for
from training.train_compare import features_cache, point_comparison, truth_at_capacity
from training.train_data import (
    backtest_split,
    data_hash,
    ensure_pool,
    store_outcomes,
    trainable_scenarios,
    validate_pool,
    with_store_labels,
)
from training.train_leads import leads_sample, ranked_leads, write_leads
from training.train_policy import Policy, policy_for, require_real_approvals
from training.train_run import (
    BacktestResult,
    code_version,
    plot_pr_curve,
    plot_precision_at_k,
    record_run,
    run_backtest,
    shap_summary,
)

if TYPE_CHECKING:  # the lead store loads sqlalchemy: imported where a job opens it
    from leads.store import LeadStore

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What every model of one supervision point trains and is judged on."""

    table: Any
    split: Any
    outcomes: pd.DataFrame
    #: every model of the point on the same periods and k (None: a point of one model)
    comparison: Any = None


@dataclass
class Job:
    """What every scenario's training shares: where things are and how to decide."""

    data: str | None
    seed: int
    settings: MlflowSettings
    client: MlflowClient
    store: LeadStore
    require_real: bool
    policies: dict[str, Policy] = field(default_factory=dict)
    as_of: date | None = None  # None: the pool's latest date (the loop replays earlier ones)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    #: wall, CPU seconds and peak resident set per scenario and stage (the scale benchmark)
    meter: Meter = field(default_factory=Meter)
    #: told "<scenario>: <stage>" as each stage starts (the progress bar and the log)
    on_stage: Callable[[str], None] | None = None
    #: features, store outcomes and backtest split per supervision point and as-of date: the
    #: models of one point are judged on the same backtest and built once
    prepared: dict[tuple, Prepared] = field(default_factory=dict)
    #: feature tables of a point as of a past day (the backtest's cutoffs), built once
    tables: dict[tuple, Any] = field(default_factory=dict)
    compared: set[tuple] = field(default_factory=set)
    #: fits already made in this job (the comparison's first cutoff is the gate backtest's)
    fits: FitCache = field(default_factory=FitCache)
    #: run the point comparison (the loop, which trains one model of a point, does not)
    compare_points: bool = True

    def policy(self, scenario: str) -> Policy:
        """The scenario's policy (an override given to ``run`` wins)."""
        return self.policies.get(scenario) or policy_for(scenario)

    @contextmanager
    def stage(self, scenario: str, name: str) -> Iterator[None]:
        """Time one stage of one scenario (the benchmark reads these)."""
        log.debug("%s: %s", scenario, name)
        if self.on_stage is not None:
            self.on_stage(f"{scenario}: {name}")
        started = time.perf_counter()
        try:
            with self.meter.stage(scenario, name):
                yield
        finally:
            per = self.timings.setdefault(scenario, {})
            per[name] = per.get(name, 0.0) + time.perf_counter() - started


class ScenarioFailed(RuntimeError):
    """Training one scenario failed on its data or features; names the scenario."""

    def __init__(self, scenario: str, cause: Exception) -> None:
        super().__init__(
            f"training stopped at scenario {scenario!r}: {type(cause).__name__}: {cause}"
        )
        self.scenario = scenario


@dataclass
class Outcome:
    """One scenario's result for the final table."""

    scenario: str
    version: int
    lifecycle: str
    precision: str
    changed: str
    champion: int | None
    leads: int
    metrics: dict[str, float]
    gate: str = ""  # the gate's metric, value and interval


@dataclass
class Candidate:
    """A fitted candidate with its features and backtest."""

    scenario: str
    as_of: date | None
    table: Any
    columns: list[str]
    model: Any
    backtest: BacktestResult
    hashes: dict[str, str]
    comparison: Any = None  # training.point_backtest.PointComparison of the point

    @property
    def model_kind(self) -> str:
        """``rules`` or ``scorer``, as declared."""

        return feature_registry.get(self.scenario).kind


def directions(scenario: str) -> dict[str, str]:
    """Which way each declared feature is suspicious (the detector reads tails accordingly)."""

    return {spec.name: spec.direction for spec in feature_registry.get(scenario).features}


def fit_candidate(job: Job, scenario: str, policy: Policy) -> Candidate:
    """Features as of the latest date, time-ordered backtest, then the fit on everything known
    (a model with a cadence: stacked snapshots and a walk-forward backtest instead)."""

    declared = feature_registry.get(scenario)
    if declared.cadence is not None:
        return fit_panel_candidate(job, scenario, policy)
    as_of = latest_as_of(job.data, scenario)
    if job.as_of is not None and as_of is not None:
        as_of = job.as_of
    key = (data_owner(scenario), as_of, job.as_of, policy.holdout_months, declared.policy.split)
    with job.stage(scenario, "features"):
        prepared = job.prepared.get(key)
        if prepared is None:
            table = build_features(scenario, as_of, job.data)
            # labels as known when the job runs: today for `make train` (outcomes recorded
            # after the pool's last day are about leads on that day's data), the replayed day
            # in the loop; the outcomes of every model of the point
            outcomes = store_outcomes(job.store, scenario)
            table.frame = with_store_labels(table.frame, outcomes, job.as_of)
            split = backtest_split(
                scenario,
                job.data,
                table,
                as_of,
                policy.holdout_months,
                outcomes,
                features_cache(job.tables, data_owner(scenario), job.data),
            )
            prepared = job.prepared.setdefault(key, Prepared(table, split, outcomes))
        table, split = prepared.table, prepared.split
        columns = list(declared.feature_names)
    if job.compare_points and key not in job.compared:
        with job.stage(scenario, "compare"):
            job.compared.add(key)
            prepared.comparison = point_comparison(
                scenario,
                job.data,
                table.frame,
                split,
                as_of,
                prepared.outcomes,
                job.policy(data_owner(scenario)),
                lambda n: make_estimator(n, job.seed),
                job.tables,
                job.fits,
            )

    def make() -> Any:
        return make_estimator(scenario, job.seed)

    with job.stage(scenario, "backtest"):
        result = run_backtest(
            split, columns, make, policy.k, lambda X, y: job.fits.fit(scenario, make, X, y)
        )
        job.fits.forget(scenario)  # each model is fitted once per job and as-of date
    with job.stage(scenario, "fit"):
        frame = table.frame
        model = make_estimator(scenario, job.seed).fit(
            frame[columns], frame["label"].to_numpy(dtype=float)
        )
    hashes = {
        "feature_set_hash": own_feature_set(scenario),
        "data_hash": data_hash(job.data, scenario),
        "code_version": code_version(),
    }
    return Candidate(scenario, as_of, table, columns, model, result, hashes, prepared.comparison)


def own_feature_set(scenario: str) -> str:
    """The hash of the model's own feature declarations (``features.build.feature_set_hash``),
    which the service compares with the feature table it serves the model on. A rule model
    trains on its supervision point's table (the same features, built once for the point), whose
    hash names the point; its versions must carry its own, or the service would refuse them."""

    return feature_set_hash(feature_registry.get(scenario))


def make_estimator(scenario: str, seed: int) -> Any:
    """The unfitted estimator of a model: its declared rules (nothing to fit) or the scorer."""
    # deferred: the scorer's detector loads pyod and numba, kept off `supervision train --help`
    from training.scorers import default_scorer

    declared = feature_registry.get(scenario)
    if declared.rules is not None:
        return rule_scorer_for(declared)
    return default_scorer(random_state=seed, directions=directions(scenario))


def fit_panel_candidate(job: Job, scenario: str, policy: Policy) -> Candidate:
    """A model with a cadence: build the snapshots, walk forward, fit on the latest window."""

    cadence = feature_registry.get(scenario).cadence
    assert cadence is not None
    as_of = job.as_of or latest_as_of(job.data, scenario)
    if as_of is None:
        raise ValueError(f"model {scenario!r} has a cadence but its sources carry no dates")
    # judged periods end ``delay`` periods before the as-of date (their outcomes must have had
    # time to come back), and each is trained on a window ending ``delay`` periods before it
    span = cadence.horizon + 2 * cadence.delay + cadence.window - 1
    ends = pn.period_ends(as_of, cadence, span)
    with job.stage(scenario, "features"):
        panel = pn.Panel(
            pn.build_panel(scenario, job.data, ends), pn.history(job.data, scenario), cadence
        )
    columns = list(feature_registry.get(scenario).feature_names)

    def make() -> Any:
        return make_estimator(scenario, job.seed)

    with job.stage(scenario, "backtest"):
        judged = pn.period_ends(ends[-1 - cadence.delay], cadence, cadence.horizon)
        walk = pn.walk_forward(panel, judged, columns, make, policy.k, eventually=as_of)
        result = _panel_result(walk, policy.k)
    with job.stage(scenario, "fit"):
        train_ends = pn.period_ends(ends[-1 - cadence.delay], cadence, cadence.window)
        frame = panel.frame(train_ends, known_by=as_of)
        model = make().fit(frame[columns], frame["label"].to_numpy(dtype=float))
    table = panel.tables[as_of]
    table.frame = panel.frame([as_of], known_by=as_of).drop(columns="snapshot")
    hashes = {
        "feature_set_hash": own_feature_set(scenario),
        "data_hash": data_hash(job.data, scenario),
        "code_version": code_version(),
    }
    return Candidate(scenario, as_of, table, columns, model, result, hashes)


def _panel_result(walk: Any, k: int) -> BacktestResult:
    """Walk-forward figures as the gate reads them: precision at capacity is the mean over
    the judged periods (interval: Wilson on the pooled top-k hits), AP and AUC pooled."""

    per = walk.per_period
    judged = per[per[f"precision@{k}"].notna()]
    taken = np.minimum(judged["n_judged"].to_numpy(), k)
    hits = float((judged[f"precision@{k}"].to_numpy() * taken).sum())
    low, high = wilson_interval(hits, int(taken.sum()))
    labels = walk.holdout["label"].to_numpy(dtype=float)
    metrics = {
        "precision_at_k": float(judged[f"precision@{k}"].mean()),
        "precision_at_k_low": low,
        "precision_at_k_high": high,
        "k": float(k),
        "recall_at_k": float("nan"),
        "average_precision": average_precision(labels, walk.scores),
        "roc_auc": roc_auc(labels, walk.scores),
        "base_rate": float(labels.mean()),
        "n_holdout": float(len(labels)),
        "n_periods": float(len(judged)),
        "n_train_labelled": float(per["n_train_labelled"].mean()),
    }
    known = pd.Series(walk.holdout["snapshot"].to_numpy())
    holdout = walk.holdout.drop(columns="snapshot")
    return BacktestResult(metrics, labels, walk.scores, holdout, known, k, per)


def champion_scores(job: Job, cand: Candidate) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The current champion's scores on the candidate's holdout rows, and the mask of rows it
    had not learnt from (outcomes known after its as-of date); (None, None) if it cannot score
    them (different feature set)."""
    champion = reg.alias_version(job.client, cand.scenario, reg.CHAMPION)
    if champion is None:
        return None, None
    tags = reg.get_version(job.client, cand.scenario, champion).tags
    if tags.get("feature_set_hash") != cand.hashes["feature_set_hash"]:
        return None, None
    model = mlflow.pyfunc.load_model(f"models:/{reg.model_name(cand.scenario)}/{champion}")
    scores = model.predict(cand.backtest.holdout)["score"].to_numpy()
    trained = tags.get("as_of", "None")
    if trained == "None":
        return scores, np.zeros(len(scores), bool)
    fair = (cand.backtest.known_on > pd.Timestamp(trained)).to_numpy()
    return scores, fair


def record_candidate(job: Job, cand: Candidate, policy: Policy) -> tuple[int, str, pd.DataFrame]:
    """MLflow run + registered version; returns (version, run id, ranked leads of the
    candidate)."""

    declared = feature_registry.get(cand.scenario)
    specs, kind = list(declared.features), declared.kind
    with job.stage(cand.scenario, "explain"):
        picked, extra = ranked_leads(
            cand.model,
            kind,
            cand.columns,
            cand.table.frame,
            policy.capacity,
            specs,
            declared.amount,
            policy.pick,
        )
        contrib = _shap_sample(cand, job.seed) if kind == "scorer" else None
    params = {
        "scenario": cand.scenario,
        "seed": job.seed,
        "as_of": cand.as_of,
        "model": type(cand.model).__name__,
        "k": policy.k,
        "floor": policy.floor,
        "n_entities": len(cand.table.frame),
        "n_labelled": int(cand.table.frame["label"].notna().sum()),
        **{
            f"scorer.{k}": v
            for k, v in cand.model.get_params(deep=False).items()
            if isinstance(v, int | float | str | bool | type(None))
        },
    }
    m = cand.backtest.metrics
    picks = backtest_picks(cand)
    tags = {
        **cand.hashes,
        "scenario": cand.scenario,
        "kind": kind,
        "as_of": str(cand.as_of),
        "point": declared.supervision_point,
        "backtest.precision_at_k": f"{m['precision_at_k']:.4f}",
        "backtest.k": int(m["k"]),
        "backtest.average_precision": f"{m['average_precision']:.4f}",
        **(cand.comparison.tags(cand.scenario) if cand.comparison is not None else {}),
        **truth_at_capacity(
            cand.model,
            cand.columns,
            cand.table.frame,
            job.data,
            cand.scenario,
            cand.as_of,
            policy.capacity,
        ),
    }
    artifacts = {
        "plots/precision_at_k.png": lambda p: plot_precision_at_k(cand.backtest, p),
        "plots/pr_curve.png": lambda p: plot_pr_curve(cand.backtest, p),
        "leads/ranked_leads_sample.csv": leads_sample(picked),
        "data/join_report.csv": cand.table.join_report,
        "backtest/picks.csv": picks,
    }
    if contrib is not None:
        artifacts["shap/shap_summary.png"] = lambda p: shap_summary(contrib, p.parent)
    else:
        artifacts["rules/fired_counts.csv"] = rule_counts(cand)
    if cand.backtest.per_period is not None:
        artifacts["backtest/per_period.csv"] = cand.backtest.per_period
    with job.stage(cand.scenario, "mlflow"):
        exp = experiment_id(job.client, reg.model_name(cand.scenario), job.settings)
        record = record_run(
            exp,
            f"train-{cand.scenario}",
            params,
            {**cand.backtest.metrics, **extra, **blend_metrics(cand.model), **pick_metrics(picks)},
            tags,
            artifacts,
            cand.model,
            cand.columns,
            cand.table.frame,
            kind=kind,
        )
        version = reg.register_version(
            job.client,
            cand.scenario,
            record.model.model_uri,
            record.run_id,
            {**tags, "trained_at": reg.now_iso(), "seed": job.seed},
        )
    return version, record.run_id, picked


def backtest_picks(cand: Candidate) -> pd.DataFrame:
    """Precision@k and amount recovered on the backtest when the k are picked by score and by
    expected value (``evaluation.backtest.compare_picks``), printed for the run's reader."""
    bt = cand.backtest
    holdout = bt.holdout
    amount = (
        holdout[AMOUNT_COLUMN].to_numpy(dtype="float64")
        if AMOUNT_COLUMN in holdout
        else np.full(len(holdout), np.nan)
    )
    picks = compare_picks(bt.labels, bt.scores, bt.probability, amount, bt.k)
    log.info("%s: backtest picks %s", cand.scenario, format_picks(picks))
    return picks


def pick_metrics(picks: pd.DataFrame) -> dict[str, float]:
    """``pick.<pick>.precision_at_k`` / ``.amount_recovered`` for MLflow (NaN rows left out)."""
    out = {}
    for row in picks.itertuples(index=False):
        for name in ("precision_at_k", "amount_recovered"):
            value = float(getattr(row, name))
            if np.isfinite(value):
                out[f"pick.{row.pick}.{name}"] = value
    return out


def blend_metrics(model: Any) -> dict[str, float]:
    """What the scorer learnt about its detector: its AUC on the labelled rows and the blend
    weight it earned (negative: flipped), when the fit had labels to learn them from."""
    out = {}
    for name in ("detector_auc_", "detector_weight_", "model_auc_"):
        value = getattr(model, name, None)
        if isinstance(value, int | float) and np.isfinite(value):
            out[f"scorer.{name.rstrip('_')}"] = float(value)
    return out


def rule_counts(cand: Candidate) -> pd.DataFrame:
    """How many entities each rule fires on, in the whole table and per district (artifact)."""
    frame = cand.table.frame
    fired = cand.model.fired_matrix(frame[cand.columns])
    names = cand.model.rules.names
    counts = pd.DataFrame(fired, columns=names).groupby(frame["district"].to_numpy()).sum()
    counts.loc["(all)"] = fired.sum(axis=0)
    return counts.rename_axis("district").reset_index()


def _shap_sample(cand: Candidate, seed: int, n: int = 300) -> pd.DataFrame:
    """SHAP contributions of a reproducible sample of rows (for the summary artifact)."""

    frame = cand.table.frame
    rows = frame.sample(min(n, len(frame)), random_state=seed).index
    exps = explain_scorer(cand.model, frame, list(rows))
    return pd.DataFrame([e.contributions for e in exps])


def decide(job: Job, cand: Candidate, version: int, policy: Policy) -> list[Decision]:
    """Gate, then the overlap check with the point's served models on the point's common
    backtest top-k (a warning, tagged and printed), then (demo) certification: which lifecycle
    the new version ends in."""

    with job.stage(cand.scenario, "gate"):
        champ, fair = champion_scores(job, cand)
        bt = cand.backtest
        decision = gate_candidate(
            job.client, cand.scenario, version, GateInput(bt.labels, bt.scores, champ, fair), policy
        )
    decisions = [decision]
    if decision.lifecycle == reg.CHALLENGER and cand.comparison is not None:
        for line in check_overlap(
            job.client,
            cand.scenario,
            version,
            cand.comparison.overlap.loc[cand.scenario].to_dict(),
            policy.max_overlap,
        ):
            log.info("%s", line)
    if decision.lifecycle == reg.CHALLENGER and not job.require_real:
        with job.stage(cand.scenario, "mlflow"):
            decisions.append(certify_demo(job.client, cand.scenario, version, False))
    return decisions


def ensure_detector(job: Job, cand: Candidate) -> int:
    """Register the unsupervised detector baseline once per scenario (the last fallback)."""
    existing = [
        v
        for v in reg.list_versions(job.client, cand.scenario)
        if v.tags.get("kind") == "detector" and v.lifecycle != reg.RETIRED
    ]
    if existing:
        return existing[-1].version
    # deferred: pyod loads only when a detector baseline must be fitted
    from training.detectors import default_detector

    with job.stage(cand.scenario, "fit"):
        detector = default_detector(
            random_state=job.seed, directions=directions(cand.scenario)
        ).fit(cand.table.frame[cand.columns])
    with job.stage(cand.scenario, "mlflow"):
        exp = experiment_id(job.client, reg.model_name(cand.scenario), job.settings)
        tags = {
            **cand.hashes,
            "scenario": cand.scenario,
            "kind": "detector",
            "as_of": str(cand.as_of),
        }
        record = record_run(
            exp,
            f"detector-{cand.scenario}",
            {"seed": job.seed},
            {},
            tags,
            {},
            detector,
            cand.columns,
            cand.table.frame,
            kind="detector",
        )
        version = reg.register_version(
            job.client,
            cand.scenario,
            record.model.model_uri,
            record.run_id,
            {**tags, "trained_at": reg.now_iso()},
        )
        mark_baseline(job.client, cand.scenario, version)
    return version


def serve_leads(
    job: Job, cand: Candidate, version: int, picked: pd.DataFrame, run_id: str, policy: Policy
) -> int:
    """Write the champion's leads: the candidate's own if it won, else the champion's."""
    champion = reg.alias_version(job.client, cand.scenario, reg.CHAMPION)
    if champion is None:
        return 0
    with job.stage(cand.scenario, "leads"):
        if champion != version:
            picked = _champion_leads(job, cand, champion, policy)
            if picked is None:
                return 0
        write_leads(
            job.store,
            picked,
            run_id,
            cand.scenario,
            reg.model_name(cand.scenario),
            champion,
            cand.as_of,
        )
    return len(picked)


def _champion_leads(
    job: Job, cand: Candidate, champion: int, policy: Policy
) -> pd.DataFrame | None:
    """Rank with the served champion (loaded from the registry, as the service does)."""

    info = reg.get_version(job.client, cand.scenario, champion)
    if info.tags.get("feature_set_hash") != cand.hashes["feature_set_hash"]:
        log.warning(
            "%s: champion v%s uses another feature set; no leads written", cand.scenario, champion
        )
        return None
    estimator = load_estimator(reg.version_source(job.client, cand.scenario, champion))
    declared = feature_registry.get(cand.scenario)
    picked, _ = ranked_leads(
        estimator,
        info.tags.get("kind", "scorer"),
        cand.columns,
        cand.table.frame,
        policy.capacity,
        list(declared.features),
        declared.amount,
        policy.pick,
    )
    return picked


def what_changed(job: Job, cand: Candidate, previous: int | None) -> str:
    """Compare with the champion before this run: data, features, code, metric."""
    if previous is None:
        return "first version"
    tags = reg.get_version(job.client, cand.scenario, previous).tags
    parts = [
        name
        for name, key in (
            ("data", "data_hash"),
            ("features", "feature_set_hash"),
            ("code", "code_version"),
        )
        if tags.get(key) != cand.hashes[key]
    ]
    value = tags.get("gate.value")
    ap = tags.get("gate.metric") == "average_precision"
    mine = cand.backtest.metrics["average_precision" if ap else "precision_at_k"]
    diff = round(mine - float(value or 0), 3) + 0.0
    delta = (
        (f"; {'AP' if ap else 'p@k'} {diff:+.3f} vs v{previous}") if value else f"; vs v{previous}"
    )
    return (", ".join(parts) + " changed" if parts else "nothing changed") + delta


def train_scenario(job: Job, scenario: str) -> Outcome:
    """The whole chain for one scenario."""
    policy = job.policy(scenario)
    cand = fit_candidate(job, scenario, policy)
    job.meter.rows[scenario] = dict.fromkeys(
        job.meter.costs.get(scenario, {}) | {"explain": 0, "mlflow": 0, "gate": 0, "leads": 0},
        len(cand.table.frame),
    )
    previous = (
        reg.alias_version(job.client, scenario, reg.CHAMPION)
        if scenario in reg.list_scenarios(job.client)
        else None
    )
    version, run_id, picked = record_candidate(job, cand, policy)
    decisions = decide(job, cand, version, policy)
    # a rule model has no detector fallback: if its rules fail the gate, nothing of it serves
    detector = ensure_detector(job, cand) if cand.model_kind == "scorer" else None
    if (
        detector is not None
        and reg.alias_version(job.client, scenario, reg.CHAMPION) is None
        and not job.require_real
    ):
        with job.stage(scenario, "mlflow"):
            promote(
                job.client,
                scenario,
                detector,
                decided_by="train",
                reason="no certified supervised version yet: the detector baseline serves",
            )
    n_leads = serve_leads(job, cand, version, picked, run_id, policy)
    m = cand.backtest.metrics
    if cand.backtest.per_period is not None:
        # a result of the run (table output), not a log line
        print(
            f"  {scenario}: walk-forward backtest, precision at capacity per period\n"
            + cand.backtest.per_period.to_string(index=False),
            flush=True,
        )
    ev = decisions[0].evidence
    gate = f"{ev['gate.metric']} {float(ev['gate.value']):.3f} {ev['gate.interval']}"
    return Outcome(
        scenario,
        version,
        decisions[-1].lifecycle,
        f"{m['precision_at_k']:.3f} [{m['precision_at_k_low']:.2f}, "
        f"{m['precision_at_k_high']:.2f}] @{int(m['k'])}",
        what_changed(job, cand, previous) + f" ({decisions[0].reason})",
        reg.alias_version(job.client, scenario, reg.CHAMPION),
        n_leads,
        m,
        gate,
    )


def open_job(
    data: str | None,
    seed: int,
    root: Path | None,
    require_real: bool | None,
    leads_url: str | None = None,
    store: LeadStore | None = None,
) -> Job:
    """Open the MLflow store and the lead store (unless one is given)."""
    # deferred: sqlalchemy loads when a job opens its stores, not for `--help`
    from leads.db import default_url
    from leads.store import LeadStore

    settings = resolve(root=root)
    client = open_client(settings)
    store = store if store is not None else LeadStore.open(leads_url or default_url(data))
    return Job(data, seed, settings, client, store, require_real_approvals(require_real))


def run(
    scenarios: list[str] | None = None,
    data: str | None = None,
    seed: int = 42,
    root: Path | None = None,
    scale: float = 1.0,
    require_real: bool | None = None,
    leads_url: str | None = None,
    policies: dict[str, Policy] | None = None,
    on_result: Callable[[Outcome], None] | None = None,
) -> tuple[list[Outcome], Job]:
    """Train every scenario; the pool is built if absent and validated before anything else."""
    scenarios = scenarios or trainable_scenarios()
    with logs.run_context() as run_id, progress("training", total=len(scenarios)) as advance:
        log.info("training run %s: %s", run_id, ", ".join(scenarios))
        meter = Meter()
        with meter.stage("(setup)", "pool build"):
            ensure_pool(data, seed, scale, scenarios)
        with meter.stage("(setup)", "validate"):
            validate_pool(data, scenarios)
        with meter.stage("(setup)", "mlflow"):
            job = open_job(data, seed, root, require_real, leads_url)
        job.meter = meter
        job.policies = dict(policies or {})
        job.on_stage = lambda text: advance(0, description=f"training {text}")
        job.timings["(setup)"] = dict(meter.wall()["(setup)"])
        outcomes = []
        try:
            for scenario in scenarios:
                try:
                    outcome = train_scenario(job, scenario)
                except (FileNotFoundError, KeyError, ValueError) as exc:
                    raise ScenarioFailed(scenario, exc) from exc
                outcomes.append(outcome)
                advance()
                log.info("%s: v%s %s", outcome.scenario, outcome.version, outcome.lifecycle)
                if on_result:
                    on_result(outcome)
        finally:
            job.store.close()
    return outcomes, job


def summary_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """The table ``make train`` ends with."""
    return pd.DataFrame(
        [
            {
                "scenario": o.scenario,
                "version": o.version,
                "lifecycle": o.lifecycle,
                "champion": o.champion,
                "precision@k [95% CI]": o.precision,
                "gate metric": o.gate,
                "leads": o.leads,
                "what changed": o.changed,
            }
            for o in outcomes
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = train_parser()
    return parser.parse_args(argv)


def _print_outcome(outcome: Outcome) -> None:
    """One result line per model as it is decided (the table at the end repeats them)."""
    print(f"  {outcome.scenario}: v{outcome.version} {outcome.lifecycle}", flush=True)


def timing_table(job: Job) -> pd.DataFrame:
    """Seconds per stage and scenario (MLflow bookkeeping is the ``mlflow`` column)."""
    return pd.DataFrame(job.timings).T.fillna(0.0).round(1)


def main(argv: list[str] | None = None) -> int:

    args = parse_args(argv)
    unknown = sorted(set(args.scenarios or []) - set(trainable_scenarios()))
    if unknown:
        print(
            f"unknown model(s) {unknown}; discovered: {trainable_scenarios()} (add a folder "
            f"or file to $SUPERVISION_MODELS to train your own)",
            file=sys.stderr,
        )
        return exits.REFUSED
    started = time.perf_counter()
    try:
        outcomes, job = run(
            args.scenarios, args.data, args.seed, args.root, args.scale, on_result=_print_outcome
        )
    except PoolError as exc:  # the data given is refused (see console.exits)
        print(
            f"training stopped, nothing registered: the pool failed validation\n{exc}",
            file=sys.stderr,
        )
        return exits.REFUSED
    except ImportFailure as exc:  # a declared file or table could not be imported: refused
        print(
            f"training stopped, nothing registered: a declared input could not be imported\n{exc}",
            file=sys.stderr,
        )
        return exits.REFUSED
    except ScenarioFailed as exc:
        print(f"{exc}\n(scenarios before it were trained and registered)", file=sys.stderr)
        return exits.FAILED
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(format_frame(summary_table(outcomes)))
        print("\nseconds per stage:\n" + timing_table(job).to_string())
    print(
        f"\ntrained {len(outcomes)} scenario(s) in {time.perf_counter() - started:.0f} s; "
        "`python -m training.ledger` shows every version"
    )
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

"""Retirement by conversion: the ledger watches how many of each version's leads become cases.

Counts per version come from the lead store (issued, verified, cases). Every review logs the
conversion and its Wilson interval to a per-scenario monitoring run, as metrics with steps and
timestamps, so MLflow shows each version's conversion over time. A served version whose interval
lies wholly below the scenario's bar, once enough leads are verified, is retired; the
``champion`` alias returns to the last good certified version, or to the detector baseline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from evaluation.metrics import Conversion, conversion
from training import model_registry as reg
from training.lifecycle import Decision, is_certified, promote
from training.mlflow_setup import MlflowSettings, experiment_id
from training.train_policy import Policy

MONITORING_TAG = "monitoring_run_id"


@dataclass(frozen=True)
class VersionCounts:
    """What the lead store knows about one version's leads."""

    version: int
    issued: int
    verified: int
    cases: int


def monitoring_run(client: MlflowClient, scenario: str, settings: MlflowSettings) -> str:
    """The scenario's monitoring run id, created once and remembered as a registered-model tag
    (found through the registry, not by searching runs)."""
    reg.ensure_model(client, scenario)
    run_id = reg.model_tags(client, scenario).get(MONITORING_TAG)
    if run_id:
        return run_id
    exp = experiment_id(client, reg.model_name(scenario), settings)
    run = client.create_run(
        exp,
        run_name=f"monitoring-{scenario}",
        tags={"purpose": "conversion monitoring", "scenario": scenario},
    )
    reg.set_model_tag(client, scenario, MONITORING_TAG, run.info.run_id)
    return run.info.run_id


def log_conversion(
    client: MlflowClient,
    scenario: str,
    settings: MlflowSettings,
    counts: Iterable[VersionCounts],
    step: int,
    timestamp_ms: int | None = None,
) -> dict[int, Conversion]:
    """Log each version's conversion (value, interval, counts) at ``step``; one batch call.

    Also writes the latest figures as version tags so the ledger reads them without history.
    """
    run_id = monitoring_run(client, scenario, settings)
    ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    metrics, result = [], {}
    for c in counts:
        conv = conversion(c.issued, c.verified, c.cases)
        result[c.version] = conv
        values = {
            "issued": conv.issued,
            "verified": conv.verified,
            "cases": conv.cases,
            "conversion": conv.value,
            "conversion_low": conv.low,
            "conversion_high": conv.high,
        }
        metrics += [
            Metric(f"{name}_v{c.version}", float(v), ts, step)
            for name, v in values.items()
            if not math.isnan(float(v))
        ]
        reg.set_tags(
            client,
            scenario,
            c.version,
            {
                "leads.issued": conv.issued,
                "leads.verified": conv.verified,
                "leads.cases": conv.cases,
                "conversion.value": _fmt(conv.value),
                "conversion.interval": f"[{conv.low:.4f}, {conv.high:.4f}]",
                "conversion.step": step,
            },
        )
    if metrics:
        client.log_batch(run_id, metrics=metrics)
    return result


def review_conversion(
    client: MlflowClient,
    scenario: str,
    settings: MlflowSettings,
    counts: Iterable[VersionCounts],
    policy: Policy,
    step: int,
    fallback: Callable[[], int] | None = None,
    decided_by: str = "conversion-monitor",
) -> list[Decision]:
    """Log conversion, retire served versions that fell below the bar, move the champion.

    ``fallback`` registers a detector baseline version when none exists and nothing good is left.
    """
    convs = log_conversion(client, scenario, settings, counts, step)
    decisions = []
    for version, conv in sorted(convs.items()):
        info = reg.get_version(client, scenario, version)
        if info.lifecycle not in (reg.CHAMPION, reg.CHALLENGER):
            continue
        if conv.verified < policy.min_verified or conv.high >= policy.bar:
            continue
        decisions.append(_retire(client, scenario, info, conv, policy, decided_by))
        if info.lifecycle == reg.CHAMPION:
            decisions.append(_replace_champion(client, scenario, version, fallback))
    return decisions


def _retire(
    client: MlflowClient,
    scenario: str,
    info: reg.VersionInfo,
    conv: Conversion,
    policy: Policy,
    decided_by: str,
) -> Decision:
    """Set ``retired`` with the conversion evidence."""
    reason = (
        f"conversion {conv.cases}/{conv.verified} = {conv.value:.3f}, 95% interval "
        f"[{conv.low:.3f}, {conv.high:.3f}] wholly below the bar {policy.bar:.3f} "
        f"after {conv.verified} verified leads (minimum {policy.min_verified})"
    )
    evidence = {
        "retire.metric": "conversion",
        "retire.value": _fmt(conv.value),
        "retire.interval": f"[{conv.low:.4f}, {conv.high:.4f}]",
        "retire.threshold": policy.bar,
        "retire.n_verified": conv.verified,
        "retire.min_verified": policy.min_verified,
        "retire.decided_by": decided_by,
        "retire.decided_at": reg.now_iso(),
        "retire.reason": reason,
        "retire.was": info.lifecycle,
    }
    reg.set_lifecycle(client, scenario, info.version, reg.RETIRED, evidence)
    if reg.alias_version(client, scenario, reg.CHALLENGER) == info.version:
        reg.drop_alias(client, scenario, reg.CHALLENGER)
    return Decision(
        scenario, info.version, reg.RETIRED, reason, {k: str(v) for k, v in evidence.items()}
    )


def _replace_champion(
    client: MlflowClient, scenario: str, retired: int, fallback: Callable[[], int] | None
) -> Decision:
    """Champion to the newest certified supervised challenger, else the detector baseline."""
    versions = reg.list_versions(client, scenario)
    good = [
        v
        for v in versions
        if v.lifecycle == reg.CHALLENGER
        and is_certified(v.tags)
        and v.tags.get("kind") != "detector"
    ]
    target: int | None
    if good:
        target = good[-1].version
        reason = f"v{retired} retired; last good certified version v{target} takes over"
    else:
        detectors = [
            v
            for v in versions
            if v.lifecycle == reg.CHALLENGER and v.tags.get("kind") == "detector"
        ]
        target = detectors[-1].version if detectors else (fallback() if fallback else None)
        reason = f"v{retired} retired and no certified version left; detector v{target} serves"
    if target is None:
        reg.drop_alias(client, scenario, reg.CHAMPION)
        reason = f"v{retired} retired; nothing left to serve (no detector baseline registered)"
        reg.set_model_tag(client, scenario, "no_champion_reason", reason)
        return Decision(scenario, retired, reg.RETIRED, reason)
    return promote(client, scenario, target, decided_by="conversion-monitor", reason=reason)


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4f}"

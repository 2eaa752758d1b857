"""Decisions of the model ledger: the offline gate, dual certification and promotion.

Each decision writes its evidence as version tags (metric, value, threshold, interval, sample
size, who decided and when) so the ledger can always say why a version is where it is.
Retirement by conversion lives in ``training.ledger_retire``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mlflow.tracking import MlflowClient

from training import model_registry as reg
from training.cli_args import LINES
from training.gate_metrics import GateMetric, compare_to_champion, gate_metric
from training.train_policy import Policy, require_real_approvals

DEMO_APPROVER = "demo-auto"


@dataclass(frozen=True)
class Decision:
    """The outcome of one ledger decision, as recorded in the tags."""

    scenario: str
    version: int
    lifecycle: str
    reason: str
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GateInput:
    """Backtest rows for the gate: verified labels (0/1), the candidate's scores and, when the
    champion can score the same rows, its scores too. Without champion scores the gate falls back
    to comparing intervals with the champion's recorded precision@k. ``paired`` restricts the
    comparison to rows the champion had not learnt from (outcomes known after its as-of date)."""

    labels: np.ndarray
    candidate: np.ndarray
    champion: np.ndarray | None = None
    paired: np.ndarray | None = None  # rows where the champion's scores are fair (boolean mask)


def gate_candidate(
    client: MlflowClient,
    scenario: str,
    version: int,
    data: GateInput,
    policy: Policy,
    decided_by: str = "offline-gate",
) -> Decision:
    """Drop the candidate or make it a challenger, from its backtest and the champion's.

    Why the comparison: a new version that is only as good as the champion adds churn and no
    value; "better" must survive the noise of a few hundred verified rows.
    """
    pk = gate_metric(
        data.labels, data.candidate, policy.metric, policy.k, policy.n_boot, policy.seed
    )
    evidence = {
        "gate.metric": pk.name,
        "gate.value": f"{pk.value:.4f}",
        "gate.interval": f"[{pk.low:.4f}, {pk.high:.4f}]",
        "gate.threshold": policy.floor,
        "gate.n": pk.n,
        "gate.decided_by": decided_by,
        "gate.decided_at": reg.now_iso(),
    }
    if pk.k is not None:
        evidence["gate.k"] = pk.k
        if pk.k >= pk.n:
            evidence["gate.warning"] = (
                f"k={pk.k} covers all {pk.n} backtest rows: precision@k "
                "is their base rate, whatever the model"
            )
    if pk.value < policy.floor:
        reason = f"{pk.name}={pk.value:.3f} below the floor {policy.floor:.3f}"
        return _decide(
            client, scenario, version, reg.DROPPED, reason, {**evidence, "gate.method": "floor"}
        )
    champion = reg.alias_version(client, scenario, reg.CHAMPION)
    if champion is None:
        reason = f"{pk.name}={pk.value:.3f} meets the floor; no champion to beat"
        return _decide(
            client, scenario, version, reg.CHALLENGER, reason, {**evidence, "gate.method": "floor"}
        )
    better, reason, extra = _beats_champion(client, scenario, champion, data, pk, policy)
    lifecycle = reg.CHALLENGER if better else reg.DROPPED
    return _decide(
        client,
        scenario,
        version,
        lifecycle,
        reason,
        {**evidence, **extra, "gate.champion_version": champion},
    )


def _beats_champion(
    client: MlflowClient,
    scenario: str,
    champion: int,
    data: GateInput,
    pk: GateMetric,
    policy: Policy,
) -> tuple[bool, str, dict]:
    """Paired bootstrap when the champion scored the same rows, else interval overlap (only
    against an interval of the same metric)."""
    mask = np.ones(len(data.labels), bool) if data.paired is None else data.paired
    if data.champion is not None and mask.sum() >= min(policy.k, len(mask)):
        cmp = compare_to_champion(
            data.labels[mask],
            data.candidate[mask],
            data.champion[mask],
            policy.k,
            n_boot=policy.n_boot,
            confidence=policy.confidence,
            seed=policy.seed,
            metric=policy.metric,
        )
        better = cmp.diff_low > 0
        verdict = "better than" if better else "not better than"
        reason = (
            f"{verdict} champion v{champion} beyond noise: {pk.name} difference "
            f"{cmp.diff:+.3f}, {policy.confidence:.0%} lower bound {cmp.diff_low:+.3f}"
        )
        return (
            better,
            reason,
            {
                "gate.method": "paired_bootstrap",
                "gate.diff": f"{cmp.diff:.4f}",
                "gate.diff_interval": f"[{cmp.diff_low:.4f}, {cmp.diff_high:.4f}]",
                "gate.n_boot": cmp.n_boot,
                "gate.paired_n": int(mask.sum()),
            },
        )
    tags = reg.get_version(client, scenario, champion).tags
    champ_high = _interval_high(tags.get("gate.interval"))
    if champ_high is None or tags.get("gate.metric", pk.name) != pk.name:
        return (
            True,
            f"champion v{champion} has no recorded {pk.name} interval; floor met",
            {"gate.method": "floor"},
        )
    better = pk.low > champ_high
    verdict = "better than" if better else "not better than"
    reason = (
        f"{verdict} champion v{champion} beyond noise: interval low {pk.low:.3f} vs "
        f"champion's high {champ_high:.3f}"
    )
    return (
        better,
        reason,
        {
            "gate.method": "interval_overlap",
            "gate.champion_interval": tags.get("gate.interval", ""),
        },
    )


def _interval_high(text: str | None) -> float | None:
    """Upper end of an interval tag written as ``[low, high]``."""
    if not text:
        return None
    return float(text.strip("[]").split(",")[1])


def mark_baseline(
    client: MlflowClient, scenario: str, version: int, decided_by: str = "train"
) -> Decision:
    """Make an unsupervised detector version a standing fallback (lifecycle ``challenger``).

    Why ungated: it is what serves when every supervised version has been retired; it needs no
    labels, so there is nothing to gate it on, and that is written down as its reason.
    """
    reason = "unsupervised detector baseline: fallback when no supervised version is left"
    return _decide(
        client,
        scenario,
        version,
        reg.CHALLENGER,
        reason,
        {
            "gate.method": "baseline",
            "gate.decided_by": decided_by,
            "gate.decided_at": reg.now_iso(),
        },
        set_challenger_alias=False,
    )


def _decide(
    client: MlflowClient,
    scenario: str,
    version: int,
    lifecycle: str,
    reason: str,
    evidence: dict,
    set_challenger_alias: bool = True,
) -> Decision:
    """Write the gate outcome; a new challenger also takes the ``challenger`` alias (shadow)."""
    tags = {
        k: str(v) for k, v in {**evidence, "gate.reason": reason, "gate.outcome": lifecycle}.items()
    }
    reg.set_lifecycle(client, scenario, version, lifecycle, tags)
    if lifecycle == reg.CHALLENGER and set_challenger_alias:
        reg.set_alias(client, scenario, reg.CHALLENGER, version)
    return Decision(scenario, version, lifecycle, reason, tags)


def approve(
    client: MlflowClient,
    scenario: str,
    version: int,
    line: str,
    approver: str,
    note: str = "",
    kind: str = "real",
    require_real: bool | None = None,
) -> Decision:
    """Record one line's approval (who, when, note); promote once both lines approved.

    Why two lines: the business line vouches the leads are worth a prosecutor's time, the data
    department that the data and the model are sound (dual certification, 双认证).
    """
    if line not in LINES:
        raise ValueError(f"unknown approval line {line!r}; expected one of {LINES}")
    if not approver or not approver.strip():
        raise ValueError("an approval needs the approver's name")
    if kind not in ("real", "demo"):
        raise ValueError(f"unknown approval kind {kind!r}; expected 'real' or 'demo'")
    if kind == "demo" and require_real_approvals(require_real):
        raise PermissionError(
            "demo approvals are refused: real approvals are mandatory "
            "(SUPERVISION_REQUIRE_REAL_APPROVALS is set); record them with training.approve"
        )
    info = reg.get_version(client, scenario, version)
    if info.lifecycle != reg.CHALLENGER:
        raise reg.LifecycleError(
            f"{reg.model_name(scenario)} v{version} is {info.lifecycle}; only a challenger "
            "(a version that passed its offline gate) can be approved"
        )
    prefix = f"approval.{line}"
    tags = {
        f"{prefix}.by": approver.strip(),
        f"{prefix}.at": reg.now_iso(),
        f"{prefix}.note": note,
        f"{prefix}.kind": kind,
    }
    kinds = {kind} | {info.tags.get(f"approval.{other}.kind") for other in LINES if other != line}
    tags["approval_kind"] = "demo" if "demo" in kinds else "real"
    reg.set_tags(client, scenario, version, tags)
    if is_certified(reg.get_version(client, scenario, version).tags):
        who = _approvers(client, scenario, version)
        return promote(client, scenario, version, decided_by=f"approvals of {who}")
    missing = [other for other in LINES if f"approval.{other}.by" not in {**info.tags, **tags}]
    return Decision(
        scenario,
        version,
        reg.CHALLENGER,
        f"{line} approval by {approver} recorded; awaiting {', '.join(missing)}",
        tags,
    )


def _approvers(client: MlflowClient, scenario: str, version: int) -> str:
    tags = reg.get_version(client, scenario, version).tags
    return " and ".join(f"{line}:{tags[f'approval.{line}.by']}" for line in LINES)


def certify_demo(
    client: MlflowClient, scenario: str, version: int, require_real: bool | None = None
) -> Decision:
    """The embedded demo's explicit, labelled approvals by ``demo-auto`` on both lines.

    Refused (PermissionError) when real approvals are mandatory.
    """
    decisions = [
        approve(
            client,
            scenario,
            version,
            line,
            DEMO_APPROVER,
            note="embedded demo: automatic approval, not a real certification",
            kind="demo",
            require_real=require_real,
        )
        for line in LINES
    ]
    return decisions[-1]


def is_certified(tags: dict[str, str]) -> bool:
    """Both lines have approved."""
    return all(f"approval.{line}.by" in tags for line in LINES)


def promote(
    client: MlflowClient,
    scenario: str,
    version: int,
    decided_by: str,
    reason: str = "certified by both lines",
) -> Decision:
    """Make a certified challenger the champion; the previous champion steps back to challenger.

    Why step back, not retire: the previous champion was certified and still converts; it is the
    natural fallback if the new one disappoints.
    """
    info = reg.get_version(client, scenario, version)
    if not is_certified(info.tags) and info.tags.get("gate.method") != "baseline":
        raise reg.LifecycleError(
            f"{reg.model_name(scenario)} v{version} lacks an approval; champion needs both "
            f"{' and '.join(LINES)}"
        )
    previous = reg.alias_version(client, scenario, reg.CHAMPION)
    if previous is not None and previous != version:
        if reg.get_version(client, scenario, previous).lifecycle == reg.CHAMPION:
            reg.set_lifecycle(
                client,
                scenario,
                previous,
                reg.CHALLENGER,
                {"superseded_by": version, "superseded_at": reg.now_iso()},
            )
    evidence = {
        "champion.since": reg.now_iso(),
        "champion.decided_by": decided_by,
        "champion.reason": reason,
        "champion.previous": previous if previous is not None else "none",
    }
    reg.set_lifecycle(client, scenario, version, reg.CHAMPION, evidence)
    reg.set_alias(client, scenario, reg.CHAMPION, version)
    if reg.alias_version(client, scenario, reg.CHALLENGER) == version:
        reg.drop_alias(client, scenario, reg.CHALLENGER)
    return Decision(
        scenario, version, reg.CHAMPION, reason, {k: str(v) for k, v in evidence.items()}
    )

"""A supervision model, declared in one place: sources, features, labels, policy, cadence.

``SupervisionModel`` is the one declaration shape. It is a ``ScenarioFeatures`` (entity, sources,
features with reasons, the feature expression) plus what the rest of the spine needs to train,
judge, serve and retire it: the ledger's ``Policy`` (gate metric, k, floor, conversion bar,
minimum verified, capacity per district, backtest horizon), an optional ``Cadence`` for models
whose entities are scored every day, week or month, and an optional simulator producing its
sources. Every field but the ``ScenarioFeatures`` core has a default, so a small model needs only
its sources and features. A model lives in one file or folder and is found through the
``SUPERVISION_MODELS`` setting (``pool.discovery``); nothing in training, serving, the lead store
or the web page names a model.

A rule model is the same declaration with ``rules`` set (``features.rules``) and, when it
stands beside a learnt model of the same supervision point, ``point`` naming that model: it
reads the point's sources, and its leads' outcomes are labels for every model of the point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal

from features.evidence import EvidenceView
from features.rules import RuleSet
from features.spec import BuildContext, ScenarioFeatures

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from pool.spec import ScenarioPool, SimConfig

Metric = Literal["precision_at_k", "average_precision"]
Split = Literal["verification", "groups"]
Every = Literal["day", "week", "month"]
Pick = Literal["score", "expected_value"]

METRICS: tuple[str, ...] = ("precision_at_k", "average_precision")
SPLITS: tuple[str, ...] = ("verification", "groups")
EVERY: tuple[str, ...] = ("day", "week", "month")
PICKS: tuple[str, ...] = ("score", "expected_value")


@dataclass(frozen=True)
class Policy:
    """How the ledger judges one model. Every number that keeps or retires a model is here,
    reviewable in a diff, with its default reason in the README.

    k: top-ranked backtest rows precision is measured on (a unit's verification budget).
    metric: the offline gate's metric, "precision_at_k" or "average_precision" (for a backtest
        whose base rate is so high, or whose holdout so small, that the top k says nothing).
    floor: a candidate whose backtest gate metric is below this is dropped.
    bar: a served version whose conversion interval lies wholly below this is retired.
    min_verified: verified leads needed before conversion may retire a version.
    capacity: leads written per district per run (a unit can verify only so many).
    holdout_months: the time-ordered backtest judges entities first verified in the last
        ``holdout_months`` months (models without a cadence and ``split="verification"``).
    split: "verification" (train as of a cutoff, judge what was verified after it) or "groups"
        (hold out a seeded ``holdout_share`` of whole groups: the part of ``entity_id`` before
        its last ``:``, e.g. whole tenders).
    confidence: one-sided confidence of the paired comparison with the champion.
    pick: how the ``capacity`` leads of a district are chosen: "score" (most suspicious first)
        or "expected_value" (probability of a case x amount at stake first; needs a declared
        amount estimate). The backtest reports precision@k and amount recovered of both.
    """

    k: int = 50
    metric: Metric = "precision_at_k"
    floor: float = 0.2
    bar: float = 0.15
    min_verified: int = 30
    capacity: int = 10
    holdout_months: int = 6
    split: Split = "verification"
    holdout_share: float = 0.2
    confidence: float = 0.9
    n_boot: int = 500
    seed: int = 0
    #: certification warns when a candidate's leads overlap a served model of the same
    #: supervision point by more than this share (a near-duplicate model, 同质化)
    max_overlap: float = 0.8
    pick: Pick = "score"

    def __post_init__(self) -> None:
        problems = []
        for name in ("k", "min_verified", "capacity", "holdout_months", "n_boot"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        for name in ("floor", "bar", "holdout_share", "confidence", "max_overlap"):
            value = getattr(self, name)
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not 0.0 <= float(value) <= 1.0
            ):
                problems.append(f"{name} must be a number in [0, 1], got {value!r}")
        if self.metric not in METRICS:
            problems.append(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.split not in SPLITS:
            problems.append(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.pick not in PICKS:
            problems.append(f"pick must be one of {PICKS}, got {self.pick!r}")
        if problems:
            raise ValueError("policy: " + "; ".join(problems))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Cadence:
    """A model whose entities are scored every ``every`` (day, week, month).

    Training stacks ``window`` point-in-time snapshots (features as of T, label = what
    verification later showed about T); the backtest walks forward: for each of the last
    ``horizon`` periods P it trains on the ``window`` snapshots ending ``delay`` periods before P
    (labels as known on P: the feedback delay), and judges P. Precision at capacity is reported
    per period (the Fraud-Detection-Handbook's card precision@k, with k = the policy's k).
    "Train on the last 7 days, wait 7 days for feedback, judge the next 7" is
    ``Cadence("day", window=7, delay=7, horizon=7)``.
    """

    every: Every = "day"
    window: int = 7
    delay: int = 7
    horizon: int = 7

    def __post_init__(self) -> None:
        if self.every not in EVERY:
            raise ValueError(f"cadence: every must be one of {EVERY}, got {self.every!r}")
        for name in ("window", "horizon"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"cadence: {name} must be a positive integer, got {value!r}")
        if not isinstance(self.delay, int) or isinstance(self.delay, bool) or self.delay < 0:
            raise ValueError(f"cadence: delay must be a whole number >= 0, got {self.delay!r}")


SimulateFn = Callable[["SimConfig"], "ScenarioPool"]
#: Evaluation-only truth of a model without a simulator (e.g. the authorities' findings in real
#: data): data root -> frame with ``entity_id``, ``district``, ``is_fraud``.
TruthFn = Callable[[str], "pd.DataFrame"]
#: Amount at stake per entity: the model's sources (Ibis, cut as of the build date, keys
#: normalised, labels hidden), the build context and the declared rates -> a table with
#: ``entity_id`` and a numeric ``amount`` (one row per entity; null = not estimable for it).
EstimateFn = Callable[["Mapping[str, ir.Table]", BuildContext, "Mapping[str, float]"], "ir.Table"]


@dataclass(frozen=True)
class AmountAtStake:
    """What a lead of this model puts at stake, in ``unit``.

    ``typical``: the money (yuan) a case typically recovers (the simulated verifying staff draw
    around it), whatever ``unit`` the estimate is in. ``estimate``: per entity, an Ibis expression over the model's sources (None: the model
    declares no estimate, and its leads say "not declared", never 0). ``rates``: the numbers the
    estimate uses (tax rates, an overcharge rate, risk weights), declared here so a reviewer
    reads them in one place and the estimate receives them. ``description`` and ``unit`` are
    English; ``texts`` and ``unit_texts`` give them per language (``zh`` first).
    """

    unit: str = "yuan"
    description: str = "amount recovered by a case"
    typical: float = 1e5
    estimate: EstimateFn | None = field(default=None, compare=False)
    rates: Mapping[str, float] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    unit_texts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (
            not isinstance(self.typical, int | float)
            or isinstance(self.typical, bool)
            or self.typical < 0
        ):
            raise ValueError(f"amount: typical must be a number >= 0, got {self.typical!r}")
        if not isinstance(self.unit, str) or not self.unit.strip():
            raise ValueError(f"amount: unit must be a non-empty string, got {self.unit!r}")
        if self.estimate is not None and not callable(self.estimate):
            raise ValueError(f"amount: estimate must be a function or None, got {self.estimate!r}")
        for name, value in dict(self.rates).items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"amount: rate {name!r} must be a number >= 0, got {value!r}")
        for label, texts in (("texts", self.texts), ("unit_texts", self.unit_texts)):
            bad = {k: v for k, v in dict(texts).items() if not isinstance(v, str) or not v}
            if bad:
                raise ValueError(
                    f"amount: {label} must map a language to a non-empty string, got {bad!r}"
                )

    @property
    def declared(self) -> bool:
        """True when the model estimates an amount per entity."""
        return self.estimate is not None

    def text(self, lang: str) -> str:
        """The description in ``lang`` (English when the declaration has none for it)."""
        return dict(self.texts).get(lang, self.description)

    def unit_text(self, lang: str) -> str:
        """The unit in ``lang`` (the declared unit when the declaration has none for it)."""
        return dict(self.unit_texts).get(lang, self.unit)


@dataclass(frozen=True)
class SupervisionModel(ScenarioFeatures):
    """One supervision model: its feature view plus policy, cadence and (optionally) simulator.

    ``point_in_time``: False for a model whose data has no usable dates (features over all of
    it, no as-of cut). ``simulate``: a function producing the model's sources for the simulated
    pool (``python -m pool.build``); a model without one gets its rows from each source's
    declared ``origin`` (``python -m pool.importer``).
    """

    title: str = ""
    policy: Policy = field(default_factory=Policy)
    cadence: Cadence | None = None
    simulate: SimulateFn | None = field(default=None, compare=False)
    point_in_time: bool = True
    #: sources that hold outcomes (labels): the feature expression never sees them
    label_sources: tuple[str, ...] = ("verification_history",)
    amount: AmountAtStake = field(default_factory=AmountAtStake)
    truth: TruthFn | None = field(default=None, compare=False)
    #: a rule model: predicates over the features, evaluated instead of a learnt scorer
    rules: RuleSet | None = None
    #: the supervision point this model serves ("" = its own name); the models of one point
    #: share its data, labels and backtest, and the ledger shows them side by side
    point: str = ""
    #: the charts a lead shows before its source rows (``features.evidence``); None: rows only
    evidence: EvidenceView | None = None

    @property
    def supervision_point(self) -> str:
        """The supervision point this model belongs to (its own name unless declared)."""
        return self.point or self.name

    @property
    def kind(self) -> str:
        """``rules`` for a rule model, ``scorer`` for a learnt one."""
        return "rules" if self.rules is not None else "scorer"

    @classmethod
    def of(cls, view: ScenarioFeatures, **declared: object) -> SupervisionModel:
        """A model from a feature view declared apart (the built-ins keep their long feature
        modules beside the simulator) plus the rest of the declaration."""
        base = {f.name: getattr(view, f.name) for f in fields(ScenarioFeatures)}
        return cls(**{**base, **declared})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.policy, Policy):
            raise TypeError(f"model {self.name!r}: policy must be a Policy(...)")
        if self.cadence is not None and not isinstance(self.cadence, Cadence):
            raise TypeError(f"model {self.name!r}: cadence must be a Cadence(...) or None")
        if self.rules is not None:
            if not isinstance(self.rules, RuleSet):
                raise TypeError(f"model {self.name!r}: rules must be a RuleSet(...) or None")
            self.rules.check(self.name, {f.name: f.direction for f in self.features})
        if not isinstance(self.amount, AmountAtStake):
            raise TypeError(f"model {self.name!r}: amount must be an AmountAtStake(...)")
        if self.evidence is not None:
            if not isinstance(self.evidence, EvidenceView):
                raise TypeError(f"model {self.name!r}: evidence must be an EvidenceView(...)")
            self.evidence.check(self.name, self.feature_names)
        if self.policy.pick == "expected_value" and not self.amount.declared:
            raise ValueError(
                f"model {self.name!r}: policy pick='expected_value' needs an "
                "amount estimate (amount=AmountAtStake(estimate=...))"
            )
        if not isinstance(self.point, str) or (self.point and not self.point.isidentifier()):
            raise ValueError(f"model {self.name!r}: point must be a model name, got {self.point!r}")
        if self.cadence is not None:
            undated = [s.table for s in self.sources if s.date_column is None]
            if undated:
                raise ValueError(
                    f"model {self.name!r} has a cadence, so every source must be cut at each "
                    f"snapshot: source(s) {undated} declare no date_column"
                )

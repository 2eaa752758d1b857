"""Rules declared as data: the collisions offices already run, as predicates over features.

A rule model is a ``SupervisionModel`` whose ``rules`` field holds a ``RuleSet``: predicates over
the model's own declared features ("declared sales below 70% of invoiced litres" is
``Rule("low_declared", "declared_to_invoiced", "<", 0.7, ...)``), each with a plain-language
reason template (the entity's ``value``, its peers' median ``peer``, the rule's ``threshold``),
an optional weight, a combination (``any``, ``weighted_sum``, ``count``) and a tie-break
feature. Nothing is learnt from it: training evaluates the rules (``training.rule_scorer``).

Everything is checked when the model is declared, so a typo never reaches a run: a predicate on
an unknown feature, a weight that is not a number, a reason template with an unknown field or
an operator that is not one of ``OPERATORS`` raise ``ValueError`` naming the rule and the field.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from features.wording import LANGUAGES

Combine = Literal["any", "weighted_sum", "count"]
COMBINATIONS: tuple[str, ...] = ("any", "weighted_sum", "count")
OPERATORS: tuple[str, ...] = ("<", "<=", ">", ">=", "==", "!=")
#: The fields a rule's reason template may use.
REASON_FIELDS: tuple[str, ...] = ("value", "peer", "threshold")


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def template_fields(template: str) -> list[str]:
    """The field names a ``str.format`` template uses (``{value:.0%}`` -> ``value``)."""
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            names.append(name.split(".")[0].split("[")[0])
    return names


@dataclass(frozen=True)
class Rule:
    """One predicate: ``feature op threshold`` fires the rule (a missing value never fires).

    ``reason`` is the plain-language text a lead shows when the rule fired, a ``str.format``
    template over ``value`` (the entity's), ``peer`` (its peer group's median, as in the
    feature's reason) and ``threshold``. ``weight`` counts in a ``weighted_sum``.
    """

    name: str
    feature: str
    op: str
    threshold: float
    reason: str
    weight: float = 1.0
    reasons: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"rule {self.name!r}: name must be a valid identifier")
        if self.op not in OPERATORS:
            raise ValueError(f"rule {self.name!r}: op must be one of {OPERATORS}, got {self.op!r}")
        if not _is_number(self.threshold):
            raise ValueError(
                f"rule {self.name!r}: threshold must be a number, got {self.threshold!r}"
            )
        if not _is_number(self.weight):
            raise ValueError(f"rule {self.name!r}: weight must be a number, got {self.weight!r}")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"rule {self.name!r}: reason must be a non-empty template")
        try:
            used = template_fields(self.reason)
        except ValueError as exc:
            raise ValueError(f"rule {self.name!r}: reason template is malformed: {exc}") from exc
        unknown = [f for f in used if f not in REASON_FIELDS]
        if unknown:
            raise ValueError(
                f"rule {self.name!r}: reason template field {unknown[0]!r} is "
                f"unknown; a reason may use {', '.join(REASON_FIELDS)}"
            )
        if not isinstance(self.reasons, Mapping):
            raise ValueError(f"rule {self.name!r}: reasons must map a language to a template")
        for lang, template in self.reasons.items():
            if lang not in LANGUAGES:
                raise ValueError(
                    f"rule {self.name!r}: reasons has unknown language {lang!r}; "
                    f"use {', '.join(LANGUAGES)}"
                )
            if not isinstance(template, str) or not template.strip():
                raise ValueError(
                    f"rule {self.name!r}: reasons[{lang!r}] must be a non-empty template"
                )
            try:
                fields = template_fields(template)
            except ValueError as exc:
                raise ValueError(
                    f"rule {self.name!r}: reasons[{lang!r}] is malformed: {exc}"
                ) from exc
            bad = [f for f in fields if f not in REASON_FIELDS]
            if bad:
                raise ValueError(
                    f"rule {self.name!r}: reasons[{lang!r}] field {bad[0]!r} is "
                    f"unknown; a reason may use {', '.join(REASON_FIELDS)}"
                )

    def text(self, value: float, peer: float, lang: str | None = None) -> str:
        """The reason for one entity whose value fired the rule, in ``lang`` (its template in
        that language, else ``reason``, the declaration's own)."""
        template = self.reasons.get(lang, self.reason) if lang else self.reason
        return template.format(value=value, peer=peer, threshold=self.threshold)

    def texts(self, value: float, peer: float) -> dict[str, str]:
        """The reason in every language, as a lead stores it (``texts``)."""
        return {lang: self.text(value, peer, lang) for lang in LANGUAGES}


@dataclass(frozen=True)
class RuleSet:
    """The rules of one rule model, how they combine, and the tie-break within equal weights.

    ``combine``: "any" (1 if any rule fired), "weighted_sum" (sum of the fired rules' weights)
    or "count" (rules fired). Within a district, leads rank by the combined value, then by
    ``tie_break`` (a declared feature, in its declared suspicious direction).
    """

    rules: tuple[Rule, ...]
    combine: Combine = "any"
    tie_break: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rules, Sequence) or not self.rules:
            raise ValueError("rules: a rule set needs at least one Rule(...)")
        for rule in self.rules:
            if not isinstance(rule, Rule):
                raise ValueError(f"rules: expected Rule(...), got {type(rule).__name__}")
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rules: rule name(s) {dupes} declared twice")
        if self.combine not in COMBINATIONS:
            raise ValueError(f"rules: combine must be one of {COMBINATIONS}, got {self.combine!r}")

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    @property
    def features(self) -> list[str]:
        """Features the rules read (the tie-break included), in first-use order."""
        used = [r.feature for r in self.rules] + ([self.tie_break] if self.tie_break else [])
        return list(dict.fromkeys(used))

    def check(self, model: str, features: dict[str, str]) -> None:
        """Refuse rules over features the model does not declare (``features``: name ->
        direction)."""
        for rule in self.rules:
            if rule.feature not in features:
                raise ValueError(
                    f"model {model!r}, rule {rule.name!r}: feature {rule.feature!r} is not a "
                    f"declared feature (known: {', '.join(features)})"
                )
        if self.tie_break is not None:
            if self.tie_break not in features:
                raise ValueError(
                    f"model {model!r}, rules: tie_break feature {self.tie_break!r} is not a "
                    f"declared feature (known: {', '.join(features)})"
                )
            if features[self.tie_break] not in ("high", "low"):
                raise ValueError(
                    f"model {model!r}, rules: tie_break feature {self.tie_break!r} has "
                    f"direction {features[self.tie_break]!r}; it must be high or low"
                )

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(f"no rule {name!r}; rules: {', '.join(self.names)}")

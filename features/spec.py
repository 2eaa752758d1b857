"""Features declared as data: what a scenario computes, from what, and how a lead explains it.

A ``ScenarioFeatures`` is one supervision model's feature view (in the Feast sense): the entity,
the agency tables it reads, every feature with its description, unit, peer group, suspicious
direction and a plain-language reason template, plus the function that builds the feature
expression. The same object drives computation (``features.build``), documentation
(``python -m features.docs``) and the reasons a lead shows (``reason()``), so a feature's meaning
is written in exactly one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal, Protocol

from features import wording
from features.wording import DEFAULT_LANGUAGE, LANGUAGES, check_language

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from pool.spec import SourceSpec

Direction = Literal["high", "low", "both"]
KeyKind = Literal["uscc", "id", "code", "name", "text"]

#: Columns every feature table carries besides the declared features.
ID_COLUMNS: tuple[str, ...] = ("entity_id", "district")


@dataclass(frozen=True)
class FeatureSpec:
    """One declared feature.

    ``reason_template`` (the model's own wording; English for the built-ins) and ``reasons``
    (templates per language, e.g. ``{"zh": ...}``, which win for their language)
    are ``str.format`` templates with the fields ``value`` (this entity's value) and ``peer``
    (the peer-group median, when ``peer_group`` is set), formatted for people by
    ``features.wording`` (``{value:yuan}``, ``{value:pct}``, ``{value:n}`` or Python's specs),
    e.g. "declared sales are {value:.0%} of litres delivered; district median {peer:.0%}".
    ``direction`` says which way is suspicious: "high", "low" or "both" (far from peers).
    ``relative_to`` names a column (e.g. "district") within whose groups the feature is
    compared before a detector sees it: its within-group percentile rank replaces the value in
    the detector's view (``features.relative.relative_view``), for a quantity whose level differs
    by orders of magnitude between groups. Reasons keep the value itself. The fitted form, which
    ranks new rows against the training population (an unseen group against the pooled training
    values), is ``training.relative.RelativeRanks`` / ``RelativeDetector``; read today only by
    ``benchmarks.bid_rigging_eval``'s detector: training and serving do not apply it yet (issue
    14: the served input is float64 only, so the group must first reach the model as a column).

    A missing value has its own wording, ``missing_template`` per language (no ``value``
    field: there is none). A ratio whose denominator was zero is missing too, but that is a
    fact worth stating ("a 3.2M yuan loan against 0 yuan declared revenue"): ``ratio_of``
    names the numerator and denominator (features or columns of the same row; the numerator may
    be None when the row does not carry it) and ``zero_template`` per language words it, with
    the fields ``numerator`` and ``denominator``.
    """

    name: str
    description: str
    unit: str
    reason_template: str
    direction: Direction = "high"
    peer_group: str | None = None
    entity: str = ""
    reasons: Mapping[str, str] = field(default_factory=dict)
    missing_template: Mapping[str, str] = field(default_factory=dict)
    zero_template: Mapping[str, str] = field(default_factory=dict)
    ratio_of: tuple[str | None, str] | None = None
    relative_to: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"feature name {self.name!r} must be a valid identifier")
        if self.direction not in ("high", "low", "both"):
            raise ValueError(f"feature {self.name!r}: direction must be high, low or both")
        if self.relative_to is not None and not self.relative_to.isidentifier():
            raise ValueError(
                f"feature {self.name!r}: relative_to must name a column, got {self.relative_to!r}"
            )
        for label, mapping in (
            ("reasons", self.reasons),
            ("missing_template", self.missing_template),
            ("zero_template", self.zero_template),
        ):
            unknown = sorted(set(mapping) - set(LANGUAGES))
            if unknown:
                raise ValueError(
                    f"feature {self.name!r}: {label} has unknown language(s) "
                    f"{unknown}; use {', '.join(LANGUAGES)}"
                )
        if self.zero_template and self.ratio_of is None:
            raise ValueError(
                f"feature {self.name!r}: zero_template needs ratio_of (numerator, denominator)"
            )

    def template(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The reason template in ``lang``: the declared one for that language, else the
        model's own ``reason_template`` (an office writing only one wording, in its own
        language, gets that wording everywhere rather than a reason refused)."""
        check_language(lang)
        return self.reasons.get(lang, self.reason_template)

    def missing_text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """What a missing value says: the declared wording, else a plain "not on record"."""
        check_language(lang)
        if lang in self.missing_template:
            return self.missing_template[lang]
        if lang == "zh":
            return "暂无该项记录，无法比对"
        return f"no record to compute {self.description}"

    def reason(
        self,
        value: float | None,
        peer: float | None = None,
        lang: str = DEFAULT_LANGUAGE,
        row: Mapping[str, object] | None = None,
    ) -> str:
        """The plain-language reason for one entity's value in ``lang``.

        ``row`` (the entity's other features or columns) lets a missing ratio whose declared
        denominator is zero say so with the figures; otherwise a missing value reads as the
        declared ``missing_template``.
        """
        if wording.missing(value):
            zero = self.zero_text(lang, row)
            return zero if zero is not None else self.missing_text(lang)
        return wording.fill(self.template(lang), lang, value=value, peer=peer)

    def zero_text(self, lang: str, row: Mapping[str, object] | None) -> str | None:
        """The zero-denominator wording when the row shows a zero denominator, else None."""
        if self.ratio_of is None or row is None or lang not in self.zero_template:
            return None
        numerator, denominator = self.ratio_of
        den = wording.figure(row.get(denominator))
        if den is None or isinstance(den, str) or den > 0:
            return None
        num = wording.figure(row.get(numerator)) if numerator else None
        try:
            return wording.fill(self.zero_template[lang], lang, numerator=num, denominator=den)
        except KeyError:  # the template names the numerator and the row does not carry it
            return None


class FeatureMaker(Protocol):
    """Declares one feature of a model: ``FeatureSpec`` with the model's entity wording and
    default peer group filled in, the Chinese reason as ``zh`` and the missing-value wording as
    ``missing=(zh, en)``."""

    def __call__(
        self,
        name: str,
        description: str,
        unit: str,
        reason: str,
        direction: Direction = "high",
        peer: str | None = ...,
        *,
        zh: str,
        missing: tuple[str, str],
        zero_template: Mapping[str, str] | None = None,
        ratio_of: tuple[str | None, str] | None = None,
        relative_to: str | None = ...,
    ) -> FeatureSpec: ...


def feature_maker(
    entity: str, peer: str | None = "district", relative_to: str | None = None
) -> FeatureMaker:
    """The ``FeatureMaker`` of a model whose entity reads ``entity`` in reasons and whose
    features compare with ``peer`` (a column; None: the whole table) unless they say otherwise;
    ``relative_to`` is every feature's default ``FeatureSpec.relative_to``.

    >>> make = feature_maker("gas station", peer=None)
    >>> make("n", "number of things", "count", "{value:n} things", zh="{value:n}件",
    ...      missing=("无记录", "not on record")).entity
    'gas station'
    """
    default_peer = peer
    default_relative = relative_to

    def make(
        name: str,
        description: str,
        unit: str,
        reason: str,
        direction: Direction = "high",
        peer: str | None = default_peer,
        *,
        zh: str,
        missing: tuple[str, str],
        zero_template: Mapping[str, str] | None = None,
        ratio_of: tuple[str | None, str] | None = None,
        relative_to: str | None = default_relative,
    ) -> FeatureSpec:
        return FeatureSpec(
            name,
            description,
            unit,
            reason,
            direction,
            peer,
            entity=entity,
            reasons={"zh": zh},
            missing_template={"zh": missing[0], "en": missing[1]},
            zero_template={} if zero_template is None else zero_template,
            ratio_of=ratio_of,
            relative_to=relative_to,
        )

    return make


@dataclass(frozen=True)
class KeyJoin:
    """How one source's rows attach to the entity: the column holding the key and its kind.

    ``kind`` is "uscc" (unified social credit code, check character validated), "id" (resident
    ID number, old 15-digit form upgraded, check character validated), "code" (any other code:
    blanks, width and case normalised, no check character), "name" (organisation name,
    normalised) or "text" (an opaque identifier, trimmed). ``target`` names the entity-side source and column the key
    must be found in (``None``: the source is the entity table itself).
    """

    source: str
    column: str
    kind: KeyKind
    target: tuple[str, str] | None = None


@dataclass(frozen=True)
class BuildContext:
    """What a scenario's expression may know besides its sources: the as-of date and engine."""

    as_of: date | None
    engine: str


BuildFn = Callable[["Mapping[str, ir.Table]", BuildContext], "ir.Table"]
LoadFn = Callable[[str, "BuildContext"], "Mapping[str, pd.DataFrame]"]


@dataclass(frozen=True)
class ScenarioFeatures:
    """One supervision model's feature view, declared before it is computed.

    ``build`` receives the sources (Ibis tables, already filtered as of the build date and with
    their keys normalised) and returns one row per entity with ``entity_id``, ``district`` and
    one column per declared feature. ``sources`` are the pool's ``SourceSpec`` declarations it
    reads (their ``date_column``/``filed_column`` drive the point-in-time filter); ``joins``
    say how each source attaches to the entity, for the join report. ``load`` replaces the
    default pool reader (used by ``bid_rigging``, whose data is not in the simulated pool);
    ``labels`` replaces the default labels (outcomes in the verification history as of the date)
    with a function returning ``entity_id`` and ``label``.
    """

    name: str
    entity: str
    key_column: str
    sources: tuple[SourceSpec, ...]
    features: tuple[FeatureSpec, ...]
    build: BuildFn
    joins: tuple[KeyJoin, ...] = ()
    description: str = ""
    labels: BuildFn | None = None
    load: LoadFn | None = None
    module: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scenario {self.name!r}: duplicate feature names {dupes}")
        clash = set(names) & {*ID_COLUMNS, "label", "feature_set_hash"}
        if clash:
            raise ValueError(f"scenario {self.name!r}: reserved column names {sorted(clash)}")
        tables = {s.table for s in self.sources}
        for join in self.joins:
            if join.source not in tables:
                raise ValueError(f"scenario {self.name!r}: join on unknown source {join.source!r}")

    @property
    def feature_names(self) -> list[str]:
        """Declared feature names, in declaration order (the feature table's column order)."""
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureSpec:
        """The declaration of one feature, by name."""
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(f"scenario {self.name!r} has no feature {name!r}")

    def source(self, table: str) -> SourceSpec:
        """The declaration of one source, by table name."""
        for spec in self.sources:
            if spec.table == table:
                return spec
        raise KeyError(f"scenario {self.name!r} reads no source {table!r}")

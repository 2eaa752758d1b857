"""Why a lead was flagged, in the features' own terms.

* Supervised scorer: exact TreeSHAP of its LightGBM booster (``pred_contrib=True``): per-feature
  contributions to the model's log-odds that, with the base value, add up to it exactly.
* Unsupervised detector: a LightGBM *surrogate* regressor learns the ensemble score from the raw
  features; its fidelity (R^2 and Spearman on held-out rows) says how far to trust it; TreeSHAP
  of the surrogate then explains the surrogate's score (which adds up exactly) and, as far as the
  fidelity goes, the detector's.
* The scorer's ``detector_score`` input is not a fact about the entity, so its contribution is
  handed on to the features the detector rests on (``fold_detector``): split in proportion to
  the detector surrogate's TreeSHAP of the same row, which keeps the sum (and so additivity)
  exactly. No reason ever names the detector.

The top contributions become plain-language reasons from the declared feature specs
(:class:`FeatureSpecLike`), each with the entity's value and the median of its peers (same
district by default). Only the rows asked for are explained: SHAP on a whole pool is wasted work
when a unit reads the top of the list.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard, runtime_checkable

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from features import wording
from features.wording import DEFAULT_LANGUAGE, LANGUAGES
from pool.resources import predict_threads, threads


@runtime_checkable
class FeatureSpecLike(Protocol):
    """What a declared feature must offer to become a reason (``features.spec.FeatureSpec`` does).

    ``reason_template`` is a ``str.format`` template with fields ``value`` and ``peer``;
    ``peer_group`` names the column whose groups define peers (None: the default, district).
    """

    name: str
    description: str
    unit: str
    reason_template: str
    peer_group: str | None
    direction: str


@runtime_checkable
class WordedFeatureSpec(FeatureSpecLike, Protocol):
    """A declared feature that words its own reasons (``features.spec.FeatureSpec``): per
    language, with missing and zero-denominator wording."""

    def reason(
        self,
        value: float | None,
        peer: float | None = None,
        lang: str = DEFAULT_LANGUAGE,
        row: Mapping[str, object] | None = None,
    ) -> str: ...


class FittedDetector(Protocol):
    """A fitted detector as explained here: named input columns and a suspicion score."""

    feature_names_in_: np.ndarray

    def decision_function(self, X: Any) -> np.ndarray: ...


class FittedScorer(FittedDetector, Protocol):
    """A fitted ``training.scorers.LeadScorer`` as explained here: its detector, its booster
    (None when it fell back to the detector) and whether the detector's score is a feature."""

    detector_: FittedDetector
    booster_: lgb.Booster | None
    use_detector_feature: bool


@dataclass
class Explanation:
    """One row's explanation: contributions add up to ``score`` with ``base_value``."""

    row: object
    score: float
    base_value: float
    contributions: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    texts: list[dict[str, str]] = field(default_factory=list)
    reason_features: list[str] = field(default_factory=list)
    detector_share: float = 0.0

    def additivity_error(self) -> float:
        """|base + sum(contributions) - score|: 0 up to float error for TreeSHAP."""
        return abs(self.base_value + sum(self.contributions.values()) - self.score)


def tree_contributions(booster: lgb.Booster, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP: (n x d contributions, n base values) of a LightGBM booster's raw score."""
    out = np.asarray(
        booster.predict(
            np.asarray(X, dtype=np.float64), pred_contrib=True, num_threads=predict_threads(len(X))
        )
    )
    return out[:, :-1], out[:, -1]


@dataclass
class Surrogate:
    """A LightGBM regressor of a detector's score, with its held-out fidelity."""

    booster: lgb.Booster
    feature_names: list[str]
    r2: float
    spearman: float
    n_train: int
    n_holdout: int


def fit_surrogate(
    X: pd.DataFrame | np.ndarray,
    scores: np.ndarray,
    *,
    random_state: int = 0,
    holdout: float = 0.2,
    n_estimators: int = 300,
) -> Surrogate:
    """Fit a LightGBM regressor of ``scores`` on ``X``; fidelity measured on held-out rows.

    Why a surrogate rather than the isolation forest's own TreeExplainer: the detector is an
    ensemble of several members on preprocessed data; the surrogate explains the one score
    staff see, in raw feature units, and states how faithfully it does so.
    """
    names = (
        [str(c) for c in X.columns]
        if isinstance(X, pd.DataFrame)
        else [f"x{i}" for i in range(np.asarray(X).shape[1])]
    )
    A = np.asarray(X, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(A) != len(scores):
        raise ValueError(f"X has {len(A)} rows but scores has {len(scores)}")
    tr, ho = train_test_split(np.arange(len(A)), test_size=holdout, random_state=random_state)
    params = {
        "objective": "regression",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 5,
        "seed": random_state,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": threads(),
        "verbose": -1,
    }
    booster = lgb.train(
        params,
        lgb.Dataset(A[tr], label=scores[tr], feature_name=names),
        num_boost_round=n_estimators,
    )
    pred = booster.predict(A[ho])
    return Surrogate(
        booster,
        names,
        float(r2_score(scores[ho], pred)),
        float(spearmanr(scores[ho], pred).statistic),
        len(tr),
        len(ho),
    )


def peer_medians(
    table: pd.DataFrame, rows: Sequence, spec: FeatureSpecLike, default_peer: str = "district"
) -> pd.Series:
    """Median of ``spec.name`` among each requested row's peers (same peer-group value).

    Falls back to the whole table's median when the peer column is absent.
    """
    group = spec.peer_group or default_peer
    column = table[spec.name]
    if group not in table.columns:
        return pd.Series(column.median(), index=list(rows))
    medians = column.groupby(table[group], observed=True).median()
    return table.loc[list(rows), group].map(medians)


_WORDS_ITSELF: dict[type, bool] = {}


def words_itself(spec: FeatureSpecLike) -> TypeGuard[WordedFeatureSpec]:
    """``isinstance(spec, WordedFeatureSpec)``, answered once per class: a runtime protocol
    check walks every member of the protocol, and reasons for a thousand rows ask it ten
    thousand times (a third of their wording time)."""
    kind = type(spec)
    found = _WORDS_ITSELF.get(kind)
    if found is None:
        found = _WORDS_ITSELF[kind] = isinstance(spec, WordedFeatureSpec)
    return found


def format_reason(
    spec: FeatureSpecLike | None,
    name: str,
    value: float,
    peer: float,
    lang: str = DEFAULT_LANGUAGE,
    row: Mapping[str, object] | None = None,
) -> str:
    """One plain-language reason in ``lang``.

    A declared ``features.spec.FeatureSpec`` words it (templates per language, missing and
    zero-denominator wording); a bare protocol object fills its English template; a feature
    with no declaration at all gets a neutral generic text.
    """
    if spec is None:
        return f"{name} = {_num(value)}" + (
            "" if wording.missing(peer) else f" (peers: {_num(peer)})"
        )
    value_ = None if wording.missing(value) else float(value)
    peer_ = None if wording.missing(peer) else float(peer)
    if words_itself(spec):
        return spec.reason(value_, peer_, lang, row)
    if value_ is None:
        return f"{spec.description}: not on record"
    try:
        return wording.fill(spec.reason_template, "en", value=value_, peer=peer_)
    except (ValueError, TypeError, KeyError, IndexError):
        unit = f" {spec.unit}" if spec.unit else ""
        peers = "" if peer_ is None else f" (peers: {_num(peer_)}{unit})"
        return f"{spec.description}: {_num(value_)}{unit}{peers}"


def _num(x: float) -> str:
    return "-" if wording.missing(x) else wording.general(float(x))


def is_false_flag(spec: FeatureSpecLike | None, value: object) -> bool:
    """A flag that is not raised (0) is no reason against the entity, whatever its SHAP."""
    return spec is not None and spec.unit == "flag" and wording.figure(value) == 0.0


def ranked_features(
    contributions: dict[str, float],
    table: pd.DataFrame,
    row: Hashable,
    by_name: Mapping[str, FeatureSpecLike],
    top_n: int,
) -> list[str]:
    """The features pushing this row's score up the most that state a fact against it.

    A lead can rank in its district's top with no feature pushing its learnt score above the
    average (a quiet district, or a rank carried by the detector's share of the blend); it then
    gets the features that count most for it, least against first, rather than no reason.
    """
    ranked = sorted(((c, n) for n, c in contributions.items() if c > 0), reverse=True)
    if not ranked:
        ranked = sorted(((c, n) for n, c in contributions.items()), reverse=True)
    out = []
    for _, name in ranked:
        value = table.at[row, name] if name in table.columns else np.nan
        if is_false_flag(by_name.get(name), value):
            continue
        out.append(name)
        if len(out) == top_n:
            break
    return out


def reasons_for(
    contributions: dict[str, float],
    table: pd.DataFrame,
    row: Hashable,
    specs: Iterable[FeatureSpecLike],
    *,
    top_n: int = 4,
    peers: dict[str, pd.Series] | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> list[str]:
    """The ``top_n`` features pushing this row's score up, as reasons (value vs peers)."""
    return [
        texts[lang]
        for _, texts in reason_texts(
            contributions, table, row, specs, top_n=top_n, peers=peers, langs=(lang,)
        )
    ]


def reason_texts(
    contributions: dict[str, float],
    table: pd.DataFrame,
    row: Hashable,
    specs: Iterable[FeatureSpecLike],
    *,
    top_n: int = 4,
    peers: dict[str, pd.Series] | None = None,
    langs: Sequence[str] = LANGUAGES,
) -> list[tuple[str, dict[str, str]]]:
    """Like ``reasons_for``: (feature, its reason in every language of ``langs``) pairs."""
    by_name = {s.name: s for s in specs}
    record = table.loc[row].to_dict()
    out = []
    for name in ranked_features(contributions, table, row, by_name, top_n):
        spec = by_name.get(name)
        value = table.at[row, name] if name in table.columns else np.nan
        peer = peers[name].get(row, np.nan) if peers and name in peers else np.nan
        out.append(
            (name, {lang: format_reason(spec, name, value, peer, lang, record) for lang in langs})
        )
    return out


def fold_detector(contrib: np.ndarray, detector_contrib: np.ndarray) -> np.ndarray:
    """Hand the last column (the ``detector_score`` input's SHAP) on to the input features.

    Per row, the detector's contribution is split in proportion to the detector surrogate's
    TreeSHAP of that row (its signed share of the detector's deviation from its mean: the
    chain rule, to first order). When those signed shares nearly cancel, the split would blow
    up, so it falls back to their absolute sizes. Each row's total is unchanged.
    """
    inputs, det = contrib[:, :-1].copy(), contrib[:, -1]
    signed = detector_contrib.sum(axis=1)
    size = np.abs(detector_contrib).sum(axis=1)
    for i in range(len(inputs)):
        if size[i] == 0:
            inputs[i] += det[i] / inputs.shape[1]
        elif abs(signed[i]) >= 0.25 * size[i]:
            inputs[i] += det[i] * detector_contrib[i] / signed[i]
        else:
            inputs[i] += det[i] * np.abs(detector_contrib[i]) / size[i]
    return inputs


_DETECTOR_SURROGATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def detector_surrogate(scorer: FittedScorer, table: pd.DataFrame) -> Surrogate:
    """The surrogate of a scorer's detector on the population ``table`` (kept per scorer and
    table, since training explains the same candidate twice)."""
    cached = _DETECTOR_SURROGATES.get(scorer)
    if cached is not None and cached[0] is table:
        return cached[1]
    X = _feature_rows(scorer, table, table.index)
    surrogate = fit_surrogate(X, scorer.detector_.decision_function(X.to_numpy(np.float64)))
    _DETECTOR_SURROGATES[scorer] = (table, surrogate)
    return surrogate


def _explanations(
    contrib: np.ndarray,
    base: np.ndarray,
    names: list[str],
    rows: Sequence,
    table: pd.DataFrame,
    specs: Sequence[FeatureSpecLike],
    top_n: int,
    default_peer: str,
) -> list[Explanation]:
    peers = {
        s.name: peer_medians(table, rows, s, default_peer) for s in specs if s.name in table.columns
    }
    result = []
    for i, row in enumerate(rows):
        contributions = dict(zip(names, map(float, contrib[i]), strict=True))
        score = float(base[i] + contrib[i].sum())
        exp = Explanation(row, score, float(base[i]), contributions)
        pairs = reason_texts(contributions, table, row, specs, top_n=top_n, peers=peers)
        exp.reason_features = [name for name, _ in pairs]
        exp.texts = [texts for _, texts in pairs]
        exp.reasons = [t[DEFAULT_LANGUAGE] for t in exp.texts]
        result.append(exp)
    return result


def explain_scorer(
    scorer: FittedScorer,
    table: pd.DataFrame,
    rows: Sequence,
    specs: Sequence[FeatureSpecLike] = (),
    *,
    top_n: int = 4,
    default_peer: str = "district",
    surrogate: Surrogate | None = None,
) -> list[Explanation]:
    """TreeSHAP of a fitted supervised scorer's booster for the given rows of ``table``.

    The explained score is the booster's log-odds of a case (what the calibrated probability
    is a monotone map of). The ``detector_score`` input's share is handed on to the features
    (``fold_detector``) through ``surrogate``, the detector's surrogate (fitted on ``table``
    when not given: pass one fitted on the population when ``table`` holds only a few rows).
    With no booster (the scorer fell back to its detector), the detector's explanation is used
    instead, through a surrogate.
    """
    check_is_fitted(scorer, "detector_")
    if scorer.booster_ is None:
        return explain_detector(
            scorer.detector_,
            table,
            rows,
            specs,
            top_n=top_n,
            default_peer=default_peer,
            surrogate=surrogate,
        )[1]
    X = _feature_rows(scorer, table, rows)
    # the scorer validated its input to an array before fitting its detector: do the same
    det = scorer.detector_.decision_function(X.to_numpy(dtype=np.float64))
    F = np.column_stack([X, det]) if scorer.use_detector_feature else np.asarray(X)
    contrib, base = tree_contributions(scorer.booster_, F)
    shares = np.zeros(len(X))
    if scorer.use_detector_feature:
        shares = contrib[:, -1].copy()
        surrogate = surrogate or detector_surrogate(scorer, table)
        contrib = fold_detector(contrib, tree_contributions(surrogate.booster, X)[0])
    exps = _explanations(contrib, base, list(X.columns), rows, table, specs, top_n, default_peer)
    for exp, share in zip(exps, shares, strict=True):
        exp.detector_share = float(share)
    return exps


def explain_detector(
    detector: FittedDetector,
    table: pd.DataFrame,
    rows: Sequence,
    specs: Sequence[FeatureSpecLike] = (),
    *,
    top_n: int = 4,
    default_peer: str = "district",
    surrogate: Surrogate | None = None,
    random_state: int = 0,
) -> tuple[Surrogate, list[Explanation]]:
    """Surrogate TreeSHAP for a fitted detector: (surrogate with fidelity, explanations).

    The surrogate is trained on every row of ``table`` against the detector's scores (pass a
    previously fitted ``surrogate`` to reuse it); only ``rows`` are explained.
    """
    check_is_fitted(detector, "preprocessor_")
    X_all = _feature_rows(detector, table, table.index)
    if surrogate is None:
        surrogate = fit_surrogate(
            X_all, detector.decision_function(X_all), random_state=random_state
        )
    contrib, base = tree_contributions(surrogate.booster, X_all.loc[list(rows)])
    return surrogate, _explanations(
        contrib, base, surrogate.feature_names, rows, table, specs, top_n, default_peer
    )


def _feature_rows(model: FittedDetector, table: pd.DataFrame, rows: Sequence) -> pd.DataFrame:
    """The model's input columns for ``rows`` (by its ``feature_names_in_``), as floats."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ValueError("explanations need a model fitted on a DataFrame (named features)")
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise KeyError(f"table lacks the model's feature column(s) {missing}")
    return table.loc[list(rows), list(names)].astype(np.float64)

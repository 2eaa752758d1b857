"""How the scorer's detector weight is learnt, chosen by leave-one-dataset-out (issue 14).

ADBench's semi-supervised protocol (70/30 split, 10% of the training anomalies labelled 1, all
other rows NaN) on the 23 shared ADBench sets plus the ODDS sets that are not among them (PyOD's
collection: vertebral, glass, ...; ``--odds``), each scored on its test rows against the truth,
beside plain LightGBM on the same labels (unlabelled = 0, ADBench's peer).

Per dataset and seed the detector, the booster (with and without the detector's score as a
feature) and the booster's out-of-fold scores are fitted once; every setting of the weight rule
(``training.scorers.rule_weight`` / ``combined_weight``: the AUC prior's pseudo-cases, the prior
weight's cases, how many cases the AUC rule counts against the out-of-fold choice, and whether
the detector's score is a booster feature) is then pure arithmetic on those pieces. The setting
is chosen on all sets but one and scored on the one left out (never by the mean over the sets it
is reported on); that leave-one-dataset-out figure is the honest one.

Run: ``python -m benchmarks.blend_selection [--datasets ...] [--odds] [--seeds 2] --out /tmp/blend``.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from benchmarks.adbench import (
    Dataset,
    _UnlabelledAsZero,
    adbench_names,
    cap_rows,
    load_adbench,
    load_odds,
    odds_names,
    partial_labels,
    split,
)
from console import exits
from console.parsers import command_parser
from evaluation.metrics import average_precision, roc_auc
from training.detectors import default_detector, ecdf_scale
from training.scorers import (
    AUC_PRIOR,
    EVIDENCE_Z,
    MODEL_GOOD,
    LeadScorer,
    TrainingRows,
    best_blend_weight,
    blend_quality,
    combined_weight,
    evidence_weight,
    hidden_case_share,
    rule_weight,
    signed_quality,
)

log = logging.getLogger(__name__)

MARGIN = 0.05  # the bound: never more than 5 AUCROC points below plain LightGBM


@dataclass(frozen=True)
class Setting:
    """One way of learning the detector's weight (and whether its score is a booster feature).

    ``rule`` "prior": ``rule_weight`` (the AUC shrunk towards ``AUC_PRIOR``); "evidence":
    ``evidence_weight`` with ``z`` standard errors, ``model_good`` (inf: never drop the
    detector for a good booster) and the hidden-case correction on or off (``contamination``),
    the out-of-fold choice kept to the rule's side (``signed_quality``).
    """

    blend_prior: float
    auc_prior_cases: float
    rule_cases: float
    feature: str  # "always", "never", or "signal" (only when the shrunk AUC is off chance)
    rule: str = "prior"
    z: float = EVIDENCE_Z
    model_good: float = MODEL_GOOD
    contamination: bool = True

    @property
    def name(self) -> str:
        name = (
            f"prior{self.blend_prior:g}|auccases{self.auc_prior_cases:g}"
            f"|rulecases{self.rule_cases:g}|feature_{self.feature}"
        )
        if self.rule == "evidence":
            name += (
                f"|evidence_z{self.z:g}|good{self.model_good:g}"
                f"|hidden_{'on' if self.contamination else 'off'}"
            )
        return name


CURRENT = Setting(10.0, 10.0, 10.0, "always")  # the settings before this round (rule "prior")
EVIDENCE = Setting(10.0, 10.0, 10.0, "always", "evidence")  # LeadScorer's evidence defaults


def prior_settings() -> list[Setting]:
    """The grid of the "prior" rule searched last round (the current settings included)."""
    return [
        Setting(p, a, r, f)
        for p, a, r, f in itertools.product(
            (10.0, 5.0, 2.0),
            (10.0, 4.0, 2.0, 1.0),
            (10.0, 4.0, 2.0, 1.0, 0.5),
            ("always", "never", "signal"),
        )
    ]


def evidence_settings() -> list[Setting]:
    """The grid of the "evidence" rule: z, the booster's bar and the hidden-case correction,
    today's weighting (prior 10 cases, 10 AUC pseudo-cases, rule counting 10 cases) kept."""
    return [
        Setting(10.0, 10.0, 10.0, "always", "evidence", z, good, hidden)
        for z, good, hidden in itertools.product(
            (1.0, 1.64, 2.0, 2.58, 3.0), (0.8, 0.9, 0.95, float("inf")), (True, False)
        )
    ]


def settings() -> list[Setting]:
    """Every setting scored: both rules' grids."""
    return prior_settings() + evidence_settings()


def odds_only() -> list[str]:
    """ODDS sets whose name is not one of the shared ADBench sets (unseen by the selection of
    the detector, which was made on ADBench's)."""
    shared = {n.lower().replace("-", "") for n in adbench_names()}
    return [n for n in odds_names() if n.lower().replace("-", "") not in shared]


@dataclass
class Pieces:
    """What every setting is computed from, for one dataset and seed."""

    y_test: np.ndarray
    n_cases: int
    detector_auc: float
    det_test: np.ndarray  # detector rank of the test rows (ECDF of the training scores)
    model_test: dict  # feature flag -> booster rank of the test rows
    evidence: dict  # feature flag -> blend_quality of the out-of-fold ranks, or None
    lgb_aucroc: float
    lgb_aucpr: float
    n_contrast: int = 0  # rows the cases were contrasted with (the unlabelled ones here)
    model_auc: dict | None = None  # feature flag -> booster out-of-fold AUC, or NaN
    contamination: dict | None = None  # feature flag -> hidden_case_share of the OOF ranks
    detector_test_aucroc: float = float("nan")  # the detector alone on the test rows


def collect(data: Dataset, seed: int) -> Pieces:
    """Fit the detector, both boosters and their out-of-fold scores once for ``data``/``seed``."""
    X_train, X_test, y_train, y_test = split(data, 0.3, seed)
    y = partial_labels(y_train, 0.1, seed)
    detector = default_detector(random_state=seed).fit(X_train)
    det_test = np.minimum(
        ecdf_scale(detector.decision_scores_, detector.decision_function(X_test)), 1.0
    )
    model_test, evidence, auc = {}, {}, float("nan")
    model_auc, contamination = {}, {}
    for feature in (True, False):
        scorer = LeadScorer(
            detector=detector,
            detector_prefit=True,
            random_state=seed,
            cv=1,
            use_detector_feature=feature,
            detector_blend=0.0,
        ).fit(X_train, y)
        auc = scorer.detector_auc_
        inner_seed = check_random_state(seed).randint(np.iinfo(np.int32).max)  # as in fit
        # the folds hold labelled cases, so the scorer had rows to learn from (as fit checks)
        rows, targets, weights = cast(TrainingRows, scorer._training_rows(y))
        F = scorer._features(np.asarray(X_train, dtype=np.float64), scorer.detector_reference_)
        oof = scorer.blend_evidence(F, y, rows, targets, weights, inner_seed)
        evidence[feature] = None if oof is None else blend_quality(*oof)
        model_auc[feature], contamination[feature] = float("nan"), 0.0
        if oof is not None:
            model_rank, _, truth = oof
            model_auc[feature] = roc_auc(truth, model_rank)
            contamination[feature] = hidden_case_share(
                model_rank[truth == 1], model_rank[truth == 0]
            )
        _, raw = scorer._detector_and_model(X_test)
        model_test[feature] = ecdf_scale(
            np.asarray(scorer.model_reference_, dtype=np.float64), np.asarray(raw, dtype=np.float64)
        )
    peer = _UnlabelledAsZero("lgb", seed).fit(X_train, y).decision_function(X_test)
    return Pieces(
        y_test,
        int(np.nansum(y)),
        auc,
        det_test,
        model_test,
        evidence,
        roc_auc(y_test, peer),
        average_precision(y_test, peer),
        n_contrast=int(np.isnan(y).sum()),
        model_auc=model_auc,
        contamination=contamination,
        detector_test_aucroc=roc_auc(y_test, det_test),
    )


def weight_of(setting: Setting, pieces: Pieces) -> tuple[float, bool]:
    """The detector's weight and the feature flag ``setting`` gives on ``pieces``."""
    n, auc = pieces.n_cases, pieces.detector_auc
    if setting.rule == "evidence":
        feature = setting.feature == "always"
        assert pieces.model_auc is not None and pieces.contamination is not None
        rule = evidence_weight(
            n,
            pieces.n_contrast,
            auc,
            contamination=pieces.contamination[feature] if setting.contamination else 0.0,
            model_auc=pieces.model_auc[feature],
            z=setting.z,
            model_good=setting.model_good,
            blend_prior=setting.blend_prior,
            auc_prior_cases=setting.auc_prior_cases,
        )
        if pieces.evidence[feature] is None:
            return rule, feature
        best = best_blend_weight(signed_quality(pieces.evidence[feature], rule), near=rule)
        return combined_weight(rule, best, n, rule_cases=setting.rule_cases), feature
    rule = rule_weight(
        n, auc, blend_prior=setting.blend_prior, auc_prior_cases=setting.auc_prior_cases
    )
    if setting.feature == "signal":
        shrunk = (
            (n * auc + setting.auc_prior_cases * AUC_PRIOR) / (n + setting.auc_prior_cases)
            if np.isfinite(auc)
            else AUC_PRIOR
        )
        feature = abs(shrunk - 0.5) >= 0.1
    else:
        feature = setting.feature == "always"
    evidence = pieces.evidence[feature]
    if evidence is None:
        return rule, feature
    best = best_blend_weight(evidence, near=rule)
    return combined_weight(rule, best, n, rule_cases=setting.rule_cases), feature


def setting_scores(setting: Setting, pieces: Pieces) -> np.ndarray:
    w, feature = weight_of(setting, pieces)
    det = pieces.det_test if w >= 0 else 1.0 - pieces.det_test
    return (1 - abs(w)) * pieces.model_test[feature] + abs(w) * det


def evaluate(all_pieces: dict[tuple[str, int], Pieces], grid: list[Setting]) -> pd.DataFrame:
    """One row per dataset, seed and setting (AUCROC, AUCPR, weight), plus the LightGBM peer."""
    rows = []
    for (name, seed), pieces in all_pieces.items():
        for setting in grid:
            scores = setting_scores(setting, pieces)
            rows.append(
                {
                    "dataset": name,
                    "seed": seed,
                    "setting": setting.name,
                    "weight": weight_of(setting, pieces)[0],
                    "aucroc": roc_auc(pieces.y_test, scores),
                    "aucpr": average_precision(pieces.y_test, scores),
                    "lgb_aucroc": pieces.lgb_aucroc,
                    "lgb_aucpr": pieces.lgb_aucpr,
                }
            )
    return pd.DataFrame(rows)


def objective(per_set: pd.DataFrame) -> pd.Series:
    """Per setting: mean AUCROC minus the mean shortfall beyond ``MARGIN`` below LightGBM
    (a set more than 5 points behind counts twice), over the sets in ``per_set``."""
    shortfall = np.maximum(0.0, per_set["lgb_aucroc"] - per_set["aucroc"] - MARGIN)
    frame = per_set.assign(shortfall=shortfall)
    means = frame.groupby("setting")[["aucroc", "shortfall"]].mean()
    return means["aucroc"] - means["shortfall"]


def leave_one_dataset_out(frame: pd.DataFrame, grid: list[Setting] | None = None) -> pd.DataFrame:
    """For each dataset: the setting chosen on all the others and its figures on this one
    (chosen among ``grid``'s settings, or among all in ``frame``)."""
    if grid is not None:
        frame = frame[frame["setting"].isin({setting.name for setting in grid})]
    per_set = (
        frame.groupby(["dataset", "setting"])[
            ["aucroc", "aucpr", "lgb_aucroc", "lgb_aucpr", "weight"]
        ]
        .mean()
        .reset_index()
    )
    out = []
    for held in per_set["dataset"].unique():
        rest = per_set[per_set["dataset"] != held]
        chosen = objective(rest).idxmax()
        row = per_set[(per_set["dataset"] == held) & (per_set["setting"] == chosen)].iloc[0]
        out.append(
            {
                "dataset": held,
                "chosen": chosen,
                "aucroc": row["aucroc"],
                "aucpr": row["aucpr"],
                "lgb_aucroc": row["lgb_aucroc"],
                "lgb_aucpr": row["lgb_aucpr"],
                "gap": row["aucroc"] - row["lgb_aucroc"],
            }
        )
    return pd.DataFrame(out).set_index("dataset")


def summary(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per setting over ``names``: mean AUCROC/AUCPR, worst gap to LightGBM, sets > 5 behind."""
    sub = frame[frame["dataset"].isin(names)]
    per_set = sub.groupby(["setting", "dataset"])[["aucroc", "aucpr", "lgb_aucroc"]].mean()
    per_set["gap"] = per_set["aucroc"] - per_set["lgb_aucroc"]
    grouped = per_set.groupby("setting")
    return pd.DataFrame(
        {
            "aucroc": grouped["aucroc"].mean(),
            "aucpr": grouped["aucpr"].mean(),
            "worst_gap": grouped["gap"].min(),
            "sets_below_5": grouped["gap"].apply(lambda g: int((g < -MARGIN).sum())),
        }
    )


def load(name: str, max_rows: int | None) -> Dataset:
    if name.startswith("odds:"):
        return load_odds(name.removeprefix("odds:"))
    return cap_rows(load_adbench(name), max_rows, seed=0)


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m benchmarks.blend_selection", __doc__)
    parser.add_argument(
        "--datasets", nargs="*", default=None, help="default: all shared ADBench sets"
    )
    parser.add_argument("--odds", action="store_true", help="add the ODDS sets not in ADBench")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-rows", type=int, default=20_000)
    parser.add_argument(
        "--grid",
        choices=("both", "prior", "evidence"),
        default="both",
        help="settings scored: both rules' grids, or one (the current settings always)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the raw rows (CSV) and the fitted pieces (resumable)",
    )
    args = parser.parse_args(argv)
    names = list(args.datasets or adbench_names())
    if args.odds:
        names += [f"odds:{n}" for n in odds_only()]
    pieces: dict[tuple[str, int], Pieces] = {}
    cache = None if args.out is None else args.out / "blend_selection_pieces.pkl"
    if cache is not None and cache.exists():  # a stopped run resumes where it was
        pieces = pickle.loads(cache.read_bytes())
    for name in names:
        for seed in range(args.seeds):
            if getattr(pieces.get((name, seed)), "model_auc", None) is None:  # new or old
                pieces[(name, seed)] = collect(load(name, args.max_rows or None), seed)
        if cache is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps(pieces))
        log.info("blend_selection %s: done", name)
    pieces = {key: value for key, value in pieces.items() if key[0] in names}  # cached seeds too
    print_evidence(pieces)
    grid = {"both": settings(), "prior": prior_settings(), "evidence": evidence_settings()}
    frame = evaluate(pieces, list(dict.fromkeys([CURRENT, EVIDENCE, *grid[args.grid]])))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.out / "blend_selection_raw.csv", index=False)
    report(frame, names)
    return 0


def print_evidence(pieces: dict[tuple[str, int], Pieces]) -> None:
    """Per dataset and seed: what the rule sees (cases, contrast rows, the detector's AUC on
    them, the booster's out-of-fold AUC, the hidden-case share) beside the detector's test AUC."""
    rows = [
        {
            "dataset": name,
            "seed": seed,
            "cases": p.n_cases,
            "contrast": p.n_contrast,
            "det_auc_labelled": p.detector_auc,
            "det_auc_test": p.detector_test_aucroc,
            "model_oof_auc": (p.model_auc or {}).get(True, float("nan")),
            "hidden_share": (p.contamination or {}).get(True, float("nan")),
            "lgb_aucroc": p.lgb_aucroc,
        }
        for (name, seed), p in pieces.items()
    ]
    print("\n== what the weight rule sees, per dataset and seed")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


def report(frame: pd.DataFrame, names: list[str]) -> None:
    """Print the current and best settings, per-set gaps and the leave-one-dataset-out figure."""
    pd.set_option("display.width", 250)
    shared = [n for n in names if not n.startswith("odds:")]
    extra = [n for n in names if n.startswith("odds:")]
    for label, subset in (
        ("shared ADBench sets", shared),
        ("ODDS-only sets", extra),
        ("all sets", names),
    ):
        if not subset:
            continue
        table = summary(frame, subset)
        lgb = frame[frame["dataset"].isin(subset)].groupby("dataset")["lgb_aucroc"].mean().mean()
        print(f"\n== {label} ({len(subset)}): plain LightGBM mean AUCROC {lgb:.4f}")
        print("current:", table.loc[CURRENT.name].round(4).to_dict())
        print(table.sort_values("aucroc", ascending=False).head(8).round(4).to_string())
    for label, grid in (
        ("prior rule's grid (before)", prior_settings()),
        ("evidence rule's grid (after)", evidence_settings()),
        ("both grids", settings()),
    ):
        loo = leave_one_dataset_out(frame, grid)
        print(
            f"\n== leave-one-dataset-out over the {label}: setting chosen on the other sets, by"
            " mean AUCROC minus shortfall beyond 5 points below LightGBM"
        )
        print(loo.round(4).to_string())
        print(
            f"LOO mean AUCROC {loo['aucroc'].mean():.4f} (LightGBM {loo['lgb_aucroc'].mean():.4f}),"
            f" AUCPR {loo['aucpr'].mean():.4f} (LightGBM {loo['lgb_aucpr'].mean():.4f}),"
            f" worst gap {loo['gap'].min():+.4f} ({loo['gap'].idxmin()})"
        )
        print("choices:", loo["chosen"].value_counts().to_dict())
    print("\n== fixed settings on the same sets (no selection)")
    for label, setting in (("prior rule, before", CURRENT), ("evidence rule, defaults", EVIDENCE)):
        fixed = (
            frame[frame["setting"] == setting.name]
            .groupby("dataset")[["aucroc", "aucpr", "lgb_aucroc", "weight"]]
            .mean()
        )
        gap = fixed["aucroc"] - fixed["lgb_aucroc"]
        print(
            f"{label}: mean AUCROC {fixed['aucroc'].mean():.4f}, AUCPR {fixed['aucpr'].mean():.4f},"
            f" worst gap {gap.min():+.4f} ({gap.idxmin()})"
        )
        print(fixed.assign(gap=gap).round(4).to_string())


if __name__ == "__main__":
    sys.exit(exits.run(main))

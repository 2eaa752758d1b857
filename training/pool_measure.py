"""Precision@k on the simulated pool, with the truth as judge: scorer vs detector vs past rules.

The pool's verification history holds the leads the past crude rules (and tip-offs) produced;
the truth table says which entities really were frauds. For one scenario this module builds the
feature table (labels = outcomes known in the history), fits ``default_detector`` on the features
and ``default_scorer`` on features + outcomes, and measures on *all* entities:

* precision@k of the detector's and the scorer's top k;
* the past rules' precision: the share of truly fraudulent entities among those a rule flagged
  (the expected precision of k leads drawn from the rules' output);
* a few scorer variants for the biased-label question (labelled rows only vs unlabelled rows as
  weak negatives vs blending with the detector).

The detector uses the scenario's declared feature directions (``FeatureSpec.direction``);
``detector_undeclared`` is the same detector without them, for the before/after comparison.

Truth is read here, for evaluation only; training never sees it.
Run: ``python -m training.pool_measure --data /tmp/scpool --scenarios fuel_tax``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from console import exits
from evaluation.metrics import average_precision, precision_at_k, roc_auc
from features.build import build_features
from features.registry import get
from training.detectors import default_detector
from training.scorers import DEFAULT_BOOSTER, LeadScorer

log = logging.getLogger(__name__)

SCORER_VARIANTS: dict[str, dict] = {  # default_scorer's settings, and variations of them
    "scorer_default": dict(DEFAULT_BOOSTER),
    "scorer_labelled_only": DEFAULT_BOOSTER | {"unlabelled_weight": 0.0},
    "scorer_no_blend": DEFAULT_BOOSTER | {"detector_blend": 0.0},
    "scorer_weak_neg_2": DEFAULT_BOOSTER | {"unlabelled_weight": 2.0},
    "scorer_before_booster_selection": {},  # LeadScorer's defaults (15 leaves)
}


def load_truth(data_root: Path, scenario: str) -> pd.DataFrame:
    """The truth table of a scenario (entity_id, is_fraud, pattern...)."""
    path = data_root / "truth" / f"{scenario}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"no truth table for {scenario!r} at {path}")
    truth = pd.read_parquet(path)
    truth["entity_id"] = truth["entity_id"].astype(str)
    return truth


def rule_precision(data_root: Path, scenario: str, truth: pd.DataFrame) -> pd.DataFrame:
    """Per past rule (and all rules together, tip-offs excluded): flagged entities, precision."""
    history = pd.read_parquet(data_root / "pool" / scenario / "verification_history.parquet")
    history["entity_id"] = history["entity_id"].astype(str)
    fraud = truth.set_index("entity_id")["is_fraud"].astype(bool)
    rows = []
    groups = [("all_rules", history[history["rule"] != "tip_off"])]
    groups += list(history.groupby("rule"))
    for rule, part in groups:
        flagged = pd.Index(part["entity_id"].unique())
        hits = fraud.reindex(flagged).fillna(False)
        rows.append(
            {"rule": rule, "flagged_entities": len(flagged), "precision": float(hits.mean())}
        )
    return pd.DataFrame(rows)


def declared_directions(scenario: str, columns: list[str]) -> list[str]:
    """Each column's declared direction ("high"/"low"/"both"), aligned with ``columns``."""

    declared = {spec.name: spec.direction for spec in get(scenario).features}
    return [declared.get(column, "both") for column in columns]


def measure(
    data_root: Path,
    scenario: str,
    ks: tuple[int, ...] = (100,),
    seed: int = 0,
    variants: dict[str, dict] | None = None,
) -> dict[str, float | int | str]:
    """precision@k (and AP, AUC) of detector and scorer variants, plus the rules' precision.

    Scorers are fitted with ``cv=1`` (no calibration folds): only their ranking is measured,
    and calibration does not change it.
    """

    table = build_features(scenario, None, data_root)
    frame = table.frame.copy()
    frame["entity_id"] = frame["entity_id"].astype(str)
    truth = load_truth(data_root, scenario)
    y_true = frame["entity_id"].map(truth.set_index("entity_id")["is_fraud"]).fillna(False)
    y_true = y_true.astype(int).to_numpy()
    X, labels = table.X(), frame["label"].to_numpy(dtype=float)
    directions = declared_directions(scenario, table.feature_names)
    detector = default_detector(seed, directions=directions).fit(X)
    scores = {
        "detector": detector.decision_function(X),
        "detector_undeclared": default_detector(seed).fit(X).decision_function(X),
    }
    extra: dict[str, float] = {}
    for name, params in (SCORER_VARIANTS if variants is None else variants).items():
        model = LeadScorer(
            detector=detector, detector_prefit=True, random_state=seed, cv=1, **params
        )
        scores[name] = model.fit(X, labels).decision_function(X)
        if name == "scorer_default":
            extra = {
                "scorer_detector_auc": model.detector_auc_,
                "scorer_detector_weight": model.detector_weight_,
            }
    rules = rule_precision(data_root, scenario, truth)
    result: dict[str, float | int | str] = {
        "scenario": scenario,
        "entities": len(frame),
        "frauds": int(y_true.sum()),
        "labelled": int(np.isfinite(labels).sum()),
        "labelled_cases": int(np.nansum(labels)),
        "rules_precision": float(rules.loc[rules["rule"] == "all_rules", "precision"].iloc[0]),
        "rules_flagged": int(rules.loc[rules["rule"] == "all_rules", "flagged_entities"].iloc[0]),
        **extra,
    }
    for name, s in scores.items():
        for k in ks:
            result[f"{name}_p@{k}"] = precision_at_k(y_true, s, k)
        result[f"{name}_ap"] = average_precision(y_true, s)
        result[f"{name}_auc"] = roc_auc(y_true, s)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--scenarios", nargs="+", required=True)
    parser.add_argument("--k", type=int, nargs="+", default=[100])
    args = parser.parse_args(argv)
    rows, measured = [], []
    for scenario in args.scenarios:
        try:
            rows.append(measure(args.data, scenario, tuple(args.k)))
        except (ModuleNotFoundError, KeyError, FileNotFoundError) as exc:
            log.warning("%s: not measured (%s)", scenario, exc)
        else:
            measured.append(scenario)
    pd.set_option("display.width", 250)
    print(pd.DataFrame(rows).T.to_string())
    for s in measured:
        print(
            f"\n{s} rules:\n" + rule_precision(args.data, s, load_truth(args.data, s)).to_string()
        )
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

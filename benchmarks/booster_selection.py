"""The scorer's booster settings chosen by leave-one-dataset-out on ADBench (issue 14).

Protocol: ADBench's 70/30 stratified split, 10% of the training anomalies labelled 1 and every
other training row NaN (``benchmarks.adbench.partial_labels``), scored on the test rows against
the true labels. Per dataset and seed the detector is fitted once and shared by every setting
(``LeadScorer(detector_prefit=True, cv=1)``: no calibration folds, which do not change the
ranking). Plain LightGBM and CatBoost (default settings, unlabelled = 0, as in
``benchmarks.adbench``) run on the same split and labels as peers.

A *choice* is either one booster setting for every table, or a size rule: one setting for
tables with at most ``max_cases`` labelled cases, another above. For each held-out dataset the
choice is made on the other datasets only (``loo_folds``) by ``objective``: mean of
(AUCROC + AUCPR) / 2 minus the AUCROC shortfall beyond 5 points below plain LightGBM; the
figures of the held-out set under that choice are the honest (LOO) figure.

Run: ``python -m benchmarks.booster_selection --out /tmp/b14 --seeds 3 --max-n 11200``
(resumable: rows already in ``<out>/rows.csv`` are not recomputed); ``--report`` reads the CSV
and prints the in-sample and LOO tables.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.adbench import (
    Dataset,
    _UnlabelledAsZero,
    adbench_manifest,
    cap_rows,
    load_adbench,
    partial_labels,
    split,
)
from console import exits
from evaluation.metrics import average_precision, roc_auc
from training.detectors import default_detector
from training.scorers import LeadScorer

log = logging.getLogger(__name__)

MARGIN = 0.05  # the goal: never more than 5 AUCROC points below plain LightGBM on a set
PEERS = ("lgb", "catboost")
SIZE_THRESHOLDS = (3, 6, 12, 25)  # labelled cases at which a size rule may switch settings


@dataclass(frozen=True)
class BoosterSetting:
    """The LightGBM settings of ``LeadScorer`` searched here, and its weak-negative weight
    (ADBench labels cases only, so it is the weight ``cases_only_unlabelled_weight`` sets)."""

    min_child_samples: int
    num_leaves: int
    n_estimators: int
    learning_rate: float
    unlabelled_weight: float

    @property
    def name(self) -> str:
        return (
            f"mcs{self.min_child_samples}_nl{self.num_leaves}_"
            f"t{self.n_estimators}x{self.learning_rate:g}_uw{self.unlabelled_weight:g}"
        )


#: ``LeadScorer``'s defaults: ``default_scorer`` before this selection
BEFORE = BoosterSetting(10, 15, 200, 0.05, 0.5)
#: the choice adopted by ``default_scorer`` (``training.scorers.DEFAULT_BOOSTER``)
ADOPTED = BoosterSetting(10, 7, 200, 0.05, 2.0)


def grid() -> list[BoosterSetting]:
    """The settings searched: the one before first, then the product of the axes."""
    settings = [
        BoosterSetting(mcs, nl, trees, lr, uw)
        for mcs, nl, (trees, lr), uw in itertools.product(
            (3, 10, 25), (7, 15, 31), ((200, 0.05), (500, 0.03)), (0.5, 2.0)
        )
    ]
    return [BEFORE] + [s for s in settings if s != BEFORE]


def datasets_up_to(max_n: int) -> list[str]:
    """Shared ADBench sets with at most ``max_n`` rows, smallest first."""
    manifest = adbench_manifest().sort_values("n")
    return manifest[manifest["n"] <= max_n]["name"].astype(str).tolist()


def run_one(
    data: Dataset, seed: int, settings: Sequence[BoosterSetting], peers: Sequence[str] = PEERS
) -> list[dict]:
    """Every setting and every peer on one dataset and seed (same split, same labels)."""
    X_train, X_test, y_train, y_test = split(data, 0.3, seed)
    y = partial_labels(y_train, 0.1, seed)
    base = {"dataset": data.name, "seed": seed, "n_cases": int(np.nansum(y))}
    detector = default_detector(random_state=seed).fit(X_train)
    rows = []
    for setting in settings:
        model = LeadScorer(
            detector=detector, detector_prefit=True, random_state=seed, cv=1, **asdict(setting)
        ).fit(X_train, y)
        scores = model.decision_function(X_test)
        rows.append(
            base
            | {
                "method": setting.name,
                "aucroc": roc_auc(y_test, scores),
                "aucpr": average_precision(y_test, scores),
                "detector_weight": model.detector_weight_,
            }
        )
    for peer in peers:
        scores = _UnlabelledAsZero(peer, seed).fit(X_train, y).decision_function(X_test)
        rows.append(
            base
            | {
                "method": f"peer:{peer}",
                "aucroc": roc_auc(y_test, scores),
                "aucpr": average_precision(y_test, scores),
                "detector_weight": np.nan,
            }
        )
    return rows


# ---- selection (arithmetic on the stored rows) ---------------------------------------------


def per_set(rows: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and scorer setting: seed means of AUCROC/AUCPR/cases, LightGBM's beside."""
    means = rows.groupby(["dataset", "method"])[["aucroc", "aucpr", "n_cases"]].mean()
    means = means.reset_index()
    lgb = means[means["method"] == "peer:lgb"].set_index("dataset")
    scorer = means[~means["method"].str.startswith("peer:")].copy()
    scorer["lgb_aucroc"] = scorer["dataset"].map(lgb["aucroc"])
    scorer["lgb_aucpr"] = scorer["dataset"].map(lgb["aucpr"])
    return scorer


def value(frame: pd.DataFrame) -> pd.Series:
    """Per row: (AUCROC + AUCPR) / 2 minus the AUCROC shortfall beyond ``MARGIN`` below LGB."""
    shortfall = np.maximum(0.0, frame["lgb_aucroc"] - frame["aucroc"] - MARGIN)
    return (frame["aucroc"] + frame["aucpr"]) / 2 - shortfall


@dataclass(frozen=True)
class Choice:
    """One setting for tables with at most ``max_cases`` labelled cases, another above
    (``small == large``: one setting for all)."""

    small: str
    large: str
    max_cases: float = float("inf")

    def pick(self, n_cases: float) -> str:
        return self.small if n_cases <= self.max_cases else self.large

    @property
    def name(self) -> str:
        if self.small == self.large:
            return self.small
        return f"cases<={self.max_cases:g}:{self.small}|else:{self.large}"


def objective(table: pd.DataFrame, size_rules: bool = True) -> tuple[Choice, float]:
    """The best choice on ``table`` (rows of ``per_set``) and its mean ``value``: every single
    setting, and (``size_rules``) every size rule over ``SIZE_THRESHOLDS`` (the best setting
    on each side)."""
    values = table.assign(v=value(table)).pivot(index="dataset", columns="method", values="v")
    cases = table.groupby("dataset")["n_cases"].mean().reindex(values.index)
    n = len(values)
    totals = values.sum()
    best_name = str(totals.idxmax())
    best = (Choice(best_name, best_name), float(totals.max() / n))
    for max_cases in SIZE_THRESHOLDS if size_rules else ():
        small = cases <= max_cases
        if small.all() or not small.any():
            continue
        small_sum, large_sum = values[small].sum(), values[~small].sum()
        score = float((small_sum.max() + large_sum.max()) / n)
        if score > best[1] + 1e-12:
            best = (Choice(str(small_sum.idxmax()), str(large_sum.idxmax()), max_cases), score)
    return best


def loo_folds(names: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
    """(held-out dataset, the datasets the choice is made on): never the held-out one."""
    for held in names:
        yield held, [name for name in names if name != held]


def leave_one_dataset_out(table: pd.DataFrame, size_rules: bool = True) -> pd.DataFrame:
    """Per dataset: the choice made on the others (``objective``) and its figures here."""
    out = []
    for held, rest in loo_folds(sorted(table["dataset"].unique())):
        choice, _ = objective(table[table["dataset"].isin(rest)], size_rules)
        here = table[table["dataset"] == held]
        method = choice.pick(float(here["n_cases"].mean()))
        row = here[here["method"] == method].iloc[0]
        out.append(
            {
                "dataset": held,
                "choice": choice.name,
                "setting": method,
                "aucroc": row["aucroc"],
                "aucpr": row["aucpr"],
                "lgb_aucroc": row["lgb_aucroc"],
                "gap_to_lgb": row["aucroc"] - row["lgb_aucroc"],
            }
        )
    return pd.DataFrame(out).set_index("dataset")


def report(rows: pd.DataFrame) -> str:
    """In-sample table (default, in-sample best, peers) and the LOO table, as text."""
    table = per_set(rows)
    # only sets where every seed finished for every method count
    complete = rows.groupby("dataset")["seed"].nunique()
    counts = rows.groupby(["dataset", "method"]).size().unstack()
    full = counts.index[(counts.notna().all(axis=1)) & (counts.min(axis=1) == complete)]
    table = table[table["dataset"].isin(full)]
    rows = rows[rows["dataset"].isin(full)]
    choice, _ = objective(table)
    loo = leave_one_dataset_out(table)
    peers = rows[rows["method"].str.startswith("peer:")]
    peer_means = peers.groupby(["method", "dataset"])[["aucroc", "aucpr"]].mean()
    seeds = complete[full]
    lines = [f"{len(full)} sets x {seeds.min()}-{seeds.max()} seeds: {', '.join(sorted(full))}"]
    summary = []
    for label, frame in (
        ("scorer before", table[table["method"] == BEFORE.name].set_index("dataset")),
        ("adopted (default_scorer)", table[table["method"] == ADOPTED.name].set_index("dataset")),
        (
            f"in-sample best ({choice.name})",
            pd.DataFrame(
                [
                    table[
                        (table["dataset"] == d)
                        & (table["method"] == choice.pick(g["n_cases"].mean()))
                    ].iloc[0]
                    for d, g in table.groupby("dataset")
                ]
            ).set_index("dataset"),
        ),
        ("LOO choice (honest)", loo),
    ):
        gap = frame["aucroc"] - frame["lgb_aucroc"]
        summary.append(
            {
                "scorer": label,
                "aucroc": frame["aucroc"].mean(),
                "aucpr": frame["aucpr"].mean(),
                "worst_gap_to_lgb": gap.min(),
                "worst_set": gap.idxmin(),
            }
        )
    for method in sorted(peers["method"].unique()):
        means = peer_means.loc[method]
        peer = method.removeprefix("peer:")
        summary.append(
            {"scorer": peer, "aucroc": means["aucroc"].mean(), "aucpr": means["aucpr"].mean()}
        )
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 80)
    lines.append(pd.DataFrame(summary).set_index("scorer").round(4).to_string())
    per = loo[["setting", "aucroc", "aucpr", "lgb_aucroc", "gap_to_lgb"]].copy()
    before = table[table["method"] == BEFORE.name].set_index("dataset")
    per.insert(1, "before_aucroc", before["aucroc"])
    per.insert(2, "before_aucpr", before["aucpr"])
    for method in sorted(set(peers["method"]) - {"peer:lgb"}):
        short = method.removeprefix("peer:")[:5]
        per[f"{short}_aucroc"] = peer_means.loc[method]["aucroc"]
        per[f"{short}_aucpr"] = peer_means.loc[method]["aucpr"]
    lines.append(per.round(3).to_string())
    lines.append("LOO choices: " + loo["choice"].value_counts().to_string())
    single = leave_one_dataset_out(table, size_rules=False)
    lines.append(
        f"LOO among single settings only: AUCROC {single['aucroc'].mean():.4f}, AUCPR "
        f"{single['aucpr'].mean():.4f}, worst gap to LightGBM {single['gap_to_lgb'].min():.4f}"
        f" ({single['gap_to_lgb'].idxmin()}); choices: "
        + ", ".join(f"{k} x{v}" for k, v in single["setting"].value_counts().items())
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="folder of rows.csv (resumable)")
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--max-n", type=int, default=11_200, help="largest table (rows) run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="only print the tables")
    parser.add_argument(
        "--cap-rows", type=int, default=None, help="stratified cap per table (benchmarks.adbench)"
    )
    parser.add_argument(
        "--check", action="store_true", help="run only the setting before and the adopted one"
    )
    parser.add_argument(
        "--peers", nargs="+", default=list(PEERS), help="lgb (needed), catboost, xgb, xgbod"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "rows.csv"
    rows = pd.read_csv(path) if path.exists() else pd.DataFrame()
    if not args.report:
        settings = [BEFORE, ADOPTED] if args.check else grid()
        for name in args.datasets or datasets_up_to(args.max_n):
            data = cap_rows(load_adbench(name), args.cap_rows, seed=0)
            for seed in range(args.seeds):
                if (
                    not rows.empty
                    and ((rows["dataset"] == data.name) & (rows["seed"] == seed)).any()
                ):
                    continue
                new = pd.DataFrame(run_one(data, seed, settings, args.peers))
                rows = pd.concat([rows, new], ignore_index=True)
                rows.to_csv(path, index=False)
                log.info("%s seed %d done", data.name, seed)
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

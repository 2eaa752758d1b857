"""A card-fraud daily protocol on a simulated transaction table of our own.

The shape follows the public Fraud-Detection-Handbook's setting (customers paying at terminals
near them; three kinds of fraud; features from the customer's spending and the terminal's past
fraud; a prequential protocol), written here from its description, with our own generator:

- **Fraud.** (1) any payment above ``big_amount`` is fraudulent; (2) each day a few terminals are
  compromised for four weeks and every payment there is fraudulent; (3) each day a few customers'
  card details leak for two weeks and about a third of their payments are fraudulent, at five times
  their usual amount.
- **Features per payment**: weekend, night, the customer's number of payments and mean amount over
  the last 1, 7 and 30 days (up to and including the payment), and the terminal's number of
  payments and share of fraud over 1, 7 and 30 days *ending a week before the day* (fraud is only
  known after the delay).
- **Protocol**: train on one week, wait a week (its labels are not known yet), judge the next week.
  Cards already known compromised in the training week are left out of the judged week. Judged
  per day: *card precision@k*, the share of compromised cards among the k cards with the highest
  payment score that day (a card's score is its highest payment's). Several folds, each a week
  earlier than the last.

``python -m benchmarks.card_fraud [--customers 2000] [--days 120] [--folds 4] [--k 100]``
prints one row per method (mean over the folds' days) and writes ``reports/card_fraud.md``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from benchmarks.adbench import markdown
from benchmarks.cli_args import CUSTOMERS, DAYS, TERMINALS, card_fraud_parser
from console import exits
from evaluation.metrics import average_precision, roc_auc
from training.scorers import default_scorer

DAY = 86_400
WINDOWS = (1, 7, 30)


@dataclass(frozen=True)
class Simulation:
    """Sizes and fraud rates of the simulated card payments."""

    customers: int = CUSTOMERS
    terminals: int = TERMINALS
    days: int = DAYS
    radius: float = 5.0
    big_amount: float = 220.0
    terminal_rate: float = 2 / 10000  # terminals compromised per day, per terminal
    terminal_days: int = 28
    customer_rate: float = 3 / 5000  # customers whose card leaks per day, per customer
    customer_days: int = 14
    seed: int = 0

    @property
    def terminals_per_day(self) -> int:
        return max(1, round(self.terminal_rate * self.terminals))

    @property
    def customers_per_day(self) -> int:
        return max(1, round(self.customer_rate * self.customers))


def simulate(sim: Simulation = Simulation()) -> pd.DataFrame:
    """Payments ``tx_id, ts (seconds), day, customer_id, terminal_id, amount, is_fraud, scenario``.

    Customers live on a 100 x 100 square and pay at terminals within ``radius`` of home; each has
    a mean amount (5-100), a spread (half of it) and a mean number of payments a day (0-4).
    """
    rng = np.random.default_rng(sim.seed)
    home = rng.uniform(0, 100, (sim.customers, 2))
    mean_amount = rng.uniform(5, 100, sim.customers)
    per_day = rng.uniform(0, 4, sim.customers)
    spots = rng.uniform(0, 100, (sim.terminals, 2))
    near = [np.flatnonzero(((spots - h) ** 2).sum(axis=1) < sim.radius**2) for h in home]

    counts = rng.poisson(per_day[:, None], (sim.customers, sim.days))
    cust = np.repeat(np.repeat(np.arange(sim.customers), sim.days), counts.ravel())
    day = np.repeat(np.tile(np.arange(sim.days), sim.customers), counts.ravel())
    # the time of day: normal around noon, sd 5 h, kept within the day
    seconds = np.clip(rng.normal(DAY / 2, 5 * 3600, len(cust)), 0, DAY - 1).astype(np.int64)
    amount = np.abs(rng.normal(mean_amount[cust], mean_amount[cust] / 2)).round(2)
    n_near = np.array([len(n) for n in near])
    has_near = n_near[cust] > 0  # a customer with no terminal within the radius pays nowhere
    cust, day, seconds, amount = cust[has_near], day[has_near], seconds[has_near], amount[has_near]
    pick = (rng.random(len(cust)) * n_near[cust]).astype(int)
    terminal = np.array([near[c][p] for c, p in zip(cust, pick, strict=True)], dtype=np.int64)

    scenario = np.zeros(len(cust), dtype=np.int8)
    scenario[amount > sim.big_amount] = 1
    for d in range(sim.days):
        bad_terminals = rng.choice(sim.terminals, sim.terminals_per_day, replace=False)
        hit = np.isin(terminal, bad_terminals) & (day >= d) & (day < d + sim.terminal_days)
        scenario[hit & (scenario == 0)] = 2
        leaked = rng.choice(sim.customers, sim.customers_per_day, replace=False)
        window = np.isin(cust, leaked) & (day >= d) & (day < d + sim.customer_days)
        chosen = window & (scenario == 0) & (rng.random(len(cust)) < 1 / 3)
        amount[chosen] = (amount[chosen] * 5).round(2)
        scenario[chosen] = 3
    frame = pd.DataFrame(
        {
            "ts": day.astype(np.int64) * DAY + seconds,
            "day": day,
            "customer_id": cust,
            "terminal_id": terminal,
            "amount": amount,
            "is_fraud": (scenario > 0).astype(np.int8),
            "scenario": scenario,
        }
    )
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    frame.insert(0, "tx_id", np.arange(len(frame)))
    return frame


def features(tx: pd.DataFrame, delay: int = 7) -> pd.DataFrame:
    """The payment features, one row per payment in ``tx``'s order (see the module docstring).

    Pure: depends only on the payments, and a terminal's fraud share on day d only on labels of
    days up to ``d - delay``.
    """
    out = pd.DataFrame(index=tx.index)
    weekday = (tx["day"] % 7).to_numpy()
    out["weekend"] = (weekday >= 5).astype(np.float64)
    hour = (tx["ts"] % DAY) / 3600
    out["night"] = (hour <= 6).astype(np.float64)

    by_customer = tx[["customer_id", "ts", "amount"]].sort_values(
        ["customer_id", "ts"], kind="stable"
    )
    when = pd.to_datetime(by_customer["ts"], unit="s")
    for w in WINDOWS:
        rolled = (
            by_customer.assign(when=when)
            .groupby("customer_id")
            .rolling(f"{w}D", on="when")["amount"]
            .agg(["count", "mean"])
        )
        rolled.index = by_customer.index
        out[f"customer_n_{w}d"] = rolled["count"].reindex(tx.index).to_numpy()
        out[f"customer_mean_{w}d"] = rolled["mean"].reindex(tx.index).to_numpy()

    n_days = int(tx["day"].max()) + 1
    n_terminals = int(tx["terminal_id"].max()) + 1
    count = np.zeros((n_terminals, n_days + 1))
    fraud = np.zeros((n_terminals, n_days + 1))
    np.add.at(count, (tx["terminal_id"].to_numpy(), tx["day"].to_numpy() + 1), 1)
    np.add.at(
        fraud, (tx["terminal_id"].to_numpy(), tx["day"].to_numpy() + 1), tx["is_fraud"].to_numpy()
    )
    c_count, c_fraud = count.cumsum(axis=1), fraud.cumsum(axis=1)
    t, d = tx["terminal_id"].to_numpy(), tx["day"].to_numpy()
    end = np.clip(d - delay + 1, 0, n_days)  # days [d - delay - w + 1, d - delay] known on day d
    for w in WINDOWS:
        start = np.clip(end - w, 0, n_days)
        n = c_count[t, end] - c_count[t, start]
        f = c_fraud[t, end] - c_fraud[t, start]
        out[f"terminal_n_{w}d"] = n
        out[f"terminal_risk_{w}d"] = np.divide(f, n, out=np.zeros_like(f), where=n > 0)
    out["amount"] = tx["amount"].to_numpy()
    return out


DIRECTIONS = {
    "amount": "high",
    "night": "high",
    "weekend": "both",
    **{f"customer_n_{w}d": "both" for w in WINDOWS},
    **{f"customer_mean_{w}d": "both" for w in WINDOWS},
    **{f"terminal_n_{w}d": "both" for w in WINDOWS},
    **{f"terminal_risk_{w}d": "high" for w in WINDOWS},
}


def card_precision_at_k(
    days: np.ndarray, cards: np.ndarray, y: np.ndarray, scores: np.ndarray, k: int
) -> list[float]:
    """Per day: share of compromised cards among the k cards with the highest payment score."""
    frame = pd.DataFrame({"day": days, "card": cards, "y": y, "s": scores})
    per_card = frame.groupby(["day", "card"], sort=False).agg(y=("y", "max"), s=("s", "max"))
    out = []
    for _, one in per_card.groupby(level="day", sort=True):
        # ties at the k-th score are broken by card id, the same way for every method
        top = one.sort_values("s", ascending=False, kind="stable").head(k)
        out.append(float(top["y"].mean()))
    return out


class Classifier(Protocol):
    """A fitted method as scored here: every one is a scikit-learn-style classifier; the
    project's scorer (and any with ``decision_function``) ranks by that instead."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


def methods(seed: int) -> dict[str, Callable[[], Any]]:
    """Name -> factory of an unfitted estimator with ``fit(X, y)`` and a score method."""
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "default_scorer": lambda: default_scorer(random_state=seed, directions=DIRECTIONS),
        "logistic_regression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000)
        ),
        "random_forest": lambda: RandomForestClassifier(
            n_estimators=100, max_depth=20, n_jobs=1, random_state=seed
        ),
        "xgboost": lambda: xgb.XGBClassifier(
            n_estimators=100,
            max_depth=6,
            learning_rate=0.1,
            n_jobs=1,
            random_state=seed,
            verbosity=0,
        ),
        "lightgbm": lambda: lgb.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=1),
    }


def _score(model: Classifier, X: pd.DataFrame) -> np.ndarray:
    if hasattr(
        model, "decision_function"
    ):  # the ranking score (a calibrated probability is binned)
        return np.asarray(model.decision_function(X), dtype=np.float64)
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


@dataclass(frozen=True)
class Fold:
    """Day ranges of one prequential fold: train, delay (unlabelled), judged."""

    train: range
    delay: range
    test: range


def folds(days: int, n_folds: int, train: int = 7, delay: int = 7, test: int = 7) -> list[Fold]:
    """``n_folds`` folds whose judged weeks end at the last day, then a week earlier each."""
    out = []
    for i in range(n_folds):
        test_end = days - 7 * i
        test_start = test_end - test
        delay_start = test_start - delay
        train_start = delay_start - train
        if train_start < 30:  # the 30-day windows need a month of history
            raise ValueError(
                f"{n_folds} folds need at least {30 + train + delay + test + 7 * (n_folds - 1)} "
                f"days of payments; the simulation has {days}"
            )
        out.append(
            Fold(
                range(train_start, delay_start),
                range(delay_start, test_start),
                range(test_start, test_end),
            )
        )
    return out


def run(
    sim: Simulation = Simulation(),
    n_folds: int = 4,
    k: int = 100,
    names: Sequence[str] | None = None,
    delay: int = 7,
) -> pd.DataFrame:
    """One row per method and fold: card precision@k (mean over the judged days), AUC, AP."""
    tx = simulate(sim)
    X = features(tx, delay=delay)
    factories = methods(sim.seed)
    chosen = list(names or factories)
    unknown = sorted(set(chosen) - set(factories))
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {sorted(factories)}")
    rows = []
    for number, fold in enumerate(folds(sim.days, n_folds, delay=delay)):
        in_train = tx["day"].isin(fold.train).to_numpy()
        in_test = tx["day"].isin(fold.test).to_numpy()
        known = tx.loc[in_train & (tx["is_fraud"] == 1), "customer_id"].unique()
        in_test = in_test & ~tx["customer_id"].isin(known).to_numpy()
        test = tx[in_test]
        for name in chosen:
            started = time.perf_counter()
            model = factories[name]().fit(X[in_train], tx.loc[in_train, "is_fraud"].to_numpy())
            scores = _score(model, X[in_test])
            per_day = card_precision_at_k(
                test["day"].to_numpy(),
                test["customer_id"].to_numpy(),
                test["is_fraud"].to_numpy(),
                scores,
                k,
            )
            rows.append(
                {
                    "method": name,
                    "fold": number,
                    "card_precision_at_k": float(np.mean(per_day)),
                    "aucroc": roc_auc(test["is_fraud"], scores),
                    "aucpr": average_precision(test["is_fraud"], scores),
                    "train_rows": int(in_train.sum()),
                    "test_rows": int(in_test.sum()),
                    "seconds": time.perf_counter() - started,
                }
            )
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over the folds, best card precision first."""
    grouped = rows.groupby("method")
    table = grouped[["card_precision_at_k", "aucroc", "aucpr", "seconds"]].mean()
    table["card_precision_sd"] = grouped["card_precision_at_k"].std(ddof=1)
    return table.sort_values("card_precision_at_k", ascending=False).round(4)


def main(argv: list[str] | None = None) -> int:
    parser = card_fraud_parser()
    args = parser.parse_args(argv)
    sim = Simulation(
        customers=args.customers, terminals=args.terminals, days=args.days, seed=args.seed
    )
    try:
        rows = run(sim, n_folds=args.folds, k=args.k, names=args.methods)
    except ValueError as error:
        print(f"card_fraud: {error}", file=sys.stderr)
        return exits.REFUSED
    table = summary(rows)
    title = (
        f"Card-fraud daily protocol: {args.customers} customers, {args.days} days, "
        f"{args.folds} folds (train 7 d, delay 7 d, judge 7 d), card precision@{args.k}"
    )
    print(title)
    print(table.to_string())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "card_fraud.md").write_text(f"# {title}\n\n{markdown(table)}")
    rows.to_csv(args.out / "card_fraud_folds.csv", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

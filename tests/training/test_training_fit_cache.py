"""A fit is reused only for the same model on exactly the same rows, and reusing it changes
nothing: the project's scorer fitted twice on the same rows scores them identically."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.fit_cache import FitCache, rows_digest
from training.scorers import default_scorer


class Counting:
    """A factory that counts the models it makes (each fit records its rows)."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> Counting.Model:
        self.made += 1
        return Counting.Model()

    class Model:
        def fit(self, X: pd.DataFrame, y: np.ndarray) -> Counting.Model:
            self.rows = len(X)
            return self


def _rows(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X.loc[::17, "b"] = np.nan
    y = np.full(n, np.nan)
    score = X["a"].to_numpy()
    y[np.argsort(-score)[:12]] = 1.0
    y[rng.choice(np.argsort(-score)[40:], size=30, replace=False)] = 0.0
    return X, y


def test_the_digest_sees_every_value_label_and_column_name():
    X, y = _rows()
    base = rows_digest(X, y)
    assert rows_digest(X.copy(), y.copy()) == base
    changed = X.copy()
    changed.iloc[5, 1] = changed.iloc[5, 1] + 1e-12
    assert rows_digest(changed, y) != base
    relabelled = y.copy()
    relabelled[np.flatnonzero(np.isnan(y))[0]] = 0.0  # an unlabelled row now verified
    assert rows_digest(X, relabelled) != base
    assert rows_digest(X.rename(columns={"b": "c"}), y) != base
    assert rows_digest(X[["b", "a"]], y) != base
    assert rows_digest(X.iloc[:-1], y[:-1]) != base


def test_the_same_model_on_the_same_rows_is_fitted_once_and_anything_else_refits():
    X, y = _rows()
    cache, make = FitCache(), Counting()
    first = cache.fit("m", make, X, y)
    assert cache.fit("m", make, X.copy(), y.copy()) is first
    assert make.made == 1 and cache.hits == 1
    other = X.copy()
    other.iloc[0, 0] += 1.0
    assert cache.fit("m", make, other, y) is not first
    assert cache.fit("n", make, X, y) is not first  # another model: its own fit
    assert make.made == 3
    cache.forget("m")
    assert cache.fit("m", make, X, y) is not first and make.made == 4


def test_a_reused_scorer_is_the_one_a_refit_would_give():
    X, y = _rows(seed=1)
    one = default_scorer(random_state=7).fit(X, y)
    two = default_scorer(random_state=7).fit(X, y)
    np.testing.assert_array_equal(one.decision_function(X), two.decision_function(X))
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_parallel_tasks_keep_their_order_share_the_threads_and_raise_failures(monkeypatch):
    import threading

    import pytest

    from pool.resources import parallel_map, threads

    monkeypatch.setenv("SUPERVISION_THREADS", "2")
    seen = []

    def task(i: int) -> tuple[int, int]:
        seen.append(threading.current_thread().name)
        return i * i, threads()

    assert parallel_map(task, range(5)) == [(i * i, 1) for i in range(5)]
    assert all(name.startswith("supervision") for name in seen)
    assert threads() == 2  # outside a task: the whole budget
    monkeypatch.setenv("SUPERVISION_THREADS", "1")
    seen.clear()
    assert parallel_map(task, range(3)) == [(0, 1), (1, 1), (4, 1)]
    assert seen == [threading.current_thread().name] * 3  # one thread: here, in order
    monkeypatch.setenv("SUPERVISION_THREADS", "2")

    def fails(i: int) -> int:
        if i == 1:
            raise ValueError("task 1 failed")
        return i

    with pytest.raises(ValueError, match="task 1 failed"):
        parallel_map(fails, range(4))


def test_the_point_comparison_gives_the_same_figures_on_one_thread_and_on_two(monkeypatch):
    from training.point_backtest import Period, compare

    X, y = _rows(n=400, seed=3)
    frames = []
    for shift in (0, 1):
        frame = X.assign(
            entity_id=[f"e{i}" for i in range(len(X))],
            district=["a", "b"] * (len(X) // 2),
            label=np.roll(y, shift),
        )
        outcome = pd.Series(np.where(np.arange(len(X)) % 5 == 0, np.roll(y, shift + 1), np.nan))
        frames.append(
            Period(
                f"p{shift}",
                frame,
                frame,
                outcome.fillna(np.nan),
                pd.Series(frame["a"].to_numpy() > 1.0),
            )
        )
    makers = {
        "scorer": lambda: default_scorer(random_state=5),
        "other": lambda: default_scorer(random_state=6),
    }
    columns = {"scorer": ["a", "b"], "other": ["b", "a"]}
    results = {}
    for n in ("1", "2"):
        monkeypatch.setenv("SUPERVISION_THREADS", n)
        results[n] = compare(frames, makers, columns, k=20, capacity=15)
    pd.testing.assert_frame_equal(results["1"].per_period, results["2"].per_period)
    pd.testing.assert_frame_equal(results["1"].overlap, results["2"].overlap)

"""Fits a train job has already made, reused when the same model meets the same rows again.

The point comparison (``training.point_backtest``) fits every model of a point at its first
walk-forward cutoff; that cutoff is the gate backtest's cutoff (``holdout_months`` before the
as-of date), so the gate's backtest fit of the point's own model is the same estimator, the
same seed and the same training rows. Fitting is deterministic (seeded detector, LightGBM with
``deterministic=True``), so the second fit would give the same model: it is taken from here.

A fit is reused only when the model's name (its factory: same seed within the job) and a
digest of the training rows match exactly: every feature value, in order, with the column
names, and every label (NaN included). Any difference refits. Nothing is shared between jobs.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def rows_digest(X: pd.DataFrame, y: np.ndarray) -> str:
    """A digest of the training rows: column names, every value (as float64) and the labels."""
    values = np.ascontiguousarray(X.to_numpy(dtype="float64", na_value=np.nan))
    labels = np.ascontiguousarray(np.asarray(y, dtype="float64"))
    digest = hashlib.blake2b(digest_size=20)
    digest.update("\x1f".join(map(str, X.columns)).encode())
    digest.update(np.asarray(values.shape, dtype="int64").tobytes())
    digest.update(values.tobytes())
    digest.update(labels.tobytes())
    return digest.hexdigest()


@dataclass
class FitCache:
    """Fitted models of one job by (model name, digest of the training rows)."""

    fits: dict[tuple[str, str], Any] = field(default_factory=dict)
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def fit(self, name: str, make: Callable[[], Any], X: pd.DataFrame, y: np.ndarray) -> Any:
        """``make().fit(X, y)``, or the model already fitted on exactly these rows (safe from
        several threads; two threads fitting the same rows at once both fit, same result)."""
        key = (name, rows_digest(X, y))
        with self.lock:
            if key in self.fits:
                self.hits += 1
                return self.fits[key]
        model = make().fit(X, y)
        with self.lock:
            self.fits[key] = model
        return model

    def forget(self, name: str) -> None:
        """Drop every fit of ``name`` (once nothing will ask for them again)."""
        with self.lock:
            for key in [k for k in self.fits if k[0] == name]:
                del self.fits[key]

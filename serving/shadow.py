"""Shadow scoring: the ``challenger`` scores the same rows as the champion, off the request path.

Its scores are logged and summarised (rank agreement with the champion, overlap of the top rows)
so data scientists can judge it on live traffic, but they are never returned to a caller. A single
worker thread with a short queue does the work; when it falls behind, batches are skipped and
counted rather than slowing the answers down.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .champions import ServedModel

log = logging.getLogger("serving.shadow")


@dataclass
class ShadowStats:
    """Running summary per (scenario, champion version, challenger version)."""

    batches: int = 0
    rows: int = 0
    skipped: int = 0
    failed: int = 0
    rank_corr_sum: float = 0.0
    top_overlap_sum: float = 0.0
    last_error: str | None = None
    by_pair: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Aggregates only (never a score)."""
        done = max(self.batches, 1)
        return {
            "batches": self.batches,
            "rows": self.rows,
            "skipped": self.skipped,
            "failed": self.failed,
            "mean_rank_corr": self.rank_corr_sum / done,
            "mean_top_decile_overlap": self.top_overlap_sum / done,
            "last_error": self.last_error,
            "pairs": dict(self.by_pair),
        }


def compare(champion: np.ndarray, challenger: np.ndarray) -> tuple[float, float]:
    """Spearman rank correlation and overlap of the top 10% between two score vectors."""
    if len(champion) < 2:
        return 1.0, 1.0
    a = pd.Series(champion).rank().to_numpy()
    b = pd.Series(challenger).rank().to_numpy()
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    k = max(1, len(champion) // 10)
    top_a = set(np.argsort(-champion)[:k])
    top_b = set(np.argsort(-challenger)[:k])
    return corr, len(top_a & top_b) / k


class ShadowScorer:
    """Queue of batches for the challenger; one daemon worker scores and logs them."""

    def __init__(self, max_pending: int = 2) -> None:
        self.stats: dict[str, ShadowStats] = {}
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None

    def submit(
        self,
        challenger: ServedModel,
        champion: ServedModel,
        frame: pd.DataFrame,
        champion_scores: np.ndarray,
    ) -> None:
        """Hand a scored batch to the shadow worker; skip it if the worker is busy."""
        stats = self.stats.setdefault(champion.scenario, ShadowStats())
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="shadow", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait((challenger, champion, frame, champion_scores))
        except queue.Full:
            stats.skipped += 1

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until the queued batches are scored (tests and shutdown)."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        done.wait(timeout)

    def _work(self) -> None:
        while True:
            challenger, champion, frame, champion_scores = self._queue.get()
            try:
                self._score(challenger, champion, frame, champion_scores)
            finally:
                self._queue.task_done()

    def _score(
        self,
        challenger: ServedModel,
        champion: ServedModel,
        frame: pd.DataFrame,
        champion_scores: np.ndarray,
    ) -> None:
        stats = self.stats[champion.scenario]
        try:
            scores = challenger.predict(frame)["score"].to_numpy(dtype="float64")
        except Exception as exc:  # noqa: BLE001 - a broken challenger must not hurt serving
            stats.failed += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("shadow %s v%s failed: %s", challenger.name, challenger.version, exc)
            return
        corr, overlap = compare(champion_scores, scores)
        pair = f"v{champion.version}/v{challenger.version}"
        stats.batches += 1
        stats.rows += len(scores)
        stats.rank_corr_sum += corr
        stats.top_overlap_sum += overlap
        stats.by_pair[pair] = stats.by_pair.get(pair, 0) + 1
        log.info(
            "shadow %s champion v%s vs challenger v%s: %d rows, rank corr %.3f, "
            "top-decile overlap %.2f",
            champion.name,
            champion.version,
            challenger.version,
            len(scores),
            corr,
            overlap,
        )

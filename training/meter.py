"""What a stage of a job costs: wall seconds, CPU seconds (every thread of the process) and the
peak resident set while it ran.

The peak is sampled by one daemon thread reading ``/proc/self/statm`` (Linux) every 50 ms while
at least one stage is open; elsewhere it falls back to ``ru_maxrss`` (the process peak so far,
an upper bound). Nothing starts at import: the sampler thread starts with the first stage.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_STATM = "/proc/self/statm"


def rss_bytes() -> int:
    """The current resident set of this process (the peak so far where /proc is absent)."""
    try:
        with open(_STATM, encoding="ascii") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Sampler:
    """One background thread raising the peak of every open window."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.lock = threading.Lock()
        self.windows: dict[int, int] = {}
        self.next_id = 0
        self.thread: threading.Thread | None = None

    def open(self) -> int:
        with self.lock:
            self.next_id += 1
            self.windows[self.next_id] = rss_bytes()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
                self.thread.start()
            return self.next_id

    def close(self, window: int) -> int:
        now = rss_bytes()
        with self.lock:
            return max(self.windows.pop(window), now)

    def _loop(self) -> None:
        while True:
            time.sleep(self.every)
            now = rss_bytes()
            with self.lock:
                if not self.windows:
                    self.thread = None
                    return
                for key, peak in self.windows.items():
                    if now > peak:
                        self.windows[key] = now


_SAMPLER = _Sampler()


@dataclass
class Cost:
    """Accumulated cost of one named stage (several entries add up; the peak is the max)."""

    wall: float = 0.0
    cpu: float = 0.0
    peak_rss: int = 0
    calls: int = 0

    def add(self, wall: float, cpu: float, peak: int) -> None:
        self.wall += wall
        self.cpu += cpu
        self.peak_rss = max(self.peak_rss, peak)
        self.calls += 1

    @property
    def cpu_percent(self) -> float:
        """CPU seconds over wall seconds, in percent (200 = both cores of two busy)."""
        return 100.0 * self.cpu / self.wall if self.wall > 0 else 0.0


@dataclass
class Meter:
    """Costs per (group, stage): ``with meter.stage("fuel_tax", "features"): ...``."""

    costs: dict[str, dict[str, Cost]] = field(default_factory=dict)
    #: rows each stage worked on, where the caller says (rows per second in the benchmark)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    @contextmanager
    def stage(self, group: str, name: str) -> Iterator[None]:
        window = _SAMPLER.open()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            peak = _SAMPLER.close(window)
            cost = self.costs.setdefault(group, {}).setdefault(name, Cost())
            cost.add(time.perf_counter() - wall, time.process_time() - cpu, peak)

    def wall(self) -> dict[str, dict[str, float]]:
        """Wall seconds per group and stage."""
        return {g: {n: c.wall for n, c in per.items()} for g, per in self.costs.items()}

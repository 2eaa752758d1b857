"""The charts behind a lead: its model's declared evidence view (``features.evidence``) for one
entity, and the entity's value of the declared peer features against its peers' distribution.

The series of every entity are computed once per pool version from the validated pool tables
the evidence index loads (the same loader), when a model of the scenario is loaded
(``serving.app.warm_at_load`` calls :meth:`EvidenceSeries.prepare`), so the first chart after a
start does not wait; a lead's lookup is then a dictionary read. Peers
come from the served feature table: the entity's peer group (the feature's ``peer_group``,
else every entity), summarised as a histogram, quartiles and the entity's percentile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from features.evidence import EvidenceError
from features.evidence_build import evidence_frame
from pool.keys import normalise_code

log = logging.getLogger("serving.evidence_series")
LANGUAGES = ("zh", "en")
HISTOGRAM_BINS = 20
TableLoader = Callable[[str], dict[str, pd.DataFrame]]


def _declared(scenario: str) -> Any:
    # deferred: keeps the model declarations off the service's import (cold start)
    from features import registry

    try:
        return registry.get(scenario)
    except registry.UnknownScenarioError:
        return None


class EvidenceSeries:
    """Every entity's evidence series of a scenario, computed once per pool version."""

    def __init__(self, loader: TableLoader, stamp: Callable[[], float]) -> None:
        self.loader, self.stamp = loader, stamp
        self._cache: dict[str, tuple[float, dict[str | None, pd.DataFrame]]] = {}
        self._lock = threading.Lock()

    def is_prepared(self, scenario: str) -> bool:
        """True when the scenario's series are computed for the current pool version."""
        cached = self._cache.get(scenario)
        return cached is not None and cached[0] == self.stamp()

    def prepare(self, scenario: str) -> bool:
        """Compute the scenario's series now (at model load); False when its model declares
        no evidence view. A view the pool cannot fill (``EvidenceError``) is logged and left to
        each lead's view, which reports it to the caller; the model still serves."""
        model = _declared(scenario)
        if getattr(model, "evidence", None) is None:
            return False
        try:
            self._by_entity(scenario, model)
        except EvidenceError as exc:
            log.warning("evidence view of %s not computed at load: %s", scenario, exc)
        return True

    def _by_entity(self, scenario: str, model: Any) -> dict[str | None, pd.DataFrame]:
        stamp = self.stamp()
        with self._lock:
            cached = self._cache.get(scenario)
            if cached is None or cached[0] != stamp:
                frame = evidence_frame(model, self.loader(scenario))
                groups = {normalise_code(str(k)): g for k, g in frame.groupby("entity_id")}
                self._cache[scenario] = (stamp, groups)
            return self._cache[scenario][1]

    def view(self, scenario: str, entity_id: str, features: pd.DataFrame | None) -> dict:
        """The lead's charts: ``{declared, kind, title, series: [...], peers: [...]}``."""
        model = _declared(scenario)
        view = getattr(model, "evidence", None)
        if view is None:
            return {"declared": False, "series": [], "peers": []}
        try:
            rows = self._by_entity(scenario, model).get(normalise_code(entity_id))
        except EvidenceError as exc:
            return {"declared": True, "error": str(exc), "series": [], "peers": []}
        series = []
        for s in view.series:
            mine = rows[rows["series"] == s.name] if rows is not None else rows
            points = (
                []
                if mine is None
                else [
                    {"period": p.date().isoformat(), "value": float(v)}
                    for p, v in zip(mine["period"], mine["value"], strict=True)
                ]
            )
            series.append(
                {
                    "name": s.name,
                    "unit": s.unit,
                    "axis": s.axis,
                    "label": {lang: s.text(lang) for lang in LANGUAGES},
                    "points": sorted(points, key=lambda x: x["period"]),
                }
            )
        return {
            "declared": True,
            "kind": view.kind,
            "title": {lang: dict(view.texts).get(lang, "") for lang in LANGUAGES},
            "series": series,
            "peers": peer_views(model, view, entity_id, features),
        }


def peer_views(model: Any, view: Any, entity_id: str, features: pd.DataFrame | None) -> list[dict]:
    """The entity's value of each declared peer feature against its peer group."""
    if features is None or entity_id not in features.index:
        return []
    out = []
    for name, texts in dict(view.peers).items():
        if name not in features.columns:  # said, not skipped: a table built another way
            out.append(
                {
                    "feature": name,
                    "label": {k: dict(texts).get(k, name) for k in LANGUAGES},
                    "error": "not in the served feature table",
                    "value": None,
                    "n": 0,
                    "edges": [],
                    "counts": [],
                    "quartiles": [],
                    "percentile": None,
                }
            )
            continue
        spec = model.feature(name)
        group = spec.peer_group
        peers = features
        if group and group in features.columns:
            peers = features[features[group] == features.at[entity_id, group]]
        out.append(
            peer_summary(
                name,
                texts,
                features.at[entity_id, name],
                peers[name].to_numpy(dtype="float64"),
                group,
            )
        )
    return out


def peer_summary(name: str, texts: Any, value: Any, values: np.ndarray, group: str | None) -> dict:
    """Histogram (``HISTOGRAM_BINS`` bins over the peers' 1st-99th percentile, clipped), the
    quartiles and where the entity's value falls."""
    values = values[np.isfinite(values)]
    mine = None if value is None or not np.isfinite(float(value)) else float(value)
    summary: dict[str, Any] = {
        "feature": name,
        "label": {k: dict(texts).get(k, name) for k in LANGUAGES},
        "peer_group": group,
        "value": mine,
        "n": int(len(values)),
    }
    if len(values) == 0:
        return {**summary, "edges": [], "counts": [], "quartiles": [], "percentile": None}
    lo, hi = np.percentile(values, [1, 99])
    if mine is not None:
        lo, hi = min(lo, mine), max(hi, mine)
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(np.clip(values, lo, hi), bins=HISTOGRAM_BINS, range=(lo, hi))
    percentile = None if mine is None else float((values <= mine).mean())
    return {
        **summary,
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "quartiles": [float(q) for q in np.percentile(values, [25, 50, 75])],
        "percentile": percentile,
    }


def evidence_view(state: Any, scenario: str, entity_id: str) -> dict:
    """The lead's charts (``EvidenceSeries.view``) with the served feature table's peers."""
    ctx = state.ctx
    return ctx.evidence_series.view(scenario, entity_id, ctx.features.maybe_table(scenario))

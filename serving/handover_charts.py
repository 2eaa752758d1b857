"""The evidence charts of the hand-over document, as inline SVG the PDF renderer prints.

The same evidence view the staff page draws (``serving.evidence_series``): monthly series as
lines (or events as dots on lanes of one time line), then each peer feature as a histogram
with the entity marked. Labels are escaped; numbers are written by this module.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date
from typing import Any

from .i18n import message

COLOURS = ("#1f5fa8", "#d9822b", "#2e8b57", "#9b3d9b", "#b22222", "#6b6b6b")
WIDTH = 640


def _e(text: object) -> str:
    return html.escape(str(text))


def _days(period: str) -> int:
    return date.fromisoformat(period[:10]).toordinal()


def _x(series: list[Mapping[str, Any]], x0: float, x1: float):
    days = [_days(p["period"]) for s in series for p in s["points"]]
    lo, hi = min(days), max(days)
    span = max(1, hi - lo)
    return (lambda period: x0 + (_days(period) - lo) / span * (x1 - x0)), lo, hi


def _legend(series: list[Mapping[str, Any]], lang: str, top: float) -> str:
    return "".join(
        f"<rect x='60' y='{top + 18 * i}' width='12' height='9' fill='{COLOURS[i % 6]}'/>"
        f"<text x='78' y='{top + 18 * i + 9}'>{_e(s['label'].get(lang, s['name']))}"
        f"{' →' if s['axis'] == 'right' else ''} ({len(s['points'])})</text>"
        for i, s in enumerate(series)
    )


def line_svg(view: Mapping[str, Any], lang: str) -> str:
    """Monthly series as paths, one scale per axis."""
    series, height, left, right = view["series"], 200, 60, 60
    drawn = [s for s in series if s["points"]]
    x, lo, hi = _x(drawn, left, WIDTH - right)
    tops = {
        axis: max([p["value"] for s in drawn if s["axis"] == axis for p in s["points"]] or [1.0])
        or 1.0
        for axis in ("left", "right")
    }
    parts = []
    for i, s in enumerate(series):
        if not s["points"]:
            continue
        top = tops[s["axis"]]
        xy = [(x(p["period"]), 10 + (1 - p["value"] / top) * (height - 40)) for p in s["points"]]
        d = " ".join(f"{'L' if j else 'M'}{a:.1f},{b:.1f}" for j, (a, b) in enumerate(xy))
        dash = " stroke-dasharray='4 3'" if s["axis"] == "right" else ""
        parts.append(
            f"<path class='series' data-series='{_e(s['name'])}' d='{d}' fill='none' "
            f"stroke='{COLOURS[i % 6]}' stroke-width='1.6'{dash}/>"
        )
    axis = (
        f"<line x1='{left}' x2='{WIDTH - right}' y1='{height - 30}' y2='{height - 30}' "
        f"stroke='#999'/><text x='{left}' y='{height - 14}'>"
        f"{date.fromordinal(lo).isoformat()[:7]}</text><text x='{WIDTH - right}' "
        f"y='{height - 14}' text-anchor='end'>{date.fromordinal(hi).isoformat()[:7]}</text>"
        f"<text x='{left - 4}' y='14' text-anchor='end'>{tops['left']:,.0f}</text>"
    )
    total = height + 18 * len(series)
    return (
        f"<svg class='evidence-chart' viewBox='0 0 {WIDTH} {total}' width='100%'>"
        f"{axis}{''.join(parts)}{_legend(series, lang, height)}</svg>"
    )


def events_svg(view: Mapping[str, Any], lang: str) -> str:
    """Events as dots on one lane per series, on a shared time axis."""
    series, lane, left = view["series"], 24, 190
    drawn = [s for s in series if s["points"]]
    x, lo, hi = _x(drawn, left, WIDTH - 20)
    parts = []
    for i, s in enumerate(series):
        y = 12 + lane * i
        parts.append(
            f"<text x='{left - 6}' y='{y + 4}' text-anchor='end'>"
            f"{_e(s['label'].get(lang, s['name']))}</text>"
            f"<line x1='{left}' x2='{WIDTH - 20}' y1='{y}' y2='{y}' stroke='#ccc'/>"
        )
        parts += [
            f"<circle class='point' data-series='{_e(s['name'])}' cx='{x(p['period']):.1f}' "
            f"cy='{y}' r='4' fill='{COLOURS[i % 6]}'/>"
            for p in s["points"]
        ]
    base = 12 + lane * len(series) + 8
    axis = (
        f"<text x='{left}' y='{base}'>{date.fromordinal(lo).isoformat()}</text>"
        f"<text x='{WIDTH - 20}' y='{base}' text-anchor='end'>"
        f"{date.fromordinal(hi).isoformat()}</text>"
    )
    return (
        f"<svg class='evidence-chart' viewBox='0 0 {WIDTH} {base + 6}' width='100%'>"
        f"{''.join(parts)}{axis}</svg>"
    )


def peer_svg(peer: Mapping[str, Any], lang: str) -> str:
    """One peer feature: histogram of the peer group, the entity's value marked."""
    counts, edges = peer["counts"], peer["edges"]
    if not counts:
        return ""
    w, h, pad = 300, 90, 10
    top = max(counts) or 1
    bar = (w - 2 * pad) / len(counts)
    bars = "".join(
        f"<rect x='{pad + i * bar:.1f}' y='{h - c / top * (h - 20):.1f}' "
        f"width='{max(1.0, bar - 1):.1f}' height='{c / top * (h - 20):.1f}' "
        f"fill='#9db7d5'/>"
        for i, c in enumerate(counts)
    )
    mark = ""
    if peer["value"] is not None:
        span = max(1e-12, edges[-1] - edges[0])
        mx = pad + (peer["value"] - edges[0]) / span * (w - 2 * pad)
        mark = f"<line x1='{mx:.1f}' x2='{mx:.1f}' y1='14' y2='{h}' stroke='#c0392b' stroke-width='2'/>"
    label = peer["label"].get(lang, peer["feature"])
    return (
        f"<svg class='peer-chart' viewBox='0 0 {w} {h + 4}' width='48%'>"
        f"<text x='0' y='10'>{_e(label)}</text>{bars}{mark}</svg>"
    )


def charts_html(view: Mapping[str, Any] | None, lang: str) -> str:
    """The charts section's body (empty when the model declares no evidence view)."""
    if not view or not view.get("declared"):
        return ""
    series = view.get("series") or []
    if not any(s["points"] for s in series):
        return f"<p>{_e(message(lang, 'handover.no_charts'))}</p>"
    title = (view.get("title") or {}).get(lang, "")
    chart = events_svg(view, lang) if view.get("kind") == "events" else line_svg(view, lang)
    peers = "".join(peer_svg(p, lang) for p in view.get("peers") or [])
    return f"<p>{_e(title)}</p>{chart}<div>{peers}</div>"

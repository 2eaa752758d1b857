"""The hand-over document (线索移送表): one lead or a batch, as a printable page and as a PDF.

The page is plain HTML with print CSS (A4, one lead per page) in the reader's language; the PDF
is that page printed by a real renderer, Debian's Chromium (``--print-to-pdf``), so what staff
print from the browser and what the PDF holds are the same document. Everything from the
store or the pool is escaped; ID numbers arrive already masked unless the caller revealed them.
"""

from __future__ import annotations

import html
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from settings import get_settings

from .amounts import amount_declaration, amount_text, probability_text
from .handover_charts import charts_html
from .i18n import district_name, message

EVIDENCE_ROWS = 5
RENDER_TIMEOUT = 120

STYLE = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; font-size: 10.5pt;
       color: #111; }
.form { page-break-after: always; }
.form:last-child { page-break-after: auto; }
h1 { text-align: center; font-size: 18pt; letter-spacing: 0.3em; margin: 0 0 4mm; }
.issuer { text-align: right; margin-bottom: 3mm; }
table { border-collapse: collapse; width: 100%; margin-bottom: 3mm; }
th, td { border: 1px solid #333; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #f0f0f0; width: 28%; font-weight: normal; }
.rows th, .rows td { font-size: 8pt; width: auto; }
h2 { font-size: 12pt; margin: 4mm 0 2mm; }
.receipt td { height: 10mm; }
.note { font-size: 8.5pt; color: #444; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _date(value: object) -> str:
    """An ISO moment as the date people write (``2025-06-01T00:00:00`` -> ``2025-06-01``)."""
    text = "" if value is None else str(value)
    return text[:10] if len(text) >= 10 and text[4:5] == "-" and text[7:8] == "-" else text


def certification(row: Mapping[str, Any] | None, lang: str) -> str:
    """Who certified the version on each line, from the ledger row (shared ledger or tags)."""
    if not row:
        return message(lang, "handover.uncertified")
    tags = row.get("tags") or {}
    business = row.get("business_approval") or tags.get("approval.business.by")
    data = row.get("data_approval") or tags.get("approval.data.by")
    if not business or not data:
        return message(lang, "handover.uncertified")
    kind = row.get("approval_kind") or tags.get("approval_kind") or ""
    text = message(lang, "handover.certified", business=business, data=data)
    return f"{text} ({kind})" if kind else text


def _reasons(lead: Mapping[str, Any], lang: str) -> str:
    items = []
    for reason in lead.get("reasons") or []:
        texts = reason.get("texts") or {}
        items.append(f"<li>{_e(texts.get(lang) or reason.get('text') or '')}</li>")
    return f"<ol>{''.join(items)}</ol>"


def _evidence(evidence: Mapping[str, Any], lang: str) -> str:
    if not evidence:
        return f"<p>{_e(message(lang, 'handover.no_evidence'))}</p>"
    parts = []
    for table, found in evidence.items():
        rows = list(found.get("rows") or [])[:EVIDENCE_ROWS]
        columns = list(rows[0]) if rows else []
        head = "".join(f"<th>{_e(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_e(_date(r.get(c)))}</td>" for c in columns) + "</tr>"
            for r in rows
        )
        title = message(
            lang, "handover.records", table=table, count=found.get("count", 0), shown=len(rows)
        )
        parts.append(f"<h3>{_e(title)}</h3><table class='rows'><tr>{head}</tr>{body}</table>")
    return "".join(parts)


def lead_form(
    detail: Mapping[str, Any],
    evidence: Mapping[str, Any],
    lang: str,
    ledger_row: Mapping[str, Any] | None,
    entity_name: str | None,
    charts: Mapping[str, Any] | None = None,
) -> str:
    """One 线索移送表 as an HTML fragment (``charts``: the lead's evidence view)."""
    lead = detail["lead"]
    district = district_name(lead["district"], lang)
    entity = f"{entity_name}（{lead['entity_id']}）" if entity_name else lead["entity_id"]
    declared = amount_declaration(lead["scenario"])
    amount = amount_text(
        lead.get("amount"), lead.get("amount_unit"), declared["unit_text"].get(lang), lang
    )
    probability = probability_text(
        lead.get("probability"), lead.get("probability_low"), lead.get("probability_high"), lang
    )
    rows = [
        ("handover.lead_no", lead["id"]),
        ("handover.entity", entity),
        ("handover.district", district),
        ("handover.model", f"{lead['model_name']} v{lead['model_version']}"),
        ("handover.certification", certification(ledger_row, lang)),
        ("handover.amount", amount),
        ("handover.probability", probability),
        ("handover.as_of", _date(lead.get("as_of"))),
        ("handover.status", message(lang, f"status.{lead['status']}")),
    ]
    if lead.get("amount_unit") is not None and declared["description"]:
        rows.insert(6, ("handover.amount_basis", declared["description"].get(lang, "")))
    table = "".join(f"<tr><th>{_e(message(lang, k))}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    receipt = "".join(
        f"<tr><th>{_e(message(lang, k))}</th><td></td></tr>"
        for k in (
            "handover.receiver",
            "handover.receiver_person",
            "handover.received_on",
            "handover.signature",
        )
    )
    return (
        f"<section class='form'><h1>{_e(message(lang, 'handover.title'))}</h1>"
        f"<p class='issuer'>{_e(message(lang, 'handover.issuer', district=district))}</p>"
        f"<table>{table}</table>"
        f"<h2>{_e(message(lang, 'handover.reasons'))}</h2>{_reasons(lead, lang)}"
        + (
            f"<h2>{_e(message(lang, 'handover.charts'))}</h2>{charts_html(charts, lang)}"
            if charts and charts.get("declared")
            else ""
        )
        + f"<h2>{_e(message(lang, 'handover.evidence'))}</h2>{_evidence(evidence, lang)}"
        f"<h2>{_e(message(lang, 'handover.receipt'))}</h2>"
        f"<table class='receipt'>{receipt}</table></section>"
    )


def document(forms: Sequence[str], lang: str, actor: str, revealed_reason: str | None) -> str:
    """The whole printable page: every form, then who generated it and the masking note."""
    note = (
        message(lang, "handover.revealed", reason=revealed_reason)
        if revealed_reason
        else message(lang, "handover.masked")
    )
    generated = message(
        lang,
        "handover.generated",
        at=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        actor=actor,
    )
    footer = f"<p class='note'>{_e(note)} {_e(generated)}</p>"
    body = "".join(f.replace("</section>", f"{footer}</section>") for f in forms)
    title = message(lang, "handover.title")
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f"<!doctype html><html lang='{html_lang}'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


class RenderError(RuntimeError):
    """The PDF could not be rendered (no renderer, or it failed)."""


def render_pdf(page: str, chromium: Path | None = None) -> bytes:
    """``page`` printed to PDF by headless Chromium (``SUPERVISION_CHROMIUM`` unless given), in a
    throw-away profile."""
    chromium = chromium or get_settings().supervision_chromium
    if not chromium.exists():
        raise RenderError(f"no renderer at {chromium}")
    with tempfile.TemporaryDirectory(prefix="handover-") as tmp:
        source, target = Path(tmp) / "handover.html", Path(tmp) / "handover.pdf"
        source.write_text(page, encoding="utf-8")
        command = [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--disable-background-networking",
            "--no-first-run",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"renderer timed out after {RENDER_TIMEOUT} s") from exc
        if done.returncode != 0 or not target.exists():
            raise RenderError(f"renderer exit {done.returncode}: {done.stderr[-300:]}")
        return target.read_bytes()

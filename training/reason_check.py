"""Is every reason a sentence about the entity? The check run over all leads of a lead store.

A reason a prosecutor reads must not show the machinery: a raw feature name
(``declared_to_delivered``, ``detector_score``), "unknown", "nan"/"None", or a number as the
computer printed it (``0.123456``, ``3200000``). ``problems`` says what is wrong with one text;
``python -m training.reason_check`` runs it over every lead of the store (after ``make train``)
and exits 1 on the first bad lead, printing each offending text.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from console import exits
from features import registry
from features.wording import LANGUAGES

_WORDS = re.compile(r"\b(unknown|nan|none|null|inf)\b", re.IGNORECASE)
# five or more digits in a row (no thousands separator), or four or more decimals
_RAW_NUMBER = re.compile(r"(?<![\d,.])\d{5,}|\d\.\d{4,}")


def declared_names() -> set[str]:
    """Every declared feature name of every scenario, and the detector's input name."""

    names = {"detector_score"}
    for scenario in registry.names():
        names |= set(registry.get(scenario).feature_names)
    return names


def problems(text: str, raw_names: Iterable[str], lang: str = "zh") -> list[str]:
    """What is wrong with one reason text ([] when it reads as a sentence about the entity).

    A snake_case name is raw in any language; a one-word name (``nozzles``, ``skew``) is an
    ordinary English word, so it counts as raw only in a Chinese text."""
    found = []
    if not text or not text.strip():
        return ["empty reason"]
    for name in raw_names:
        if "_" not in name and lang == "en":
            continue
        if re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", text):
            found.append(f"raw feature name {name!r}")
    found += [f"the word {m.group(0)!r}" for m in _WORDS.finditer(text)]
    found += [f"unformatted number {m.group(0)!r}" for m in _RAW_NUMBER.finditer(text)]
    return found


def lead_texts(reasons: Any) -> Iterator[tuple[str, str]]:
    """(language, text) of every reason of one lead: ``text`` (the default language, Chinese)
    and each entry of ``texts``."""
    for reason in reasons or []:
        yield "zh", str(reason.get("text", ""))
        texts = reason.get("texts") or {}
        for lang in LANGUAGES:
            yield lang, str(texts.get(lang, ""))


def bad_leads(leads: Iterable[Any], raw_names: set[str]) -> list[tuple[Any, str, str, list[str]]]:
    """(lead, language, text, problems) for every bad reason; a lead without reasons is bad."""
    out = []
    for lead in leads:
        if not lead.reasons:
            out.append((lead, "-", "", ["lead has no reasons"]))
        for lang, text in lead_texts(lead.reasons):
            found = problems(text, raw_names, "en" if lang == "en" else "zh")
            if found:
                out.append((lead, lang, text, found))
    return out


def main(argv: list[str] | None = None) -> int:
    # deferred: sqlalchemy loads when the command runs, not for `--help`
    from leads.store import LeadStore

    parser = argparse.ArgumentParser(
        prog="python -m training.reason_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--leads-url", default=None, help="lead store (default: data/leads.db)")
    args = parser.parse_args(argv)
    store = LeadStore.open(args.leads_url)
    try:
        leads = store.list_leads()
    finally:
        store.close()
    bad = bad_leads(leads, declared_names())
    for lead, lang, text, found in bad:
        print(f"lead {lead.id} ({lead.scenario}) [{lang}] {text!r}: {'; '.join(found)}")
    n_reasons = sum(len(lead.reasons or []) for lead in leads)
    print(f"{len(leads)} leads, {n_reasons} reasons, {len(bad)} bad reason texts")
    return 1 if bad or not leads else 0


if __name__ == "__main__":
    sys.exit(exits.run(main))

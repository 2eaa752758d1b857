"""What a lead puts at stake, as the staff page and the hand-over document show it.

The amount itself is stored on the lead (``leads``: ``amount``, ``amount_unit``, written by
training from the model's declared estimate); the words around it (what the estimate counts,
its unit in each language) come from the model's declaration (``features.model.AmountAtStake``).
A model without an estimate says so ("not declared"), never 0.
"""

from __future__ import annotations

from typing import Any

from features.wording import money, percent

from .i18n import message

LANGUAGES = ("zh", "en")


def expected_value(lead: Any) -> float | None:
    """Probability x amount, when the lead has both."""
    if lead.probability is None or lead.amount is None:
        return None
    return float(lead.probability) * float(lead.amount)


def amount_declaration(scenario: str) -> dict[str, Any]:
    """The scenario's declared estimate: whether there is one, its unit and description in
    every language (``declared`` False for a model with none or one no longer registered)."""
    # deferred: keeps the model declarations off the service's import (cold start)
    from features import registry

    try:
        amount = registry.get(scenario).amount
    except registry.UnknownScenarioError:
        return {"declared": False, "unit": None, "unit_text": {}, "description": {}}
    if not amount.declared:
        return {"declared": False, "unit": None, "unit_text": {}, "description": {}}
    return {
        "declared": True,
        "unit": amount.unit,
        "unit_text": {lang: amount.unit_text(lang) for lang in LANGUAGES},
        "description": {lang: amount.text(lang) for lang in LANGUAGES},
    }


def amount_at_stake(lead: Any) -> dict[str, Any]:
    """The lead's amount with its unit and what it counts; ``estimated`` False when the model
    declared an estimate but it had no value for this entity."""
    declared = amount_declaration(lead.scenario)
    declared["declared"] = declared["declared"] or lead.amount_unit is not None
    return {
        **declared,
        "unit": lead.amount_unit or declared["unit"],
        "amount": lead.amount,
        "estimated": lead.amount is not None,
        "expected_value": expected_value(lead),
        "text": amount_texts(lead),
        "probability_text": {
            lang: probability_text(
                lead.probability, lead.probability_low, lead.probability_high, lang
            )
            for lang in LANGUAGES
        },
    }


def amount_text(amount: float | None, unit: str | None, unit_text: str | None, lang: str) -> str:
    """The amount as a reader of ``lang`` says it: 2.3亿元 / 2.3 million yuan for yuan, a
    number and the declared unit otherwise, "not declared" / "not estimable" when missing."""
    if unit is None:
        return message(lang, "amount.not_declared")
    if amount is None:
        return message(lang, "amount.not_estimated")
    if unit == "yuan":
        return money(float(amount), lang)
    number = f"{amount:,.0f}" if abs(amount) >= 100 else f"{amount:,.1f}"
    return f"{number} {unit_text or unit}"


def amount_texts(lead: Any) -> dict[str, str]:
    """``amount_text`` of a lead in every language."""
    unit = lead.amount_unit
    # yuan needs no declared wording (a list stays a store read); other units take theirs
    words = {} if unit in (None, "yuan") else amount_declaration(lead.scenario)["unit_text"]
    return {lang: amount_text(lead.amount, unit, words.get(lang), lang) for lang in LANGUAGES}


def probability_text(p: float | None, low: float | None, high: float | None, lang: str) -> str:
    """35% (90% interval 20%-52%), or the bare probability without an interval, or "-"."""
    if p is None:
        return "-"
    if low is None or high is None:
        return percent(p)
    return message(lang, "probability.interval", p=percent(p), low=percent(low), high=percent(high))

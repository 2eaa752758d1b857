"""A rule's reason in every language a lead stores, refused at declaration when malformed."""

import pytest

from features.rules import Rule
from features.wording import LANGUAGES
from pool.discovery import get

RULE_MODELS = (
    "fuel_tax_rules",
    "fake_certificates_rules",
    "mortgage_loans_rules",
    "bid_rigging_rules",
)


@pytest.mark.parametrize("name", RULE_MODELS)
def test_every_built_in_rule_reads_in_chinese_and_english(name):
    for rule in get(name).rules.rules:
        texts = rule.texts(0.05, 0.1)
        assert set(texts) == set(LANGUAGES)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in texts["zh"]), (rule.name, texts["zh"])
        assert texts["zh"] != texts["en"]


def test_a_language_without_a_template_reads_the_declared_reason():
    rule = Rule("low", "x", "<", 1, "x is {value:.1f}")
    assert rule.texts(0.5, 1.0) == {"zh": "x is 0.5", "en": "x is 0.5"}


@pytest.mark.parametrize(
    "reasons, message",
    [
        ({"fr": "x {value}"}, "reasons has unknown language 'fr'"),
        ({"zh": "x {amount}"}, "reasons\\['zh'\\] field 'amount' is unknown"),
        ({"zh": "  "}, "reasons\\['zh'\\] must be a non-empty template"),
        ({"zh": "x {value"}, "reasons\\['zh'\\] is malformed"),
    ],
)
def test_bad_rule_reasons_are_refused_naming_the_rule(reasons, message):
    with pytest.raises(ValueError, match=f"rule 'low': {message}"):
        Rule("low", "x", "<", 1, "x is {value:.1f}", reasons=reasons)

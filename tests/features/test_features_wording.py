"""Reasons read as sentences: numbers for people, declared wording per language, missing values
and zero denominators, and every built-in feature written in Chinese."""

from __future__ import annotations

import pytest

from features import registry
from features.spec import FeatureSpec
from features.wording import LANGUAGES, fill, general, money, percent
from training.reason_check import problems

LOAN = FeatureSpec(
    "loan_to_revenue",
    "loan amount / revenue of the year before",
    "ratio",
    "loan is {value:.1f} times the company's yearly revenue; district median {peer:.1f}",
    reasons={"zh": "贷款金额是企业上年收入的{value:.1f}倍；本区中位数{peer:.1f}倍"},
    missing_template={"zh": "企业上年无收入申报", "en": "no revenue filed the year before"},
    zero_template={
        "zh": "{numerator:yuan}贷款对应上年申报收入{denominator:yuan}",
        "en": "a {numerator:yuan} loan against {denominator:yuan} declared revenue",
    },
    ratio_of=("amount", "revenue_last_year"),
)


def test_money_reads_in_wan_and_yi_or_millions() -> None:
    assert money(3_200_000, "zh") == "320万元"
    assert money(230_000_000, "zh") == "2.3亿元"
    assert money(8_500, "zh") == "8,500元"
    assert money(3_200_000, "en") == "3.2 million yuan"
    assert money(12_500, "en") == "12,500 yuan"
    assert (percent(0.004), percent(0.35), general(1234567.0), general(0.000123)) == (
        "0.4%",
        "35%",
        "1,234,567",
        "0.000123",
    )


def test_template_numbers_get_separators_and_a_missing_peer_drops_its_clause() -> None:
    assert (
        fill("{value:.0%} of months; district median {peer:.0%}", "en", value=123.45, peer=None)
        == "12,345% of months"
    )
    assert (
        fill("申报收入{value:yuan}；本区中位数{peer:yuan}", "zh", value=1.5e5, peer=2e5)
        == "申报收入15万元；本区中位数20万元"
    )


def test_zero_denominator_states_the_figures_and_missing_has_its_own_wording() -> None:
    row = {"amount": 3_200_000.0, "revenue_last_year": 0.0}
    assert (
        LOAN.reason(None, 2.0, "en", row)
        == "a 3.2 million yuan loan against 0 yuan declared revenue"
    )
    assert LOAN.reason(None, 2.0, "zh", row) == "320万元贷款对应上年申报收入0元"
    assert LOAN.reason(None, 2.0, "zh", {"revenue_last_year": None}) == "企业上年无收入申报"
    # the numerator is not in the row: the zero wording cannot be filled, the missing one is used
    assert LOAN.reason(None, 2.0, "en", {"revenue_last_year": 0.0}) == (
        "no revenue filed the year before"
    )
    assert LOAN.reason(12.345, 2.0, "zh") == "贷款金额是企业上年收入的12.3倍；本区中位数2.0倍"


def test_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        FeatureSpec("x", "d", "u", "t", reasons={"fr": "t"})
    with pytest.raises(ValueError, match="ratio_of"):
        FeatureSpec("x", "d", "u", "t", zero_template={"en": "t"})
    with pytest.raises(ValueError, match="not one of"):
        LOAN.reason(1.0, 1.0, "de")


@pytest.mark.parametrize(
    "scenario", ["fuel_tax", "mortgage_loans", "fake_certificates", "bid_rigging"]
)
def test_every_built_in_feature_reads_in_chinese_and_english(scenario: str) -> None:
    names = {f.name for f in registry.get(scenario).features} | {"detector_score"}
    for spec in registry.get(scenario).features:
        for value, peer in ((0.35, 0.5), (12_345.678, None), (None, 0.5)):
            zh = spec.reason(value, peer, "zh")
            en = spec.reason(value, peer, "en")
            assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), (spec.name, zh)
            assert problems(zh, names, "zh") == [], (spec.name, zh)
            assert problems(en, names, "en") == [], (spec.name, en)


def test_the_check_catches_what_staff_must_not_read() -> None:
    names = {"detector_score", "nozzles"}
    assert problems("detector_score = unknown (peers: unknown)", names)
    assert problems("ratio 0.123456", names) and problems("loan of 3200000 yuan", names)
    assert problems("登记nozzles 6", names, "zh") and not problems("6 nozzles", names, "en")
    assert problems("value nan", names) and not problems("贷款金额320万元", names)


def reference_fill(template: str, lang: str, **fields: float | str | None) -> str:
    """``fill`` as it was: the rules applied, then ``string.Formatter`` over the template."""
    from features.wording import _PEER_CLAUSE, HumanFormatter, missing

    if "peer" in fields and missing(fields["peer"]):
        template = _PEER_CLAUSE.sub("", template)
        fields = {k: v for k, v in fields.items() if k != "peer"}
    present = {k: v for k, v in fields.items() if not missing(v) or isinstance(v, str)}
    return HumanFormatter(lang).format(template, **present)


FIGURES = (0.0, 0.004, 0.35, 1.0, 7.0, 12_345.678, 3.2e6, 2.3e8, -0.5, float("nan"), None)


def test_fill_from_cached_parts_equals_the_formatter_on_every_declared_template() -> None:
    from features import registry

    templates = {
        (spec.template(lang), lang)
        for name in registry.names()
        for spec in registry.get(name).features
        for lang in LANGUAGES
    }
    assert len(templates) > 50
    for template, lang in sorted(templates):
        for value in FIGURES:
            for peer in FIGURES[::3]:
                try:
                    want = reference_fill(template, lang, value=value, peer=peer)
                except KeyError as exc:  # a template needing a field not given: the same error
                    with pytest.raises(KeyError, match=str(exc)):
                        fill(template, lang, value=value, peer=peer)
                    continue
                assert fill(template, lang, value=value, peer=peer) == want, template


@pytest.mark.parametrize(
    "template",
    [
        "{value!r} vs {peer}",
        "{0} and {value}",
        "{value:{width}}",
        "{value.real:.1f}",
        "{{x}} {value}",
    ],
)
def test_fill_of_uncommon_templates_equals_the_formatter(template: str) -> None:
    fields = {"value": 1.5, "peer": 2.0, "width": "8"}
    try:
        want = reference_fill(template, "en", **fields)
    except (IndexError, KeyError, ValueError) as exc:
        with pytest.raises(type(exc)):
            fill(template, "en", **fields)
        return
    assert fill(template, "en", **fields) == want

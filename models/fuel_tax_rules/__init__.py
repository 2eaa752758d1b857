"""``fuel_tax_rules``: the collision rules the tax office ran before any model (成品油涉税).

The simulator's past crude rules (``models/fuel_tax/truth.py``, which produced the verification
history) declared over the ``fuel_tax`` features: declared sales below 70% of the litres bought
on invoices, and returns missing for three months. It reads the ``fuel_tax`` sources, is judged
on the same backtest and stands beside the learnt model in the ledger (``point="fuel_tax"``).
The past rule also required over 50,000 invoiced litres and three *consecutive* missing months;
the features carry the ratio and the count of missing months in the window, so the declared
rules are slightly broader.
"""

from dataclasses import replace

from features.model import SupervisionModel
from features.rules import Rule, RuleSet
from models.fuel_tax import MODEL as POINT

MODEL = SupervisionModel.of(
    POINT,
    name="fuel_tax_rules",
    point=POINT.name,
    title="Refined-oil tax evasion: the past collision rules (成品油涉税, 规则)",
    description="declared sales vs invoiced fuel, and missing returns: the office's rules",
    amount=POINT.amount,
    rules=RuleSet(
        rules=(
            Rule(
                "declared_below_70pct_of_invoiced",
                "declared_to_invoiced",
                "<",
                0.7,
                "declared sales are {value:.0%} of fuel bought on invoices, below "
                "{threshold:.0%}; district median {peer:.0%}",
                reasons={
                    "zh": "申报销售量仅为发票进油量的{value:.0%}，低于{threshold:.0%}；"
                    "本区中位数{peer:.0%}"
                },
            ),
            Rule(
                "no_filing_3_months",
                "missing_filing_months",
                ">=",
                3,
                "{value:.0f} monthly returns missing (rule: {threshold:.0f} or more); "
                "district median {peer:.0f}",
                reasons={
                    "zh": "缺报月度申报{value:.0f}期（规则：{threshold:.0f}期及以上）；"
                    "本区中位数{peer:.0f}期"
                },
            ),
        ),
        combine="count",
        tie_break="declared_to_delivered",
    ),
    # Same backtest as the learnt model (k, metric, holdout); floor measured below.
    policy=replace(POINT.policy, floor=0.3),
)

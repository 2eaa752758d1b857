"""``mortgage_loans_rules``: the bank regulator's past rules on business loans (房产抵押经营贷).

The simulator's two past crude rules (``models/mortgage_loans/history.py``) declared over the
``mortgage_loans`` features: a home bought within 90 days of the loan, a company younger than six
months at the loan. It reads the ``mortgage_loans`` sources and is judged on the same backtest
(``point="mortgage_loans"``). The past rule matched the borrower's ID exactly as typed and looked
90 days either side; the feature counts the borrower or spouse, after the loan.
"""

from dataclasses import replace

from features.model import SupervisionModel
from features.rules import Rule, RuleSet
from models.mortgage_loans import MODEL as POINT

MODEL = SupervisionModel.of(
    POINT,
    name="mortgage_loans_rules",
    point=POINT.name,
    title="Business loans used to buy homes: the past collision rules (房产抵押经营贷, 规则)",
    description="home bought right after the loan, or a newly founded company: the past rules",
    amount=POINT.amount,
    rules=RuleSet(
        rules=(
            Rule(
                "borrower_home_purchase_90d",
                "days_to_home_purchase",
                "<=",
                90,
                "a home was bought {value:.0f} days after the loan (rule: within "
                "{threshold:.0f}); district median {peer:.0f}",
                reasons={
                    "zh": "贷款发放后{value:.0f}天即购房（规则：{threshold:.0f}天内）；"
                    "本区中位数{peer:.0f}天"
                },
            ),
            Rule(
                "company_younger_6m",
                "company_age_days",
                "<",
                183,
                "company was {value:.0f} days old at the loan (rule: under {threshold:.0f}); "
                "district median {peer:.0f}",
                reasons={
                    "zh": "贷款时企业仅成立{value:.0f}天（规则：不足{threshold:.0f}天）；"
                    "本区中位数{peer:.0f}天"
                },
            ),
        ),
        combine="count",
        tie_break="appraisal_to_price",
    ),
    policy=replace(POINT.policy, floor=0.2),
)

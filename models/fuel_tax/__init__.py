"""``fuel_tax``: refined-oil tax evasion (成品油涉税), gas stations, simulated pool.

Sources (``sources.py``) and their simulator (``simulation.py`` and its parts), features
(``features.py``), and the ledger's policy below.
"""

from features.model import AmountAtStake, Policy, SupervisionModel
from models.fuel_tax.amount import RATES, undeclared_sales_tax
from models.fuel_tax.evidence import EVIDENCE
from models.fuel_tax.features import FEATURES
from models.fuel_tax.simulation import simulate

MODEL = SupervisionModel.of(
    FEATURES,
    title="Refined-oil tax evasion (成品油涉税)",
    simulate=simulate,
    evidence=EVIDENCE,
    amount=AmountAtStake(
        unit="yuan",
        typical=2.5e6,
        estimate=undeclared_sales_tax,
        rates=RATES,
        description="tax on undeclared sales: consumption tax per litre and 13% VAT on the "
        "litres delivered but not declared in the last 12 months, plus consumption "
        "tax declared litres owe but did not pay",
        texts={
            "zh": "未申报销售应缴税款：近12个月运抵未申报油量的消费税（汽油1.52元/升、柴油1.20"
            "元/升）与13%增值税，加已申报油量应缴未缴的消费税"
        },
        unit_texts={"zh": "元"},
    ),
    # The time-ordered holdout holds only the ~40 stations first verified in the last 12 months,
    # fewer than k: precision@50 would be their base rate whatever the model. Average precision
    # ranks all of them. Measured at SCALE 1, seed 42: 0.70 [0.50, 0.86] on a base rate of 0.49
    # (all were flagged by the same crude rule, a hard slice); the floor catches a broken model,
    # not a mediocre one. The loop's verified leads, fed back as labels, grow this holdout.
    # Bars follow DOMAIN.md: single models convert 5-72%; below ~15% leads waste units' time.
    policy=Policy(k=50, metric="average_precision", floor=0.55, bar=0.15, holdout_months=12),
)

"""``mortgage_loans``: business loans on homes illegally used to buy homes (房产抵押经营贷).

Sources (``sources.py``) and their simulator (``simulation.py`` and its parts), features
(``features.py``), and the ledger's policy below.
"""

from features.model import AmountAtStake, Policy, SupervisionModel
from models.mortgage_loans.amount import loan_diverted
from models.mortgage_loans.evidence import EVIDENCE
from models.mortgage_loans.features import FEATURES
from models.mortgage_loans.simulation import simulate

MODEL = SupervisionModel.of(
    FEATURES,
    title="Business loans on homes used to buy homes (房产抵押经营贷)",
    simulate=simulate,
    evidence=EVIDENCE,
    amount=AmountAtStake(
        unit="yuan",
        typical=3e5,
        estimate=loan_diverted,
        description="the loan diverted: the whole amount lent against the home",
        texts={"zh": "被挪用的贷款：以房产抵押发放的全部经营贷金额"},
        unit_texts={"zh": "元"},
    ),
    # Floor well below what the scorer measures on the default pool (p@50 0.84) and above the
    # past crude rules (0.36).
    policy=Policy(k=50, floor=0.3, bar=0.15, holdout_months=6),
)

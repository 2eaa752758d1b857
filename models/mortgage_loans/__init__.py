"""``mortgage_loans``: business loans on homes illegally used to buy homes (房产抵押经营贷).

Sources (``sources.py``) and their simulator (``simulation.py`` and its parts), features
(``features.py``), and the ledger's policy below.
"""

from features.model import AmountAtStake, Policy, SupervisionModel
from models.mortgage_loans.features import FEATURES
from models.mortgage_loans.simulation import simulate

MODEL = SupervisionModel.of(
    FEATURES,
    title="Business loans on homes used to buy homes (房产抵押经营贷)",
    simulate=simulate,
    amount=AmountAtStake(unit="yuan", description="loan funds diverted", typical=3e5),
    # Floor well below what the scorer measures on the default pool (p@50 0.84) and above the
    # past crude rules (0.36).
    policy=Policy(k=50, floor=0.3, bar=0.15, holdout_months=6),
)

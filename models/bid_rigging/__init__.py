"""``bid_rigging``: collusion in public procurement (串通投标), real data from five countries.

Sources: one declared file per country (``procurement.py``), features (``features.py``), and the
ledger's policy below.
"""

from features.model import AmountAtStake, Policy, SupervisionModel
from models.bid_rigging.features import FEATURES
from models.bid_rigging.procurement import procurement_truth

MODEL = SupervisionModel.of(
    FEATURES,
    title="Collusion in public procurement (串通投标)",
    point_in_time=False,
    amount=AmountAtStake(unit="local currency", description="overcharge on the tender",
                         typical=5e5),
    truth=procurement_truth,
    # Half the held-out bids are collusive (80% in the Swiss GR file): every model's top 50 is
    # right, so precision@50 cannot tell a better candidate from the champion. Average precision
    # over the held-out tenders can; its floor sits well above the base rate (0.54) and below what
    # the scorer measures (0.91 in tender-grouped folds, see benchmarks.bid_rigging_eval). Whole
    # tenders are held out: in these files the cartels were broken up over time, so a date split
    # measures the regime change, not the model.
    policy=Policy(k=50, metric="average_precision", floor=0.7, bar=0.15, split="groups"),
)

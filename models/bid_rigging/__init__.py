"""``bid_rigging``: collusion in public procurement (串通投标), real data from five countries.

Sources: one declared file per country (``procurement.py``), features (``features.py``), and the
ledger's policy below.
"""

from features.model import AmountAtStake, Policy, SupervisionModel
from models.bid_rigging.amount import RATES as BID_RATES
from models.bid_rigging.amount import tender_overcharge
from models.bid_rigging.evidence import EVIDENCE
from models.bid_rigging.features import FEATURES
from models.bid_rigging.procurement import procurement_truth

MODEL = SupervisionModel.of(
    FEATURES,
    title="Collusion in public procurement (串通投标)",
    point_in_time=False,
    evidence=EVIDENCE,
    amount=AmountAtStake(
        unit="local currency",
        typical=5e5,
        estimate=tender_overcharge,
        rates=BID_RATES,
        description="overcharge on the tender: its winning bid times a declared 10% overcharge",
        texts={"zh": "招标项目被抬高的价款：中标价乘以声明的10%抬价率"},
        unit_texts={"zh": "本币", "en": "local currency"},
    ),
    truth=procurement_truth,
    # Half the held-out bids are collusive (80% in the Swiss GR file): every model's top 50 is
    # right, so precision@50 cannot tell a better candidate from the champion. Average precision
    # over the held-out tenders can; its floor sits well above the base rate (0.54) and below what
    # the scorer measures (0.91 in tender-grouped folds, see benchmarks.bid_rigging_eval). Whole
    # tenders are held out: in these files the cartels were broken up over time, so a date split
    # measures the regime change, not the model.
    policy=Policy(k=50, metric="average_precision", floor=0.7, bar=0.15, split="groups"),
)

"""``fake_certificates``: counterfeit special-operations certificates (特种作业操作证), simulated.

Sources (``sources.py``) and their simulator (``simulation.py`` and its parts), features
(``features.py``), and the ledger's policy below.
"""

from features.model import AmountAtStake, Policy, SupervisionModel
from models.fake_certificates.features import FEATURES
from models.fake_certificates.simulation import simulate

MODEL = SupervisionModel.of(
    FEATURES,
    title="Counterfeit special-operations certificates (特种作业操作证)",
    simulate=simulate,
    amount=AmountAtStake(unit="yuan", description="fines and costs of a counterfeit certificate", typical=5e3),
    # Floor well below what the scorer measures on the default pool (p@50 0.96) and above the
    # past crude rules (0.16): a broken pipeline is caught, a working one is not.
    policy=Policy(k=50, floor=0.3, bar=0.15, holdout_months=6),
)

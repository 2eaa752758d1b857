"""``fake_certificates``: counterfeit special-operations certificates (特种作业操作证), simulated.

Sources (``sources.py``) and their simulator (``simulation.py`` and its parts), features
(``features.py``), and the ledger's policy below.
"""

from features.model import AmountAtStake, Policy, SupervisionModel
from models.fake_certificates.amount import RATES as JOB_RISK
from models.fake_certificates.amount import workers_exposed
from models.fake_certificates.evidence import EVIDENCE
from models.fake_certificates.features import FEATURES
from models.fake_certificates.simulation import simulate

MODEL = SupervisionModel.of(
    FEATURES,
    title="Counterfeit special-operations certificates (特种作业操作证)",
    simulate=simulate,
    evidence=EVIDENCE,
    # typical: yuan a case recovers (fines, the simulated staff draw around it); the estimate
    # is in workers exposed, weighted by the job's risk
    amount=AmountAtStake(
        unit="weighted workers",
        typical=5e3,
        estimate=workers_exposed,
        rates=JOB_RISK,
        description="workers exposed: distinct workers on the sites where the certificate is "
        "presented, weighted by the job's risk (work at height = 1)",
        texts={
            "zh": "受威胁的作业人员：出示该证书的工地上的作业人数，按工种风险加权（高处作业=1）"
        },
        unit_texts={"zh": "人（风险加权）", "en": "risk-weighted workers"},
    ),
    # Floor well below what the scorer measures on the default pool (p@50 0.96) and above the
    # past crude rules (0.16): a broken pipeline is caught, a working one is not.
    policy=Policy(k=50, floor=0.3, bar=0.15, holdout_months=6),
)

"""``fake_certificates_rules``: the registry lookup sites were checked with (特种作业操作证, 规则).

The simulator's past crude rule (``models/fake_certificates/history.py``): the certificate number
a worker presents is not in the official registry. Declared over the ``fake_certificates``
features (``point="fake_certificates"``); the past rule looked the number up exactly as typed,
the feature after normalising it (blanks, width, case), so format slips no longer fire.
"""

from dataclasses import replace

from features.model import SupervisionModel
from features.rules import Rule, RuleSet
from models.fake_certificates import MODEL as POINT

MODEL = SupervisionModel.of(
    POINT,
    name="fake_certificates_rules",
    point=POINT.name,
    title="Counterfeit certificates: the registry lookup rule (特种作业操作证, 规则)",
    description="certificate number absent from the official registry: the past rule",
    amount=POINT.amount,
    rules=RuleSet(
        rules=(
            Rule(
                "cert_not_in_registry",
                "cert_not_in_registry",
                "==",
                1,
                "certificate number not found in the official registry (district rate {peer:.0%})",
                reasons={"zh": "证书编号在官方登记库中查无记录（本区比例{peer:.0%}）"},
            ),
        ),
        combine="any",
        tie_break="employer_bad_rate",
    ),
    policy=replace(POINT.policy, floor=0.1),
)

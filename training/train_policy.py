"""Per-scenario policy of the ledger: the offline floor, the conversion bar, capacities.

Why here and typed, not in a JSON string: every number that keeps or retires a model must be
findable, reviewable in a diff, and documented with the reason it has that value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

ENV_REQUIRE_REAL = "SUPERVISION_REQUIRE_REAL_APPROVALS"
ENV_CAPACITY = "SUPERVISION_DISTRICT_CAPACITY"


@dataclass(frozen=True)
class Policy:
    """Thresholds for one scenario.

    k: how many top-ranked backtest rows precision is measured on (a unit's verification budget).
    metric: the offline gate's metric, "precision_at_k" or "average_precision" (for a backtest
        whose base rate is so high that the top k is always right).
    floor: a candidate whose backtest gate metric is below this is dropped.
    bar: a served version whose conversion interval lies wholly below this is retired.
    min_verified: verified leads needed before conversion may retire a version.
    capacity: leads written per district per run (a unit can verify only so many).
    confidence: one-sided confidence of the paired comparison with the champion.
    """

    k: int = 50
    metric: str = "precision_at_k"
    floor: float = 0.2
    bar: float = 0.15
    min_verified: int = 30
    capacity: int = 10
    confidence: float = 0.9
    n_boot: int = 500
    seed: int = 0


# Floors sit well below what the scorer measures on the default pool and above what the past
# crude rules reach, so a broken pipeline is caught and a working one is not (see README).
# Bars follow the real figures in DOMAIN.md: single models convert 5-72%; below ~15% a model's
# leads waste the units' time.
POLICIES: dict[str, Policy] = {
    # The time-ordered holdout holds only the ~40 stations first verified in the last 12 months,
    # fewer than k: precision@50 would be their base rate whatever the model. Average precision
    # ranks all of them. Measured at SCALE 1, seed 42: 0.70 [0.50, 0.86] on a base rate of 0.49
    # (all were flagged by the same crude rule, a hard slice); the floor catches a broken model,
    # not a mediocre one. The loop's verified leads, fed back as labels, grow this holdout.
    "fuel_tax": Policy(k=50, metric="average_precision", floor=0.55, bar=0.15),
    "fake_certificates": Policy(k=50, floor=0.3, bar=0.15),
    "mortgage_loans": Policy(k=50, floor=0.3, bar=0.15),
    # Half the held-out bids are collusive (80% in the Swiss GR file): every model's top 50 is
    # right, so precision@50 cannot tell a better candidate from the champion. Average precision
    # over the held-out tenders can; its floor sits well above the base rate (0.54) and below what
    # the scorer measures (0.91 in tender-grouped folds, see training.bid_rigging_eval).
    "bid_rigging": Policy(k=50, metric="average_precision", floor=0.7, bar=0.15),
}


def policy_for(scenario: str) -> Policy:
    """The scenario's policy (a default one for scenarios added later), with the district
    capacity overridable by ``SUPERVISION_DISTRICT_CAPACITY``."""
    policy = POLICIES.get(scenario, Policy())
    capacity = os.environ.get(ENV_CAPACITY)
    if capacity:
        if not capacity.isdigit() or int(capacity) < 1:
            raise ValueError(f"{ENV_CAPACITY}={capacity!r}: expected a positive integer")
        policy = replace(policy, capacity=int(capacity))
    return policy


def require_real_approvals(flag: bool | None = None) -> bool:
    """Whether demo approvals are refused: an explicit flag wins, else the environment."""
    if flag is not None:
        return flag
    return os.environ.get(ENV_REQUIRE_REAL, "").strip().lower() in {"1", "true", "yes", "on"}

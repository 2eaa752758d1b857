"""The ledger's policy as training reads it: each model's declared ``Policy`` (in its own
declaration, ``features.model.Policy``), the district-capacity override, and whether demo
approvals are refused.
"""

from __future__ import annotations

from dataclasses import replace

from features import registry
from features.model import Policy
from settings import get_settings

ENV_REQUIRE_REAL = "SUPERVISION_REQUIRE_REAL_APPROVALS"
ENV_CAPACITY = "SUPERVISION_DISTRICT_CAPACITY"


def policy_for(scenario: str) -> Policy:
    """The model's declared policy, with the district capacity overridable by
    ``SUPERVISION_DISTRICT_CAPACITY``."""

    policy = registry.get(scenario).policy
    capacity = get_settings().supervision_district_capacity
    if capacity is not None:
        policy = replace(policy, capacity=capacity)
    return policy


def require_real_approvals(flag: bool | None = None) -> bool:
    """Whether demo approvals are refused: an explicit flag wins, else the environment."""
    if flag is not None:
        return flag
    return get_settings().supervision_require_real_approvals

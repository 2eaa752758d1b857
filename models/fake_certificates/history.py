"""Past leads on presented certificates: what the crude rules of the past flagged.

Two rules ran before any model: a monthly exact-string lookup of the declared number in the
registry ("certificate number not found"), which also fires on numbers typed another way and on
certificates the registry had not entered yet, and random site inspections. Tip-offs come from
``pool.history``. So the labelled set is full of unregistered numbers and format slips, and
nearly blind to look-alike domains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pool.history import HistoryParams, verification_history
from pool.spec import SimConfig

RULE_NOT_IN_REGISTRY = "cert_not_in_registry"
RULE_INSPECTION = "site_inspection"
INSPECTION_RATE = 0.02
RUN_LAG_DAYS = 5  # the collision ran a few days after each month closed


def registry_rule(site: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """Flags of the exact-match lookup, run monthly on the records that had arrived.

    A record is flagged when its number, exactly as typed, was not in the registry as entered
    by the run day (the month end after the record arrived, plus a few days).
    """
    first = site.drop_duplicates("site_record_id", keep="first")
    arrived = first[["presented_on", "recorded_on"]].max(axis=1)
    run = arrived.dt.to_period("M").dt.end_time.dt.normalize() + pd.Timedelta(days=RUN_LAG_DAYS)
    entered = first["declared_cert_no"].map(registry.set_index("cert_no")["entered_on"])
    flagged = entered.isna() | (entered > run)
    return pd.DataFrame(
        {
            "entity_id": first["site_record_id"].to_numpy(object),
            "flagged_on": run.to_numpy(),
            "rule": RULE_NOT_IN_REGISTRY,
        }
    ).loc[flagged.to_numpy()]


def inspection_flags(rng: np.random.Generator, truth: pd.DataFrame) -> pd.DataFrame:
    """Random site inspections: a small share of records, looked at within two months."""
    n = len(truth)
    picked = rng.random(n) < INSPECTION_RATE
    delay = pd.to_timedelta(rng.integers(1, 61, n), unit="D")
    return pd.DataFrame(
        {
            "entity_id": truth["entity_id"].to_numpy(object),
            "flagged_on": (truth["presented_on"] + delay).to_numpy(),
            "rule": RULE_INSPECTION,
            "data_error": False,
        }
    ).loc[picked]


def certificate_history(
    rng: np.random.Generator,
    site: pd.DataFrame,
    registry: pd.DataFrame,
    truth: pd.DataFrame,
    config: SimConfig,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Closed leads from the two past rules and tip-offs (see ``pool.history``).

    A registry-rule flag on an honest record is a data error (a format slip or a late entry),
    which verification usually closes as invalid.
    """
    rule = registry_rule(site, registry)
    fraud = rule["entity_id"].map(truth.set_index("entity_id")["is_fraud"])
    rule["data_error"] = ~fraud.to_numpy(bool)
    flags = pd.concat([rule, inspection_flags(rng, truth)], ignore_index=True)
    params = HistoryParams(capacity=max(3, round(12 * config.scale)))
    return verification_history(
        flags,
        truth,
        rng,
        start=config.start,
        end=end.date(),
        prefix="FC",
        params=params,
        amount_column="penalty_yuan",
    )

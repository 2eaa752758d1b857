"""``mortgage_loans``' amount at stake: the loan that would be diverted to buy a home.

A business loan secured on a home and used to buy another puts the whole loan outside its
declared purpose, so the amount at stake is the amount lent (the latest bank report of the loan
as of the build date).
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis.expr.types as ir

from features.common import latest_per_key
from features.spec import BuildContext


def loan_diverted(
    sources: Mapping[str, ir.Table], ctx: BuildContext, rates: Mapping[str, float]
) -> ir.Table:
    """Per loan: the amount lent, in yuan."""
    loans = latest_per_key(sources["loans"], "loan_id", "reported_on")
    return loans.select(entity_id=loans.loan_id, amount=loans.amount_yuan)

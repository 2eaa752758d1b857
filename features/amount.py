"""The amount at stake per entity: a model's declared estimate, computed beside its features.

A model declares ``amount=AmountAtStake(unit, description, estimate=..., rates=...)``
(``features.model``). The estimate is an Ibis expression over the same sources the features
read (cut as of the build date, keys normalised, label sources hidden), so it runs on DuckDB or
Spark like the features and never sees outcomes. Its result lands in the feature table as the
column ``amount_at_stake`` (not a feature: no detector or scorer is fitted on it).

A model without an estimate gets an all-missing column and ``declared`` False, so a lead of it
says "not declared" and never 0. A bad estimate is refused naming the model: a column its
sources do not have, a result without ``entity_id``/``amount``, a non-numeric amount, a negative
amount (with the entities), an entity given two amounts.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis.common.exceptions as ibis_errors
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from features.spec import BuildContext

AMOUNT_COLUMN = "amount_at_stake"


class AmountError(ValueError):
    """A model's amount estimate cannot be computed or gives an impossible value."""


def estimate_expression(
    model: object, tables: Mapping[str, ir.Table], ctx: BuildContext
) -> ir.Table | None:
    """The model's estimate as an Ibis table (``entity_id``, ``amount``), or None if undeclared."""
    amount = getattr(model, "amount", None)
    name = getattr(model, "name", "?")
    if amount is None or amount.estimate is None:
        return None
    try:
        expr = amount.estimate(tables, ctx, dict(amount.rates))
    except (AttributeError, KeyError, ibis_errors.IbisError) as exc:
        raise AmountError(
            f"model {name!r}: amount estimate refers to something its sources do not have: {exc}"
        ) from None
    if not isinstance(expr, ir.Table):
        raise AmountError(
            f"model {name!r}: amount estimate must return an Ibis table, got {type(expr).__name__}"
        )
    missing = [c for c in ("entity_id", "amount") if c not in expr.columns]
    if missing:
        raise AmountError(
            f"model {name!r}: amount estimate did not return column(s) {missing} "
            f"(it returned {list(expr.columns)})"
        )
    dtype = expr.schema()["amount"]
    if not dtype.is_numeric() or dtype.is_boolean():
        raise AmountError(f"model {name!r}: amount estimate's 'amount' is {dtype}, not a number")
    return expr.select(entity_id=expr.entity_id.cast("string"), amount=expr.amount.cast("float64"))


def estimate_amounts(
    model: object, con: BaseBackend, tables: Mapping[str, ir.Table], ctx: BuildContext
) -> pd.DataFrame | None:
    """Executed and checked: one row per entity with a finite amount >= 0 (or null)."""
    expr = estimate_expression(model, tables, ctx)
    if expr is None:
        return None
    name = getattr(model, "name", "?")
    frame = con.execute(expr)
    frame["entity_id"] = frame["entity_id"].astype("string")
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype("float64")
    dupes = frame["entity_id"].duplicated(keep=False)
    if dupes.any():
        raise AmountError(
            f"model {name!r}: amount estimate gives {int(dupes.sum())} rows for "
            f"repeated entities, e.g. "
            f"{sorted(frame.loc[dupes, 'entity_id'].unique())[:3]}"
        )
    values = frame["amount"].to_numpy()
    bad = np.isinf(values) | (values < 0)
    if bad.any():
        sample = frame.loc[bad].head(3)
        raise AmountError(
            f"model {name!r}: amount estimate is negative or infinite for {int(bad.sum())} "
            f"entities, e.g. "
            + ", ".join(
                f"{e}: {a}" for e, a in zip(sample["entity_id"], sample["amount"], strict=True)
            )
        )
    return frame


def with_amounts(frame: pd.DataFrame, amounts: pd.DataFrame | None) -> pd.DataFrame:
    """The feature frame with ``amount_at_stake`` (NaN for entities without an estimate)."""
    if amounts is None:
        return frame.assign(**{AMOUNT_COLUMN: np.nan})
    by_entity = amounts.set_index("entity_id")["amount"]
    values = frame["entity_id"].astype("string").map(by_entity)
    return frame.assign(**{AMOUNT_COLUMN: pd.to_numeric(values).astype("float64").to_numpy()})

"""A toy plug-in model over one agency table (building permits) with an amount at stake:
small enough to compute each entity's amount and evidence by hand. Shared by the feature tests;
the ``toy_root`` fixture (``conftest.py``) writes its pool."""

from __future__ import annotations

from features.common import ratio
from features.model import AmountAtStake, SupervisionModel
from features.spec import FeatureSpec, KeyJoin
from features.testing import uscc
from pool.schemas import history_source
from pool.spec import ColumnSpec, SourceSpec

A, B = uscc("91110105MA0000001"), uscc("91110105MA0000002")
PERMITS = SourceSpec(
    scenario="toy_amounts",
    agency="housing",
    table="permits",
    description="building permits",
    keys=("permit_id",),
    date_column="issued_on",
    columns=(
        ColumnSpec("permit_id", "string", "permit id"),
        ColumnSpec("company_code", "string", "holder credit code"),
        ColumnSpec("district", "string", "district"),
        ColumnSpec("issued_on", "date", "issue date"),
        ColumnSpec("value_yuan", "float64", "project value", unit="yuan"),
        ColumnSpec("expired", "bool", "permit expired"),
    ),
)


def _build(sources, ctx):
    p = sources["permits"]
    per = p.group_by(["company_code", "district"]).aggregate(
        n=p.count(), n_expired=p.expired.cast("int64").sum()
    )
    return per.select(
        entity_id=per.company_code, district=per.district, expired_share=ratio(per.n_expired, per.n)
    )


def _value_at_stake(sources, ctx, rates):
    p = sources["permits"]
    per = p.group_by("company_code").aggregate(v=p.value_yuan.sum())
    return per.select(entity_id=per.company_code, amount=per.v * rates["share"])


def _model(amount: AmountAtStake) -> SupervisionModel:
    return SupervisionModel(
        name="toy_amounts",
        entity="company",
        key_column="company_code",
        sources=(PERMITS, history_source("toy_amounts")),
        features=(
            FeatureSpec(
                "expired_share",
                "share of permits expired",
                "share",
                "{value:.0%} of permits expired",
                "high",
            ),
        ),
        build=_build,
        joins=(KeyJoin("permits", "company_code", "uscc"),),
        amount=amount,
    )

"""``fake_certificates``' amount at stake: the workers a counterfeit card puts at risk.

A special-operations certificate vouches that the holder can do a dangerous job safely; a fake
one exposes everyone working on the sites where it is presented. Per site record: the distinct
workers on every site where the same certificate number was presented (as of the build date),
weighted by the job's risk (``RATES``, work at height = 1: falls cause about half of the deaths
on Chinese building sites, lifting, electrocution and fire most of the rest). The unit is
risk-weighted workers, not money.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.common import latest_per_key
from features.spec import BuildContext

RATES: dict[str, float] = {
    "work_at_height": 1.0,
    "hoisting": 0.6,
    "electrician": 0.4,
    "welding_cutting": 0.4,
    "hazardous_chemicals": 0.4,
    "coal_mine": 0.4,
    "metal_mine": 0.4,
    "oil_gas": 0.4,
    "metallurgy": 0.3,
    "fireworks": 0.3,
    "refrigeration_ac": 0.2,
}


def workers_exposed(
    sources: Mapping[str, ir.Table], ctx: BuildContext, rates: Mapping[str, float]
) -> ir.Table:
    """Per site record: workers on the sites where its certificate number is presented x risk."""
    site = latest_per_key(sources["site_workers"], "site_record_id", "recorded_on")
    crew = site.group_by("site_id").aggregate(workers=site.worker_id.nunique())
    shown = site.select("declared_cert_no", "site_id").distinct()
    reach = (
        shown.join(crew, "site_id")
        .group_by("declared_cert_no")
        .aggregate(exposed=lambda t: t.workers.sum())
    )
    t = site.select("site_record_id", "declared_cert_no", "declared_job_type").join(
        reach, "declared_cert_no"
    )
    weight = ibis.cases(
        *((t.declared_job_type == job, float(w)) for job, w in rates.items()),
        else_=ibis.null("float64"),
    )
    return t.select(entity_id=t.site_record_id, amount=t.exposed.cast("float64") * weight)

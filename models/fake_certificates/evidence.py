"""``fake_certificates``' evidence view, what fits a certificate: one time line with the day it
was presented on this site, the other presentations of the same number, the registry's issue
and entry dates for that number, the worker's exams for the job (1 passed, 0 failed) and the
day the card's QR lookup domain was registered."""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.common import latest_per_key
from features.evidence import EvidenceView, Series, series_rows
from features.spec import BuildContext


def certificate_timeline(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """Per site record: dated events around its certificate."""
    site = latest_per_key(sources["site_workers"], "site_record_id", "recorded_on")
    reg, exams = sources["certificate_registry"], sources["training_exams"]
    domains = sources["lookup_domains"]
    s = site.select(
        "site_record_id",
        "declared_cert_no",
        "declared_job_type",
        "worker_id",
        "presented_on",
        "lookup_url",
    )
    one = ibis.literal(1.0)

    def ev(t: ir.Table, period: ir.Value, name: str, value: ir.Value = one) -> ir.Table:
        return series_rows(t, t.site_record_id, period, name, value)

    other = site.select(o_id="site_record_id", o_no="declared_cert_no", o_on="presented_on")
    shown = s.join(other, (other.o_no == s.declared_cert_no) & (other.o_id != s.site_record_id))
    r = s.join(reg.select("cert_no", "issued_on", "entered_on"), s.declared_cert_no == reg.cert_no)
    e = s.join(
        exams.select("candidate_id", "job_type", "exam_on", "passed"),
        (exams.candidate_id == s.worker_id) & (exams.job_type == s.declared_job_type),
    )
    host = s.lookup_url.re_extract(r"^[a-zA-Z]+://([^/:?#]+)", 1).lower()
    m = s.mutate(host=host)
    dom = domains.select("domain", "registered_on")
    d = m.join(dom, m.host == dom.domain)
    return ibis.union(
        ev(s, s.presented_on, "presented"),
        ev(shown, shown.o_on, "presented_elsewhere"),
        ev(r, r.issued_on, "registry_issued"),
        ev(r, r.entered_on, "registry_entered"),
        ev(e, e.exam_on, "exam", e.passed.cast("float64")),
        ev(d, d.registered_on, "domain_registered"),
    )


EVIDENCE = EvidenceView(
    build=certificate_timeline,
    kind="events",
    series=(
        Series("presented", {"zh": "在本工地出示", "en": "presented on this site"}),
        Series(
            "presented_elsewhere",
            {"zh": "同一证号在他处出示", "en": "same number presented elsewhere"},
        ),
        Series("registry_issued", {"zh": "官方登记发证", "en": "issued (registry)"}),
        Series("registry_entered", {"zh": "录入登记库", "en": "entered in the registry"}),
        Series("exam", {"zh": "考试（1通过/0未通过）", "en": "exam (1 passed, 0 failed)"}),
        Series(
            "domain_registered", {"zh": "二维码查询域名注册", "en": "QR lookup domain registered"}
        ),
    ),
    peers={
        "employer_bad_rate": {
            "zh": "同一用工单位其他记录的异常率",
            "en": "employer's other records failing a check",
        }
    },
    texts={"zh": "证书时间线", "en": "The certificate's time line"},
)

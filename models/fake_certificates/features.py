"""``fake_certificates``: a special-operations certificate as presented on a building site.

Entity: one site record (``site_record_id``); district = the site's district. The collision is
between what the site recorded (certificate number, worker ID, job) and what the emergency
management registry, the exam records and the web records say. Only registry entries and exam
records *entered* by the as-of date count, and each check is made as of the day the card was
presented (a certificate revoked after that day was valid when shown).
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.common import NAN, latest_per_key, ratio
from features.keys import key_status
from features.spec import BuildContext, FeatureSpec, KeyJoin, ScenarioFeatures, feature_maker
from models.fake_certificates.sources import SOURCES
from pool.schemas import history_source

SCENARIO = "fake_certificates"
PASS_MARK = 80.0
REVIEW_YEARS = 3


_f = feature_maker("certificate presented on site")


FEATURE_LIST: tuple[FeatureSpec, ...] = (
    _f(
        "cert_not_in_registry",
        "certificate number not found in the official registry",
        "flag",
        "certificate number is absent from the official registry",
        zh="证书编号在官方证书库中查无此证",
        missing=("现场未登记证书编号", "no certificate number was recorded on site"),
    ),
    _f(
        "holder_id_mismatch",
        "registry holder's ID differs from the worker's ID",
        "flag",
        "certificate belongs to another person's ID",
        zh="该证书登记在他人身份证号下",
        missing=(
            "证书库中无该证书，无法核对",
            "the certificate is not in the registry: nothing to check against",
        ),
    ),
    _f(
        "holder_name_mismatch",
        "registry holder's name differs from the worker's name",
        "flag",
        "certificate holder's name differs from the worker's",
        zh="证书登记的持证人姓名与现场工人不符",
        missing=(
            "证书库中无该证书，无法核对",
            "the certificate is not in the registry: nothing to check against",
        ),
    ),
    _f(
        "job_type_mismatch",
        "registry job type differs from the job presented for",
        "flag",
        "certificate is for another job type",
        zh="证书作业类别与现场所从事工种不符",
        missing=(
            "证书库中无该证书，无法核对",
            "the certificate is not in the registry: nothing to check against",
        ),
    ),
    _f(
        "invalid_when_presented",
        "expired, revoked or review overdue on the day presented",
        "flag",
        "certificate was not valid when presented (expired, revoked or review overdue)",
        zh="出示时证书已过期、被吊销或逾期未复审",
        missing=(
            "证书库中无该证书，无法核对",
            "the certificate is not in the registry: nothing to check against",
        ),
    ),
    _f(
        "registry_score_below_pass",
        "exam score in the registry below the pass mark 80",
        "flag",
        "registry records an exam score below the pass mark 80",
        zh="证书库记录的考试成绩低于80分合格线",
        missing=("证书库中无考试成绩", "the registry holds no exam score"),
    ),
    _f(
        "no_passed_exam",
        "no passed exam for this worker and job before presenting",
        "flag",
        "no passed exam on record for this worker and job",
        zh="该工人在此工种无考试合格记录",
        missing=(
            "工人身份证号无法识别，无法查询培训考试记录",
            "the worker's ID cannot be read to look up training and exams",
        ),
    ),
    _f(
        "no_training_record",
        "no training or exam record at all for this worker and job",
        "flag",
        "no training or exam record for this worker and job",
        zh="该工人在此工种无任何培训或考试记录",
        missing=(
            "工人身份证号无法识别，无法查询培训考试记录",
            "the worker's ID cannot be read to look up training and exams",
        ),
    ),
    _f(
        "lookup_unofficial",
        "QR lookup link points to a domain not on the official list",
        "flag",
        "QR code points to an unofficial site",
        zh="证书二维码指向非官方网站",
        missing=("证书无二维码查询链接", "the card has no QR lookup link"),
    ),
    _f(
        "lookup_domain_age_days",
        "age of the QR lookup domain when the card was presented",
        "days",
        "lookup domain was {value:n} days old; district median {peer:n}",
        "low",
        zh="出示时二维码查询域名仅注册{value:n}天；本区中位数{peer:n}天",
        missing=("查询域名无注册记录", "no registration record of the lookup domain"),
    ),
    _f(
        "worker_id_invalid",
        "worker ID number malformed or with a wrong check character",
        "flag",
        "worker ID fails its check character",
        zh="工人身份证号码校验位不符",
        missing=("现场未登记工人身份证号", "no worker ID recorded on site"),
    ),
    _f(
        "cert_shared",
        "other workers presenting the same certificate number",
        "workers",
        "{value:n} other workers show the same certificate; district median {peer:n}",
        zh="另有{value:n}名工人出示同一证书编号；本区中位数{peer:n}名",
        missing=("现场未登记证书编号", "no certificate number was recorded on site"),
    ),
    _f(
        "employer_bad_rate",
        "share of the employer's other records failing a registry check",
        "share",
        "{value:.0%} of this employer's other certificates fail the registry; "
        "district median {peer:.0%}",
        zh="该用工单位其他工人的证书中{value:pct}未通过证书库核验；本区中位数{peer:pct}",
        missing=("该用工单位无其他工人记录", "the employer has no other workers on record"),
    ),
    _f(
        "foreman_bad_rate",
        "share of the foreman's other records failing a registry check",
        "share",
        "{value:.0%} of this foreman's other certificates fail the registry; "
        "district median {peer:.0%}",
        zh="该班组长带来的其他工人证书中{value:pct}未通过核验；本区中位数{peer:pct}",
        missing=("该班组长无其他工人记录", "the foreman has no other workers on record"),
    ),
)


def _flag(cond: ir.BooleanValue) -> ir.FloatingValue:
    return ibis.ifelse(cond, 1.0, 0.0)


def registry_checks(site: ir.Table, reg: ir.Table) -> ir.Table:
    """Per site record: the collision with the certificate registry."""
    r = reg.select(
        r_cert="cert_no",
        r_holder="holder_id",
        r_name="holder_name",
        r_job="job_type",
        r_issued="issued_on",
        r_expires="expires_on",
        r_review="last_review_on",
        r_revoked="revoked_on",
        r_score="exam_score",
    )
    j = site.left_join(r, site.declared_cert_no == r.r_cert)
    found = j.r_cert.notnull()
    review_base = ibis.coalesce(j.r_review, j.r_issued)
    overdue = review_base + ibis.interval(years=REVIEW_YEARS) < j.presented_on
    invalid = (j.r_expires < j.presented_on) | (j.r_revoked <= j.presented_on) | overdue
    name_w = j.worker_name.re_replace(r"\s", "")
    name_r = j.r_name.re_replace(r"\s", "")
    return j.select(
        "site_record_id",
        cert_not_in_registry=_flag(~found),
        holder_id_mismatch=ibis.ifelse(found, _flag(j.r_holder != j.worker_id), NAN),
        holder_name_mismatch=ibis.ifelse(found, _flag(name_r != name_w), NAN),
        job_type_mismatch=ibis.ifelse(found, _flag(j.r_job != j.declared_job_type), NAN),
        invalid_when_presented=ibis.ifelse(found, _flag(invalid.fill_null(False)), NAN),
        registry_score_below_pass=ibis.ifelse(found, _flag(j.r_score < PASS_MARK), NAN),
    )


def exam_checks(site: ir.Table, exams: ir.Table) -> ir.Table:
    """Per site record: is there a (passed) exam for this worker and job before presenting?"""
    e = exams.select(e_id="candidate_id", e_job="job_type", e_on="exam_on", e_pass="passed")
    j = site.left_join(
        e,
        [site.worker_id == e.e_id, site.declared_job_type == e.e_job, e.e_on <= site.presented_on],
    )
    agg = j.group_by("site_record_id").aggregate(
        attempts=j.e_id.count(), passes=j.e_pass.cast("int64").sum()
    )
    return agg.select(
        "site_record_id",
        no_passed_exam=_flag(agg.passes.fill_null(0) == 0),
        no_training_record=_flag(agg.attempts == 0),
    )


def domain_checks(site: ir.Table, domains: ir.Table) -> ir.Table:
    """Per site record: is the QR lookup domain official, and how old was it?"""
    host = site.lookup_url.re_extract(r"^[a-zA-Z]+://([^/:?#]+)", 1).lower()
    s = site.select(
        "site_record_id",
        "presented_on",
        host=ibis.ifelse(host.length() > 0, host, ibis.null("string")),
    )
    d = domains.select(
        d_domain="domain", d_registered="registered_on", d_official="on_official_list"
    )
    j = s.left_join(d, s.host == d.d_domain)
    age = (j.presented_on.cast("date") - j.d_registered.cast("date")).cast("int64")
    return j.select(
        "site_record_id",
        lookup_unofficial=ibis.ifelse(j.host.isnull(), NAN, _flag(~j.d_official.fill_null(False))),
        lookup_domain_age_days=ibis.ifelse(j.d_registered.notnull(), age.cast("float64"), NAN),
    )


def leave_one_out_rate(table: ir.Table, group: str, flag: str, name: str) -> ir.Table:
    """Per record: mean of ``flag`` over the *other* records of its group (NaN if alone)."""
    g = table.group_by(group).aggregate(_n=table.count(), _s=table[flag].sum())
    j = table.select("site_record_id", group, flag).join(g, group)
    return j.select("site_record_id", **{name: ratio(j._s - j[flag], j._n - 1)})


def build(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """One row per site record with every declared feature."""
    site = latest_per_key(sources["site_workers"], "site_record_id", "recorded_on")
    reg = registry_checks(site, sources["certificate_registry"])
    exams = exam_checks(site, sources["training_exams"])
    dom = domain_checks(site, sources["lookup_domains"])
    base = site.select(
        "site_record_id", "district", "employer_code", "foreman_id", "declared_cert_no", "worker_id"
    )
    t = base.join(reg, "site_record_id").join(exams, "site_record_id").join(dom, "site_record_id")
    bad = (
        t.cert_not_in_registry
        + t.holder_id_mismatch.fill_null(0.0)
        + t.job_type_mismatch.fill_null(0.0)
    ) > 0
    t = t.mutate(_bad=_flag(bad), worker_id_invalid=_flag(key_status(t.worker_id, "id") != "ok"))
    shared = t.group_by("declared_cert_no").aggregate(_workers=t.worker_id.nunique())
    t = t.left_join(shared, "declared_cert_no")
    t = t.mutate(cert_shared=(t._workers.fill_null(1) - 1).cast("float64"))
    emp = leave_one_out_rate(t, "employer_code", "_bad", "employer_bad_rate")
    fore = leave_one_out_rate(t, "foreman_id", "_bad", "foreman_bad_rate")
    t = t.join(emp, "site_record_id").join(fore, "site_record_id")
    return t.select(
        entity_id=t.site_record_id, district=t.district, **{f.name: t[f.name] for f in FEATURE_LIST}
    )


def _sources() -> tuple:
    return (*SOURCES, history_source(SCENARIO))


FEATURES = ScenarioFeatures(
    name=SCENARIO,
    entity="certificate presented on a building site (entity_id = site record id)",
    key_column="site_record_id",
    sources=_sources(),
    features=FEATURE_LIST,
    build=build,
    joins=(
        KeyJoin("site_workers", "site_record_id", "text"),
        KeyJoin("site_workers", "declared_cert_no", "code", ("certificate_registry", "cert_no")),
        KeyJoin("site_workers", "worker_id", "id"),
        KeyJoin("site_workers", "employer_code", "uscc"),
        KeyJoin("site_workers", "foreman_id", "id"),
        KeyJoin("training_exams", "candidate_id", "id", ("site_workers", "worker_id")),
        KeyJoin("certificate_registry", "holder_id", "id"),
        KeyJoin("verification_history", "entity_id", "text", ("site_workers", "site_record_id")),
    ),
    description=(
        "Counterfeit special-operations certificates: site records against the registry, "
        "exam records and lookup domains; clusters at one employer or foreman."
    ),
    module=__name__,
)

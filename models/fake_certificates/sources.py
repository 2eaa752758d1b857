"""Declared agency tables of the ``fake_certificates`` scenario (the catalog's single source)."""

from __future__ import annotations

from models.fake_certificates.domains import REGISTRANT_KINDS
from pool.spec import DISTRICTS, ColumnSpec, SourceSpec

SCENARIO = "fake_certificates"

#: The 11 categories of special operations (特种作业) certificates, as codes.
JOB_TYPES: tuple[str, ...] = (
    "electrician",  # 电工作业
    "welding_cutting",  # 焊接与热切割作业
    "work_at_height",  # 高处作业
    "hoisting",  # 起重机械作业
    "refrigeration_ac",  # 制冷与空调作业
    "hazardous_chemicals",  # 危险化学品安全作业
    "coal_mine",  # 煤矿安全作业
    "metal_mine",  # 金属非金属矿山安全作业
    "oil_gas",  # 石油天然气安全作业
    "metallurgy",  # 冶金（有色）生产安全作业
    "fireworks",  # 烟花爆竹安全作业
)
_JOBS = {"isin": list(JOB_TYPES)}
_ID_TYPED = (
    "resident ID number as typed by the agency (18 digits, some old 15-digit ones, format variants)"
)

REGISTRY = SourceSpec(
    scenario=SCENARIO,
    agency="emergency management (special-operations certificate registry)",
    table="certificate_registry",
    description=(
        "Every special-operations certificate (特种作业操作证) held by workers seen in Beijing: "
        "valid 6 years, reviewed every 3, issued after an exam with pass mark 80."
    ),
    keys=("cert_no",),
    date_column="issued_on",
    filed_column="entered_on",
    columns=(
        ColumnSpec(
            "cert_no",
            "string",
            "certificate number: T + issuing division + year + serial",
            checks={"unique": True, "regex": r"^T\d{15}$"},
        ),
        ColumnSpec(
            "holder_id",
            "string",
            "holder's 18-character resident ID number",
            checks={"regex": r"^\d{17}[\dX]$"},
            personal="id",
        ),
        ColumnSpec("holder_name", "string", "holder's name as on the ID card", personal="name"),
        ColumnSpec("job_type", "string", "special-operations category (11 codes)", checks=_JOBS),
        ColumnSpec(
            "issuing_authority",
            "string",
            "division code of the issuing authority",
            checks={"regex": r"^\d{6}$"},
        ),
        ColumnSpec("issued_on", "date", "day the certificate was issued"),
        ColumnSpec("expires_on", "date", "end of validity (issued + 6 years)"),
        ColumnSpec(
            "last_review_on", "date", "last 3-yearly review, empty if never reviewed", nullable=True
        ),
        ColumnSpec(
            "revoked_on", "date", "day the certificate was revoked, empty if never", nullable=True
        ),
        ColumnSpec(
            "exam_score",
            "float64",
            "theory exam score recorded at issue",
            unit="points",
            checks={"min": 0, "max": 100},
        ),
        ColumnSpec("entered_on", "date", "day the record was entered into the registry"),
    ),
)

SITE_WORKERS = SourceSpec(
    scenario=SCENARIO,
    agency="housing and construction (real-name site worker records)",
    table="site_workers",
    description=(
        "One row per special-operations certificate a worker presented when registering on a "
        "building site (the entity); some records were uploaded twice."
    ),
    keys=("site_record_id",),
    date_column="presented_on",
    filed_column="recorded_on",
    columns=(
        ColumnSpec(
            "site_record_id",
            "string",
            "site record id (the entity)",
            checks={"regex": r"^SR\d{9}$"},
        ),
        ColumnSpec("site_id", "string", "building site (project) id"),
        ColumnSpec("district", "string", "district of the site", checks={"isin": list(DISTRICTS)}),
        ColumnSpec(
            "employer_code", "string", "credit code of the employer (subcontractor) as typed"
        ),
        ColumnSpec("employer_name", "string", "employer name as typed"),
        ColumnSpec(
            "foreman_name", "string", "team leader (班组长) who brought the worker", personal="name"
        ),
        ColumnSpec("foreman_id", "string", "team leader's resident ID number", personal="id"),
        ColumnSpec("worker_name", "string", "worker's name as typed on site", personal="name"),
        ColumnSpec("worker_id", "string", _ID_TYPED, personal="id"),
        ColumnSpec("declared_cert_no", "string", "certificate number as typed from the card"),
        ColumnSpec(
            "declared_job_type", "string", "job the certificate was presented for", checks=_JOBS
        ),
        ColumnSpec(
            "lookup_url",
            "string",
            "URL in the card's QR code, empty if the card has none",
            nullable=True,
        ),
        ColumnSpec("presented_on", "date", "day the certificate was presented on site"),
        ColumnSpec("recorded_on", "date", "day the record reached the housing system"),
    ),
)

TRAINING_EXAMS = SourceSpec(
    scenario=SCENARIO,
    agency="emergency management (training and examination records)",
    table="training_exams",
    description=(
        "Training and exam attempts for special-operations certificates. Digitised from 2019; "
        "older attempts are only partly back-filled."
    ),
    keys=("exam_id",),
    date_column="exam_on",
    filed_column="recorded_on",
    columns=(
        ColumnSpec("exam_id", "string", "exam attempt id"),
        ColumnSpec(
            "candidate_id", "string", "candidate's 18-character resident ID number", personal="id"
        ),
        ColumnSpec("candidate_name", "string", "candidate's name", personal="name"),
        ColumnSpec("job_type", "string", "category examined", checks=_JOBS),
        ColumnSpec("training_institution", "string", "institution that gave the training"),
        ColumnSpec(
            "training_hours", "int64", "hours of training attended", unit="hours", checks={"min": 0}
        ),
        ColumnSpec("exam_on", "date", "day of the exam"),
        ColumnSpec(
            "theory_score",
            "float64",
            "theory exam score",
            unit="points",
            checks={"min": 0, "max": 100},
        ),
        ColumnSpec(
            "practical_score",
            "float64",
            "practical exam score",
            unit="points",
            checks={"min": 0, "max": 100},
        ),
        ColumnSpec("passed", "bool", "both scores at or above the pass mark 80"),
        ColumnSpec("recorded_on", "date", "day the attempt was recorded"),
    ),
)

LOOKUP_DOMAINS = SourceSpec(
    scenario=SCENARIO,
    agency="cyberspace administration (domain and ICP filing records)",
    table="lookup_domains",
    description="Registration records of every domain that a presented card's QR code points to.",
    keys=("domain",),
    date_column="registered_on",
    columns=(
        ColumnSpec("domain", "string", "domain name", checks={"unique": True}),
        ColumnSpec("registered_on", "date", "day the domain was registered"),
        ColumnSpec(
            "registrant_kind",
            "string",
            "kind of registrant",
            checks={"isin": list(REGISTRANT_KINDS)},
        ),
        ColumnSpec("icp_filing", "string", "ICP filing number, empty if none", nullable=True),
        ColumnSpec(
            "on_official_list",
            "bool",
            "on the emergency ministry's published list of certificate lookup sites",
        ),
    ),
)

SOURCES: list[SourceSpec] = [REGISTRY, SITE_WORKERS, TRAINING_EXAMS, LOOKUP_DOMAINS]

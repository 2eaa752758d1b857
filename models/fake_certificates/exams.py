"""Training and exam records behind the certificates (and the attempts that failed).

Every certificate issued since exams went digital (2019) has a passing attempt; older ones were
only partly back-filled, so "no exam record" alone is weak evidence. An insider-entered
certificate has none at all. Some counterfeit buyers did sit the exam and failed it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from models.fake_certificates.registry import Declared, People, Registry
from models.fake_certificates.sources import JOB_TYPES
from models.fake_certificates.world import NOT_IN_REGISTRY, Records
from pool import defects
from pool.sim.people import days_to_dates, to_days

DIGITISED = date(2019, 1, 1)
BACKFILLED = 0.25  # share of pre-2019 passing attempts that were back-filled
RETAKE = 0.12  # share of holders who failed once before passing
BUYER_FAILED = 0.2  # share of counterfeit buyers who sat the exam and failed
PASS_MARK = 80.0
INSTITUTIONS = np.array(
    [
        "北京市安全生产技术培训中心",
        "北京城建技师学院",
        "北京建筑安全培训学校",
        "北京市应急管理培训中心朝阳分中心",
        "北京电力职业技术培训中心",
        "北京焊接技术培训学校",
        "北京高空作业培训中心",
        "河北省安全生产培训中心",
        "河南省特种作业培训中心",
        "山东省安全技术培训学院",
        "四川省应急管理培训中心",
        "北京通州职业技能培训学校",
    ]
)


def _attempts(
    rng: np.random.Generator,
    person: np.ndarray,
    job: np.ndarray,
    exam_on: np.ndarray,
    theory: np.ndarray,
    passed: np.ndarray,
) -> pd.DataFrame:
    """Attempt rows; failed attempts fail the theory or the practical part."""
    n = len(person)
    practical = np.round(np.clip(rng.normal(88.0, 5.0, n), PASS_MARK, 100.0), 1)
    fail_practical = ~passed & (rng.random(n) < 0.3)
    practical = np.where(fail_practical, np.round(rng.uniform(40.0, 79.9, n), 1), practical)
    theory = np.where(fail_practical, np.maximum(theory, PASS_MARK), theory)
    return pd.DataFrame(
        {
            "person": person,
            "job_type": np.asarray(JOB_TYPES, dtype=object)[job],
            "training_institution": INSTITUTIONS[rng.integers(0, len(INSTITUTIONS), n)],
            "training_hours": rng.integers(40, 121, n).astype("int64"),
            "day": exam_on,
            "theory_score": theory,
            "practical_score": practical,
            "passed": passed,
        }
    )


def exam_table(
    rng: np.random.Generator,
    reg: Registry,
    insider: np.ndarray,
    people: People,
    rec: Records,
    dec: Declared,
) -> pd.DataFrame:
    """The training and exam table with its defects (missing, late and duplicated records)."""
    n = len(reg.holder)
    digitised = to_days(DIGITISED)
    has = ~insider & ((reg.issued >= digitised) | (rng.random(n) < BACKFILLED))
    exam_on = reg.issued - rng.integers(7, 41, n)
    passing = _attempts(rng, reg.holder, reg.job, exam_on, reg.score, np.ones(n, bool))
    retake = has & (rng.random(n) < RETAKE)
    fail_theory = np.round(rng.uniform(45.0, 79.9, n), 1)
    before = exam_on - rng.integers(30, 121, n)
    failed = _attempts(rng, reg.holder, reg.job, before, fail_theory, np.zeros(n, bool))
    buyers = (rec.pattern == NOT_IN_REGISTRY) & (rng.random(len(rec.pattern)) < BUYER_FAILED)
    m = len(rec.pattern)
    bought = _attempts(
        rng,
        dec.person,
        dec.job,
        rec.day - rng.integers(30, 400, m),
        np.round(rng.uniform(40.0, 79.9, m), 1),
        np.zeros(m, bool),
    )
    rows = pd.concat([passing.loc[has], failed.loc[retake], bought.loc[buyers]], ignore_index=True)
    rows = rows.iloc[np.lexsort((rng.random(len(rows)), rows["day"].to_numpy()))]
    rows = rows.reset_index(drop=True)
    person = rows.pop("person").to_numpy()
    exam_day = days_to_dates(rows.pop("day").to_numpy())
    out = pd.DataFrame(
        {
            "exam_id": "EX" + pd.Series(np.arange(1, len(rows) + 1)).astype(str).str.zfill(10),
            "candidate_id": people.id18[person],
            "candidate_name": people.name[person],
        }
    )
    out = pd.concat([out, rows], axis=1)
    out.insert(6, "exam_on", exam_day)
    out["recorded_on"] = defects.filing_dates(
        exam_day, rng, late_rate=0.05, very_late_rate=0.02, deadline_days=10
    )
    out = defects.drop_rows(out, 0.01, rng)
    return defects.duplicate_rows(out, 0.005, rng, filed_column="recorded_on")

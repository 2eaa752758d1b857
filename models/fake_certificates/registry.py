"""The official certificate registry and which number each site record declares.

Honest workers hold one to three certificates and present them on one or more sites; some are
expired or overdue for review (administrative lapses, not fraud), some were entered into the
registry after the worker presented them. Fraudulent records declare a fabricated number, another
person's number, their own number for another job, an insider-entered certificate with no exam
behind it, or a lapsed certificate "renewed" by a counterfeiter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.fake_certificates.world import LOOKALIKE, NO_EXAM, NONE, WRONG_JOB, Records
from pool.sim.people import (
    DISTRICT_CODES,
    ORIGIN_CODES,
    ORIGIN_WEIGHTS,
    birth_days,
    id_numbers,
    old_15_digit,
    person_names,
    weighted_choice,
)

YEAR = 365
VALID_MONTHS = 72
REVIEW_DAYS = 3 * YEAR
#: Job types presented on building sites (same order as ``JOB_TYPES``): mostly the first four.
SITE_JOB_WEIGHTS = np.array([32, 22, 28, 12, 3, 1.5, 0.3, 0.4, 0.3, 0.3, 0.2])
COMMON_JOBS = 4
#: Shares of honest certificates with an innocent registry oddity at first presentation.
LATE_ENTRY, EXPIRED, OVERDUE = 0.015, 0.03, 0.025
REVOKED_LATER = 0.01  # honest certificates revoked after their last presentation
BACKGROUND_SHARE = 0.5  # registry certificates of people not seen on any site, per honest one
_BEIJING = np.array(list(DISTRICT_CODES.values()))


@dataclass(frozen=True)
class People:
    """Every person in the scenario: honest workers, fraudsters' workers, background holders."""

    id18: np.ndarray
    name: np.ndarray
    birth: np.ndarray
    origin: np.ndarray
    old_id: np.ndarray  # the site system still holds their 15-digit ID


@dataclass
class Registry:
    """Registry rows as arrays (``kind``: 0 honest, 1 a fraudster's own, 2 background)."""

    holder: np.ndarray
    job: np.ndarray
    issued: np.ndarray
    last_review: np.ndarray  # -1: never reviewed
    revoked: np.ndarray  # -1: not revoked
    score: np.ndarray
    area: np.ndarray
    entered: np.ndarray
    kind: np.ndarray
    cert_no: np.ndarray | None = None  # set by ``assign_numbers``

    def numbers(self) -> np.ndarray:
        """The certificate numbers; asked for before ``assign_numbers`` ran, a clear error."""
        if self.cert_no is None:
            raise ValueError("Registry.cert_no is not set yet: assign_numbers(...) numbers it")
        return self.cert_no


@dataclass(frozen=True)
class Declared:
    """What each site record declares, before and after drift."""

    person: np.ndarray  # person index of the worker
    cert: np.ndarray  # registry row whose number is declared, -1 if fabricated
    own: np.ndarray  # registry row of the worker's own certificate, -1 if none
    job: np.ndarray  # declared job type code
    fabricated: np.ndarray  # fabricated number (used where cert == -1)
    drift_cert: np.ndarray  # registry row a counterfeiter copies after drift (matching job)


def draw_people(rng: np.random.Generator, n: int, ref_day: int) -> People:
    """Workers of building-site age, mostly from the provinces around Beijing."""
    births = birth_days(n, ref_day, rng, mean_age=42, sd=9, lo=19, hi=60)
    origin = ORIGIN_CODES[weighted_choice(n, ORIGIN_WEIGHTS, rng)]
    ids = id_numbers(births, rng, origin)
    born_before_75 = births < np.datetime64("1975-01-01").astype("int64")
    old_id = born_before_75 & (rng.random(n) < 0.12)
    return People(ids, person_names(n, rng), births, origin, old_id)


def issuing_area(origin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Where a certificate was issued: Beijing for most, the home province for some."""
    n = len(origin)
    beijing = _BEIJING[rng.integers(0, len(_BEIJING), n)]
    home_province = np.char.add(np.asarray(origin, dtype="U6").astype("U2"), "0000")
    local = np.char.startswith(np.asarray(origin, dtype="U6"), "11")
    own = np.where(local, np.asarray(origin, dtype="U6"), home_province)
    return np.where(local | (rng.random(n) < 0.35), own, beijing)


def _review(issued: np.ndarray, at: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Last 3-yearly review before ``at``: done (with probability ``p``) a little early."""
    n = len(issued)
    due = issued + REVIEW_DAYS - rng.integers(0, 60, n)
    second = due + REVIEW_DAYS
    last = np.where(second <= at, second, due)
    return np.where((due <= at) & (rng.random(n) < p), last, -1)


def _scores(n: int, rng: np.random.Generator) -> np.ndarray:
    """Theory exam scores of those who passed (pass mark 80)."""
    return np.round(np.clip(rng.normal(88.0, 5.0, n), 80.0, 100.0), 1)


def honest_certificates(
    rng: np.random.Generator,
    rec: Records,
    people: People,
    n_workers: int,
    n_certs: int,
    end: int,
) -> tuple[Registry, np.ndarray]:
    """Honest workers' certificates and, per honest record, the certificate presented.

    A few are revoked after their holder's last presentation (a later violation): a revocation
    date alone does not mean the card shown on site was bad.
    """
    honest = np.flatnonzero(rec.pattern == NONE)
    holder = np.concatenate([np.arange(n_workers), rng.integers(0, n_workers, n_certs - n_workers)])
    job = weighted_choice(n_certs, SITE_JOB_WEIGHTS, rng)
    first = job[holder]  # a worker's first certificate is the one with his own index
    second = np.arange(n_certs) >= n_workers
    job = np.where(
        second & (job == first), (first + 1 + rng.integers(0, 3, n_certs)) % COMMON_JOBS, job
    )
    assign = np.concatenate([np.arange(n_certs), rng.integers(0, n_certs, len(honest) - n_certs)])
    rec_cert = np.full(len(rec.pattern), -1)
    rec_cert[honest] = assign[rng.permutation(len(honest))]
    p0 = np.full(n_certs, np.iinfo("int64").max)
    np.minimum.at(p0, rec_cert[honest], rec.day[honest])
    u = rng.random(n_certs)
    late, expired = u < LATE_ENTRY, (u >= LATE_ENTRY) & (u < LATE_ENTRY + EXPIRED)
    overdue = (u >= LATE_ENTRY + EXPIRED) & (u < LATE_ENTRY + EXPIRED + OVERDUE)
    age = rng.integers(20, 6 * YEAR - 30, n_certs)
    age = np.where(expired, rng.integers(6 * YEAR + 15, int(7.5 * YEAR), n_certs), age)
    age = np.where(overdue, rng.integers(REVIEW_DAYS + 30, 6 * YEAR - 30, n_certs), age)
    age = np.where(late, rng.integers(3, 40, n_certs), age)
    issued = p0 - age
    review = _review(issued, p0, rng, 0.96)
    p_last = np.zeros(n_certs, dtype="int64")
    np.maximum.at(p_last, rec_cert[honest], rec.day[honest])
    revoked = p_last + rng.integers(30, 400, n_certs)
    revoked = np.where((rng.random(n_certs) < REVOKED_LATER) & (revoked < end), revoked, -1)
    entered = np.where(
        late, p0 + rng.integers(15, 120, n_certs), issued + rng.integers(0, 10, n_certs)
    )
    reg = Registry(
        holder=holder,
        job=job,
        issued=issued,
        last_review=np.where(overdue | late, -1, review),
        revoked=revoked,
        score=_scores(n_certs, rng),
        area=issuing_area(people.origin[holder], rng),
        entered=entered,
        kind=np.zeros(n_certs, dtype="int64"),
    )
    return reg, rec_cert


def own_certificates(
    rng: np.random.Generator,
    rec: Records,
    rows: np.ndarray,
    persons: np.ndarray,
    declared_job: np.ndarray,
    people: People,
    digitised: int,
) -> tuple[Registry, np.ndarray]:
    """Registry rows that belong to fraudulent workers themselves, and their declared jobs.

    ``wrong_job_type``: a real certificate for one job, presented for another. ``no_exam``: an
    insider-entered certificate with a score just over the pass mark and no exam behind it.
    ``lookalike_domain``: a lapsed (expired or revoked) certificate whose card a counterfeiter
    "renewed", linked to a look-alike lookup site.
    """
    n = len(rows)
    pat, p = rec.pattern[rows], rec.day[rows]
    job = declared_job.copy()
    wrong = pat == WRONG_JOB
    real = weighted_choice(n, SITE_JOB_WEIGHTS[:COMMON_JOBS], rng)
    shown = (real + 1 + rng.integers(0, COMMON_JOBS - 1, n)) % COMMON_JOBS
    job = np.where(wrong, real, job)
    shown_job = np.where(wrong, shown, declared_job)
    issued = p - rng.integers(60, 6 * YEAR - 30, n)
    noex = pat == NO_EXAM
    insider = np.maximum(p - rng.integers(30, REVIEW_DAYS, n), digitised + rng.integers(0, 60, n))
    issued = np.where(noex, insider, issued)
    lapsed = pat == LOOKALIKE
    revoked_kind = lapsed & (rng.random(n) < 0.3)
    issued = np.where(lapsed & ~revoked_kind, p - rng.integers(6 * YEAR + 30, 9 * YEAR, n), issued)
    issued = np.where(revoked_kind, p - rng.integers(YEAR, 5 * YEAR, n), issued)
    revoked = np.where(revoked_kind, p - np.minimum(rng.integers(30, 700, n), p - issued - 10), -1)
    score = np.where(
        noex, np.round(np.clip(80.0 + np.abs(rng.normal(0, 2.5, n)), 80, 100), 1), _scores(n, rng)
    )
    reg = Registry(
        holder=persons,
        job=job,
        issued=issued,
        last_review=_review(issued, p, rng, 0.8),
        revoked=revoked,
        score=score,
        area=issuing_area(people.origin[persons], rng),
        entered=issued + rng.integers(0, 10, n),
        kind=np.ones(n, dtype="int64"),
    )
    return reg, shown_job


def background_certificates(
    rng: np.random.Generator, persons: np.ndarray, people: People, lo: int, hi: int
) -> Registry:
    """Certificates of people never seen on a site: the rest of the registry (and donors)."""
    n = len(persons)
    job = weighted_choice(n, SITE_JOB_WEIGHTS + 2.0, rng)
    issued = rng.integers(lo - 6 * YEAR, hi, n)
    revoked = np.where(rng.random(n) < 0.01, issued + rng.integers(30, 2 * YEAR, n), -1)
    return Registry(
        holder=persons,
        job=job,
        issued=issued,
        last_review=_review(issued, np.full(n, hi), rng, 0.85),
        revoked=revoked,
        score=_scores(n, rng),
        area=issuing_area(people.origin[persons], rng),
        entered=issued + rng.integers(0, 10, n),
        kind=np.full(n, 2, dtype="int64"),
    )


def concat_registries(parts: list[Registry]) -> Registry:
    """One registry from several parts (fields concatenated in order)."""
    fields = (
        "holder",
        "job",
        "issued",
        "last_review",
        "revoked",
        "score",
        "area",
        "entered",
        "kind",
    )
    return Registry(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def _serials(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 7-digit serial numbers in random order."""
    pool = np.unique(rng.integers(0, 10**7, int(n * 1.3) + 64))
    while len(pool) < n:
        pool = np.unique(np.concatenate([pool, rng.integers(0, 10**7, n)]))
    return rng.permutation(pool)[:n]


def number_cert(area: np.ndarray, issued: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Certificate numbers: T + issuing division + two-digit year + 7-digit serial."""
    years = np.asarray(issued, dtype="int64").astype("datetime64[D]").astype("datetime64[Y]")
    yy = np.char.zfill((years.astype("int64") + 1970).astype(str), 4).astype("U4")
    yy = np.ascontiguousarray(yy.view("U1").reshape(len(yy), 4)[:, 2:]).view("U2").ravel()
    seven = np.char.zfill(np.asarray(serial).astype(str), 7)
    return np.char.add(np.char.add(np.char.add("T", area.astype("U6")), yy), seven).astype(object)


def assign_numbers(rng: np.random.Generator, reg: Registry, n_fabricated: int) -> np.ndarray:
    """Number every registry row; return ``n_fabricated`` serials that are in no registry row."""
    serials = _serials(rng, len(reg.holder) + n_fabricated)
    reg.cert_no = number_cert(reg.area, reg.issued, serials[: len(reg.holder)])
    return serials[len(reg.holder) :]


def donors(
    rng: np.random.Generator, reg: Registry, jobs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Registry rows a counterfeiter copies: any certificate, and one of the declared job type."""
    cand = np.flatnonzero(reg.kind != 1)
    n = len(jobs)
    any_donor = cand[rng.integers(0, len(cand), n)]
    order = cand[np.argsort(reg.job[cand], kind="stable")]
    sorted_jobs = reg.job[order]
    lo = np.searchsorted(sorted_jobs, jobs, side="left")
    hi = np.searchsorted(sorted_jobs, jobs, side="right")
    pick = lo + (rng.random(n) * (hi - lo)).astype("int64")
    match = np.where(hi > lo, order[np.minimum(pick, len(order) - 1)], any_donor)
    return any_donor, match


def fabricated_numbers(
    rng: np.random.Generator,
    people: People,
    persons: np.ndarray,
    day: np.ndarray,
    free_serials: np.ndarray,
) -> np.ndarray:
    """Numbers printed on counterfeit cards: well-formed but unregistered, or the holder's ID."""
    n = len(persons)
    area = issuing_area(people.origin[persons], rng)
    issued = day - rng.integers(30, 4 * YEAR, n)
    well_formed = number_cert(area, issued, free_serials[:n])
    id_style = np.char.add("T", people.id18[persons].astype("U18")).astype(object)
    return np.where(rng.random(n) < 0.2, id_style, well_formed)


def old_ids(people: People) -> np.ndarray:
    """The ID number as the site system holds it: 15 digits for some older workers."""
    return np.where(people.old_id, old_15_digit(people.id18), people.id18)

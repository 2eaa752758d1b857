"""Scenario ``fake_certificates``: counterfeit special-operations certificates on building sites.

Entity: a certificate as presented on a building site (``site_record_id``). About 50,000 records
at scale 1 over the window. Sources: the official registry (emergency management), real-name
site worker records (housing and construction), training and exam records, and the registration
records of the domains the cards' QR codes point to. See ``_cert_registry`` for the patterns and
``SOURCES`` (in ``_cert_sources``) for every column.

Drift: from ``config.drift_month`` counterfeiters copy real registry numbers of the declared job
type and link them to aged official-looking domains, so the registry lookup stops catching them;
only the holder mismatch and the missing exam remain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.fake_certificates import domains as dom
from models.fake_certificates.exams import DIGITISED, exam_table
from models.fake_certificates.history import certificate_history
from models.fake_certificates.registry import (
    BACKGROUND_SHARE,
    REVIEW_DAYS,
    SITE_JOB_WEIGHTS,
    VALID_MONTHS,
    Declared,
    People,
    Registry,
    assign_numbers,
    background_certificates,
    concat_registries,
    donors,
    draw_people,
    fabricated_numbers,
    honest_certificates,
    old_ids,
    own_certificates,
)
from models.fake_certificates.sources import JOB_TYPES, SCENARIO, SOURCES
from models.fake_certificates.world import (
    LOOKALIKE,
    NO_EXAM,
    NONE,
    NOT_IN_REGISTRY,
    OTHER_HOLDER,
    PATTERNS,
    WRONG_JOB,
    Records,
    World,
    draw_records,
    draw_world,
)
from pool import defects
from pool.rng import component_rng
from pool.sim.oddity import join_flags
from pool.sim.people import (
    add_months,
    check_config,
    days_to_dates,
    to_days,
    vary_person_names,
    weighted_choice,
)
from pool.spec import ScenarioPool, SimConfig

__all__ = ["SOURCES", "JOB_TYPES", "PATTERNS", "simulate"]

ENTITY = "presented certificate (site_record_id)"
_STREAMS = ("world", "records", "people", "certs", "domains", "exams", "defects", "history")
#: How likely a verifier who looks at a fraudulent record confirms it, per pattern.
DETECT_PROB = {
    "not_in_registry": 0.95,
    "other_holder": 0.9,
    "wrong_job_type": 0.85,
    "no_exam": 0.6,
    "lookalike_domain": 0.5,
}


def month_starts(config: SimConfig) -> np.ndarray:
    """Epoch day of the first day of every month in the window, plus the day after it."""
    start = to_days(config.start)
    return add_months(np.full(config.months + 1, start), np.arange(config.months + 1))


def simulate(config: SimConfig) -> ScenarioPool:
    """Simulate the certificate scenario: agency tables, verification history and truth."""
    check_config(config, SCENARIO)
    rng = {name: component_rng(config.seed, SCENARIO, name) for name in _STREAMS}
    bounds = month_starts(config)
    world = draw_world(rng["world"], config.scale, int(bounds[0]))
    rec = draw_records(rng["records"], world, max(300, round(50_000 * config.scale)), bounds)
    people, reg, dec, insider = _certificates(rng["people"], rng["certs"], rec, bounds)
    drifted = _drift_mask(rec, config)
    cert = np.where(drifted, dec.drift_cert, dec.cert)
    pattern = np.where(drifted, OTHER_HOLDER, rec.pattern)
    n_rings = len(world.ring_foremen)
    domain, domains = _domains(rng["domains"], rec, reg, dec, drifted, n_rings, config.scale)
    number = np.where(cert >= 0, reg.numbers()[np.maximum(cert, 0)], dec.fabricated)
    site, masks = _site_table(rng["defects"], world, rec, people, dec, number, domain)
    registry = _registry_table(reg, people)
    exams = exam_table(rng["exams"], reg, insider, people, rec, dec)
    oddities = _oddities(rec, people, reg, dec, exams, masks)
    truth = _truth(rng["history"], rec, world, pattern, drifted, oddities, site)
    end = days_to_dates(bounds[-1:]).iloc[0] - pd.Timedelta(days=1)
    history = certificate_history(rng["history"], site, registry, truth, config, end)
    tables = {
        "certificate_registry": registry,
        "site_workers": site,
        "training_exams": exams,
        "lookup_domains": domains,
    }
    return ScenarioPool(SCENARIO, ENTITY, tables, history, truth)


def _certificates(
    rng_people: np.random.Generator, rng: np.random.Generator, rec: Records, bounds: np.ndarray
) -> tuple[People, Registry, Declared, np.ndarray]:
    """People, the registry and what every record declares (see ``_cert_registry``).

    Also returns a mask over registry rows of the insider-entered certificates (no exam).
    """
    n = len(rec.pattern)
    honest = rec.pattern == NONE
    n_certs = max(1, round(honest.sum() / 1.2))
    n_workers = max(1, round(n_certs / 1.15))
    fake_rows = np.flatnonzero(~honest)
    n_bg = max(50, round(BACKGROUND_SHARE * n_certs))
    people = draw_people(rng_people, n_workers + len(fake_rows) + n_bg, int(bounds[0]))
    reg_h, cert = honest_certificates(rng, rec, people, n_workers, n_certs, int(bounds[-1]))
    person = np.zeros(n, dtype="int64")
    person[honest] = reg_h.holder[cert[honest]]
    person[fake_rows] = n_workers + np.arange(len(fake_rows))
    wanted = weighted_choice(n, SITE_JOB_WEIGHTS, rng)
    own_rows = np.flatnonzero(np.isin(rec.pattern, (WRONG_JOB, NO_EXAM, LOOKALIKE)))
    reg_o, shown = own_certificates(
        rng, rec, own_rows, person[own_rows], wanted[own_rows], people, to_days(DIGITISED)
    )
    bg = background_certificates(
        rng, n_workers + len(fake_rows) + np.arange(n_bg), people, int(bounds[0]), int(bounds[-1])
    )
    reg = concat_registries([reg_h, reg_o, bg])
    free = assign_numbers(rng, reg, n)
    any_donor, match_donor = donors(rng, reg, wanted)
    fabricated = fabricated_numbers(rng, people, person, rec.day, free)
    copy_match = rng.random(n) < 0.5
    cert[own_rows] = n_certs + np.arange(len(own_rows))
    own = np.where(honest, cert, -1)
    own[own_rows] = cert[own_rows]
    other = rec.pattern == OTHER_HOLDER
    cert = np.where(other, np.where(copy_match, match_donor, any_donor), cert)
    job = np.where(honest, reg.job[np.maximum(cert, 0)], wanted)
    job[own_rows] = shown
    insider = np.zeros(len(reg.holder), dtype=bool)
    insider[n_certs + np.flatnonzero(rec.pattern[own_rows] == NO_EXAM)] = True
    dec = Declared(
        person,
        cert,
        own,
        job,
        fabricated,
        np.where(other | (rec.pattern == NOT_IN_REGISTRY), match_donor, cert),
    )
    return people, reg, dec, insider


def _drift_mask(rec: Records, config: SimConfig) -> np.ndarray:
    """Counterfeit records presented from the drift month on (they switch to copied numbers)."""
    if config.drift_month is None:
        return np.zeros(len(rec.pattern), dtype=bool)
    fake = np.isin(rec.pattern, (NOT_IN_REGISTRY, OTHER_HOLDER))
    return fake & (rec.month >= config.drift_month)


def _domains(
    rng: np.random.Generator,
    rec: Records,
    reg: Registry,
    dec: Declared,
    drifted: np.ndarray,
    n_rings: int,
    scale: float,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The QR domain of every record and the registration table of all domains seen.

    Counterfeit cards link to the ring's or a lone seller's throwaway domain; lapsed cards
    "renewed" by a counterfeiter, and every counterfeit after drift, link to aged official-looking
    domains.
    """
    n = len(rec.pattern)
    domain = dom.honest_domains(rng, reg.area[np.maximum(dec.own, 0)])
    blatant, b_pick = dom.fake_domains(rng, n, n_rings, scale, aged=False)
    aged, a_pick = dom.fake_domains(rng, n, n_rings, scale, aged=True)
    names = dom.unique_names(np.concatenate([blatant, aged]))
    blatant, aged = names[: len(blatant)], names[len(blatant) :]
    b_idx = np.where(rec.ring >= 0, rec.ring, b_pick)
    a_idx = np.where(rec.ring >= 0, rec.ring, a_pick)
    counterfeit = np.isin(rec.pattern, (NOT_IN_REGISTRY, OTHER_HOLDER))
    use_b = counterfeit & ~drifted
    use_a = (counterfeit & drifted) | (rec.pattern == LOOKALIKE)
    domain[use_b] = blatant[b_idx[use_b]]
    domain[use_a] = aged[a_idx[use_a]]
    ref = dom.reference_domains()
    ref["icp_filing"] = dom.reference_icp(rng, ref)
    day = pd.Series(rec.day)
    parts = [
        ref,
        dom.fake_domain_table(rng, blatant, day[use_b].set_axis(b_idx[use_b]), aged=False),
        dom.fake_domain_table(rng, aged, day[use_a].set_axis(a_idx[use_a]), aged=True),
    ]
    table = pd.concat(parts, ignore_index=True)
    table["registered_on"] = days_to_dates(table["registered_on"].to_numpy("int64"))
    return domain, table[
        ["domain", "registered_on", "registrant_kind", "icp_filing", "on_official_list"]
    ]


def _lookup_urls(domain: np.ndarray, number: np.ndarray) -> pd.Series:
    """The URL printed in the QR code: a query page with the certificate number."""
    d = pd.Series(domain, dtype=object)
    path = np.where(d == dom.NATIONAL, "/tzzy/cx?zsbh=", "/cx?zh=")
    url = "https://" + d.fillna("") + path + pd.Series(number, dtype=object)
    return url.where(d.notna(), None)


def _site_table(
    rng: np.random.Generator,
    world: World,
    rec: Records,
    people: People,
    dec: Declared,
    number: np.ndarray,
    domain: np.ndarray,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Real-name site records as the housing system holds them, with their typing defects.

    Returns the table (duplicated uploads included) and, per record before duplication, masks
    of the defects applied (for the truth's list of innocent oddities).
    """
    n = len(rec.pattern)
    ids = old_ids(people)[dec.person]
    varied_ids, id_kind = defects.vary_codes(ids, 0.02, rng)
    corrupted, bad = defects.corrupt_check_chars(
        ids, 0.004, rng, alphabet=defects.ID_CHECK_ALPHABET
    )
    bad = bad & (pd.Series(ids).str.len().to_numpy() == 18) & (id_kind == "")
    names, renamed = vary_person_names(people.name[dec.person], 0.03, rng)
    drop_t = rng.random(n) < 0.015
    typed, cert_kind = defects.vary_codes(number, 0.02, rng)
    typed = np.where(drop_t, pd.Series(number, dtype=object).str[1:].to_numpy(object), typed)
    emp_code, _ = defects.vary_codes(world.employer_code[rec.employer], 0.02, rng)
    emp_name, _ = defects.vary_names(world.employer_name[rec.employer], 0.03, rng)
    presented = days_to_dates(rec.day)
    site = pd.DataFrame(
        {
            "site_record_id": "SR" + pd.Series(np.arange(1, n + 1) + 10**9).astype(str).str[1:],
            "site_id": world.site_id[rec.site],
            "district": world.site_district[rec.site],
            "employer_code": emp_code,
            "employer_name": emp_name,
            "foreman_name": world.foreman_name[rec.foreman],
            "foreman_id": world.foreman_id[rec.foreman],
            "worker_name": names,
            "worker_id": np.where(bad, corrupted, varied_ids),
            "declared_cert_no": typed,
            "declared_job_type": np.asarray(JOB_TYPES, dtype=object)[dec.job],
            "lookup_url": _lookup_urls(domain, number),
            "presented_on": presented,
            "recorded_on": defects.filing_dates(
                presented, rng, late_rate=0.05, very_late_rate=0.01, deadline_days=3
            ),
        }
    )
    masks = {
        "id_format": id_kind != "",
        "bad_check_char": bad,
        "name_variant": renamed,
        "cert_format": drop_t | (cert_kind != ""),
    }
    return defects.duplicate_rows(site, 0.008, rng, filed_column="recorded_on"), masks


def _dates_or_null(days: np.ndarray) -> pd.Series:
    """Epoch days to dates, with -1 meaning empty."""
    return days_to_dates(np.maximum(days, 0)).where(days >= 0)


def _registry_table(reg: Registry, people: People) -> pd.DataFrame:
    """The official registry, in the order records were entered."""
    table = pd.DataFrame(
        {
            "cert_no": reg.cert_no,
            "holder_id": people.id18[reg.holder],
            "holder_name": people.name[reg.holder],
            "job_type": np.asarray(JOB_TYPES, dtype=object)[reg.job],
            "issuing_authority": reg.area.astype(object),
            "issued_on": days_to_dates(reg.issued),
            "expires_on": days_to_dates(add_months(reg.issued, VALID_MONTHS)),
            "last_review_on": _dates_or_null(reg.last_review),
            "revoked_on": _dates_or_null(reg.revoked),
            "exam_score": reg.score,
            "entered_on": days_to_dates(reg.entered),
        }
    )
    return table.iloc[np.argsort(reg.entered, kind="stable")].reset_index(drop=True)


def _oddities(
    rec: Records,
    people: People,
    reg: Registry,
    dec: Declared,
    exams: pd.DataFrame,
    masks: dict[str, np.ndarray],
) -> np.ndarray:
    """Innocent reasons a record looks odd, "+"-joined ("none" if none), for evaluation.

    Registry lapses (expired, overdue review, entered late), no exam on file (old certificates),
    several certificates per worker, old 15-digit IDs and the typing defects of the site system.
    """
    honest = rec.pattern == NONE
    c = np.maximum(dec.own, 0)
    expired = honest & (rec.day > add_months(reg.issued, VALID_MONTHS)[c])
    last = reg.last_review[c]
    overdue = (
        honest
        & ~expired
        & (rec.day - reg.issued[c] > REVIEW_DAYS)
        & ((last < 0) | (last > rec.day))
    )
    ok = exams["passed"].to_numpy(bool)
    passed = np.char.add(
        np.char.add(exams["candidate_id"].to_numpy(str)[ok], "|"),
        exams["job_type"].to_numpy(str)[ok],
    )
    key = np.char.add(
        np.char.add(people.id18[dec.person].astype(str), "|"), np.asarray(JOB_TYPES)[dec.job]
    )
    held = np.bincount(reg.holder[reg.kind == 0], minlength=len(people.id18))
    flags = {
        "expired": expired,
        "overdue_review": overdue,
        "late_registry": honest & (reg.entered[c] > rec.day),
        "no_exam_record": honest & ~np.isin(key, passed),
        "multi_cert": honest & (held[dec.person] > 1),
        "old_id": people.old_id[dec.person],
        **masks,
    }
    return join_flags(flags)


def _truth(
    rng: np.random.Generator,
    rec: Records,
    world: World,
    pattern: np.ndarray,
    drifted: np.ndarray,
    oddities: np.ndarray,
    site: pd.DataFrame,
) -> pd.DataFrame:
    """One row per site record: the planted pattern, ring, drift and innocent oddities."""
    ids = site["site_record_id"].drop_duplicates().to_numpy(object)
    names = np.asarray(PATTERNS, dtype=object)[pattern]
    fraud = pattern != NONE
    penalty = np.round(rng.uniform(5_000, 30_000, len(pattern)), -2)
    ring = pd.Series("ring_" + pd.Series(rec.ring).astype(str).str.zfill(2), dtype=object)
    return pd.DataFrame(
        {
            "entity_id": ids,
            "district": world.site_district[rec.site],
            "is_fraud": fraud,
            "pattern": names,
            "ring_id": ring.where(rec.ring >= 0, None),
            "drifted": drifted,
            "oddities": oddities,
            "presented_on": days_to_dates(rec.day),
            "detect_prob": pd.Series(names).map(DETECT_PROB).fillna(0.0).to_numpy(),
            "penalty_yuan": np.where(fraud, penalty, 0.0),
        }
    )

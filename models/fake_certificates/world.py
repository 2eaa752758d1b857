"""Who presents which certificate where: sites, employers, foremen, rings and site records.

Pure draws on numpy arrays for the ``fake_certificates`` scenario. Every function takes its own
random generator, and draws the same numbers whatever the drift setting, so drift can be applied
afterwards without moving anything before the drift month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pool.sim.people import (
    DISTRICT_CODES,
    birth_days,
    id_numbers,
    person_names,
    uscc_codes,
    weighted_choice,
)
from pool.spec import DISTRICTS

#: Fraud patterns of a presented certificate, in code order (0 = honest).
PATTERNS: tuple[str, ...] = (
    "none",
    "not_in_registry",
    "other_holder",
    "wrong_job_type",
    "no_exam",
    "lookalike_domain",
)
NONE, NOT_IN_REGISTRY, OTHER_HOLDER, WRONG_JOB, NO_EXAM, LOOKALIKE = range(6)
#: Share of presented certificates per pattern: a few percent in all, as inspections find.
PATTERN_RATES = np.array([0.0, 0.012, 0.006, 0.004, 0.004, 0.006])
#: Share of counterfeit cards (not in registry / other holder's number) sold through a ring.
RING_SHARE = 0.5
#: Construction activity per district (sites are where the new building is).
SITE_DISTRICT_WEIGHTS = np.array(
    [2, 2, 12, 8, 3, 8, 3, 8, 11, 8, 9, 11, 3, 3, 3, 2], dtype="float64"
)
#: Registrations per calendar month: winter and the Spring Festival slow building down.
MONTH_WEIGHTS = np.array([0.6, 0.5, 1.0, 1.1, 1.1, 1.1, 1.0, 1.0, 1.1, 1.0, 0.9, 0.8])
FOREMEN_PER_EMPLOYER = 4
EMPLOYERS_PER_SITE = 3
RING_FOREMEN = 3
RING_TEAM_HONEST = 0.15  # share of a ring employer's honest workers brought by the ring's foremen

_NAME_CHARS = np.array(list("宏建达兴盛华安泰鑫恒城通嘉诚利源瑞丰顺德广鼎宇晟腾龙峰辉振联"))
_NAME_SUFFIX = np.array(
    ["建筑劳务有限公司", "建设工程有限公司", "劳务分包有限公司", "建筑工程有限公司"]
)


@dataclass(frozen=True)
class World:
    """Sites, employers (subcontractors), their foremen and the counterfeit rings."""

    site_id: np.ndarray
    site_district: np.ndarray
    site_weight: np.ndarray
    site_employers: np.ndarray  # (n_sites, EMPLOYERS_PER_SITE) employer indices
    employer_code: np.ndarray
    employer_name: np.ndarray
    foreman_id: np.ndarray  # employer e has foremen e*4 .. e*4+3; ring foremen come after
    foreman_name: np.ndarray
    foreman_employer: np.ndarray
    ring_foremen: np.ndarray  # (n_rings, RING_FOREMEN) foreman indices
    employer_ring: np.ndarray  # ring working through each employer, -1 if none
    ring_sites: tuple[np.ndarray, ...]  # sites where each ring's employer works


def draw_world(rng: np.random.Generator, scale: float, ref_day: int) -> World:
    """Sites, employers and rings, sized to the scale (about 800 sites at scale 1)."""
    n_sites = max(12, round(800 * scale))
    n_emp = max(8, round(300 * scale))
    n_rings = max(1, round(5 * scale))
    district_idx = weighted_choice(n_sites, SITE_DISTRICT_WEIGHTS, rng)
    site_district = np.asarray(DISTRICTS, dtype=object)[district_idx]
    codes = np.array([DISTRICT_CODES[d] for d in DISTRICTS])[district_idx]
    site_id = np.char.add(
        np.char.add("BJ", codes), np.char.zfill(np.arange(n_sites).astype(str), 5)
    )
    site_weight = rng.lognormal(0.0, 0.8, n_sites)
    site_employers = rng.integers(0, n_emp, size=(n_sites, EMPLOYERS_PER_SITE))
    emp_district = np.asarray(DISTRICTS, dtype=object)[
        weighted_choice(n_emp, SITE_DISTRICT_WEIGHTS, rng)
    ]
    chars = rng.choice(_NAME_CHARS, size=(n_emp, 3))
    stems = np.char.add(np.char.add(chars[:, 0], chars[:, 1]), chars[:, 2])
    names = np.char.add(np.char.add("北京", stems), rng.choice(_NAME_SUFFIX, size=n_emp))
    n_regular = n_emp * FOREMEN_PER_EMPLOYER
    n_foremen = n_regular + n_rings * RING_FOREMEN
    foreman_births = birth_days(n_foremen, ref_day, rng, mean_age=46, sd=7, lo=30)
    ring_emp = rng.choice(n_emp, size=n_rings, replace=False)
    ring_foremen = n_regular + np.arange(n_rings * RING_FOREMEN).reshape(n_rings, RING_FOREMEN)
    foreman_employer = np.concatenate(
        [np.repeat(np.arange(n_emp), FOREMEN_PER_EMPLOYER), np.repeat(ring_emp, RING_FOREMEN)]
    )
    employer_ring = np.full(n_emp, -1)
    employer_ring[ring_emp] = np.arange(n_rings)
    # A ring's employer works on a few sites at least (counterfeit buyers follow their foreman).
    extra_sites = rng.integers(0, n_sites, size=(n_rings, 3))
    site_employers[extra_sites.ravel(), 0] = np.repeat(ring_emp, 3)
    ring_sites = tuple(np.flatnonzero((site_employers == e).any(axis=1)) for e in ring_emp)
    return World(
        site_id=site_id.astype(object),
        site_district=site_district,
        site_weight=site_weight,
        site_employers=site_employers,
        employer_code=uscc_codes(emp_district, rng),
        employer_name=names.astype(object),
        foreman_id=id_numbers(foreman_births, rng),
        foreman_name=person_names(n_foremen, rng),
        foreman_employer=foreman_employer,
        ring_foremen=ring_foremen,
        employer_ring=employer_ring,
        ring_sites=ring_sites,
    )


@dataclass(frozen=True)
class Records:
    """Presented certificates (one per site record), before any certificate is attached."""

    pattern: np.ndarray  # int codes into PATTERNS
    month: np.ndarray  # 0-based month index in the window
    day: np.ndarray  # presentation day (epoch days)
    ring: np.ndarray  # ring index or -1
    site: np.ndarray
    employer: np.ndarray
    foreman: np.ndarray


def draw_records(
    rng: np.random.Generator, world: World, n: int, month_starts: np.ndarray
) -> Records:
    """Site records: pattern, presentation day, site, employer, foreman and ring.

    Ring sales go through the ring's own team leaders at one employer, so fakes cluster there
    (those team leaders also bring some honest workers); everyone else registers at a site drawn
    by its size with one of the employer's regular team leaders.
    """
    pattern = weighted_choice(n, np.r_[1.0 - PATTERN_RATES.sum(), PATTERN_RATES[1:]], rng)
    calendar = (
        np.asarray(month_starts[:-1])
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype("int64")
        % 12
    )
    month = weighted_choice(n, MONTH_WEIGHTS[calendar], rng)
    length = np.diff(month_starts)[month]
    day = month_starts[month] + (rng.random(n) * length).astype("int64")
    site = weighted_choice(n, world.site_weight, rng)
    employer = world.site_employers[site, rng.integers(0, EMPLOYERS_PER_SITE, n)]
    foreman = employer * FOREMEN_PER_EMPLOYER + rng.integers(0, FOREMEN_PER_EMPLOYER, n)
    n_rings = len(world.ring_foremen)
    in_ring = np.isin(pattern, (NOT_IN_REGISTRY, OTHER_HOLDER)) & (rng.random(n) < RING_SHARE)
    ring = np.where(in_ring, rng.integers(0, n_rings, n), -1)
    ring_foreman = world.ring_foremen[np.maximum(ring, 0), rng.integers(0, RING_FOREMEN, n)]
    u_site = rng.random(n)
    for r in range(n_rings):  # one pass per ring, not per row
        rows = ring == r
        cand = world.ring_sites[r]
        site[rows] = cand[(u_site[rows] * len(cand)).astype("int64")]
    # Some honest workers of a ring's employer come through the ring's team leaders too.
    emp_ring = world.employer_ring[employer]
    with_ring_team = (emp_ring >= 0) & (rng.random(n) < RING_TEAM_HONEST)
    ring_team = world.ring_foremen[np.maximum(emp_ring, 0), rng.integers(0, RING_FOREMEN, n)]
    foreman = np.where(with_ring_team, ring_team, foreman)
    foreman = np.where(in_ring, ring_foreman, foreman)
    employer = np.where(in_ring, world.foreman_employer[ring_foreman], employer)
    return Records(pattern, month, day, ring, site, employer, foreman)

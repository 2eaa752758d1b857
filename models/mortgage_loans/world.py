"""Banks, loan officers, intermediary rings, brokers and the loans themselves.

Patterns (DOMAIN.md, 房产抵押经营贷): an intermediary advances cash for a home, the buyer pledges
it for a business loan through a shell company, and the loan repays the intermediary.

- ``shell_bridge`` (blatant): home bought with the intermediary's cash weeks before the loan and
  pledged at once; shell company; appraisal 1.3-1.6x the price just paid; the ring's phone,
  office and agent on the application; often the ring's loan officer.
- ``shell_buy_after`` (blatant): an existing home pledged through a shell company, then a home
  bought by the borrower (or spouse) within weeks of the loan.
- ``subtle_spouse`` (subtle): a real small company with some revenue, held for years; the spouse
  buys a home three to eight months later; modest appraisal inflation; no shared contacts, at
  most a small agent with two or three such loans. No single rule catches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.mortgage_loans.market import BANK_WEIGHTS, BANKS, BUSINESS_WEIGHTS, addresses
from pool.sim.people import person_names, phone_numbers, weighted_choice
from pool.spec import DISTRICTS

PATTERNS: tuple[str, ...] = ("none", "shell_bridge", "shell_buy_after", "subtle_spouse")
NONE, BRIDGE, BUY_AFTER, SUBTLE = range(4)
#: Share of business loans secured on homes per pattern: misuse in the low teens percent.
PATTERN_RATES = np.array([0.0, 0.04, 0.035, 0.045])
RING_SHARE = 0.9  # blatant loans arranged by a ring (the rest by lone fixers)
OFFICERS_PER_BRANCH = 4
_DISTRICTS = np.asarray(DISTRICTS, dtype=object)


@dataclass(frozen=True)
class LoanWorld:
    """Branches, officers, intermediary rings and the honest brokers and accountants."""

    branch_id: np.ndarray
    branch_bank: np.ndarray
    branch_district: np.ndarray
    officer_id: np.ndarray  # branch b has officers b*4 .. b*4+3
    ring_branch: np.ndarray
    ring_officer: np.ndarray
    ring_phone: np.ndarray  # (n_rings, 2)
    ring_office: np.ndarray
    ring_agent: np.ndarray  # (n_rings, 2) names
    ring_agent_phone: np.ndarray  # (n_rings, 2)
    ring_appraiser: np.ndarray
    ring_virtual_office: np.ndarray  # where the ring's shells are registered
    broker_name: np.ndarray
    broker_phone: np.ndarray
    broker_weight: np.ndarray
    accountant_phone: np.ndarray
    incubator_address: np.ndarray


def draw_world(rng: np.random.Generator, scale: float) -> LoanWorld:
    """About 120 lending branches, 8 rings, 40 brokers at scale 1."""
    n_branch = max(8, round(120 * scale))
    n_rings = max(2, round(8 * scale))
    n_brokers = max(5, round(40 * scale))
    bank = BANKS[weighted_choice(n_branch, BANK_WEIGHTS, rng)]
    district = _DISTRICTS[weighted_choice(n_branch, BUSINESS_WEIGHTS, rng)]
    ring_branch = rng.integers(0, n_branch, n_rings)
    ring_district = _DISTRICTS[weighted_choice(n_rings, BUSINESS_WEIGHTS, rng)]
    n_officers = n_branch * OFFICERS_PER_BRANCH
    officer_id = np.char.add(
        "E", np.char.zfill((rng.permutation(n_officers) + 100_000).astype(str), 7)
    )
    return LoanWorld(
        branch_id=np.char.add(
            "BR", np.char.zfill(np.arange(1, n_branch + 1).astype(str), 5)
        ).astype(object),
        branch_bank=bank.astype(object),
        branch_district=district,
        officer_id=officer_id.astype(object),
        ring_branch=ring_branch,
        ring_officer=ring_branch * OFFICERS_PER_BRANCH
        + rng.integers(0, OFFICERS_PER_BRANCH, n_rings),
        ring_phone=phone_numbers(2 * n_rings, rng).reshape(n_rings, 2),
        ring_office=addresses(ring_district, rng, office=True),
        ring_agent=person_names(2 * n_rings, rng).reshape(n_rings, 2),
        ring_agent_phone=phone_numbers(2 * n_rings, rng).reshape(n_rings, 2),
        ring_appraiser=rng.integers(0, 15, n_rings),
        ring_virtual_office=addresses(ring_district, rng, office=True),
        broker_name=person_names(n_brokers, rng),
        broker_phone=phone_numbers(n_brokers, rng),
        broker_weight=1.0 / np.arange(1, n_brokers + 1) ** 0.8,
        accountant_phone=phone_numbers(max(3, round(60 * scale)), rng),
        incubator_address=addresses(
            _DISTRICTS[weighted_choice(max(3, round(30 * scale)), BUSINESS_WEIGHTS, rng)],
            rng,
            office=True,
        ),
    )


@dataclass(frozen=True)
class Loans:
    """Loan-level draws: pattern, timing, lender and terms (drift-independent)."""

    pattern: np.ndarray
    month: np.ndarray
    day: np.ndarray
    ring: np.ndarray
    branch: np.ndarray
    officer: np.ndarray
    purpose: np.ndarray
    term: np.ndarray
    rate: np.ndarray


def draw_loans(rng: np.random.Generator, world: LoanWorld, n: int, bounds: np.ndarray) -> Loans:
    """Loans over the window, sorted by date; ring loans go via the ring's branch and officer."""
    pattern = weighted_choice(n, np.r_[1.0 - PATTERN_RATES.sum(), PATTERN_RATES[1:]], rng)
    month = rng.integers(0, len(bounds) - 1, n)
    day = bounds[month] + (rng.random(n) * np.diff(bounds)[month]).astype("int64")
    blatant = np.isin(pattern, (BRIDGE, BUY_AFTER))
    n_rings = len(world.ring_branch)
    ring = np.where(blatant & (rng.random(n) < RING_SHARE), rng.integers(0, n_rings, n), -1)
    branch = weighted_choice(n, np.ones(len(world.branch_id)), rng)
    in_branch = (ring >= 0) & (rng.random(n) < 0.8)
    branch = np.where(in_branch, world.ring_branch[np.maximum(ring, 0)], branch)
    officer = branch * OFFICERS_PER_BRANCH + rng.integers(0, OFFICERS_PER_BRANCH, n)
    complicit = in_branch & (rng.random(n) < 0.75)
    officer = np.where(complicit, world.ring_officer[np.maximum(ring, 0)], officer)
    fraud = pattern != NONE
    purpose = np.where(
        fraud,
        weighted_choice(n, np.array([6, 3, 0.5, 0.5, 0.2]), rng),
        weighted_choice(n, np.array([5, 3, 1.5, 1.5, 1.0]), rng),
    )
    term = np.array([36, 60, 120])[weighted_choice(n, np.array([3, 4, 3]), rng)]
    rate = np.round(rng.uniform(0.030, 0.045, n), 4)
    order = np.argsort(day, kind="stable")
    return Loans(
        pattern[order],
        month[order],
        day[order],
        ring[order],
        branch[order],
        officer[order],
        purpose[order],
        term[order],
        rate[order],
    )

"""Home purchases around each loan and the contact details on its application.

Purchases: blatant schemes buy within weeks of the loan; the subtle one has the spouse buy months
later; honest households buy homes too, some close to their loan date. Contacts: rings reuse
their phone, office and agents across many applications until drift, when they rotate them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.mortgage_loans.market import HOME_WEIGHTS, addresses, market_value
from models.mortgage_loans.parties import Households, property_ids
from models.mortgage_loans.world import BRIDGE, BUY_AFTER, NONE, SUBTLE, Loans, LoanWorld
from pool.sim.blanks import or_blank
from pool.sim.people import person_names, phone_numbers, weighted_choice
from pool.spec import DISTRICTS

HONEST_NEAR = 0.04  # honest households buying a home within 90 days of their loan
HONEST_OTHER = 0.16  # honest households buying a home within two years either side (~4%/year)
BROKER_SHARE = 0.3  # honest loans arranged through a legitimate broker
ACCOUNTANT_SHARE = 0.03  # honest applications giving their accountant's phone


@dataclass(frozen=True)
class Purchases:
    """Homes bought by a borrower or spouse in the window (one row per purchase)."""

    loan: np.ndarray  # index of the loan whose household bought
    buyer_kind: np.ndarray  # 0 borrower, 1 spouse, 2 ex-spouse (see ``Households.subtle_mode``)
    property_id: np.ndarray
    district: np.ndarray
    area: np.ndarray
    contract_on: np.ndarray
    price: np.ndarray
    home_loan: np.ndarray
    home_loan_amount: np.ndarray


def draw_purchases(rng: np.random.Generator, loans: Loans, hh: Households, end: int) -> Purchases:
    """Household purchases: the scheme's home and honest households' ordinary ones.

    A subtle scheme's home is bought two to twelve months after the loan, by the spouse, the
    borrower, or an ex-spouse from a divorce on paper.
    """
    n, pat, day = len(loans.pattern), loans.pattern, loans.day
    married = hh.spouse_id != None  # noqa: E711 (object array of ids or None)
    u = rng.random(n)
    near = (pat == NONE) & (u < HONEST_NEAR)
    other = (pat == NONE) & (u >= HONEST_NEAR) & (u < HONEST_NEAR + HONEST_OTHER)
    offset = np.where(near, rng.integers(-90, 91, n), rng.integers(-700, 701, n))
    offset = np.where(pat == BUY_AFTER, rng.integers(0, 46, n), offset)
    offset = np.where(pat == SUBTLE, rng.integers(60, 366, n), offset)
    buys = near | other | (pat == BUY_AFTER) | (pat == SUBTLE)
    spouse = (rng.random(n) < np.where(pat == BUY_AFTER, 0.3, 0.4)) & married
    kind = np.where(
        pat == SUBTLE, np.array([1, 0, 2])[np.maximum(hh.subtle_mode, 0)], spouse.astype("int64")
    )
    contract = day + offset
    district = np.asarray(DISTRICTS, dtype=object)[weighted_choice(n, HOME_WEIGHTS, rng)]
    area = np.round(np.clip(rng.lognormal(np.log(90), 0.3, n), 35, 250), 1)
    price = np.round(market_value(district, area, contract) * rng.normal(1.0, 0.04, n), -3)
    p_loan = np.where(pat == NONE, 0.85, np.where(pat == SUBTLE, 0.7, 0.6))
    home_loan = rng.random(n) < p_loan
    serial = np.char.zfill((rng.permutation(n) + 1).astype(str), 7)
    serial = np.char.add("9", serial)  # new purchases are numbered apart from collateral homes
    keep = buys & (contract < end)
    return Purchases(
        loan=np.flatnonzero(keep),
        buyer_kind=kind[keep],
        property_id=property_ids(district, serial)[keep],
        district=district[keep],
        area=area[keep],
        contract_on=contract[keep],
        price=price[keep],
        home_loan=home_loan[keep],
        home_loan_amount=np.round(price * rng.uniform(0.35, 0.65, n), -3)[keep],
    )


@dataclass(frozen=True)
class Contacts:
    """Contact details on each application."""

    phone: np.ndarray
    address: np.ndarray
    agent_name: np.ndarray
    agent_phone: np.ndarray
    applied_on: np.ndarray


def draw_contacts(
    rng: np.random.Generator, loans: Loans, hh: Households, world: LoanWorld, drifted: np.ndarray
) -> Contacts:
    """Phones, addresses and agents: own ones, brokers' and accountants', or the ring's.

    Before drift a ring puts its own phone (80%), office (60%) and agents (90%) on its loans;
    after drift every loan gets a fresh phone and a fresh agent name, so network links fade.
    """
    n, pat = len(loans.pattern), loans.pattern
    ring = np.maximum(loans.ring, 0)
    in_ring = (loans.ring >= 0) & ~drifted
    phone = phone_numbers(n, rng)
    address = addresses(hh.home_district, rng)
    slot = rng.integers(0, 2, n)
    u_phone, u_addr, u_agent = rng.random(n), rng.random(n), rng.random(n)
    accountant = world.accountant_phone[rng.integers(0, len(world.accountant_phone), n)]
    phone = np.where((pat == NONE) & (u_phone < ACCOUNTANT_SHARE), accountant, phone)
    phone = np.where(in_ring & (u_phone < 0.8), world.ring_phone[ring, slot], phone)
    address = np.where(in_ring & (u_addr < 0.6), world.ring_office[ring], address)
    broker = weighted_choice(n, world.broker_weight, rng)
    fresh_name, fresh_phone = person_names(n, rng), phone_numbers(n, rng)
    n_small = max(1, round((pat == SUBTLE).sum() / 2.5))
    small = rng.integers(0, n_small, n)
    small_name, small_phone = person_names(n_small, rng), phone_numbers(n_small, rng)
    has_broker = (pat == NONE) & (u_agent < BROKER_SHARE)
    agent = or_blank(has_broker, world.broker_name[broker])
    agent_phone = or_blank(has_broker, world.broker_phone[broker])
    subtle_agent = (pat == SUBTLE) & (u_agent < 0.6)
    agent = np.where(subtle_agent, small_name[small], agent)
    agent_phone = np.where(subtle_agent, small_phone[small], agent_phone)
    blatant = np.isin(pat, (BRIDGE, BUY_AFTER))
    fixer = blatant & ((loans.ring < 0) | drifted)  # lone fixers and rotated ring agents
    agent = np.where(fixer, fresh_name, agent)
    agent_phone = np.where(fixer, fresh_phone, agent_phone)
    ring_agent = in_ring & (u_agent < 0.9)
    agent = np.where(ring_agent, world.ring_agent[ring, slot], agent)
    agent_phone = np.where(ring_agent, world.ring_agent_phone[ring, slot], agent_phone)
    return Contacts(phone, address, agent, agent_phone, loans.day - rng.integers(7, 46, n))

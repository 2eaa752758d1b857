"""Borrowers' households, companies, homes and contact details, per loan.

Each function draws every random number it needs for every loan (both the pre-drift and the
post-drift variant where drift changes something), then picks; so drift never shifts a draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.mortgage_loans.market import (
    APPRAISERS,
    BUSINESS_WEIGHTS,
    HOME_WEIGHTS,
    HOT_DISTRICTS,
    addresses,
    market_value,
)
from models.mortgage_loans.world import BRIDGE, BUY_AFTER, NONE, SUBTLE, Loans, LoanWorld
from pool.sim.blanks import or_blank
from pool.sim.people import (
    DISTRICT_CODES,
    birth_days,
    id_numbers,
    person_names,
    uscc_codes,
    weighted_choice,
)
from pool.spec import DISTRICTS

YEAR = 365
HONEST_DORMANT = 0.02  # honest borrowers whose company declares no revenue (a holding shell)
_DISTRICTS = np.asarray(DISTRICTS, dtype=object)
INDUSTRIES = np.array(
    [
        "trade",
        "technology",
        "media",
        "catering",
        "building_materials",
        "consulting",
        "logistics",
        "apparel",
    ]
)
_INDUSTRY_CN = np.array(["商贸", "科技", "文化传媒", "餐饮管理", "建材", "咨询", "物流", "服装"])
_NAME_CHARS = np.array(list("鑫瑞华盛通达恒信博远嘉和丰泰宏昌润德永兴佳亿源辰浩金创"))


@dataclass(frozen=True)
class Households:
    """Borrower, spouse (None if unmarried) and where they live.

    ``subtle_mode`` says who buys the home in a subtle scheme: 0 the spouse on the application,
    1 the borrower, 2 an ex-spouse after a divorce on paper (假离婚), whose ID appears in no other
    table; -1 for other loans.
    """

    borrower_id: np.ndarray
    borrower_name: np.ndarray
    spouse_id: np.ndarray
    spouse_name: np.ndarray
    status: np.ndarray
    home_district: np.ndarray
    subtle_mode: np.ndarray
    ex_spouse_id: np.ndarray
    ex_spouse_name: np.ndarray


SUBTLE_MODES = np.array([0.45, 0.15, 0.40])


def draw_households(rng: np.random.Generator, loans: Loans, ref_day: int) -> Households:
    """Small-business owners in their thirties to fifties; most are married."""
    n = len(loans.pattern)
    ids = id_numbers(birth_days(n, ref_day, rng, mean_age=42, sd=8, lo=24), rng)
    spouse = id_numbers(birth_days(n, ref_day, rng, mean_age=41, sd=8, lo=23), rng)
    mode = np.where(loans.pattern == SUBTLE, weighted_choice(n, SUBTLE_MODES, rng), -1)
    u = rng.random(n)
    married = np.where(mode == 0, True, np.where(mode == 2, False, u < 0.7))
    divorced = (mode == 2) | (~married & (u < 0.78))
    status = np.where(married, "married", np.where(divorced, "divorced", "single"))
    return Households(
        borrower_id=ids,
        borrower_name=person_names(n, rng),
        spouse_id=or_blank(married, spouse),
        spouse_name=or_blank(married, person_names(n, rng)),
        status=status.astype(object),
        home_district=_DISTRICTS[weighted_choice(n, HOME_WEIGHTS, rng)],
        subtle_mode=mode,
        ex_spouse_id=spouse,
        ex_spouse_name=person_names(n, rng),
    )


@dataclass(frozen=True)
class Companies:
    """The borrowing company of each loan and its one recorded share transfer (if any)."""

    code: np.ndarray
    name: np.ndarray
    founded: np.ndarray
    capital: np.ndarray
    district: np.ndarray
    address: np.ndarray
    industry: np.ndarray
    transfer_day: np.ndarray  # -1: no transfer recorded
    seller_id: np.ndarray
    share_pct: np.ndarray
    consideration: np.ndarray
    quarterly_revenue: np.ndarray  # typical revenue per quarter (0 for a shell)
    young_ramp: np.ndarray  # revenue still ramping up (a genuinely new business)


def _company_dates(
    rng: np.random.Generator, loans: Loans, drifted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Founding and transfer days of every company (transfer -1 when none).

    Shells are either dormant companies bought weeks before the loan or freshly founded; after
    drift, rings buy shells they have held for six to eighteen months.
    """
    n, day, pat = len(loans.pattern), loans.day, loans.pattern
    shell = np.isin(pat, (BRIDGE, BUY_AFTER))
    u = rng.random(n)
    honest_age = np.where(
        u < 0.08,
        rng.integers(30, 181, n),
        np.where(u < 0.2, rng.integers(183, 731, n), rng.integers(731, 20 * YEAR, n)),
    )
    honest_transfer = np.where(
        (rng.random(n) < 0.1) & (honest_age > 400),
        day - rng.integers(180, np.maximum(honest_age - 30, 181), n),
        -1,
    )
    fresh = rng.random(n) < 0.3
    shell_transfer = day - rng.integers(10, 91, n)
    drift_transfer = day - rng.integers(180, 541, n)
    dormant_age = rng.integers(YEAR, 5 * YEAR, n)
    shell_founded = np.where(fresh, day - rng.integers(20, 171, n), shell_transfer - dormant_age)
    shell_transfer = np.where(fresh, -1, shell_transfer)
    shell_founded = np.where(drifted, drift_transfer - dormant_age, shell_founded)
    shell_transfer = np.where(drifted, drift_transfer, shell_transfer)
    subtle_age = rng.integers(2 * YEAR, 8 * YEAR, n)
    subtle_transfer = np.where(rng.random(n) < 0.4, day - rng.integers(YEAR, 2 * YEAR, n), -1)
    founded = np.where(
        shell, shell_founded, np.where(pat == SUBTLE, day - subtle_age, day - honest_age)
    )
    transfer = np.where(
        shell, shell_transfer, np.where(pat == SUBTLE, subtle_transfer, honest_transfer)
    )
    return founded, transfer


def draw_companies(
    rng: np.random.Generator, loans: Loans, world: LoanWorld, drifted: np.ndarray, ref_day: int
) -> Companies:
    """Companies: genuine businesses, cheap shells (about 20,000 yuan) and real small firms."""
    n, pat = len(loans.pattern), loans.pattern
    shell = np.isin(pat, (BRIDGE, BUY_AFTER))
    founded, transfer = _company_dates(rng, loans, drifted)
    district = _DISTRICTS[weighted_choice(n, BUSINESS_WEIGHTS, rng)]
    own_office = addresses(district, rng, office=True)
    incubator = world.incubator_address[rng.integers(0, len(world.incubator_address), n)]
    virtual = world.ring_virtual_office[np.maximum(loans.ring, 0)]
    u = rng.random(n)
    address = np.where(u < 0.15, incubator, own_office)
    address = np.where(
        shell & (loans.ring >= 0) & (u < 0.6),
        virtual,
        np.where(shell & (u < 0.3), incubator, address),
    )
    capital = np.round(rng.lognormal(np.log(1e6), 0.8, n), -4)
    capital = np.where(shell, rng.choice(np.array([1e6, 2e6, 3e6, 5e6]), n), capital)
    capital = np.where(pat == SUBTLE, np.round(rng.lognormal(np.log(5e5), 0.6, n), -4), capital)
    pct = np.where(shell, 100.0, rng.choice(np.array([30.0, 51.0, 100.0]), n))
    price = np.round(capital * pct / 100 * rng.uniform(0.3, 1.2, n), -3)
    consideration = np.where(shell, np.round(rng.uniform(8_000, 30_000, n), -3), price)
    industry = rng.integers(0, len(INDUSTRIES), n)
    chars = rng.choice(_NAME_CHARS, size=(n, 2))
    name = np.char.add(
        np.char.add(
            np.char.add("北京", np.char.add(chars[:, 0], chars[:, 1])), _INDUSTRY_CN[industry]
        ),
        "有限公司",
    )
    revenue = rng.lognormal(np.log(4.5e5), 1.0, n)
    revenue = np.where(pat == SUBTLE, rng.lognormal(np.log(9e4), 0.5, n), revenue)
    dormant = (pat == NONE) & (rng.random(n) < HONEST_DORMANT)
    return Companies(
        code=uscc_codes(district, rng),
        name=name.astype(object),
        founded=founded,
        capital=capital,
        district=district,
        address=address,
        industry=INDUSTRIES[industry].astype(object),
        transfer_day=transfer,
        seller_id=id_numbers(birth_days(n, ref_day, rng, mean_age=45, sd=10, lo=22), rng),
        share_pct=pct,
        consideration=consideration,
        quarterly_revenue=np.where(shell | dormant, 0.0, revenue),
        young_ramp=(pat == NONE) & (loans.day - founded < 365),
    )


@dataclass(frozen=True)
class Collateral:
    """The pledged home: its past purchase, any old home loan, and the bank's appraisal."""

    property_id: np.ndarray
    district: np.ndarray
    area: np.ndarray
    bought_on: np.ndarray
    price: np.ndarray
    had_home_loan: np.ndarray
    home_loan_amount: np.ndarray
    home_loan_released: np.ndarray
    appraisal: np.ndarray
    appraiser: np.ndarray
    amount: np.ndarray


def _appraisal_factor(rng: np.random.Generator, pat: np.ndarray, hot: np.ndarray) -> np.ndarray:
    """Appraisal over fair value: honest near 1 (higher in hot districts), inflated for fraud."""
    n = len(pat)
    honest = np.where(hot, rng.normal(1.13, 0.07, n), rng.normal(1.02, 0.05, n))
    factor = np.where(pat == BRIDGE, rng.uniform(1.3, 1.6, n), honest)
    factor = np.where(pat == BUY_AFTER, rng.uniform(1.2, 1.45, n), factor)
    return np.where(pat == SUBTLE, rng.uniform(1.08, 1.22, n), factor)


def draw_collateral(
    rng: np.random.Generator, loans: Loans, hh: Households, world: LoanWorld
) -> Collateral:
    """The home pledged for each loan; a bridge home was bought with the fixer's cash weeks ago."""
    n, pat, day = len(loans.pattern), loans.pattern, loans.day
    district = hh.home_district
    area = np.round(np.clip(rng.lognormal(np.log(85), 0.3, n), 35, 250), 1)
    u = rng.random(n)
    age = np.where(u < 0.1, rng.integers(61, 731, n), rng.integers(2 * YEAR, 18 * YEAR, n))
    age = np.where(u > 0.99, rng.integers(5, 61, n), age)  # honest cash buyers who pledge at once
    age = np.where(pat == BRIDGE, rng.integers(5, 61, n), age)
    bought = day - age
    price = np.round(market_value(district, area, bought) * rng.normal(1.0, 0.04, n), -3)
    had_loan = (age > 60) & (rng.random(n) < 0.6)
    released = np.minimum(
        bought + rng.integers(3 * YEAR, 15 * YEAR, n), day - rng.integers(30, 366, n)
    )
    released = np.maximum(released, bought + 90)
    hot = np.isin(district, HOT_DISTRICTS)
    fair = market_value(district, area, day)
    base = np.where(pat == BRIDGE, price, fair)
    appraisal = np.round(base * _appraisal_factor(rng, pat, hot), -3)
    share = np.where(pat == NONE, rng.uniform(0.8, 1.0, n), rng.uniform(0.97, 1.0, n))
    amount = np.round(np.minimum(0.7 * appraisal * share, 1e7), -4)
    appraiser = rng.integers(0, len(APPRAISERS), n)
    friendly = (loans.ring >= 0) & (rng.random(n) < 0.7)
    appraiser = np.where(friendly, world.ring_appraiser[np.maximum(loans.ring, 0)], appraiser)
    serial = np.char.zfill((rng.permutation(n) + 1).astype(str), 7)
    return Collateral(
        property_id=property_ids(district, serial),
        district=district,
        area=area,
        bought_on=bought,
        price=price,
        had_home_loan=had_loan,
        home_loan_amount=np.round(price * rng.uniform(0.3, 0.7, n), -3),
        home_loan_released=released,
        appraisal=appraisal,
        appraiser=APPRAISERS[appraiser].astype(object),
        amount=amount,
    )


def property_ids(district: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Property unit ids: P + district division code + serial."""
    codes = np.array([DISTRICT_CODES[d] for d in DISTRICTS])
    pos = np.searchsorted(np.array(DISTRICTS), district, sorter=np.argsort(DISTRICTS))
    code = codes[np.argsort(DISTRICTS)][pos]
    return np.char.add(np.char.add("P", code), serial).astype(object)

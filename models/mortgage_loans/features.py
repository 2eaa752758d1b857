"""``mortgage_loans``: business loans secured on homes and used to buy homes.

Entity: a loan (``loan_id``); district = the lending branch's district. The collision joins the
bank's loan (via the financial regulator) with the company registry (founding, share
transfers), the company's tax filings (revenue), property transactions (a home bought by the
borrower or spouse soon after the loan), the collateral's own sale price, and the contact
details on the applications (one phone, address or agent behind many loans). Only records
dated and filed by the as-of date count; a purchase that has not happened yet is unknown, not 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.common import NAN, latest_per_key, ratio
from features.engines import computed
from features.keys import key_status
from features.spec import BuildContext, FeatureSpec, KeyJoin, ScenarioFeatures, feature_maker
from models.mortgage_loans.sources import SOURCES
from pool.schemas import history_source

SCENARIO = "mortgage_loans"
PURCHASE_WINDOW_DAYS = 365  # a home bought within a year of the loan
YOUNG_COMPANY_DAYS = 365
RECENT_TRANSFER_DAYS = 180


_f = feature_maker("business loan")


FEATURE_LIST: tuple[FeatureSpec, ...] = (
    _f(
        "company_age_days",
        "age of the borrowing company on the loan date",
        "days",
        "company was {value:n} days old at the loan; district median {peer:n}",
        "low",
        zh="贷款时借款企业仅成立{value:n}天；本区中位数{peer:n}天",
        missing=("企业登记中无成立日期", "the registry gives no founding date"),
    ),
    _f(
        "days_since_share_transfer",
        "days from the latest share transfer to the loan",
        "days",
        "shares changed hands {value:n} days before the loan; district median {peer:n}",
        "low",
        zh="贷款前{value:n}天企业股权刚刚变更；本区中位数{peer:n}天",
        missing=("贷款前无股权变更记录", "no share transfer on record before the loan"),
    ),
    _f(
        "borrower_bought_shares",
        "borrower acquired shares in the year before the loan",
        "flag",
        "borrower bought into the company in the year before the loan",
        zh="借款人在贷款前一年内入股该企业",
        missing=("无该企业的股东变更记录", "no shareholder records of the company"),
    ),
    _f(
        "revenue_last_year",
        "company revenue declared in the 4 quarters before the loan",
        "yuan",
        "company declared {value:yuan} revenue in the year before; district median {peer:yuan}",
        "low",
        zh="企业贷款前一年申报收入{value:yuan}；本区中位数{peer:yuan}",
        missing=(
            "贷款前一年企业无纳税申报记录",
            "the company filed no tax return in the year before the loan",
        ),
    ),
    _f(
        "loan_to_revenue",
        "loan amount / revenue of the year before",
        "ratio",
        "loan is {value:.1f} times the company's yearly revenue; district median {peer:.1f}",
        zh="贷款金额是企业上年收入的{value:.1f}倍；本区中位数{peer:.1f}倍",
        missing=(
            "企业上年无收入申报，无法计算贷款收入比",
            "no revenue filed the year before to compare the loan with",
        ),
        zero_template={
            "zh": "贷款发放时，企业上年申报收入仅为{denominator:yuan}",
            "en": "the loan was granted against {denominator:yuan} revenue declared in the year before",
        },
        ratio_of=(None, "revenue_last_year"),
    ),
    _f(
        "days_to_home_purchase",
        "days from the loan to a home bought by borrower or spouse",
        "days",
        "a home was bought {value:n} days after the loan; district median {peer:n}",
        "low",
        zh="贷款后{value:n}天借款人或配偶即购入住房；本区中位数{peer:n}天",
        missing=(
            "贷款后未见借款人或配偶购房记录",
            "no home bought by the borrower or spouse after the loan",
        ),
    ),
    _f(
        "home_purchase_within_year",
        "borrower or spouse bought a home within a year",
        "flag",
        "borrower or spouse bought a home within a year of the loan",
        zh="借款人或配偶在贷款后一年内购入住房",
        missing=("无借款人或配偶的房产交易记录", "no property records of the borrower or spouse"),
    ),
    _f(
        "appraisal_to_price",
        "collateral appraisal / its last sale price before the loan",
        "ratio",
        "collateral appraised at {value:.0%} of its sale price; district median {peer:.0%}",
        zh="抵押房产评估价为其成交价的{value:pct}；本区中位数{peer:pct}",
        missing=(
            "抵押房产贷款前无成交记录，无法比对评估价",
            "no earlier sale of the collateral to compare the appraisal with",
        ),
    ),
    _f(
        "loans_sharing_phone",
        "other loans whose application gives the same phone",
        "loans",
        "{value:n} other loans give the same phone; district median {peer:n}",
        zh="另有{value:n}笔贷款申请留有相同电话；本区中位数{peer:n}笔",
        missing=("申请中未留电话", "the application gives no phone"),
    ),
    _f(
        "loans_sharing_address",
        "other loans whose application gives the same address",
        "loans",
        "{value:n} other loans give the same address; district median {peer:n}",
        zh="另有{value:n}笔贷款申请留有相同地址；本区中位数{peer:n}笔",
        missing=("申请中未留地址", "the application gives no address"),
    ),
    # both ways: licensed brokers bring hundreds of honest loans, a ring's agent a handful and a
    # lone fixer none (measured alone, higher values go with honest loans: ROC AUC 0.12)
    _f(
        "loans_by_agent",
        "other loans brought by the same agent (big brokers: many honest "
        "ones; a ring's agent: a handful)",
        "loans",
        "the agent brought {value:n} other loans; district median {peer:n}",
        "both",
        zh="同一中介另经手{value:n}笔贷款；本区中位数{peer:n}笔",
        missing=("申请未经中介", "no agent on the application"),
    ),
    _f(
        "officer_flagged_share",
        "share of the officer's other loans to young or just-bought companies",
        "share",
        "{value:.0%} of this officer's other loans went to new or just-sold "
        "companies; district median {peer:.0%}",
        zh="该信贷员经手的其他贷款中{value:pct}发放给新设或刚转让的企业；本区中位数{peer:pct}",
        missing=("该信贷员无其他贷款", "the officer has no other loans"),
    ),
    _f(
        "borrower_id_invalid",
        "borrower ID malformed or with a wrong check character",
        "flag",
        "borrower ID fails its check character",
        zh="借款人身份证号码校验位不符",
        missing=("贷款记录中无借款人身份证号", "no borrower ID on the loan record"),
    ),
)


def _days(later: ir.Value, earlier: ir.Value) -> ir.FloatingValue:
    return (later.cast("date") - earlier.cast("date")).cast("int64").cast("float64")


def company_facts(loans: ir.Table, companies: ir.Table, changes: ir.Table) -> ir.Table:
    """Per loan: company age, latest share transfer before the loan, borrower buying in."""
    c = companies.select(c_code="credit_code", founded="founded_on")
    j = loans.left_join(c, loans.company_code == c.c_code)
    ch = changes.select(h_code="credit_code", h_date="change_date", h_to="to_holder_id")
    k = loans.select("loan_id", "company_code", "borrower_id", "loan_date").join(
        ch, [loans.company_code == ch.h_code, ch.h_date <= loans.loan_date]
    )
    bought = (k.h_to == k.borrower_id) & (_days(k.loan_date, k.h_date) <= 365)
    per = k.group_by("loan_id").aggregate(
        last_change=k.h_date.max(), bought=bought.cast("int64").max()
    )
    out = j.select("loan_id", "loan_date", founded=j.founded).left_join(per, "loan_id")
    return out.select(
        "loan_id",
        company_age_days=_days(out.loan_date, out.founded),
        days_since_share_transfer=ibis.ifelse(
            out.last_change.notnull(), _days(out.loan_date, out.last_change), NAN
        ),
        borrower_bought_shares=out.bought.fill_null(0).cast("float64"),
    )


def revenue(loans: ir.Table, filings: ir.Table) -> ir.Table:
    """Per loan: revenue declared for quarters ending in the year before the loan."""
    f = filings.select(f_code="credit_code", q="quarter_end", rev="revenue_yuan")
    j = loans.select("loan_id", "company_code", "loan_date", "amount_yuan").left_join(
        f,
        [
            loans.company_code == f.f_code,
            f.q < loans.loan_date,
            f.q >= loans.loan_date - ibis.interval(days=365),
        ],
    )
    per = j.group_by(["loan_id", "amount_yuan"]).aggregate(rev=j.rev.sum())
    rev = per.rev.fill_null(0.0)
    return per.select("loan_id", revenue_last_year=rev, loan_to_revenue=ratio(per.amount_yuan, rev))


def home_purchase(loans: ir.Table, apps: ir.Table, trans: ir.Table) -> ir.Table:
    """Per loan: days to the first home bought by the borrower or spouse after the loan."""
    a = apps.select(a_loan="loan_id", spouse="spouse_id")
    lo = (
        loans.select("loan_id", "borrower_id", "loan_date")
        .left_join(a, loans.loan_id == a.a_loan)
        .drop("a_loan")
    )
    # three equality joins, one per way a purchase belongs to the loan, unioned: a single join
    # on their OR cannot be hashed and compares every loan with every transaction
    lo_keyed = lo.select("loan_id", "loan_date", "borrower_id", "spouse")

    def bought_by(person: str, buyer_column: str) -> ir.Table:
        t = trans.select(who=buyer_column, bought_on="contract_on")
        j = lo_keyed.join(t, [lo_keyed[person] == t.who, t.bought_on >= lo_keyed.loan_date])
        return j.select("loan_id", "loan_date", "bought_on")

    j = ibis.union(
        bought_by("borrower_id", "buyer_id"),
        bought_by("borrower_id", "buyer_spouse_id"),
        bought_by("spouse", "buyer_id"),
        distinct=False,
    )
    per = j.group_by("loan_id").aggregate(first_buy=j.bought_on.min(), loan_date=j.loan_date.min())
    days = _days(per.first_buy, per.loan_date)
    return per.select("loan_id", days_to_home_purchase=days)


def collateral_price(loans: ir.Table, trans: ir.Table) -> ir.Table:
    """Per loan: appraisal over the collateral's last sale price before the loan."""
    t = trans.select(p_id="property_id", price="price_yuan", sold_on="contract_on")
    j = loans.select("loan_id", "collateral_property_id", "loan_date", "appraisal_value_yuan").join(
        t, [loans.collateral_property_id == t.p_id, t.sold_on <= loans.loan_date]
    )
    w = ibis.window(group_by="loan_id", order_by=[ibis.desc("sold_on"), ibis.desc("price")])
    last = j.mutate(rn=ibis.row_number().over(w)).filter(lambda x: x.rn == 0)
    return last.select("loan_id", appraisal_to_price=ratio(last.appraisal_value_yuan, last.price))


def shared_contacts(apps: ir.Table) -> ir.Table:
    """Per loan: how many *other* loans give the same phone, address or agent."""

    def others(column: str, name: str) -> ir.Table:
        valid = apps.filter(apps[column].notnull() & (apps[column].strip().length() > 0))
        g = valid.group_by(column).aggregate(_n=valid.loan_id.nunique())
        j = apps.select("loan_id", column).left_join(g, column)
        has = j[column].notnull() & (j[column].strip().length() > 0)
        return j.select("loan_id", **{name: ibis.ifelse(has, (j._n - 1).cast("float64"), NAN)})

    phone = others("contact_phone", "loans_sharing_phone")
    addr = others("contact_address", "loans_sharing_address")
    agent = others("agent_phone", "loans_by_agent")
    return phone.join(addr, "loan_id").join(agent, "loan_id")


def officer_share(loans: ir.Table, facts: ir.Table) -> ir.Table:
    """Per loan: share of the same officer's *other* loans to young or just-sold companies."""
    j = loans.select("loan_id", "loan_officer_id").join(facts, "loan_id")
    flagged = (j.company_age_days.fill_null(1e9) < YOUNG_COMPANY_DAYS) | (
        j.days_since_share_transfer.fill_null(1e9) < RECENT_TRANSFER_DAYS
    )
    j = j.mutate(_flag=flagged.cast("int64"))
    g = j.group_by("loan_officer_id").aggregate(_n=j.count(), _s=j._flag.sum())
    k = j.join(g, "loan_officer_id")
    return k.select("loan_id", officer_flagged_share=ratio(k._s - k._flag, k._n - 1))


def build(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """One row per loan with every declared feature.

    The latest loan and application records and each per-loan part are computed one at a time
    (``features.engines.computed``: one row per loan each), so the engine holds one part's joins
    at a time instead of every part's at once (issue 17: the single plan's peak grew with SCALE).
    """
    loans = computed(latest_per_key(sources["loans"], "loan_id", "reported_on"))
    apps = computed(latest_per_key(sources["loan_applications"], "loan_id", "applied_on"))
    trans = sources["property_transactions"]
    facts = computed(company_facts(loans, sources["companies"], sources["shareholder_changes"]))
    t = loans.select("loan_id", "district", "borrower_id").join(facts, "loan_id")
    t = t.join(computed(revenue(loans, sources["tax_filings"])), "loan_id")
    t = t.left_join(computed(home_purchase(loans, apps, trans)), "loan_id").drop("loan_id_right")
    t = t.left_join(computed(collateral_price(loans, trans)), "loan_id").drop("loan_id_right")
    t = t.left_join(computed(shared_contacts(apps)), "loan_id").drop("loan_id_right")
    t = t.join(computed(officer_share(loans, facts)), "loan_id")
    bought = t.days_to_home_purchase.notnull() & (t.days_to_home_purchase <= PURCHASE_WINDOW_DAYS)
    t = t.mutate(
        home_purchase_within_year=ibis.ifelse(bought, 1.0, 0.0),
        borrower_id_invalid=ibis.ifelse(key_status(t.borrower_id, "id") != "ok", 1.0, 0.0),
    )
    return t.select(
        entity_id=t.loan_id, district=t.district, **{f.name: t[f.name] for f in FEATURE_LIST}
    )


def _sources() -> tuple:
    return (*SOURCES, history_source(SCENARIO))


FEATURES = ScenarioFeatures(
    name=SCENARIO,
    entity="business loan secured on a home (entity_id = loan id)",
    key_column="loan_id",
    sources=_sources(),
    features=FEATURE_LIST,
    build=build,
    joins=(
        KeyJoin("loans", "loan_id", "text"),
        KeyJoin("loans", "borrower_id", "id"),
        KeyJoin("loans", "company_code", "uscc", ("companies", "credit_code")),
        KeyJoin("loan_applications", "loan_id", "text", ("loans", "loan_id")),
        KeyJoin("loan_applications", "spouse_id", "id"),
        KeyJoin("shareholder_changes", "credit_code", "uscc", ("companies", "credit_code")),
        KeyJoin("tax_filings", "credit_code", "uscc", ("companies", "credit_code")),
        KeyJoin("property_transactions", "buyer_id", "id"),
        KeyJoin(
            "loans", "collateral_property_id", "text", ("property_transactions", "property_id")
        ),
        KeyJoin("verification_history", "entity_id", "text", ("loans", "loan_id")),
    ),
    description=(
        "Business loans on homes used to buy homes: shell companies, no revenue, homes bought "
        "after the loan, inflated appraisals, shared contacts and agents, officer concentration."
    ),
    module=__name__,
)

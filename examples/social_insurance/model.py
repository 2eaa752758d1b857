"""社保少缴 (social insurance under-declared): an office's own supervision model, outside the package.

A district procuratorate collides two agencies' exports: the employers' social-insurance
contributions (社保局, a GB18030 CSV with Chinese headers) against the wages they declared for
individual income tax (税务局), with the company registry (市场监管局, an Excel file) naming the
employer and its district. An employer insuring far fewer people, or on a far lower wage base,
than it pays wages to is worth a prosecutor's look (public-interest litigation, 公益诉讼).
Past verifications (核查记录.csv) are the labels.

Found by the spine through one setting: ``SUPERVISION_MODELS=examples/social_insurance/model.py``.
"""

from collections.abc import Mapping

import ibis.expr.types as ir

from features.common import ratio
from features.model import AmountAtStake, Policy, SupervisionModel
from features.spec import BuildContext, FeatureSpec, KeyJoin
from pool.origins import FileOrigin
from pool.schemas import history_source
from pool.spec import ColumnSpec, SourceSpec

NAME = "social_insurance"

EMPLOYERS = SourceSpec(
    scenario=NAME,
    agency="market regulation (市场监管局)",
    table="employers",
    description="company registry export",
    keys=("credit_code",),
    date_column="founded_on",
    origin=FileOrigin(
        path="企业登记.xlsx",
        columns={
            "统一社会信用代码": "credit_code",
            "企业名称": "name",
            "所属区": "district",
            "成立日期": "founded_on",
        },
    ),
    columns=(
        ColumnSpec("credit_code", "string", "unified social credit code", checks={"unique": True}),
        ColumnSpec("name", "string", "registered name"),
        ColumnSpec("district", "string", "district"),
        ColumnSpec("founded_on", "date", "date founded"),
    ),
)
CONTRIBUTIONS = SourceSpec(
    scenario=NAME,
    agency="social insurance bureau (社保局)",
    table="contributions",
    description="monthly social-insurance contributions per employer",
    keys=("credit_code", "month"),
    date_column="month",
    origin=FileOrigin(
        path="社保缴费.csv",
        encoding="gb18030",
        columns={
            "单位信用代码": "credit_code",
            "缴费月份": "month",
            "参保人数": "insured",
            "缴费基数合计(元)": "base_yuan",
        },
    ),
    columns=(
        ColumnSpec("credit_code", "string", "employer's credit code"),
        ColumnSpec("month", "date", "contribution month (first day)"),
        ColumnSpec("insured", "int64", "people insured", checks={"min": 0}),
        ColumnSpec(
            "base_yuan", "float64", "contribution base, total", unit="yuan", checks={"min": 0}
        ),
    ),
)
WAGES = SourceSpec(
    scenario=NAME,
    agency="tax bureau (税务局)",
    table="wages",
    description="monthly individual-income-tax withholding returns per employer",
    keys=("credit_code", "month"),
    date_column="month",
    origin=FileOrigin(
        path="个税申报.csv",
        encoding="gb18030",
        columns={
            "扣缴单位信用代码": "credit_code",
            "所属月份": "month",
            "申报人数": "paid",
            "工资总额(元)": "wages_yuan",
        },
    ),
    columns=(
        ColumnSpec("credit_code", "string", "employer's credit code"),
        ColumnSpec("month", "date", "wage month (first day)"),
        ColumnSpec("paid", "int64", "people paid wages", checks={"min": 0}),
        ColumnSpec("wages_yuan", "float64", "wages paid, total", unit="yuan", checks={"min": 0}),
    ),
)
HISTORY = history_source(
    NAME,
    origin=FileOrigin(
        path="核查记录.csv",
        encoding="gb18030",
        columns={
            "线索编号": "lead_id",
            "信用代码": "entity_id",
            "所属区": "district",
            "规则": "rule",
            "发现日期": "flagged_on",
            "核查日期": "verified_on",
            "结果": "outcome",
            "追缴金额(元)": "amount_recovered",
        },
    ),
)


def build(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """Per employer, over everything known on the as-of date: insured vs paid people, base vs
    wages, months paid but not insured."""
    c, w, e = sources["contributions"], sources["wages"], sources["employers"]
    ci = c.group_by("credit_code").aggregate(
        insured=c.insured.sum(), base=c.base_yuan.sum(), months_insured=c.count()
    )
    wi = w.group_by("credit_code").aggregate(
        paid=w.paid.sum(), wages=w.wages_yuan.sum(), months_paid=w.count()
    )
    j = e.left_join(ci, e.credit_code == ci.credit_code).left_join(
        wi, e.credit_code == wi.credit_code
    )
    return j.select(
        entity_id=j.credit_code,
        district=j.district,
        insured_to_paid=ratio(j.insured, j.paid),
        base_to_wages=ratio(j.base, j.wages),
        months_uninsured=(j.months_paid.fill_null(0) - j.months_insured.fill_null(0)).cast(
            "float64"
        ),
    )


def unpaid_contributions(
    sources: Mapping[str, ir.Table], ctx: BuildContext, rates: Mapping[str, float]
) -> ir.Table:
    """Per employer: wages paid above the declared contribution base, times the employer's
    contribution rate (everything known on the as-of date)."""
    c, w, e = sources["contributions"], sources["wages"], sources["employers"]
    base = c.group_by("credit_code").aggregate(base=c.base_yuan.sum())
    wages = w.group_by("credit_code").aggregate(wages=w.wages_yuan.sum())
    j = e.left_join(base, e.credit_code == base.credit_code).left_join(
        wages, e.credit_code == wages.credit_code
    )
    gap = (j.wages.fill_null(0.0) - j.base.fill_null(0.0)).clip(lower=0.0)
    return j.select(entity_id=j.credit_code, amount=(gap * rates["employer_rate"]).round(0))


MODEL = SupervisionModel(
    name=NAME,
    entity="employer",
    key_column="credit_code",
    title="社保少缴 (social insurance under-declared)",
    sources=(EMPLOYERS, CONTRIBUTIONS, WAGES, HISTORY),
    features=(
        FeatureSpec(
            "insured_to_paid",
            "people insured / people paid wages",
            "share",
            "insures {value:.0%} of the people it pays; district median {peer:.0%}",
            "low",
            "district",
            reasons={"zh": "参保人数仅为发薪人数的{value:.0%}；本区中位数{peer:.0%}"},
        ),
        FeatureSpec(
            "base_to_wages",
            "contribution base / wages paid",
            "share",
            "contribution base is {value:.0%} of wages paid; district median {peer:.0%}",
            "low",
            "district",
            reasons={"zh": "缴费基数仅为工资总额的{value:.0%}；本区中位数{peer:.0%}"},
        ),
        FeatureSpec(
            "months_uninsured",
            "months with wages paid but no contribution",
            "months",
            "{value:.0f} months with wages but no contribution",
            "high",
            reasons={"zh": "有{value:.0f}个月发放工资但未缴社保"},
        ),
    ),
    build=build,
    joins=(
        KeyJoin("contributions", "credit_code", "uscc", ("employers", "credit_code")),
        KeyJoin("wages", "credit_code", "uscc", ("employers", "credit_code")),
        KeyJoin("employers", "credit_code", "uscc"),
    ),
    policy=Policy(k=20, metric="average_precision", floor=0.3, capacity=5, holdout_months=4),
    # Beijing employers pay about 26% of the base (pension 16%, medical 9.8%, unemployment 0.5%)
    amount=AmountAtStake(
        unit="yuan",
        typical=5e4,
        estimate=unpaid_contributions,
        rates={"employer_rate": 0.26},
        description="contributions unpaid: wages above the declared base x the employer's 26%",
        texts={"zh": "少缴的社保费：工资总额超出缴费基数的部分乘以单位缴费比例26%"},
        unit_texts={"zh": "元"},
    ),
)

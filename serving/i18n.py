"""The service's message catalog: what staff read, in Chinese first and English on request.

The web page carries its own catalog (``serving/web/i18n.js``, same keys where they overlap);
this one words what the server writes for people: the hand-over document (线索移送表) and the
error messages staff see. ``language`` picks ``?lang=`` first, then the Accept-Language
header, then Chinese.
"""

from __future__ import annotations

from features.wording import DEFAULT_LANGUAGE, LANGUAGES

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "handover.title": "线索移送表",
        "handover.issuer": "移送单位：{district}区人民检察院",
        "handover.lead_no": "线索编号",
        "handover.entity": "涉及对象",
        "handover.district": "所属区",
        "handover.model": "监督模型及版本",
        "handover.certification": "模型认证",
        "handover.certified": "业务部门：{business}；数字检察部门：{data}",
        "handover.uncertified": "未经双认证",
        "handover.probability": "成案概率（模型估计）",
        "handover.amount": "涉案金额（估算）",
        "handover.amount_basis": "金额口径",
        "handover.expected_value": "预期价值（成案概率×金额）",
        "handover.charts": "证据图表",
        "handover.no_charts": "未找到图表所需的数据。",
        "amount.not_declared": "模型未声明金额估算",
        "amount.not_estimated": "无法估算（数据不足）",
        "probability.interval": "{p}（90%区间 {low}–{high}）",
        "handover.as_of": "数据截至",
        "handover.status": "线索状态",
        "handover.reasons": "线索理由",
        "handover.evidence": "证据：来源记录",
        "handover.records": "{table}（共{count}条，列出最新{shown}条）",
        "handover.no_evidence": "未找到该对象的来源记录。",
        "handover.receipt": "接收单位回执",
        "handover.receiver": "接收单位",
        "handover.receiver_person": "接收人",
        "handover.received_on": "接收日期",
        "handover.signature": "签字（盖章）",
        "handover.masked": "个人身份证号已脱敏（对案不对人）。",
        "handover.revealed": "本表含未脱敏身份证号，查看理由：{reason}",
        "handover.generated": "生成时间：{at}，生成人：{actor}",
        "error.pdf_renderer": "无法生成PDF：未找到浏览器渲染程序 {path}",
        "error.pdf_failed": "PDF生成失败：{detail}",
        "error.ids": "ids 须为以逗号分隔的线索编号（1至{max}个）",
        "status.new": "新线索",
        "status.dispatched": "已交办",
        "status.verifying": "核查中",
        "status.case_filed": "已成案",
        "status.no_case": "不成案",
        "status.invalid": "无效线索",
    },
    "en": {
        "handover.title": "Lead hand-over form",
        "handover.issuer": "Issued by: {district} District People's Procuratorate",
        "handover.lead_no": "Lead number",
        "handover.entity": "Entity",
        "handover.district": "District",
        "handover.model": "Supervision model and version",
        "handover.certification": "Certification",
        "handover.certified": "business line: {business}; digital prosecution: {data}",
        "handover.uncertified": "not dual-certified",
        "handover.probability": "Probability of a case (model estimate)",
        "handover.amount": "Amount at stake (estimate)",
        "handover.amount_basis": "What the amount counts",
        "handover.expected_value": "Expected value (probability x amount)",
        "handover.charts": "Evidence charts",
        "handover.no_charts": "No data found for the charts.",
        "amount.not_declared": "not declared by the model",
        "amount.not_estimated": "not estimable (data missing)",
        "probability.interval": "{p} (90% interval {low}-{high})",
        "handover.as_of": "Data as of",
        "handover.status": "Status",
        "handover.reasons": "Why this lead",
        "handover.evidence": "Evidence: source records",
        "handover.records": "{table} ({count} records, newest {shown} shown)",
        "handover.no_evidence": "No source records found for this entity.",
        "handover.receipt": "Receipt of the receiving unit",
        "handover.receiver": "Receiving unit",
        "handover.receiver_person": "Received by",
        "handover.received_on": "Date received",
        "handover.signature": "Signature (seal)",
        "handover.masked": "Personal ID numbers are masked.",
        "handover.revealed": "This form shows unmasked ID numbers; reason: {reason}",
        "handover.generated": "Generated {at} by {actor}",
        "error.pdf_renderer": "cannot render the PDF: no browser renderer at {path}",
        "error.pdf_failed": "PDF rendering failed: {detail}",
        "error.ids": "ids must be comma-separated lead numbers (1 to {max})",
        "status.new": "new",
        "status.dispatched": "dispatched",
        "status.verifying": "verifying",
        "status.case_filed": "case filed",
        "status.no_case": "no case",
        "status.invalid": "invalid",
    },
}


DISTRICTS_ZH: dict[str, str] = {
    "Dongcheng": "东城",
    "Xicheng": "西城",
    "Chaoyang": "朝阳",
    "Fengtai": "丰台",
    "Shijingshan": "石景山",
    "Haidian": "海淀",
    "Mentougou": "门头沟",
    "Fangshan": "房山",
    "Tongzhou": "通州",
    "Shunyi": "顺义",
    "Changping": "昌平",
    "Daxing": "大兴",
    "Huairou": "怀柔",
    "Pinggu": "平谷",
    "Miyun": "密云",
    "Yanqing": "延庆",
}


def district_name(district: str, lang: str) -> str:
    """A Beijing district in the reader's language (other peer groups as recorded)."""
    return DISTRICTS_ZH.get(district, district) if lang == "zh" else district


def language(query: str | None, accept: str | None = None) -> str:
    """The reader's language: ``?lang=`` if given (checked), else the first of Accept-Language
    the project writes, else Chinese."""
    if query:
        if query not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {query!r}")
        return query
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def message(lang: str, key: str, **fields: object) -> str:
    """One catalog message in ``lang``, filled; a missing key is a KeyError naming it."""
    try:
        template = MESSAGES[lang][key]
    except KeyError as exc:
        raise KeyError(f"no {lang!r} message {key!r} in the catalog") from exc
    return template.format(**fields)

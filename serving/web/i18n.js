// Message catalog of the staff page: Chinese first (zh), English selectable (en).
// Elements carry data-i18n="key" (text) or data-i18n-placeholder="key"; app.js calls t(key).
"use strict";

const MESSAGES = {
  zh: {
    "title": "法律监督线索", "subtitle": "Supervision leads", "logout": "退出",
    "login.key": "API 密钥", "login.placeholder": "粘贴发给您的密钥", "login.submit": "登录",
    "login.failed": "登录失败：{error}", "language": "语言",
    "f.scenario": "监督模型", "f.district": "区", "f.status": "状态", "f.all": "全部",
    "f.overdue": "仅看逾期", "f.sort": "排序", "sort.score": "按评分", "sort.amount": "按金额",
    "sort.probability": "按成案概率", "sort.expected_value": "按预期价值（概率×金额）",
    "f.show": "查询", "export": "导出 CSV",
    "detail.amount": "涉案金额（估算）", "detail.probability": "成案概率",
    "detail.expected_value": "预期价值（成案概率×金额）", "amount.basis": "口径：{text}",
    "probability.interval": "{p}（90%区间 {low}–{high}）",
    "list.summary": "共 {n} 条线索", "list.page": "第 {page} / {pages} 页",
    "list.prev": "上一页", "list.next": "下一页",
    "list.keys": "键盘：↑/↓ 或 j/k 选择，Enter 打开",
    "col.rank": "名次", "col.entity": "对象", "col.scenario": "模型", "col.reason": "首要理由",
    "col.amount": "金额", "col.probability": "成案概率", "col.age": "线索天数",
    "col.status": "状态", "col.deadline": "期限", "col.district": "区",
    "age.days": "{n} 天", "overdue": "逾期 {n} 天",
    "detail.title": "线索 {id}：{entity}", "detail.why": "为何列为线索（对评分的贡献）",
    "detail.evidence": "证据：来源记录", "detail.rules": "规则", "detail.rules_fired": "命中的规则",
    "detail.rules_would": "本监督点的规则中会命中的", "detail.rules_none": "无", "detail.history": "处理记录",
    "detail.meta": "{scenario} · {district} · 评分 {score} · 名次 {rank} · 模型 {model} v{version} · 状态 {status}",
    "detail.handover": "打印线索移送表（PDF）", "detail.handover_page": "移送表网页",
    "evidence.none": "未找到该对象的来源记录。", "evidence.count": "{name}（{count} 条）",
    "detail.charts": "证据图表", "evidence.no_series": "该模型未声明图表，或未找到数据。",
    "evidence.page": "第 {from}–{to} 条，共 {count} 条（最新在前）", "evidence.more": "后10条",
    "evidence.less": "前10条",
    "peers.value": "本对象 {v}", "peers.percentile": "高于同组 {p}% 的对象", "peers.n": "同组 {n} 个",
    "assign.title": "交办", "assign.unit": "承办单位", "assign.assignee": "承办人",
    "assign.deadline": "期限", "assign.submit": "交办",
    "start.title": "核查", "start.submit": "开始核查",
    "outcome.title": "核查结果", "outcome.outcome": "结果", "outcome.case_filed": "成案",
    "outcome.no_case": "不成案", "outcome.invalid": "无效线索",
    "outcome.amount": "挽回金额（元）", "outcome.reference": "案号", "outcome.note": "备注",
    "outcome.submit": "记录结果", "outcome.shown": "结果：{outcome}，挽回 {amount}",
    "msg.dispatched": "已交办。", "msg.started": "已开始核查。", "msg.recorded": "结果已记录。",
    "status.new": "新线索", "status.dispatched": "已交办", "status.verifying": "核查中",
    "status.case_filed": "已成案", "status.no_case": "不成案", "status.invalid": "无效",
    "error.400": "请求有误", "error.401": "密钥无效或未登录", "error.403": "无权操作（超出本区或本角色权限）",
    "error.404": "未找到", "error.409": "与线索当前状态冲突", "error.413": "提交内容过大",
    "error.422": "输入有误", "error.429": "请求过于频繁", "error.500": "服务内部错误",
    "error.503": "服务暂不可用",
  },
  en: {
    "title": "Supervision leads", "subtitle": "法律监督线索", "logout": "Log out",
    "login.key": "API key", "login.placeholder": "paste the key issued to you",
    "login.submit": "Log in", "login.failed": "Login failed: {error}", "language": "Language",
    "f.scenario": "Model", "f.district": "District", "f.status": "Status", "f.all": "all",
    "f.overdue": "overdue only", "f.sort": "Sort", "sort.score": "by score",
    "sort.amount": "by amount", "sort.probability": "by probability",
    "sort.expected_value": "by expected value (probability x amount)", "f.show": "Show",
    "detail.amount": "Amount at stake (estimate)", "detail.probability": "Probability of a case",
    "detail.expected_value": "Expected value (probability x amount)",
    "amount.basis": "counts: {text}", "probability.interval": "{p} (90% interval {low}-{high})",
    "export": "Export CSV", "list.summary": "{n} lead(s)", "list.page": "page {page} of {pages}",
    "list.prev": "Previous", "list.next": "Next",
    "list.keys": "Keys: ↑/↓ or j/k to select, Enter to open",
    "col.rank": "#", "col.entity": "Entity", "col.scenario": "Model", "col.reason": "Top reason",
    "col.amount": "Amount", "col.probability": "Probability", "col.age": "Age",
    "col.status": "Status", "col.deadline": "Deadline", "col.district": "District",
    "age.days": "{n} d", "overdue": "overdue {n} d",
    "detail.title": "Lead {id}: {entity}", "detail.why": "Why this lead (contributions to the score)",
    "detail.evidence": "Evidence: source records", "detail.rules": "Rules", "detail.rules_fired": "Rules fired",
    "detail.rules_would": "Rules of this supervision point that would have fired", "detail.rules_none": "none", "detail.history": "History",
    "detail.meta": "{scenario} · {district} · score {score} · rank {rank} · model {model} v{version} · status {status}",
    "detail.handover": "Print hand-over form (PDF)", "detail.handover_page": "Hand-over page",
    "evidence.none": "No source records found for this entity.",
    "evidence.count": "{name} ({count} records)",
    "detail.charts": "Evidence charts", "evidence.no_series": "No charts declared for this model, or no data found.",
    "evidence.page": "records {from}-{to} of {count} (newest first)", "evidence.more": "next 10",
    "evidence.less": "previous 10",
    "peers.value": "this entity {v}", "peers.percentile": "at or above {p}% of its peers",
    "peers.n": "{n} peers",
    "assign.title": "Hand over (交办)", "assign.unit": "Unit", "assign.assignee": "Assignee",
    "assign.deadline": "Deadline", "assign.submit": "Dispatch",
    "start.title": "Verification (核查)", "start.submit": "Start verifying",
    "outcome.title": "Outcome", "outcome.outcome": "Outcome", "outcome.case_filed": "case filed (成案)",
    "outcome.no_case": "no case", "outcome.invalid": "invalid",
    "outcome.amount": "Amount recovered (yuan)", "outcome.reference": "Case reference",
    "outcome.note": "Note", "outcome.submit": "Record outcome",
    "outcome.shown": "Outcome: {outcome}, recovered {amount}",
    "msg.dispatched": "Dispatched.", "msg.started": "Verification started.",
    "msg.recorded": "Outcome recorded.",
    "status.new": "new", "status.dispatched": "dispatched", "status.verifying": "verifying",
    "status.case_filed": "case_filed", "status.no_case": "no_case", "status.invalid": "invalid",
    "error.400": "bad request", "error.401": "invalid key or not logged in",
    "error.403": "not allowed (outside your district or role)", "error.404": "not found",
    "error.409": "conflicts with the lead's current status", "error.413": "request too large",
    "error.422": "invalid input", "error.429": "too many requests", "error.500": "internal error",
    "error.503": "service unavailable",
  },
};

const DISTRICT_ZH = { Dongcheng: "东城", Xicheng: "西城", Chaoyang: "朝阳", Fengtai: "丰台",
  Shijingshan: "石景山", Haidian: "海淀", Mentougou: "门头沟", Fangshan: "房山", Tongzhou: "通州",
  Shunyi: "顺义", Changping: "昌平", Daxing: "大兴", Huairou: "怀柔", Pinggu: "平谷",
  Miyun: "密云", Yanqing: "延庆" };
const SCENARIO_ZH = { fuel_tax: "成品油涉税", fake_certificates: "特种作业操作证造假",
  mortgage_loans: "房产抵押经营贷", bid_rigging: "串通投标" };

let LANG = localStorage.getItem("lang") || "zh";

function t(key, fields = {}) {
  const template = (MESSAGES[LANG] && MESSAGES[LANG][key]) ?? MESSAGES.zh[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (fields[name] ?? ""));
}

function districtName(d) { return LANG === "zh" ? (DISTRICT_ZH[d] || d) : d; }
function scenarioName(s) { return LANG === "zh" ? (SCENARIO_ZH[s] || s) : s; }

function money(x) {
  const a = Math.abs(Number(x));
  if (LANG === "zh") {
    if (a >= 1e8) return `${+(x / 1e8).toFixed(2)}亿元`;
    if (a >= 1e4) return `${+(x / 1e4).toFixed(1)}万元`;
    return `${Number(x).toLocaleString("zh-CN", { maximumFractionDigits: 0 })}元`;
  }
  if (a >= 1e6) return `${+(x / 1e6).toFixed(1)} million yuan`;
  return `${Number(x).toLocaleString("en", { maximumFractionDigits: 0 })} yuan`;
}

function translatePage() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  });
  document.title = t("title");
}

function setLanguage(lang) {
  LANG = MESSAGES[lang] ? lang : "zh";
  localStorage.setItem("lang", LANG);
  translatePage();
}

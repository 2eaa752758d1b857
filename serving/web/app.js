// Staff page: log in with an API key, browse ranked leads, open one, act on it.
// Plain DOM code, no build step. Every value from the server is inserted as text, never as HTML.
"use strict";

const DISTRICTS = ["Dongcheng", "Xicheng", "Chaoyang", "Fengtai", "Shijingshan", "Haidian",
  "Mentougou", "Fangshan", "Tongzhou", "Shunyi", "Changping", "Daxing", "Huairou", "Pinggu",
  "Miyun", "Yanqing"];
const PAGE_SIZE = 25;
const state = { key: sessionStorage.getItem("apiKey"), me: null, page: 1, total: 0, lead: null };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.key}`, "Accept-Language": LANG,
    ...(options.headers || {}) };
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  const body = text && response.headers.get("content-type")?.includes("json")
    ? JSON.parse(text) : text;
  if (!response.ok) {
    const fields = (body.detail || []).map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
    // the status in the reader's language first, then the server's own message naming the fault
    throw new Error(`${response.status} ${t(`error.${response.status}`)}: ${body.error || text}` +
      `${fields ? " (" + fields + ")" : ""}`);
  }
  return body;
}

function filters() {
  const params = new URLSearchParams();
  for (const [name, id] of [["scenario", "f-scenario"], ["district", "f-district"],
                            ["status", "f-status"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  if ($("f-overdue").checked) params.set("overdue", "true");
  return params;
}

async function login(key) {
  state.key = key;
  state.me = await api("/v1/whoami");
  sessionStorage.setItem("apiKey", key);
  $("who-text").textContent = `${state.me.name} · ${state.me.role}` +
    (state.me.district ? ` · ${state.me.district}` : "");
  $("who").hidden = false;
  $("login").hidden = true;
  $("main").hidden = false;
  await fillFilters();
  await loadLeads();
}

async function fillFilters() {
  const health = await fetch("/v1/health").then((r) => r.json());
  const scenarios = [...new Set(health.models.map((m) => m.scenario))];
  const select = $("f-scenario");
  // one scenario at a time by default: scores of different models do not compare
  select.replaceChildren(...scenarios.map((s) => {
    const option = el("option", scenarioName(s));
    option.value = s;
    return option;
  }));
  const all = el("option", t("f.all"));
  all.value = "";
  select.append(all);
  const districts = state.me.district ? [state.me.district] : DISTRICTS;
  const dselect = $("f-district");
  dselect.replaceChildren();
  if (!state.me.district) { dselect.append(el("option", t("f.all"))); dselect.firstChild.value = ""; }
  districts.forEach((d) => { const o = el("option", districtName(d)); o.value = d; dselect.append(o); });
}

function reasonText(reason) {
  return (reason && reason.texts && reason.texts[LANG]) || (reason && reason.text) || "";
}

function ageDays(lead) {
  const created = new Date(lead.created_at);
  return Math.max(0, Math.floor((Date.now() - created.getTime()) / 86400000));
}

function pct(x) { return `${Math.round(Number(x) * 100)}%`; }

function amountText(lead) {
  // the server words the amount with its unit (or says the model declares none)
  return (lead.amount_text && lead.amount_text[LANG]) || "-";
}

async function loadLeads() {
  const params = filters();
  params.set("page", state.page);
  params.set("page_size", PAGE_SIZE);
  params.set("sort", $("f-sort").value || "score");  // the server sorts across every page
  const data = await api(`/v1/leads?${params}`);
  state.total = data.total;
  const items = data.items;
  const body = $("leads").querySelector("tbody");
  body.replaceChildren();
  for (const lead of items) {
    const row = el("tr");
    row.dataset.leadId = lead.id;
    if (lead.amount != null) row.dataset.amount = lead.amount;
    row.tabIndex = -1;
    const reasons = Array.isArray(lead.reasons) ? lead.reasons : [];
    const entity = el("td", lead.entity_name || lead.entity_id);
    if (lead.entity_name) entity.title = lead.entity_id;
    const status = el("span", t(`status.${lead.status}`), `status status-${lead.status}`);
    const statusCell = el("td");
    statusCell.append(status);
    const deadline = el("td", lead.deadline || "", lead.overdue ? "overdue" : "");
    if (lead.overdue) {
      row.classList.add("is-overdue");
      deadline.append(el("span", ` ${t("overdue", { n: lead.days_overdue })}`, "overdue-tag"));
    }
    row.append(el("td", lead.rank), entity, el("td", scenarioName(lead.scenario)),
      el("td", reasonText(reasons[0]), "reason"),
      el("td", amountText(lead), "num amount"),
      el("td", lead.probability == null ? "-" : pct(lead.probability), "num"),
      el("td", t("age.days", { n: ageDays(lead) }), "num"), statusCell, deadline,
      el("td", districtName(lead.district)));
    row.addEventListener("click", () => openLead(lead.id));
    if (state.lead && state.lead.lead.id === lead.id) row.classList.add("selected");
    body.append(row);
  }
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  $("list-summary").textContent = t("list.summary", { n: state.total });
  $("page-text").textContent = t("list.page", { page: state.page, pages });
  $("prev").disabled = state.page <= 1;
  $("next").disabled = state.page >= pages;
}

function moveSelection(step) {
  const rows = [...document.querySelectorAll("#leads tbody tr")];
  if (!rows.length) return;
  const current = rows.findIndex((r) => r.classList.contains("cursor"));
  const next = Math.min(rows.length - 1, Math.max(0, current + step));
  rows.forEach((r, i) => r.classList.toggle("cursor", i === next));
  rows[next].focus();
}

function drawChart(reasons) {
  const svg = $("chart");
  const ns = "http://www.w3.org/2000/svg";
  const rowHeight = 26, labelWidth = 280, width = 640;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(1, reasons.length) * rowHeight + 10}`);
  const values = reasons.map((r) => Number(r.shap ?? r.contribution ?? 0));
  const scale = (width - labelWidth - 70) / Math.max(1e-9, ...values.map(Math.abs));
  reasons.forEach((reason, i) => {
    const y = i * rowHeight + 5;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 0);
    label.setAttribute("y", y + 16);
    const sentence = reasonText(reason) || reason.feature;
    label.textContent = sentence.length > 24 ? sentence.slice(0, 23) + "…" : sentence;
    const tip = document.createElementNS(ns, "title");
    tip.textContent = sentence;
    label.append(tip);
    const bar = document.createElementNS(ns, "rect");
    const length = Math.abs(values[i]) * scale;
    bar.setAttribute("x", labelWidth);
    bar.setAttribute("y", y + 3);
    bar.setAttribute("width", Math.max(1, length));
    bar.setAttribute("height", rowHeight - 8);
    bar.setAttribute("class", values[i] >= 0 ? "pos" : "neg");
    bar.setAttribute("data-feature", reason.feature);
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", labelWidth + Math.max(1, length) + 6);
    value.setAttribute("y", y + 16);
    value.textContent = values[i].toFixed(3);
    svg.append(label, bar, value);
  });
}

const ROWS_PER_PAGE = 10;

function evidenceTables(evidence) {
  // the source rows, newest first, ten at a time
  const box = $("d-evidence");
  box.replaceChildren();
  const names = Object.keys(evidence || {});
  if (!names.length) box.append(el("p", t("evidence.none")));
  for (const name of names) {
    const { count, rows } = evidence[name];
    box.append(el("h4", t("evidence.count", { name, count })));
    const table = el("table", null, "evidence-table");
    table.dataset.table = name;
    const pager = el("p", null, "evidence-pager");
    let start = 0;
    const columns = Object.keys(rows[0] || {});
    const draw = () => {
      const head = el("tr");
      columns.forEach((c) => head.append(el("th", c)));
      table.replaceChildren(head);
      rows.slice(start, start + ROWS_PER_PAGE).forEach((r) => {
        const tr = el("tr");
        columns.forEach((c) => tr.append(el("td", asDate(r[c]))));
        table.append(tr);
      });
      const back = el("button", t("evidence.less"));
      const more = el("button", t("evidence.more"));
      back.type = more.type = "button";
      back.disabled = start === 0;
      more.disabled = start + ROWS_PER_PAGE >= rows.length;
      back.addEventListener("click", () => { start -= ROWS_PER_PAGE; draw(); });
      more.addEventListener("click", () => { start += ROWS_PER_PAGE; draw(); });
      pager.replaceChildren(el("span", t("evidence.page", { from: rows.length ? start + 1 : 0,
        to: Math.min(rows.length, start + ROWS_PER_PAGE), count })), back, more);
    };
    draw();
    box.append(table, pager);
  }
}

function asDate(value) {
  // dates as people write them: 2025-06-01, not 2025-06-01T00:00:00
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T00:00:00/.test(value)) return value.slice(0, 10);
  return value ?? "";
}

function showStakes(stakes) {
  const basis = stakes.declared && stakes.description && stakes.description[LANG];
  $("d-amount").textContent = ((stakes.text && stakes.text[LANG]) || "-") +
    (basis ? ` · ${t("amount.basis", { text: basis })}` : "");
  $("d-probability").textContent = (stakes.probability_text && stakes.probability_text[LANG]) || "-";
  const ev = stakes.expected_value;
  $("d-ev").textContent = ev == null ? "-"
    : (stakes.unit === "yuan" ? money(ev) : `${Math.round(ev).toLocaleString()} ${(stakes.unit_text || {})[LANG] || stakes.unit}`);
}

function showRules(rules) {
  // a rule lead: the rules that fired; a learnt lead: the rules of its point that would have
  const fired = rules && Array.isArray(rules.fired) ? rules.fired : [];
  $("d-rules-title").textContent = t(rules && rules.kind === "rules"
    ? "detail.rules_fired" : "detail.rules_would");
  $("d-rules").replaceChildren(...(fired.length ? fired.map((r) =>
    el("li", `${r.model} · ${r.rule}: ${r.text}`)) : [el("li", t("detail.rules_none"))]));
}

async function openLead(id) {
  const detail = await api(`/v1/leads/${id}`);
  state.lead = detail;
  const lead = detail.lead;
  $("detail-panel").hidden = false;
  const entity = detail.entity_name ? `${detail.entity_name}（${lead.entity_id}）` : lead.entity_id;
  $("d-title").textContent = t("detail.title", { id: lead.id, entity });
  $("d-meta").textContent = t("detail.meta", { scenario: scenarioName(lead.scenario),
    district: districtName(lead.district), score: Number(lead.score).toFixed(3), rank: lead.rank,
    model: lead.model_name, version: lead.model_version, status: t(`status.${lead.status}`) }) +
    (lead.overdue ? ` · ${t("overdue", { n: lead.days_overdue })}` : "");
  $("handover-page").dataset.leadId = lead.id;
  showStakes(detail.amount_at_stake || {});
  const reasons = Array.isArray(lead.reasons) ? lead.reasons : [];
  drawChart(reasons);
  $("d-reasons").replaceChildren(...reasons.map((r) => el("li", reasonText(r) || r.feature)));
  showRules(detail.rules);
  drawEvidence(null);
  loadEvidence(lead.id);
  evidenceTables(detail.evidence);
  $("d-history").replaceChildren(...detail.history.map((h) =>
    el("li", `${h.at.slice(0, 16)} ${h.from_status || "-"} → ${h.to_status} by ${h.actor}` +
      (h.note ? ` (${h.note})` : ""))));
  $("assign-form").hidden = !["new", "dispatched"].includes(lead.status);
  $("start-form").hidden = lead.status !== "dispatched";
  $("outcome-form").hidden = lead.status !== "verifying";
  $("action-message").textContent = detail.outcome
    ? t("outcome.shown", { outcome: t(`status.${detail.outcome.outcome}`),
      amount: money(detail.outcome.amount_recovered) }) : "";
  document.querySelectorAll("#leads tbody tr").forEach((tr) =>
    tr.classList.toggle("selected", Number(tr.dataset.leadId) === lead.id));
}

async function loadEvidence(id) {
  // the charts come in their own request, so the lead shows at once
  try {
    const got = await api(`/v1/leads/${id}/evidence`);
    if (state.lead && state.lead.lead.id === id) drawEvidence(got.evidence_view);
  } catch (error) {
    $("evidence-title").textContent = error.message;
  }
}

async function act(path, payload, message) {
  try {
    await api(`/v1/leads/${state.lead.lead.id}/${path}`,
      { method: "POST", body: JSON.stringify(payload) });
    await openLead(state.lead.lead.id);
    await loadLeads();
    $("action-message").textContent = message;
  } catch (error) {
    $("action-message").textContent = error.message;
  }
}

function formData(form) {
  const data = Object.fromEntries(new FormData(form).entries());
  for (const k of Object.keys(data)) if (data[k] === "") delete data[k];
  return data;
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try { await login($("key").value.trim()); } catch (error) {
    $("login-error").textContent = t("login.failed", { error: error.message });
  }
});
$("logout").addEventListener("click", () => { sessionStorage.removeItem("apiKey"); location.reload(); });
$("filters").addEventListener("submit", (e) => { e.preventDefault(); state.page = 1; loadLeads(); });
$("prev").addEventListener("click", () => { state.page -= 1; loadLeads(); });
$("next").addEventListener("click", () => { state.page += 1; loadLeads(); });
$("export").addEventListener("click", async (event) => {
  event.preventDefault();
  const response = await fetch(`/v1/leads/export.csv?${filters()}`,
    { headers: { Authorization: `Bearer ${state.key}` } });
  const link = el("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "leads.csv";
  link.click();
});
$("assign-form").addEventListener("submit", (e) => {
  e.preventDefault();
  act("assign", formData(e.target), t("msg.dispatched"));
});
$("start-form").addEventListener("submit", (e) => { e.preventDefault(); act("start", {}, t("msg.started")); });
$("outcome-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const data = formData(e.target);
  data.amount_recovered = Number(data.amount_recovered || 0);
  act("outcome", data, t("msg.recorded"));
});

async function downloadHandover(id, format) {
  const response = await fetch(`/v1/leads/${id}/handover.${format}?lang=${LANG}`,
    { headers: { Authorization: `Bearer ${state.key}` } });
  if (!response.ok) {
    $("action-message").textContent = `${response.status} ${await response.text()}`;
    return;
  }
  const link = el("a");
  link.href = URL.createObjectURL(await response.blob());
  if (format === "pdf") link.download = `handover-${id}.pdf`; else link.target = "_blank";
  document.body.append(link);
  link.click();
  link.remove();
}

$("handover-pdf").addEventListener("click", () => downloadHandover(state.lead.lead.id, "pdf"));
$("handover-page").addEventListener("click", (event) => {
  event.preventDefault();
  downloadHandover(state.lead.lead.id, "html");
});
$("lang").addEventListener("change", async (event) => {
  setLanguage(event.target.value);
  if (state.me) {
    await fillFilters();
    await loadLeads();
    if (state.lead) await openLead(state.lead.lead.id);
  }
});
$("leads").addEventListener("keydown", (event) => {
  if (["ArrowDown", "j"].includes(event.key)) { event.preventDefault(); moveSelection(1); }
  if (["ArrowUp", "k"].includes(event.key)) { event.preventDefault(); moveSelection(-1); }
  if (event.key === "Enter") {
    const row = document.querySelector("#leads tbody tr.cursor");
    if (row) openLead(Number(row.dataset.leadId));
  }
});
$("f-sort").addEventListener("change", () => loadLeads());

$("lang").value = LANG;
translatePage();
if (state.key) login(state.key).catch(() => sessionStorage.removeItem("apiKey"));

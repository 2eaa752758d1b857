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
  const headers = { Authorization: `Bearer ${state.key}`, ...(options.headers || {}) };
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  const body = text && response.headers.get("content-type")?.includes("json")
    ? JSON.parse(text) : text;
  if (!response.ok) {
    const fields = (body.detail || []).map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
    throw new Error(`${response.status} ${body.error || text}${fields ? " (" + fields + ")" : ""}`);
  }
  return body;
}

function filters() {
  const params = new URLSearchParams();
  for (const [name, id] of [["scenario", "f-scenario"], ["district", "f-district"],
                            ["status", "f-status"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
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
  select.replaceChildren(el("option", "all"));
  select.firstChild.value = "";
  scenarios.forEach((s) => select.append(el("option", s)));
  const districts = state.me.district ? [state.me.district] : DISTRICTS;
  const dselect = $("f-district");
  dselect.replaceChildren();
  if (!state.me.district) { dselect.append(el("option", "all")); dselect.firstChild.value = ""; }
  districts.forEach((d) => dselect.append(el("option", d)));
}

async function loadLeads() {
  const params = filters();
  params.set("page", state.page);
  params.set("page_size", PAGE_SIZE);
  const data = await api(`/v1/leads?${params}`);
  state.total = data.total;
  const body = $("leads").querySelector("tbody");
  body.replaceChildren();
  for (const lead of data.items) {
    const row = el("tr");
    row.dataset.leadId = lead.id;
    const status = el("span", lead.status, `status status-${lead.status}`);
    const deadline = el("td", lead.deadline || "", lead.overdue ? "overdue" : "");
    row.append(el("td", lead.rank), el("td", lead.scenario), el("td", lead.entity_id),
      el("td", lead.district), el("td", Number(lead.score).toFixed(3)));
    const statusCell = el("td");
    statusCell.append(status);
    row.append(statusCell, deadline, el("td", `v${lead.model_version}`));
    row.addEventListener("click", () => openLead(lead.id));
    if (state.lead && state.lead.lead.id === lead.id) row.classList.add("selected");
    body.append(row);
  }
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  $("list-summary").textContent = `${state.total} lead(s)`;
  $("page-text").textContent = `page ${state.page} of ${pages}`;
  $("prev").disabled = state.page <= 1;
  $("next").disabled = state.page >= pages;
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
    label.textContent = reason.feature.length > 38 ? reason.feature.slice(0, 37) + "…" : reason.feature;
    const tip = document.createElementNS(ns, "title");
    tip.textContent = reason.text || reason.feature;
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

function evidenceTables(evidence) {
  const box = $("d-evidence");
  box.replaceChildren();
  const names = Object.keys(evidence || {});
  if (!names.length) box.append(el("p", "No source records found for this entity."));
  for (const name of names) {
    const { count, rows } = evidence[name];
    box.append(el("h4", `${name} (${count} record${count === 1 ? "" : "s"})`));
    const table = el("table", null, "evidence-table");
    const columns = Object.keys(rows[0] || {});
    const head = el("tr");
    columns.forEach((c) => head.append(el("th", c)));
    table.append(head);
    rows.slice(0, 10).forEach((r) => {
      const tr = el("tr");
      columns.forEach((c) => tr.append(el("td", r[c] ?? "")));
      table.append(tr);
    });
    box.append(table);
  }
}

function showRules(rules) {
  // a rule lead: the rules that fired; a learnt lead: the rules of its point that would have
  const fired = rules && Array.isArray(rules.fired) ? rules.fired : [];
  $("d-rules-title").textContent = rules && rules.kind === "rules"
    ? "Rules fired" : "Rules of this supervision point that would have fired";
  $("d-rules").replaceChildren(...(fired.length ? fired.map((r) =>
    el("li", `${r.model} · ${r.rule}: ${r.text}`)) : [el("li", "none")]));
}

async function openLead(id) {
  const detail = await api(`/v1/leads/${id}`);
  state.lead = detail;
  const lead = detail.lead;
  $("detail-panel").hidden = false;
  $("d-title").textContent = `Lead ${lead.id}: ${lead.entity_id}`;
  $("d-meta").textContent = `${lead.scenario} · ${lead.district} · score ` +
    `${Number(lead.score).toFixed(3)} · rank ${lead.rank} · model ${lead.model_name} ` +
    `v${lead.model_version} · status ${lead.status}` + (lead.overdue ? " · OVERDUE" : "");
  const reasons = Array.isArray(lead.reasons) ? lead.reasons : [];
  drawChart(reasons);
  $("d-reasons").replaceChildren(...reasons.map((r) => el("li", r.text || r.feature)));
  showRules(detail.rules);
  evidenceTables(detail.evidence);
  $("d-history").replaceChildren(...detail.history.map((h) =>
    el("li", `${h.at.slice(0, 16)} ${h.from_status || "-"} → ${h.to_status} by ${h.actor}` +
      (h.note ? ` (${h.note})` : ""))));
  $("assign-form").hidden = !["new", "dispatched"].includes(lead.status);
  $("start-form").hidden = lead.status !== "dispatched";
  $("outcome-form").hidden = lead.status !== "verifying";
  $("action-message").textContent = detail.outcome
    ? `Outcome: ${detail.outcome.outcome}, recovered ${detail.outcome.amount_recovered}` : "";
  document.querySelectorAll("#leads tbody tr").forEach((tr) =>
    tr.classList.toggle("selected", Number(tr.dataset.leadId) === lead.id));
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
    $("login-error").textContent = `Login failed: ${error.message}`;
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
  act("assign", formData(e.target), "Dispatched.");
});
$("start-form").addEventListener("submit", (e) => { e.preventDefault(); act("start", {}, "Verification started."); });
$("outcome-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const data = formData(e.target);
  data.amount_recovered = Number(data.amount_recovered || 0);
  act("outcome", data, "Outcome recorded.");
});

if (state.key) login(state.key).catch(() => sessionStorage.removeItem("apiKey"));

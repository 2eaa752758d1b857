// Evidence charts of a lead, drawn as plain SVG (no library, no CDN): the declared series per
// month as lines (or events on one time line), and the entity against its peers' distribution.
// Every value from the server goes in as an attribute or as text, never as markup.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const SERIES_COLOURS = ["#1f5fa8", "#d9822b", "#2e8b57", "#9b3d9b", "#b22222", "#6b6b6b"];

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function shortNumber(x) {
  const a = Math.abs(x);
  if (a >= 1e8) return `${+(x / 1e8).toFixed(1)}${LANG === "zh" ? "亿" : "e8"}`;
  if (a >= 1e4) return LANG === "zh" ? `${+(x / 1e4).toFixed(1)}万` : `${+(x / 1e3).toFixed(0)}k`;
  return `${+Number(x).toFixed(2)}`;
}

function timeScale(series, x0, x1) {
  const times = series.flatMap((s) => s.points.map((p) => Date.parse(p.period)));
  const lo = Math.min(...times), hi = Math.max(...times);
  const span = Math.max(1, hi - lo);
  return { lo, hi, at: (period) => x0 + ((Date.parse(period) - lo) / span) * (x1 - x0) };
}

// Monthly quantities: one path per series (left axis; "right" series on their own scale).
function lineChart(svg, view) {
  const width = 720, height = 260, left = 60, right = 60, top = 16, bottom = 30;
  svg.setAttribute("viewBox", `0 0 ${width} ${height + 24 * view.series.length}`);
  const drawn = view.series.filter((s) => s.points.length);
  if (!drawn.length) return;
  const x = timeScale(drawn, left, width - right);
  const scales = {};
  for (const axis of ["left", "right"]) {
    const values = drawn.filter((s) => s.axis === axis).flatMap((s) => s.points.map((p) => p.value));
    const max = Math.max(1e-9, ...values);
    scales[axis] = (v) => top + (1 - v / max) * (height - top - bottom);
    if (values.length) {
      const ax = axis === "left" ? left - 4 : width - right + 4;
      svg.append(svgEl("text", { x: ax, y: top + 4, "text-anchor": axis === "left" ? "end" : "start",
        class: "axis" }, shortNumber(max)));
      svg.append(svgEl("text", { x: ax, y: height - bottom, "text-anchor": axis === "left" ? "end" : "start",
        class: "axis" }, "0"));
    }
  }
  svg.append(svgEl("line", { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom,
    class: "axis-line" }));
  svg.append(svgEl("text", { x: left, y: height - 10, class: "axis" }, new Date(x.lo).toISOString().slice(0, 7)));
  svg.append(svgEl("text", { x: width - right, y: height - 10, "text-anchor": "end", class: "axis" },
    new Date(x.hi).toISOString().slice(0, 7)));
  view.series.forEach((s, i) => {
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
    const y = scales[s.axis] || scales.left;
    const points = s.points.map((p) => [x.at(p.period), y(p.value), p]);
    if (points.length) {
      const d = points.map(([px, py], j) => `${j ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
      svg.append(svgEl("path", { d, class: "series", stroke: colour, fill: "none",
        "data-series": s.name, "stroke-dasharray": s.axis === "right" ? "4 3" : "" }));
      for (const [px, py, p] of points) {
        const dot = svgEl("circle", { cx: px.toFixed(1), cy: py.toFixed(1), r: 2.5, fill: colour,
          class: "point", "data-series": s.name, "data-period": p.period, "data-value": p.value });
        dot.append(svgEl("title", {}, `${s.label[LANG] || s.name} ${p.period.slice(0, 7)}: ${p.value.toLocaleString()}`));
        svg.append(dot);
      }
    }
    legend(svg, i, height, colour, `${s.label[LANG] || s.name}${s.axis === "right" ? " →" : ""}`, s.points.length);
  });
}

function legend(svg, i, height, colour, label, n) {
  const y = height + 8 + 24 * i;
  svg.append(svgEl("rect", { x: 60, y, width: 14, height: 10, fill: colour, class: "legend" }));
  svg.append(svgEl("text", { x: 80, y: y + 10, class: "legend-text" }, `${label} (${n})`));
}

// Events on one time line: one lane per series, a dot per event, its value as a tip.
function eventChart(svg, view) {
  const width = 720, lane = 30, left = 200, right = 30, top = 10;
  const drawn = view.series.filter((s) => s.points.length);
  svg.setAttribute("viewBox", `0 0 ${width} ${top + lane * view.series.length + 30}`);
  if (!drawn.length) return;
  const x = timeScale(drawn, left, width - right);
  view.series.forEach((s, i) => {
    const y = top + lane * i + lane / 2;
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
    svg.append(svgEl("text", { x: left - 8, y: y + 4, "text-anchor": "end", class: "lane" },
      s.label[LANG] || s.name));
    svg.append(svgEl("line", { x1: left, x2: width - right, y1: y, y2: y, class: "lane-line" }));
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${x.at(p.period).toFixed(1)},${y}`).join(" ");
    if (s.points.length) svg.append(svgEl("path", { d, class: "series", stroke: colour, fill: "none",
      "stroke-opacity": 0.25, "data-series": s.name }));
    for (const p of s.points) {
      const dot = svgEl("circle", { cx: x.at(p.period).toFixed(1), cy: y, r: 5, fill: colour,
        class: "point", "data-series": s.name, "data-period": p.period, "data-value": p.value });
      dot.append(svgEl("title", {}, `${p.period}: ${s.unit === "yuan" ? money(p.value) : p.value}`));
      svg.append(dot);
    }
  });
  const base = top + lane * view.series.length + 20;
  svg.append(svgEl("text", { x: left, y: base, class: "axis" }, new Date(x.lo).toISOString().slice(0, 10)));
  svg.append(svgEl("text", { x: width - right, y: base, "text-anchor": "end", class: "axis" },
    new Date(x.hi).toISOString().slice(0, 10)));
}

// The entity's value against its peers: a histogram and a marker line.
function peerChart(peer) {
  const width = 340, height = 120, pad = 20;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height + 30}`, class: "peer-chart",
    "data-feature": peer.feature, role: "img" });
  svg.append(svgEl("text", { x: 0, y: 12, class: "peer-title" }, peer.label[LANG] || peer.feature));
  if (!peer.counts.length) return svg;
  const max = Math.max(1, ...peer.counts);
  const lo = peer.edges[0], hi = peer.edges[peer.edges.length - 1];
  const xAt = (v) => pad + ((v - lo) / Math.max(1e-12, hi - lo)) * (width - 2 * pad);
  const barW = (width - 2 * pad) / peer.counts.length;
  peer.counts.forEach((c, i) => {
    const h = (c / max) * (height - 30);
    svg.append(svgEl("rect", { x: (pad + i * barW).toFixed(1), y: (height - h).toFixed(1),
      width: Math.max(1, barW - 1).toFixed(1), height: h.toFixed(1), class: "peer-bar",
      "data-count": c }));
  });
  if (peer.value != null) {
    const px = xAt(peer.value).toFixed(1);
    svg.append(svgEl("line", { x1: px, x2: px, y1: 18, y2: height, class: "peer-mark",
      "data-value": peer.value }));
    const where = peer.percentile === null ? "" : ` · ${t("peers.percentile", { p: Math.round(peer.percentile * 100) })}`;
    svg.append(svgEl("text", { x: 0, y: height + 20, class: "peer-text" },
      `${t("peers.value", { v: shortNumber(peer.value) })}${where} · ${t("peers.n", { n: peer.n })}`));
  }
  return svg;
}

function drawEvidence(view) {
  const svg = $("evidence-chart");
  svg.replaceChildren();
  if (view === null) {  // still loading
    $("evidence-none").hidden = true;
    $("evidence-title").textContent = "";
    $("peer-charts").replaceChildren();
    return;
  }
  $("evidence-title").textContent = (view && view.title && view.title[LANG]) || "";
  const series = (view && view.series) || [];
  svg.dataset.kind = (view && view.kind) || "";
  if (!view || !view.declared || !series.some((s) => s.points.length)) {
    $("evidence-none").hidden = false;
  } else {
    $("evidence-none").hidden = true;
    if (view.kind === "events") eventChart(svg, view); else lineChart(svg, view);
  }
  $("peer-charts").replaceChildren(...((view && view.peers) || []).map(peerChart));
}

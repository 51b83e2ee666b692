// jupyter_xtrack in-notebook views: live metrics, run card, run table, compare, progress.
// One plain ES module for anywidget; the Python model's `view` trait picks the view.
// No network and no bundler here: charts come from the prebuilt chart module (see plot()).

// Okabe-Ito: colour-blind safe, readable on light and dark (same as static_chart.py).
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#7f7f7f"];

// -- small DOM helpers ---------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// -- numbers: same rules as records/formatting.py -------------------------------------
export function fmt(v, digits = 4) {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return "0";
  const mag = Math.abs(v);
  if (Number.isInteger(v) && mag < 1e6) return v.toLocaleString("en-US");
  if (mag >= 1e6 || mag < 1e-3) return v.toExponential(digits - 1).replace(/e([+-])(\d)$/, "e$1$2");
  return String(Number(v.toPrecision(digits)));
}

// -- charts: the shared chart module (labextension/src/chartcore.ts, uPlot), which
// views/models.py puts in front of this file as `XtrackChart`; null when it was not built.
const CHARTS = typeof XtrackChart === "undefined" ? null : XtrackChart;

function isDark() {
  const b = typeof document !== "undefined" && document.body;
  return !!b && (b.dataset.jpThemeLight === "false" || b.classList.contains("vscode-dark"));
}

// A chart in a new element (or `into`, redrawn in place): series as chartcore takes them.
function plot(series, opts, into) {
  const el = into || h("div", { class: "xt-plot" });
  if (!CHARTS) {
    el.replaceChildren(h("div", { class: "xt-muted", text: "charts unavailable: the chart bundle was not built (npm run build in labextension/)" }));
    return el;
  }
  const options = { width: 300, height: 150, ...opts };
  if (options.logY === "auto") {
    options.logY = CHARTS.prefersLog(series.flatMap((sr) => Array.from(sr.value)));
  }
  if (el._xtChart) el._xtChart.update(series, options);
  else el._xtChart = CHARTS.createChart(el, series, options);
  return el;
}

function color(i) {
  return CHARTS ? CHARTS.seriesColor(i, isDark()) : PALETTE[i % PALETTE.length];
}

// Re-render at most once per animation frame, however often the model changes.
function scheduler(fn) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fn(); });
  };
}

function errorLine(model) {
  const msg = model.get("error");
  return msg ? h("pre", { class: "xt-error", role: "alert", text: msg }) : null;
}

// -- live metrics ----------------------------------------------------------------------
function unpack(model) {
  const meta = model.get("meta") || {};
  const raw = model.get("data");
  let f64 = new Float64Array(0);
  if (raw && raw.byteLength) {
    const bytes = raw.buffer ? new Uint8Array(raw.buffer, raw.byteOffset || 0, raw.byteLength) : new Uint8Array(raw);
    f64 = new Float64Array(bytes.slice().buffer);
  }
  const series = {};
  for (const [key, off, n] of meta.layout || []) {
    const col = (c) => f64.subarray(off + c * n, off + (c + 1) * n);
    series[key] = { step: col(0), time: col(1), lo: col(2), hi: col(3), mean: col(4), n };
  }
  return { meta, series };
}

function renderLive(model, el) {
  let axis = "step";
  let logY = "auto";
  const root = h("div", { class: "xt-live" });
  el.append(root);
  // One chart per metric, kept across redraws and updated in place while the cell runs.
  const panels = new Map();
  const draw = () => {
    const { meta, series } = unpack(model);
    const running = meta.status !== "done";
    const toggle = (name, label) => h("button", {
      class: `xt-toggle${axis === name ? " xt-on" : ""}`, "data-axis": name,
      onclick: () => { axis = name; draw(); } }, label);
    const logToggle = h("button", { class: `xt-toggle xt-log${logY === true ? " xt-on" : ""}`, title: "log y (auto: when values span two decades)",
      onclick: () => { logY = logY === true ? false : true; draw(); } }, logY === "auto" ? "log: auto" : logY ? "log: on" : "log: off");
    const head = h("div", { class: "xt-head" },
      h("span", { class: running ? "xt-pulse" : "xt-done", title: running ? "live" : "done" }, running ? "●" : "✓"),
      h("b", {}, meta.run || "run"),
      h("span", { class: "xt-muted xt-points" }, `${fmt(meta.points || 0)} points`),
      h("span", { class: "xt-spacer" }),
      h("span", { class: "xt-muted" }, "x:"), toggle("step", "step"), toggle("relative", "time"), logToggle);
    const latest = meta.latest || {};
    const values = h("div", { class: "xt-values" },
      Object.keys(latest).map((k) => h("span", { class: "xt-value", "data-key": k },
        h("span", { class: "xt-muted" }, k), " ", h("b", {}, fmt(latest[k])))));
    const grid = h("div", { class: "xt-grid-charts" });
    for (const key of meta.keys || []) {
      const sr = series[key];
      if (!sr || sr.n < 2) continue;
      let panel = panels.get(key);
      if (!panel) {
        panel = { title: h("div", { class: "xt-chart-title" }), chart: h("div", { class: "xt-plot" }) };
        panel.el = h("div", { class: "xt-panel", "data-key": key }, panel.title, panel.chart);
        panels.set(key, panel);
      }
      panel.title.textContent = `${key}  ${fmt(latest[key])}`;
      plot([{ label: key, step: sr.step, time: sr.time, value: sr.mean, lo: sr.lo, hi: sr.hi, color: color(0) }],
        { title: key, xMode: axis, logY }, panel.chart);
      grid.append(panel.el);
    }
    root.replaceChildren(head, values, grid, errorLine(model) || "");
  };
  const later = scheduler(draw);
  model.on("change:meta", later);
  model.on("change:data", later);
  model.on("change:error", later);
  draw();
}

// -- compare ---------------------------------------------------------------------------
function renderComparison(cmp, onlyDiffs = {}) {
  const wrap = h("div", { class: "xt-compare" });
  if (!cmp || !cmp.labels) return wrap;
  const labels = cmp.labels;
  const table = h("table", { class: "xt-table xt-compare-table" });
  table.append(h("thead", {}, h("tr", {}, h("th", {}, ""), labels.map((l, j) =>
    h("th", {}, h("span", { class: "xt-swatch", style: `background:${color(j)}` }), l)))));
  const body = h("tbody");
  for (const sec of cmp.sections || []) {
    if (!sec.rows.length) continue;
    const collapsible = sec.collapse;
    const nd = sec.rows.filter((r) => r.differs).length;
    const showAll = onlyDiffs[sec.name] === false || !collapsible;
    const rows = showAll ? sec.rows : sec.rows.filter((r) => r.differs);
    const toggle = collapsible ? h("button", { class: "xt-link", onclick: (e) => {
      onlyDiffs[sec.name] = showAll; const fresh = renderComparison(cmp, onlyDiffs); wrap.replaceWith(fresh);
    } }, showAll ? "only differences" : `show all ${sec.rows.length}`) : null;
    body.append(h("tr", { class: "xt-section" }, h("th", { colspan: labels.length + 1 },
      sec.name, h("span", { class: "xt-muted" }, ` · ${nd} differ`), toggle ? " · " : "", toggle)));
    for (const r of rows) {
      body.append(h("tr", { class: r.differs ? "xt-differs" : "", "data-key": `${sec.name}.${r.key}` },
        h("td", { class: "xt-key" }, r.key),
        r.values.map((v, j) => h("td", { class: r.best === j ? "xt-best" : "" }, v))));
    }
  }
  table.append(body);
  wrap.append(table);
  const hist = cmp.histories || [];
  if (hist.length) {
    const grid = h("div", { class: "xt-grid-charts" });
    for (const hm of hist) {
      grid.append(h("div", { class: "xt-panel", "data-key": hm.key }, h("div", { class: "xt-chart-title" }, hm.key), plot(
        hm.runs.map((r) => ({ label: r.label, step: r.xs, value: r.ys, color: color(r.index) })),
        { title: hm.key, logY: "auto", width: 340, height: 180 })));
    }
    wrap.append(h("div", { class: "xt-subhead" }, "metric histories"), grid);
  }
  for (const cd of cmp.code_diffs || []) {
    const pre = h("pre", { class: "xt-diff" });
    const lines = (cd.diff || "(identical)").split("\n");
    for (const ln of lines) {
      const cls = ln.startsWith("+") && !ln.startsWith("+++") ? "xt-add" : ln.startsWith("-") && !ln.startsWith("---") ? "xt-del" : ln.startsWith("@@") ? "xt-hunk" : "";
      pre.append(h("span", { class: cls }, ln + "\n"));
    }
    wrap.append(h("details", { class: "xt-code" }, h("summary", {}, `code ${labels[0]} → ${cd.label}${cd.diff ? "" : " (identical)"}`), pre));
  }
  return wrap;
}

function renderCompare(model, el) {
  const root = h("div", { class: "xt-compare-view" });
  el.append(root);
  const draw = () => root.replaceChildren(renderComparison(model.get("compare")), errorLine(model) || "");
  const later = scheduler(draw);
  model.on("change:compare", later);
  model.on("change:error", later);
  draw();
}

// -- run card --------------------------------------------------------------------------
function kvSection(title, rows) {
  if (!rows || !rows.length) return null;
  return h("div", { class: "xt-card-section" }, h("div", { class: "xt-subhead" }, title),
    h("table", { class: "xt-kv" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("td", { class: "xt-key" }, k), h("td", {}, v))))));
}

function filesSection(title, files) {
  if (!files || !files.length) return null;
  return h("div", { class: "xt-card-section" }, h("div", { class: "xt-subhead" }, title),
    h("table", { class: "xt-kv" }, h("tbody", {}, files.map((f) => h("tr", {},
      h("td", { class: "xt-key" }, f.path), h("td", { class: "xt-hash", title: f.hash_full || "" }, f.hash),
      h("td", { class: "xt-muted" }, f.size || ""), h("td", { class: "xt-muted" }, f.note || ""))))));
}

// The card's expanded state outlives a re-render of the same model (a refreshed display).
const CARD_OPEN = new WeakMap();

function renderCard(model, el) {
  let open = CARD_OPEN.get(model) || false;
  const root = h("div", { class: "xt-card" });
  el.append(root);
  const draw = () => {
    const c = model.get("card") || {};
    const sidebar = typeof document !== "undefined" && document.body && document.body.dataset.xtrackSidebar;
    const summary = h("div", { class: "xt-summary", role: "button", tabindex: 0, "aria-expanded": String(open),
      onclick: () => { open = !open; CARD_OPEN.set(model, open); draw(); } },
      h("span", { class: "xt-caret" }, open ? "▾" : "▸"), " ",
      h("span", { class: `xt-status xt-${c.status}` }, c.mark || "·"), " ", c.summary || "");
    const buttons = h("div", { class: "xt-buttons" },
      h("button", { class: "xt-btn xt-compare-prev", disabled: !c.previous,
        title: c.previous ? `compare with run #${c.previous.number}` : "no earlier run of this cell",
        onclick: () => model.send({ type: "compare_previous" }) },
        c.previous ? `Compare with previous (#${c.previous.number})` : "No previous run"),
      sidebar ? h("button", { class: "xt-btn xt-open-sidebar", onclick: () => window.dispatchEvent(
        new CustomEvent("xtrack:open-run", { detail: { runId: c.id, number: c.number, store: c.store } })) }, "Open in sidebar") : null);
    const parts = [summary];
    if (open) {
      parts.push(h("div", { class: "xt-card-body" },
        kvSection("run", c.facts), kvSection("params", c.params), kvSection("metrics", c.metrics),
        filesSection("data inputs", c.inputs), filesSection("outputs", c.outputs),
        kvSection("git", c.git), c.error ? h("pre", { class: "xt-error" }, c.error) : null,
        c.pending ? h("div", { class: "xt-muted" }, "hashing inputs and reading git state…") : null));
    }
    parts.push(buttons);
    const cmp = model.get("compare");
    if (cmp && cmp.labels) parts.push(renderComparison(cmp));
    const err = errorLine(model);
    if (err) parts.push(err);
    root.replaceChildren(...parts);
  };
  const later = scheduler(draw);
  for (const name of ["card", "compare", "error"]) model.on(`change:${name}`, later);
  draw();
}

// -- run table -------------------------------------------------------------------------
function renderTable(model, el) {
  const root = h("div", { class: "xt-runs" });
  el.append(root);
  const input = h("input", { class: "xt-filter", type: "text", spellcheck: "false",
    placeholder: "filter, e.g. metrics.acc > 0.9 and params.model = 'rf'",
    onkeydown: (e) => { if (e.key === "Enter") apply(); } });
  input.value = model.get("filter") || "";
  const apply = () => model.send({ type: "filter", text: input.value });
  const bar = h("div", { class: "xt-bar" }, input,
    h("button", { class: "xt-btn xt-apply", onclick: apply }, "Filter"));
  const body = h("div");
  root.append(bar, body);
  const draw = () => {
    const t = model.get("table") || {};
    const selected = new Set(model.get("selected") || []);
    const cols = t.columns || [];
    const sort = t.sort || {};
    const head = h("tr", {}, h("th", {}, ""), cols.map((c, i) => h("th", {
      class: "xt-sortable", "data-col": c, title: "sort",
      onclick: () => model.send({ type: "sort", column: c }) },
      c, sort.column === c ? (sort.descending ? " ▼" : " ▲") : "")));
    const rows = (t.rows || []).map((r) => {
      const box = h("input", { type: "checkbox", class: "xt-select", "data-id": r.id });
      box.checked = selected.has(r.id);
      box.addEventListener("change", () => {
        const now = new Set(model.get("selected") || []);
        if (box.checked) now.add(r.id); else now.delete(r.id);
        model.set("selected", (t.rows || []).map((x) => x.id).filter((id) => now.has(id)));
        model.save_changes();
      });
      return h("tr", { class: `xt-row xt-${r.status || ""}${selected.has(r.id) ? " xt-selected" : ""}`, "data-id": r.id },
        h("td", {}, box), r.cells.map((v, i) => h("td", { class: t.numeric && t.numeric[i] ? "xt-num" : "" }, v)));
    });
    const n = selected.size;
    const footer = h("div", { class: "xt-bar" },
      h("button", { class: "xt-btn xt-compare-btn", disabled: n < 2, onclick: () => model.send({ type: "compare" }) },
        n < 2 ? "Compare (select 2 or more)" : `Compare ${n} runs`),
      h("span", { class: "xt-muted xt-count" }, `${fmt(t.shown || 0)} of ${fmt(t.total || 0)} runs`));
    const parts = [];
    const err = errorLine(model);
    if (err) parts.push(err);
    parts.push(h("div", { class: "xt-scroll" }, h("table", { class: "xt-table" }, h("thead", {}, head), h("tbody", {}, rows))), footer);
    const cmp = model.get("compare");
    if (cmp && cmp.labels) parts.push(renderComparison(cmp));
    body.replaceChildren(...parts);
  };
  const later = scheduler(draw);
  for (const name of ["table", "selected", "compare", "error"]) model.on(`change:${name}`, later);
  model.on("change:filter", () => { input.value = model.get("filter") || ""; });
  draw();
}

// -- sweep / AutoML progress -----------------------------------------------------------
function renderProgress(model, el) {
  const root = h("div", { class: "xt-progress" });
  el.append(root);
  const draw = () => {
    const p = model.get("progress") || {};
    const stopping = model.get("stop_requested") || p.stopping;
    const counts = p.counts || {};
    const head = h("div", { class: "xt-head" }, h("b", {}, p.title || "sweep"),
      h("span", { class: "xt-muted" }, `${p.total || 0} trials`),
      Object.entries(counts).filter(([, n]) => n).map(([st, n]) => h("span", { class: `xt-chip xt-${st}` }, `${n} ${st}`)),
      h("span", { class: "xt-spacer" }),
      h("button", { class: "xt-btn xt-stop", disabled: p.finished || stopping,
        title: "stop after the running trials (a sweep that holds the kernel hears this when its cell ends: interrupt the kernel to stop it at once)",
        onclick: () => { model.set("stop_requested", true); model.save_changes(); model.send({ type: "stop" }); } },
        p.finished ? "Finished" : stopping ? "Stopping…" : "Stop"));
    const best = p.best ? h("div", { class: "xt-best-line" }, `best ${p.metric} = `, h("b", {}, p.best.value_text),
      ` (trial ${p.best.number}) `, h("span", { class: "xt-muted" },
        Object.entries(p.best.params || {}).map(([k, v]) => `${k}=${v}`).join(" "))) : null;
    const vals = p.values || [], curve = p.curve || [];
    // Trials as dots (pruned and failed hollow), the best so far as a step line.
    const trials = (keep) => { const vs = vals.filter((v) => keep(v[2])); return { step: vs.map((v) => v[0]), value: vs.map((v) => v[1]) }; };
    const bad = (st) => st === "pruned" || st === "failed";
    const lines = [
      { label: "trial", ...trials((st) => !bad(st)), style: "points", color: color(0) },
      { label: "pruned or failed trial", ...trials(bad), style: "points", hollow: true, color: color(0) },
    ].filter((ln) => ln.value.length);
    if (curve.length) lines.push({ label: "best so far", step: curve.map((c) => c[0]), value: curve.map((c) => c[1]), style: "step", color: color(1) });
    const chartBox = vals.length ? h("div", { class: "xt-panel xt-progress-chart" }, h("div", { class: "xt-chart-title" }, `${p.metric} (${p.direction})`),
      plot(lines, { title: p.metric || "value", xTitle: "trial", width: 420, height: 170 })) : null;
    const cols = ["trial", "state", p.metric || "value", ...(p.param_keys || []), "duration"];
    const table = h("div", { class: "xt-scroll xt-short" }, h("table", { class: "xt-table" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, (p.rows || []).map((r) => h("tr", { class: `xt-${r.state}${r.best ? " xt-best" : ""}` },
        h("td", {}, r.number), h("td", {}, r.state), h("td", { class: "xt-num" }, r.value === null ? "—" : r.value_text),
        r.params.map((v) => h("td", {}, v)), h("td", { class: "xt-muted" }, r.duration))))));
    root.replaceChildren(head, best || "", chartBox || "", table, errorLine(model) || "");
  };
  const later = scheduler(draw);
  for (const name of ["progress", "stop_requested", "error"]) model.on(`change:${name}`, later);
  draw();
}

const VIEWS = { live: renderLive, card: renderCard, table: renderTable, compare: renderCompare, progress: renderProgress };

export default {
  render({ model, el }) {
    el.classList.add("xtrack-view");
    const view = VIEWS[model.get("view")];
    if (!view) {
      el.textContent = `xtrack: unknown view ${model.get("view")}`;
      return;
    }
    view(model, el);
  },
};

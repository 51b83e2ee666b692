// jupyter_xtrack in-notebook views: live metrics, run card, run table, compare, progress.
// One plain ES module for anywidget; the Python model's `view` trait picks the view.
// No network, no bundler: charts are SVG drawn here.

const SVG_NS = "http://www.w3.org/2000/svg";
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

function s(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") el.textContent = v;
    else el.setAttribute(k, String(v));
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

function fmtDuration(sec) {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return "?";
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 60) return `${Number(sec.toPrecision(3))} s`;
  const m = Math.floor(Math.round(sec) / 60), r = Math.round(sec) % 60;
  if (m < 60) return `${m} min ${String(r).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

function niceTicks(lo, hi, count = 4) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

// -- the chart: lines (with optional min..max band), step lines, markers --------------
// lines: [{label, xs, ys, lo?, hi?, step?, markers?, color?, state?}]
function chart(lines, opts = {}) {
  const W = opts.width || 300, H = opts.height || 150;
  const m = { l: 48, r: 8, t: opts.title ? 18 : 6, b: 20 };
  const svg = s("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "xt-chart" });
  if (opts.title) svg.append(s("text", { x: 4, y: 12, class: "xt-chart-title", text: opts.title }));
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const ln of lines) {
    for (let i = 0; i < ln.xs.length; i++) {
      const x = ln.xs[i];
      const ys = [ln.ys[i], ln.lo ? ln.lo[i] : NaN, ln.hi ? ln.hi[i] : NaN];
      if (!Number.isFinite(x)) continue;
      for (const y of ys) {
        if (!Number.isFinite(y)) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (!Number.isFinite(x0)) return svg;
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) { const d = Math.abs(y0) * 0.05 || 1; y0 -= d; y1 += d; }
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const X = (x) => m.l + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y) => m.t + ph - ((y - y0) / (y1 - y0)) * ph;
  const axis = s("g", { class: "xt-axis" });
  axis.append(s("rect", { x: m.l, y: m.t, width: pw, height: ph, class: "xt-frame" }));
  for (const t of niceTicks(y0, y1, 3)) {
    axis.append(s("line", { x1: m.l, x2: m.l + pw, y1: Y(t), y2: Y(t), class: "xt-grid" }));
    axis.append(s("text", { x: m.l - 4, y: Y(t) + 3, "text-anchor": "end", text: fmt(t, 3) }));
  }
  const xf = opts.xFormat || ((v) => fmt(v, 3));
  for (const t of niceTicks(x0, x1, 4)) {
    axis.append(s("text", { x: X(t), y: H - 6, "text-anchor": "middle", text: xf(t) }));
  }
  svg.append(axis);
  lines.forEach((ln, j) => {
    const color = ln.color || PALETTE[j % PALETTE.length];
    if (ln.lo && ln.hi) {
      let up = "", down = "";
      for (let i = 0; i < ln.xs.length; i++) {
        if (!Number.isFinite(ln.xs[i]) || !Number.isFinite(ln.lo[i]) || !Number.isFinite(ln.hi[i])) continue;
        up += `${up ? "L" : "M"}${X(ln.xs[i]).toFixed(1)},${Y(ln.hi[i]).toFixed(1)}`;
        down = `L${X(ln.xs[i]).toFixed(1)},${Y(ln.lo[i]).toFixed(1)}` + down;
      }
      if (up) svg.append(s("path", { d: up + down + "Z", fill: color, opacity: 0.18, class: "xt-band" }));
    }
    if (ln.markers) {
      const g = s("g", { class: "xt-markers" });
      for (let i = 0; i < ln.xs.length; i++) {
        if (!Number.isFinite(ln.xs[i]) || !Number.isFinite(ln.ys[i])) continue;
        const st = ln.states ? ln.states[i] : "";
        g.append(s("circle", { cx: X(ln.xs[i]).toFixed(1), cy: Y(ln.ys[i]).toFixed(1), r: 2.5,
          fill: st === "pruned" || st === "failed" ? "none" : color, stroke: color, class: `xt-dot xt-${st}` }));
      }
      svg.append(g);
      return;
    }
    let d = "", prevY = null;
    for (let i = 0; i < ln.xs.length; i++) {
      if (!Number.isFinite(ln.xs[i]) || !Number.isFinite(ln.ys[i])) continue;
      const px = X(ln.xs[i]).toFixed(1), py = Y(ln.ys[i]).toFixed(1);
      if (!d) d = `M${px},${py}`;
      else d += ln.step ? `H${px}V${py}` : `L${px},${py}`;
      prevY = py;
    }
    if (d) svg.append(s("path", { d, fill: "none", stroke: color, "stroke-width": 1.5, class: "xt-line", "data-label": ln.label || "" }));
  });
  if (lines.length > 1 && opts.legend !== false) {
    const lg = s("g", { class: "xt-legend" });
    lines.forEach((ln, j) => {
      const y = m.t + 10 + j * 11;
      lg.append(s("rect", { x: m.l + 6, y: y - 6, width: 8, height: 3, fill: ln.color || PALETTE[j % PALETTE.length] }));
      lg.append(s("text", { x: m.l + 18, y, text: ln.label || "" }));
    });
    svg.append(lg);
  }
  return svg;
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
  const root = h("div", { class: "xt-live" });
  el.append(root);
  const draw = () => {
    const { meta, series } = unpack(model);
    const t0 = meta.t0 || 0;
    const running = meta.status !== "done";
    const toggle = (name) => h("button", {
      class: `xt-toggle${axis === name ? " xt-on" : ""}`, "data-axis": name,
      onclick: () => { axis = name; draw(); } }, name);
    const head = h("div", { class: "xt-head" },
      h("span", { class: running ? "xt-pulse" : "xt-done", title: running ? "live" : "done" }, running ? "●" : "✓"),
      h("b", {}, meta.run || "run"),
      h("span", { class: "xt-muted xt-points" }, `${fmt(meta.points || 0)} points`),
      h("span", { class: "xt-spacer" }),
      h("span", { class: "xt-muted" }, "x:"), toggle("step"), toggle("time"));
    const latest = meta.latest || {};
    const values = h("div", { class: "xt-values" },
      Object.keys(latest).map((k) => h("span", { class: "xt-value", "data-key": k },
        h("span", { class: "xt-muted" }, k), " ", h("b", {}, fmt(latest[k])))));
    const grid = h("div", { class: "xt-grid-charts" });
    for (const key of meta.keys || []) {
      const sr = series[key];
      if (!sr || sr.n < 2) continue;
      const xs = axis === "time" ? Array.from(sr.time, (t) => t - t0) : sr.step;
      grid.append(h("div", { class: "xt-panel", "data-key": key },
        chart([{ label: key, xs, ys: sr.mean, lo: sr.lo, hi: sr.hi }],
          { title: `${key}  ${fmt(latest[key])}`, xFormat: axis === "time" ? (v) => fmtDuration(v) : undefined })));
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
    h("th", {}, h("span", { class: "xt-swatch", style: `background:${PALETTE[j % PALETTE.length]}` }), l)))));
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
      grid.append(h("div", { class: "xt-panel", "data-key": hm.key }, chart(
        hm.runs.map((r) => ({ label: r.label, xs: r.xs, ys: r.ys, color: PALETTE[r.index % PALETTE.length] })),
        { title: hm.key })));
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
    const lines = [{ label: "trials", xs: vals.map((v) => v[0]), ys: vals.map((v) => v[1]), states: vals.map((v) => v[2]), markers: true }];
    if (curve.length) lines.push({ label: "best so far", xs: curve.map((c) => c[0]), ys: curve.map((c) => c[1]), step: true });
    const plot = vals.length ? h("div", { class: "xt-panel" }, chart(lines, { width: 420, height: 170, title: `${p.metric} (${p.direction})` })) : null;
    const cols = ["trial", "state", p.metric || "value", ...(p.param_keys || []), "duration"];
    const table = h("div", { class: "xt-scroll xt-short" }, h("table", { class: "xt-table" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, (p.rows || []).map((r) => h("tr", { class: `xt-${r.state}${r.best ? " xt-best" : ""}` },
        h("td", {}, r.number), h("td", {}, r.state), h("td", { class: "xt-num" }, r.value === null ? "—" : r.value_text),
        r.params.map((v) => h("td", {}, v)), h("td", { class: "xt-muted" }, r.duration))))));
    root.replaceChildren(head, best || "", plot || "", table, errorLine(model) || "");
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

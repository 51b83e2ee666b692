/**
 * The one chart module of the sidebar and of the in-notebook views: metric histories drawn
 * by uPlot (canvas; 100 runs x 10,000 points draw in tens of milliseconds, where SVG paths
 * of that size take seconds), with what a daily user reaches for: hover values across runs,
 * drag to zoom and double-click (or `resetZoom`) to reset, log y, smoothing, x as step /
 * wall time / time since the run started, axis titles, groups as mean with a min-max band,
 * a palette for 100 runs, and single-step metrics as dots on a real axis.
 *
 * No React and no JupyterLab here: the npm build also bundles this file (uPlot included)
 * into jupyter_xtrack/views/static/chartcore.js, which the anywidget views load without a
 * build step of their own (see webpack.views.config.js and views/models.py).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** What the x axis measures. */
export type XMode = 'step' | 'time' | 'relative';

/** How a series is drawn. */
export type SeriesStyle = 'line' | 'points' | 'step';

/** One run's history of one metric (or any x/y series). */
export interface IChartSeries {
  label: string;
  /** Steps (x in 'step' mode); null entries fall back to the point's index. */
  step: ArrayLike<number | null>;
  value: ArrayLike<number | null>;
  /** Wall-clock seconds since the epoch, for 'time' and 'relative' x. */
  time?: ArrayLike<number>;
  /** Lower and upper envelope of a downsampled history (drawn as a band). */
  lo?: ArrayLike<number | null>;
  hi?: ArrayLike<number | null>;
  color?: string;
  /** Runs with the same group are drawn together as mean with a min-max band. */
  group?: string;
  style?: SeriesStyle;
  /** Points drawn hollow (e.g. pruned trials). */
  hollow?: boolean;
}

export interface IChartOptions {
  /** The metric's name: the y axis title and the chart's accessible name. */
  title: string;
  xMode?: XMode;
  logY?: boolean;
  /** Exponential moving average weight, 0 (none) to 0.99 (as TensorBoard and W&B). */
  smoothing?: number;
  /** Draw groups (series with `group`) as mean and min-max band instead of each run. */
  grouped?: boolean;
  /** The x axis title when it is not what xMode says (e.g. "trial"). */
  xTitle?: string;
  width?: number;
  height?: number;
}

/** A chart on the page: redraw with new data or options, reset its zoom, remove it. */
export interface IChartHandle {
  update(series: IChartSeries[], options: IChartOptions): void;
  resetZoom(): void;
  setWidth(width: number): void;
  destroy(): void;
}

// Okabe-Ito first (colour-blind safe, same as static_chart.py), then hues a golden angle
// apart with alternating lightness, so that 100 neighbouring runs stay told apart.
const BASE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#7f7f7f'];

/** The colour of series `i` of many; lighter on a dark background. */
export function seriesColor(i: number, dark = false): string {
  if (i < BASE.length) {
    return BASE[i];
  }
  const k = i - BASE.length;
  const hue = Math.round((k * 137.508 + 200) % 360);
  const light = [dark ? 62 : 42, dark ? 74 : 55, dark ? 52 : 34][k % 3];
  const sat = [70, 55, 85][Math.floor(k / 3) % 3];
  return `hsl(${hue}, ${sat}%, ${light}%)`;
}

/** Debiased exponential moving average (TensorBoard's), skipping missing values. */
export function smooth(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out: (number | null)[] = new Array(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = weight > 0 ? last / (1 - Math.pow(weight, n)) : v;
  }
  return out;
}

/** Whether an axis of these values reads better on a log scale: all positive and spread
 * over two decades or more (a learning rate sampled log-uniform, a 1/step loss). */
export function prefersLog(values: ArrayLike<number | null>): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      continue;
    }
    if (v <= 0) {
      return false;
    }
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi > lo && hi / lo >= 100;
}

/** A number as text: 4 significant digits, exponent for very large or small. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) {
    return '—';
  }
  if (!Number.isFinite(v)) {
    return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  }
  const mag = Math.abs(v);
  if (v === 0 || (Number.isInteger(v) && mag < 1e6)) {
    return v.toLocaleString('en-US');
  }
  if (mag >= 1e6 || mag < 1e-3) {
    return v.toExponential(3);
  }
  return String(Number(v.toPrecision(4)));
}

/** Seconds as a short duration (relative time axis and its hover). */
export function formatSeconds(s: number): string {
  const a = Math.abs(s);
  if (a < 60) {
    return `${Number(s.toPrecision(3))} s`;
  }
  if (a < 3600) {
    return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')}`;
  }
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')}`;
}

/** The x values of a series in a mode. */
function xsOf(s: IChartSeries, mode: XMode): number[] {
  const n = s.value.length;
  const xs = new Array<number>(n);
  const t0 = s.time && s.time.length ? s.time[0] : 0;
  for (let i = 0; i < n; i++) {
    if (mode === 'step' || !s.time) {
      const st = s.step[i];
      xs[i] = st === null || st === undefined ? i : st;
    } else {
      xs[i] = mode === 'time' ? s.time[i] : s.time[i] - t0;
    }
  }
  return xs;
}

/** Above this many cells (x values times series) the union of x values is resampled onto a
 * shared grid: runs logged at their own wall times would otherwise make it quadratic. */
const MAX_CELLS = 4_000_000;
const GRID = 2000;

interface IAligned {
  x: number[];
  ys: (number | null)[][];
}

/** All series on one x array (uPlot's data layout): the union of their x values, each
 * series null where it has no point, or a shared grid when that union is too large. */
export function align(columns: { xs: number[]; ys: (number | null)[] }[]): IAligned {
  if (sharedXs(columns)) {
    return { x: columns[0].xs, ys: columns.map(c => c.ys) };
  }
  const all = new Set<number>();
  for (const c of columns) {
    for (const x of c.xs) {
      if (Number.isFinite(x)) {
        all.add(x);
      }
    }
  }
  let x = [...all].sort((a, b) => a - b);
  const gridded = x.length * columns.length > MAX_CELLS;
  if (gridded) {
    const lo = x[0];
    const step = (x[x.length - 1] - lo) / (GRID - 1) || 1;
    x = Array.from({ length: GRID }, (_, i) => lo + i * step);
  }
  const index = new Map<number, number>();
  x.forEach((v, i) => index.set(v, i));
  const ys = columns.map(c => {
    const out: (number | null)[] = new Array(x.length).fill(null);
    for (let i = 0; i < c.xs.length; i++) {
      const xi = c.xs[i];
      if (!Number.isFinite(xi)) {
        continue;
      }
      const j = gridded
        ? Math.round((xi - x[0]) / ((x[x.length - 1] - x[0]) / (GRID - 1) || 1))
        : (index.get(xi) as number);
      out[j] = c.ys[i];
    }
    return out;
  });
  return { x, ys };
}

/** Whether every column has the same increasing x values (runs logged at the same steps,
 * the common case): then they are aligned as they are, with no union to build. */
function sharedXs(columns: { xs: number[] }[]): boolean {
  if (!columns.length) {
    return false;
  }
  const first = columns[0].xs;
  for (let i = 1; i < first.length; i++) {
    if (!(first[i] > first[i - 1])) {
      return false;
    }
  }
  return columns.every(c => c.xs === first || (c.xs.length === first.length && c.xs.every((x, i) => x === first[i])));
}

/** Per x: mean, min and max over the given columns (null where none has a value). */
export function groupStats(ys: (number | null)[][]): { mean: (number | null)[]; lo: (number | null)[]; hi: (number | null)[] } {
  const n = ys.length ? ys[0].length : 0;
  const mean: (number | null)[] = new Array(n).fill(null);
  const lo: (number | null)[] = new Array(n).fill(null);
  const hi: (number | null)[] = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let k = 0;
    for (const col of ys) {
      const v = col[i];
      if (v === null || !Number.isFinite(v)) {
        continue;
      }
      sum += v;
      k++;
      lo[i] = lo[i] === null ? v : Math.min(lo[i] as number, v);
      hi[i] = hi[i] === null ? v : Math.max(hi[i] as number, v);
    }
    mean[i] = k ? sum / k : null;
  }
  return { mean, lo, hi };
}

/** The theme's colours, read from the element (JupyterLab, then VS Code, then light). */
function themeOf(el: HTMLElement): { fg: string; muted: string; grid: string; dark: boolean } {
  const css = getComputedStyle(el);
  const v = (names: string[], fallback: string) => {
    for (const n of names) {
      const got = css.getPropertyValue(n).trim();
      if (got) {
        return got;
      }
    }
    return fallback;
  };
  const dark =
    document.body?.dataset?.jpThemeLight === 'false' ||
    document.body?.classList?.contains('vscode-dark') === true;
  return {
    fg: v(['--jp-ui-font-color1', '--vscode-editor-foreground'], dark ? '#e6e6e6' : '#1f2328'),
    muted: v(['--jp-ui-font-color2', '--vscode-descriptionForeground'], dark ? '#aaaaaa' : '#656d76'),
    grid: dark ? 'rgba(255,255,255,0.10)' : 'rgba(0,0,0,0.08)',
    dark
  };
}

/** One drawn uPlot series: where it comes from and how it looks. */
interface IDrawn {
  label: string;
  color: string;
  ys: (number | null)[];
  style: SeriesStyle;
  hollow?: boolean;
  /** A band edge: drawn as fill only, left out of hover. */
  edge?: boolean;
  width?: number;
}

interface IPlan {
  x: number[];
  drawn: IDrawn[];
  bands: uPlot.Band[];
  /** Each run is one dot at its own x (metrics logged once): x is the run's index. */
  categorical: string[] | null;
  note: string;
}

/** Turn the input into uPlot's columns: smoothing, log filtering, groups and bands. */
function plan(series: IChartSeries[], o: IChartOptions, dark: boolean): IPlan {
  const mode = o.xMode ?? 'step';
  const notes: string[] = [];
  const positive = (v: number | null) => (o.logY && v !== null && v <= 0 ? null : v);
  const single = series.length > 0 && series.every(s => finiteCount(s.value) <= 1);
  if (single) {
    // A metric logged once per run: one dot per run on a real y axis, runs along x.
    const drawn = series.map((s, i) => {
      const ys: (number | null)[] = new Array(series.length).fill(null);
      const v = lastFinite(s.value);
      ys[i] = v === null ? null : positive(v);
      return { label: s.label, color: s.color ?? seriesColor(i, dark), ys, style: 'points' as SeriesStyle };
    });
    return { x: series.map((_, i) => i), drawn, bands: [], categorical: series.map(s => s.label), note: '' };
  }
  const w = Math.min(Math.max(o.smoothing ?? 0, 0), 0.99);
  const cols = series.map(s => {
    const raw = Array.from(s.value, v => positive(v as number | null));
    return { xs: xsOf(s, mode), ys: w > 0 && (s.style ?? 'line') === 'line' ? smooth(raw, w) : raw };
  });
  const edges = series.map(s => (s.lo && s.hi ? { lo: Array.from(s.lo, positive), hi: Array.from(s.hi, positive) } : null));
  const edgeCols = edges.flatMap((e, i) => (e ? [{ xs: cols[i].xs, ys: e.lo }, { xs: cols[i].xs, ys: e.hi }] : []));
  const aligned = align([...cols, ...edgeCols]);
  const drawn: IDrawn[] = [];
  const bands: uPlot.Band[] = [];
  const withBand = (label: string, color: string, mean: (number | null)[], lo: (number | null)[], hi: (number | null)[]) => {
    drawn.push({ label, color, ys: mean, style: 'line', width: 2 });
    drawn.push({ label: `${label} max`, color, ys: hi, style: 'line', edge: true });
    drawn.push({ label: `${label} min`, color, ys: lo, style: 'line', edge: true });
    // uPlot counts series from 1 (0 is x).
    bands.push({ series: [drawn.length - 1, drawn.length], fill: fade(color, 0.18) });
  };
  const groups = o.grouped ? [...new Set(series.map(s => s.group).filter((g): g is string => !!g))] : [];
  if (groups.length) {
    groups.forEach((g, gi) => {
      const members = series.map((s, i) => (s.group === g ? i : -1)).filter(i => i >= 0);
      const st = groupStats(members.map(i => aligned.ys[i]));
      withBand(`${g} (${members.length})`, seriesColor(gi, dark), st.mean, st.lo, st.hi);
    });
    series.forEach((s, i) => {
      if (!s.group) {
        drawn.push({ label: s.label, color: s.color ?? seriesColor(groups.length + i, dark), ys: aligned.ys[i], style: s.style ?? 'line' });
      }
    });
    notes.push('groups: mean, band min to max');
  } else {
    let e = series.length;
    series.forEach((s, i) => {
      const color = s.color ?? seriesColor(i, dark);
      if (edges[i]) {
        withBand(s.label, color, aligned.ys[i], aligned.ys[e], aligned.ys[e + 1]);
        e += 2;
      } else {
        drawn.push({ label: s.label, color, ys: aligned.ys[i], style: s.style ?? 'line', hollow: s.hollow });
      }
    });
  }
  if (w > 0) {
    notes.push(`smoothed ${w}`);
  }
  if (o.logY && series.some(s => Array.from(s.value).some(v => v !== null && (v as number) <= 0))) {
    notes.push('log y: values ≤ 0 left out');
  }
  return { x: aligned.x, drawn, bands, categorical: null, note: notes.join(' · ') };
}

function finiteCount(values: ArrayLike<number | null>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && Number.isFinite(v)) {
      n++;
    }
  }
  return n;
}

function lastFinite(values: ArrayLike<number | null>): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && Number.isFinite(v)) {
      return v;
    }
  }
  return null;
}

/** A CSS colour with transparency (hex or hsl). */
function fade(color: string, alpha: number): string {
  if (color.startsWith('#') && color.length === 7) {
    const n = parseInt(color.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return color.replace(/^hsl\((.*)\)$/, `hsla($1, ${alpha})`);
}

const X_TITLE: Record<XMode, string> = { step: 'step', time: 'time', relative: 'time since start' };

/** uPlot's options for a plan. */
function uplotOptions(p: IPlan, o: IChartOptions, theme: ReturnType<typeof themeOf>, width: number,
  onCursor: (u: uPlot) => void): uPlot.Options {
  const mode = o.xMode ?? 'step';
  const axis = (label: string): uPlot.Axis => ({
    label,
    stroke: theme.muted,
    labelFont: '600 11px sans-serif',
    font: '10px sans-serif',
    labelSize: 16,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1, size: 4 }
  });
  const xAxis = axis(p.categorical ? 'run' : o.xTitle ?? X_TITLE[mode]);
  if (p.categorical) {
    const names = p.categorical;
    xAxis.splits = () => names.map((_, i) => i);
    xAxis.values = (_u, splits) => splits.map(i => (names.length <= 12 ? names[i] ?? '' : `${i + 1}`));
  } else if (mode === 'relative') {
    xAxis.values = (_u, splits) => splits.map(formatSeconds);
  }
  const yAxis = axis(o.title);
  yAxis.size = 52;
  yAxis.values = (_u, splits) => splits.map(formatNumber);
  const many = p.drawn.length > 20;
  const series: uPlot.Series[] = [
    { label: X_TITLE[mode] },
    ...p.drawn.map((d): uPlot.Series => ({
      label: d.label,
      stroke: d.edge ? 'transparent' : d.color,
      width: d.edge ? 0 : d.width ?? (many ? 1 : 1.5),
      spanGaps: true,
      paths: d.style === 'points' ? () => null : d.style === 'step' ? uPlot.paths.stepped!({ align: 1 }) : undefined,
      points: d.style === 'points' || p.categorical
        ? { show: true, size: p.categorical ? 9 : 6, stroke: d.color, fill: d.hollow ? 'transparent' : d.color, width: 1.5 }
        : { show: false }
    }))
  ];
  const xr = p.categorical ? { range: [-0.5, p.categorical.length - 0.5] as uPlot.Range.MinMax } : {};
  return {
    width,
    height: o.height ?? 200,
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: true }, points: { show: !many } },
    scales: {
      x: { time: mode === 'time' && !p.categorical, ...xr },
      y: o.logY ? { distr: 3, log: 10 } : {}
    },
    axes: [xAxis, yAxis],
    series,
    bands: p.bands,
    hooks: { setCursor: [onCursor] }
  };
}

/** The hover box: x, then the values of the series under the cursor, highest first. */
function tooltipRows(u: uPlot, p: IPlan, o: IChartOptions): { head: string; rows: [string, string, number][] } | null {
  const idx = u.cursor.idx;
  if (idx === null || idx === undefined) {
    return null;
  }
  const x = p.x[idx];
  const mode = o.xMode ?? 'step';
  const head = p.categorical ? p.categorical[idx] ?? ''
    : mode === 'time' ? new Date(x * 1000).toLocaleString()
      : mode === 'relative' ? formatSeconds(x) : `${o.xTitle ?? 'step'} ${formatNumber(x)}`;
  const rows: [string, string, number][] = [];
  p.drawn.forEach(d => {
    const v = d.ys[idx];
    if (!d.edge && v !== null && v !== undefined && Number.isFinite(v)) {
      rows.push([d.color, d.label, v]);
    }
  });
  rows.sort((a, b) => b[2] - a[2]);
  return { head, rows };
}

const TIP_ROWS = 12;

// The chart's own rules, shared by the sidebar and the in-notebook views (one stylesheet
// per document). Colours come from JupyterLab's theme, then VS Code's, then light defaults.
const STYLE = `
.xt-uchart { position: relative; }
.xt-uchart .uplot { font-family: var(--jp-ui-font-family, var(--vscode-font-family, sans-serif)); }
.xt-uchart .u-select { background: var(--jp-brand-color3, rgba(25, 118, 210, 0.15)); }
.xt-uchart-tip { position: absolute; top: 4px; z-index: 5; pointer-events: none; max-width: 70%;
  font-size: 11px; line-height: 1.35; padding: 4px 6px; border-radius: 3px; white-space: nowrap; overflow: hidden;
  color: var(--jp-ui-font-color1, var(--vscode-editor-foreground, #1f2328));
  background: var(--jp-layout-color0, var(--vscode-editorWidget-background, #fff));
  border: 1px solid var(--jp-border-color1, rgba(127, 127, 127, 0.5)); box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25); }
.xt-uchart-tip-head { font-weight: 600; margin-bottom: 2px; }
.xt-uchart-swatch { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 4px; }
.xt-uchart-note { font-size: 10px; color: var(--jp-ui-font-color2, var(--vscode-descriptionForeground, #656d76)); min-height: 0; }
`;

function ensureStyle(doc: Document): void {
  if (!doc.getElementById('xt-uchart-style')) {
    const style = doc.createElement('style');
    style.id = 'xt-uchart-style';
    style.textContent = STYLE;
    doc.head.append(style);
  }
}

/** Draw series into `el` (emptied first). The element gets the chart's data attributes,
 * which tests and screen readers read: data-series, data-points, data-log, data-x. */
export function createChart(el: HTMLElement, series: IChartSeries[], options: IChartOptions): IChartHandle {
  let u: uPlot | null = null;
  let current: IPlan | null = null;
  let opts = options;
  ensureStyle(el.ownerDocument);
  el.classList.add('xt-uchart');
  el.replaceChildren();
  const plotHost = document.createElement('div');
  const tip = document.createElement('div');
  tip.className = 'xt-uchart-tip';
  tip.style.display = 'none';
  const note = document.createElement('div');
  note.className = 'xt-uchart-note';
  el.append(plotHost, tip, note);

  const onCursor = (chart: uPlot) => {
    if (!current) {
      return;
    }
    const got = tooltipRows(chart, current, opts);
    if (!got || !got.rows.length || chart.cursor.left === undefined || chart.cursor.left < 0) {
      tip.style.display = 'none';
      return;
    }
    const head = document.createElement('div');
    head.className = 'xt-uchart-tip-head';
    head.textContent = got.head;
    const lines = got.rows.slice(0, TIP_ROWS).map(([color, label, v]) => {
      const row = document.createElement('div');
      const sw = document.createElement('span');
      sw.className = 'xt-uchart-swatch';
      sw.style.background = color;
      const b = document.createElement('b');
      b.textContent = formatNumber(v);
      row.append(sw, `${label} `, b);
      return row;
    });
    tip.replaceChildren(head, ...lines);
    if (got.rows.length > TIP_ROWS) {
      const more = document.createElement('div');
      more.textContent = `… ${got.rows.length - TIP_ROWS} more`;
      tip.append(more);
    }
    tip.style.display = 'block';
    // Beside the cursor, flipped to its left past the chart's middle, inside the plot.
    const left = chart.bbox.left / devicePixelRatio + (chart.cursor.left ?? 0);
    const half = chart.width / 2;
    tip.style.left = left < half ? `${left + 12}px` : '';
    tip.style.right = left < half ? '' : `${chart.width - left + 12}px`;
  };

  const draw = () => {
    const theme = themeOf(el);
    current = plan(series, opts, theme.dark);
    const p = current;
    const width = opts.width ?? Math.max(el.clientWidth || 0, 220);
    u?.destroy();
    const data = [p.x, ...p.drawn.map(d => d.ys)] as uPlot.AlignedData;
    u = new uPlot(uplotOptions(p, opts, theme, width, onCursor), data, plotHost);
    u.over.addEventListener('mouseleave', () => (tip.style.display = 'none'));
    note.textContent = p.note;
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', opts.title);
    el.dataset.series = String(p.drawn.filter(d => !d.edge).length);
    el.dataset.points = String(p.drawn.reduce((n, d) => n + (d.edge ? 0 : finiteCount(d.ys)), 0));
    el.dataset.log = opts.logY ? 'y' : '';
    el.dataset.x = p.categorical ? 'run' : opts.xMode ?? 'step';
    el.dataset.bands = String(p.bands.length);
  };
  draw();
  return {
    update(next, nextOptions) {
      series = next;
      opts = nextOptions;
      draw();
    },
    resetZoom() {
      if (u && current) {
        u.setScale('x', { min: current.x[0], max: current.x[current.x.length - 1] });
      }
    },
    setWidth(width) {
      if (u && width > 0 && Math.abs(width - u.width) > 1) {
        u.setSize({ width, height: u.height });
      }
    },
    destroy() {
      u?.destroy();
      u = null;
      el.replaceChildren();
    }
  };
}

/** Parse a downsampled history as the REST API and the widgets send it. */
export function fromHistory(label: string, h: { step: (number | null)[]; value: unknown[]; time?: number[] }, extra: Partial<IChartSeries> = {}): IChartSeries {
  const value = h.value.map(v => (typeof v === 'number' ? v : v === null || v === undefined ? null : Number(v)));
  return { label, step: h.step, value: value.map(v => (v === null || Number.isNaN(v) ? null : v)), time: h.time, ...extra };
}

/** A numeric axis for hand-drawn views (parallel coordinates, scatter): value to 0..1, and
 * a few tick values; log when asked and every value is positive. */
export interface IUnitScale {
  log: boolean;
  lo: number;
  hi: number;
  unit(v: number): number;
  ticks: number[];
}

export function unitScale(values: ArrayLike<number | null>, log: boolean): IUnitScale {
  const finite = Array.from(values).filter((v): v is number => v !== null && Number.isFinite(v));
  const useLog = log && finite.length > 0 && finite.every(v => v > 0);
  const f = (v: number) => (useLog ? Math.log10(v) : v);
  let lo = finite.length ? Math.min(...finite.map(f)) : 0;
  let hi = finite.length ? Math.max(...finite.map(f)) : 1;
  if (hi === lo) {
    lo -= Math.abs(lo) * 0.05 || 0.5;
    hi += Math.abs(hi) * 0.05 || 0.5;
  }
  const ticks: number[] = [];
  if (useLog) {
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
      ticks.push(Math.pow(10, e));
    }
  }
  if (ticks.length < 2) {
    ticks.length = 0;
    for (let k = 0; k <= 4; k++) {
      const t = lo + ((hi - lo) * k) / 4;
      ticks.push(useLog ? Math.pow(10, t) : t);
    }
  }
  return { log: useLog, lo, hi, unit: v => (f(v) - lo) / (hi - lo), ticks };
}

/** The params a sweep sampled log-uniform, from its stored space
 * ("lr=loguniform(1e-4, 1e-1); depth=int(2, 12)"). */
export function logParamsOfSpace(space: string): string[] {
  return [...space.matchAll(/([\w.\-]+)\s*=\s*log(?:uniform|int)\s*\(/g)].map(m => m[1]);
}

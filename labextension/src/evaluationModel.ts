/**
 * The Evaluation section's data shaping, free of the DOM so jest can test it: the report
 * `xt.evaluate` records (facts.EvaluationFact, sent as the run detail's `evaluation`) turned
 * into table rows, a heat-mapped confusion matrix, chart series for the shared chart module
 * (chartcore.ts) with their reference lines, a sorted importance list, flagged slices, and,
 * for Compare, several runs' curves overlaid and their metrics side by side.
 */
import type { IChartSeries } from './chartcore';
import { Cell, toNumber } from './format';

export interface ICurve {
  label: string;
  x: Cell[];
  y: Cell[];
  area?: Cell;
}

export interface IClassMetrics {
  precision: Cell;
  recall: Cell;
  f1: Cell;
  support: Cell;
}

export interface ISlice {
  column: string;
  value: string;
  count: number;
  metrics: Record<string, Cell>;
  worse: string[];
  /** Why `metrics` is empty (a slice too small to score). */
  note?: string;
}

/** facts.EvaluationFact as the REST API sends it (non-finite numbers as "NaN", "Infinity"). */
export interface IEvaluation {
  model_type?: 'classifier' | 'regressor';
  model?: string;
  data?: string;
  n?: number;
  pos_label?: string | null;
  labels?: string[];
  metrics?: Record<string, Cell>;
  per_class?: Record<string, IClassMetrics>;
  confusion?: { labels?: string[]; matrix?: number[][] };
  curves?: Record<string, ICurve[]>;
  importance?: { feature: string; mean: Cell; std?: Cell }[];
  slices?: ISlice[];
  slice_margin?: number;
  artifacts?: Record<string, string>;
  /** What the budgeted permutation importance did (rows, repeats, skips). */
  importance_note?: string;
  /** `baseline=` (or the champion of compare_models) scored on the same data. */
  baseline?: { model?: string; metrics?: Record<string, Cell> };
  /** What was left out and why. */
  notes?: string[];
}

/** The run detail's evaluation, or null when the run has none (or it is not a report). */
export function evaluationOf(detail: object | null | undefined): IEvaluation | null {
  const ev = (detail as { evaluation?: unknown } | null | undefined)?.evaluation;
  if (!ev || typeof ev !== 'object' || Array.isArray(ev)) {
    return null;
  }
  const e = ev as IEvaluation;
  return e.metrics || e.curves || e.confusion ? e : null;
}

/** The section's count: how many metrics and plots the report holds. */
export function evaluationCount(ev: IEvaluation): string {
  const metrics = Object.keys(ev.metrics ?? {}).length;
  const plots = plotsOf(ev).length + (confusionOf(ev) ? 1 : 0);
  return `${metrics} metrics, ${plots} plots`;
}

/** One line saying what was evaluated on what: "LogisticRegression on X_test (n = 300),
 * positive class "yes"". */
export function evaluationSummary(ev: IEvaluation): string {
  const parts = [ev.model ?? ev.model_type ?? 'model'];
  if (ev.data) {
    parts.push(`on ${ev.data}`);
  }
  if (typeof ev.n === 'number') {
    parts.push(`(n = ${ev.n.toLocaleString('en-US')})`);
  }
  let text = parts.join(' ');
  if (ev.pos_label !== null && ev.pos_label !== undefined && ev.pos_label !== '') {
    text += `, positive class "${ev.pos_label}"`;
  }
  return text;
}

/** Per-class rows in the estimator's class order (then any class the order does not name). */
export function perClassRows(ev: IEvaluation): [string, IClassMetrics][] {
  const per = ev.per_class ?? {};
  const order = [...(ev.labels ?? []).filter(l => l in per), ...Object.keys(per).filter(l => !(ev.labels ?? []).includes(l))];
  return order.map(l => [l, per[l]]);
}

export interface IConfusionCell {
  count: number;
  /** The share of the row (the true class) this cell holds, 0..1. */
  share: number;
  correct: boolean;
}

export interface IConfusion {
  labels: string[];
  rows: { label: string; total: number; cells: IConfusionCell[] }[];
}

/** The confusion matrix (rows = true class) with each cell's share of its row, which the
 * heat map shades: a class with few examples reads as clearly as a large one. */
export function confusionOf(ev: IEvaluation): IConfusion | null {
  const m = ev.confusion?.matrix;
  if (!Array.isArray(m) || !m.length) {
    return null;
  }
  const labels = ev.confusion?.labels ?? ev.labels ?? m.map((_, i) => String(i));
  const rows = m.map((counts, i) => {
    const total = counts.reduce((a, b) => a + b, 0);
    return {
      label: labels[i] ?? String(i),
      total,
      cells: counts.map((count, j) => ({ count, share: total ? count / total : 0, correct: i === j }))
    };
  });
  return { labels, rows };
}

/** A curve's points as a chart wants them: finite, x increasing. Curves come as their
 * library gives them (a PR curve's recall decreases; residuals follow the data's order);
 * points that share an x (a ROC curve's vertical steps) are kept apart by a hair, so none
 * is lost when the chart lines several curves up on one x axis. */
export function orderedPoints(x: Cell[], y: Cell[]): { x: number[]; y: number[] } {
  const pts: [number, number][] = [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const a = toNumber(x[i]);
    const b = toNumber(y[i]);
    if (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b)) {
      pts.push([a, b]);
    }
  }
  if (pts.length > 1 && pts[0][0] > pts[pts.length - 1][0]) {
    pts.reverse();
  }
  // Array.prototype.sort is stable: points at the same x keep the curve's own order.
  pts.sort((p, q) => p[0] - q[0]);
  const span = pts.length ? pts[pts.length - 1][0] - pts[0][0] : 0;
  const hair = (Math.abs(span) || 1) * 1e-9;
  const xs: number[] = [];
  for (const [a] of pts) {
    xs.push(xs.length && a <= xs[xs.length - 1] ? xs[xs.length - 1] + hair : a);
  }
  return { x: xs, y: pts.map(p => p[1]) };
}

/** How each kind of curve is drawn: axis titles, what its area is called, its reference. */
interface IPlotKind {
  title: string;
  xTitle: string;
  yTitle: string;
  area?: string;
  points?: boolean;
  reference: (ev: IEvaluation, curves: ICurve[]) => IChartSeries | null;
}

const REFERENCE_COLOR = '#8c8c8c';

function line(label: string, x0: number, y0: number, x1: number, y1: number): IChartSeries {
  return { label, step: [x0, x1], value: [y0, y1], color: REFERENCE_COLOR };
}

/** The smallest and largest finite value over some curves' x and y (for y = x and y = 0). */
function extent(curves: ICurve[], axes: ('x' | 'y')[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of curves) {
    for (const axis of axes) {
      for (const v of c[axis] ?? []) {
        const n = toNumber(v);
        if (n !== null && Number.isFinite(n)) {
          lo = Math.min(lo, n);
          hi = Math.max(hi, n);
        }
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The positive class's share of the data (a binary PR curve's chance level), from the
 * confusion matrix's rows, or null when it cannot be told. */
export function positiveRate(ev: IEvaluation): number | null {
  const c = confusionOf(ev);
  if (!c || c.rows.length !== 2 || ev.pos_label === null || ev.pos_label === undefined) {
    return null;
  }
  const i = c.labels.indexOf(ev.pos_label);
  const n = c.rows.reduce((a, r) => a + r.total, 0);
  return i >= 0 && n ? c.rows[i].total / n : null;
}

export const PLOT_KINDS: Record<string, IPlotKind> = {
  roc: {
    title: 'ROC', xTitle: 'false positive rate', yTitle: 'true positive rate', area: 'AUC',
    reference: () => line('chance', 0, 0, 1, 1)
  },
  pr: {
    title: 'Precision-recall', xTitle: 'recall', yTitle: 'precision', area: 'AP',
    reference: ev => {
      const rate = positiveRate(ev);
      return rate === null ? null : line(`chance (positive rate ${formatShort(rate)})`, 0, rate, 1, rate);
    }
  },
  calibration: {
    title: 'Calibration', xTitle: 'mean predicted probability', yTitle: 'fraction of positives',
    reference: () => line('perfectly calibrated', 0, 0, 1, 1)
  },
  residuals: {
    title: 'Residuals', xTitle: 'predicted', yTitle: 'residual (actual − predicted)', points: true,
    reference: (_ev, curves) => {
      const e = extent(curves, ['x']);
      return e ? line('zero error', e[0], 0, e[1], 0) : null;
    }
  },
  predicted_actual: {
    title: 'Predicted vs actual', xTitle: 'actual', yTitle: 'predicted', points: true,
    reference: (_ev, curves) => {
      const e = extent(curves, ['x', 'y']);
      return e ? line('predicted = actual', e[0], e[0], e[1], e[1]) : null;
    }
  }
};

/** The order plots are shown in (classifiers' first, then regressors'). */
const PLOT_ORDER = ['roc', 'pr', 'calibration', 'residuals', 'predicted_actual'];

function formatShort(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** A curve's name in a legend: its class (when it has one) and its area, "yes (AUC 0.912)". */
export function curveLabel(curve: ICurve, areaName: string | undefined, prefix = ''): string {
  const name = [prefix, curve.label].filter(Boolean).join(' · ') || 'model';
  const area = toNumber(curve.area ?? null);
  return areaName && area !== null && Number.isFinite(area) ? `${name} (${areaName} ${formatShort(area)})` : name;
}

export interface IPlot {
  key: string;
  title: string;
  xTitle: string;
  yTitle: string;
  series: IChartSeries[];
  /** The reference line, last among `series` (null where none applies). */
  reference: IChartSeries | null;
}

/** A chart series of one curve. */
function curveSeries(curve: ICurve, kind: IPlotKind, label: string, color?: string): IChartSeries {
  const p = orderedPoints(curve.x ?? [], curve.y ?? []);
  return { label, step: p.x, value: p.y, color, style: kind.points ? 'points' : 'line' };
}

/** The report's curves as plots, one per kind, each curve a series named with its area
 * (AUC, AP), the reference line (chance, perfect calibration, zero error) last. Colours are
 * left to the chart's palette. */
export function plotsOf(ev: IEvaluation): IPlot[] {
  const curves = ev.curves ?? {};
  return PLOT_ORDER.filter(k => (curves[k] ?? []).length > 0).map(key => {
    const kind = PLOT_KINDS[key];
    const series = curves[key].map(c => curveSeries(c, kind, curveLabel(c, kind.area)));
    const reference = kind.reference(ev, curves[key]);
    return { key, title: kind.title, xTitle: kind.xTitle, yTitle: kind.yTitle, series: reference ? [...series, reference] : series, reference };
  });
}

/** The report's metrics as rows in the order it recorded them: name, value, and the
 * baseline model's value on the same data (null without a baseline or that metric). */
export function metricRows(ev: IEvaluation): [string, number | null, number | null][] {
  const base = ev.baseline?.metrics ?? {};
  return Object.entries(ev.metrics ?? {}).map(([k, v]) => [k, toNumber(v), toNumber(base[k] ?? null)]);
}

export interface IImportanceBar {
  feature: string;
  mean: number;
  std: number | null;
  /** The bar's length, 0..1 of the largest importance (0 for a feature that hurts). */
  width: number;
}

/** Permutation importance, most important first, with bar lengths against the largest. */
export function importanceBars(ev: IEvaluation): IImportanceBar[] {
  const rows = (ev.importance ?? [])
    .map(r => ({ feature: String(r.feature), mean: toNumber(r.mean), std: toNumber(r.std ?? null) }))
    .filter((r): r is { feature: string; mean: number; std: number | null } => r.mean !== null && Number.isFinite(r.mean));
  rows.sort((a, b) => b.mean - a.mean);
  const top = Math.max(0, ...rows.map(r => r.mean));
  return rows.map(r => ({ ...r, width: top > 0 ? Math.max(r.mean, 0) / top : 0 }));
}

export interface ISliceTable {
  metrics: string[];
  rows: (ISlice & { flagged: boolean })[];
}

/** A slice's row count, which MLflow's metric names include and the table has a column for. */
const COUNT_METRIC = 'example_count';

/** The slices as a table: every metric some slice has as a column (its count once), flagged
 * slices first (a slice is flagged when some metric is worse than on the whole data by the
 * margin). */
export function sliceTable(ev: IEvaluation): ISliceTable {
  const slices = ev.slices ?? [];
  const metrics = [...new Set(slices.flatMap(s => Object.keys(s.metrics ?? {})))].filter(m => m !== COUNT_METRIC);
  const rows = slices.map(s => ({ ...s, worse: s.worse ?? [], flagged: (s.worse ?? []).length > 0 }));
  rows.sort((a, b) => Number(b.flagged) - Number(a.flagged));
  return { metrics, rows };
}

// -- Compare: several runs' reports ------------------------------------------------------------

export interface IEvaluatedRun {
  /** The run's label in Compare ("#3 rf"). */
  label: string;
  /** Compare's colour for the run. */
  color: string;
  evaluation: IEvaluation;
}

/** The curve that stands for a run in an overlay: the only one, the positive class's, or the
 * average of a multiclass report's classes (macro, else micro; else its first class). */
export function representativeCurve(ev: IEvaluation, curves: ICurve[]): ICurve | null {
  if (curves.length <= 1) {
    return curves[0] ?? null;
  }
  const named = (label: string) => curves.find(c => c.label === label);
  return named('macro') ?? named('micro') ?? curves.find(c => c.label === ev.pos_label) ?? curves[0];
}

/** Each kind of curve the runs have, one series per run in its Compare colour (its name
 * saying which class it stands for, and its area), with the kind's reference line. */
export function overlayPlots(runs: IEvaluatedRun[]): IPlot[] {
  return PLOT_ORDER.flatMap(key => {
    const kind = PLOT_KINDS[key];
    const series: IChartSeries[] = [];
    const drawn: ICurve[] = [];
    for (const r of runs) {
      const all = r.evaluation.curves?.[key] ?? [];
      const curve = representativeCurve(r.evaluation, all);
      if (curve) {
        const shown = all.length > 1 ? curve : { ...curve, label: '' };
        series.push(curveSeries(curve, kind, curveLabel(shown, kind.area, r.label), r.color));
        drawn.push(curve);
      }
    }
    if (series.length < 2) {
      return [];
    }
    // A chance level that depends on the data (PR) is drawn only when the runs share it.
    const refs = runs.map(r => kind.reference(r.evaluation, drawn)).filter((s): s is IChartSeries => s !== null);
    const same = refs.length === runs.length && refs.every(s => s.label === refs[0].label);
    const reference = same ? refs[0] : null;
    return [{ key, title: kind.title, xTitle: kind.xTitle, yTitle: kind.yTitle, series: reference ? [...series, reference] : series, reference }];
  });
}

/** The runs' evaluation metrics side by side: every metric some run has, each run's value. */
export function metricsSideBySide(runs: IEvaluatedRun[]): { key: string; values: (number | null)[] }[] {
  const keys = [...new Set(runs.flatMap(r => Object.keys(r.evaluation.metrics ?? {})))];
  return keys.map(key => ({ key, values: runs.map(r => toNumber(r.evaluation.metrics?.[key] ?? null)) }));
}

/**
 * The sidebar's state logic, free of the DOM and of JupyterLab so jest can test it: the
 * API's types, run-table queries, sorting, column choice, grouping, the paged row cache
 * and compare-view helpers.
 */
import { Cell, toNumber } from './format';

export type RunStatus =
  | 'running'
  | 'finished'
  | 'failed'
  | 'interrupted'
  | 'killed'
  | 'crashed';

/** A run as one row of GET runs. */
export interface IRunRow {
  id: string;
  number: number;
  name: string | null;
  experiment: string;
  status: RunStatus;
  started_at: number;
  ended_at: number | null;
  duration_s: number | null;
  parent_id: string | null;
  kind: string;
  notebook_path: string | null;
  [column: string]: Cell;
}

export interface IRunPage {
  runs: IRunRow[];
  columns: string[];
  total: number;
  offset: number;
  limit: number;
  store_state: 'ok' | 'missing';
}

export interface IRunBrief {
  id: string;
  number: number;
  name: string | null;
  experiment: string;
  status: RunStatus;
}

export interface IRecordedFile {
  path: string;
  hash: string | null;
  size: number | null;
  status: string | null;
  producer?: IRunBrief | null;
}

export interface IArtifact {
  name: string;
  hash: string;
  size: number;
  media_type: string | null;
}

export interface IRunDetail extends IRunBrief {
  kind: string;
  parent_id: string | null;
  children: string[];
  started_at: number;
  ended_at: number | null;
  duration_s: number | null;
  notebook_path: string | null;
  cell_id: string | null;
  params: Record<string, Cell>;
  metrics: Record<string, Cell>;
  tags: Record<string, string>;
  inputs: IRecordedFile[];
  outputs: IRecordedFile[];
  artifacts: IArtifact[];
  code_text: string | null;
  git: {
    commit?: string | null;
    branch?: string | null;
    dirty?: boolean | null;
    diff?: string | null;
    [key: string]: Cell;
  } | null;
  env_full: Record<string, any> | null;
  stdout: string | null;
  stderr: string | null;
  parent: IRunBrief | null;
  metric_keys: string[];
  notebook_relpath: string | null;
  has_notebook: boolean;
  has_lineage: boolean;
  error?: { type?: string; message?: string } | null;
}

export interface IHistory {
  step: (number | null)[];
  value: Cell[];
  time: number[];
  count: number;
  downsampled: boolean;
}

export interface ICompareRow {
  values: Cell[];
  differs: boolean;
}

export interface IComparison {
  runs: IRunBrief[];
  labels: string[];
  sections: Record<'params' | 'metrics' | 'env' | 'git' | 'data', Record<string, ICompareRow>>;
  code_diffs: Record<string, string>;
  histories: Record<string, Record<string, IHistory>>;
}

export interface INotebookDiff {
  kind: 'notebook' | 'lineage';
  a: IRunBrief;
  b: IRunBrief;
  base: any;
  diff: any[];
  changed: boolean;
}

export interface IEvents {
  cursor: number;
  changed: string[];
  reset: boolean;
}

export type GroupBy = 'none' | 'experiment' | 'notebook_path';

/** The columns every table shows before the chosen params/metrics/tags. */
export const BASE_COLUMNS = ['number', 'name', 'status', 'started_at', 'duration_s'];

export interface IRunsQuery {
  filter: string;
  orderBy: string;
  groupBy: GroupBy;
  columns: string[];
}

/** The query string of GET runs for one page. */
export function runsQueryString(q: IRunsQuery, offset: number, limit: number): string {
  const params = new URLSearchParams();
  if (q.filter.trim()) {
    params.set('filter', q.filter.trim());
  }
  const order = effectiveOrder(q);
  if (order) {
    params.set('order_by', order);
  }
  params.set('offset', String(offset));
  params.set('limit', String(limit));
  // Chosen columns only on later pages. The first page (and every page while none are
  // chosen) also brings all the others, so the chooser can offer every column.
  const all = 'params.*,metrics.*,tags.*';
  params.set('columns', !q.columns.length ? all : offset === 0 ? `${q.columns.join(',')},${all}` : q.columns.join(','));
  return params.toString();
}

/** The order sent to the server: the group field first, so groups come out contiguous. */
export function effectiveOrder(q: IRunsQuery): string {
  const parts = q.orderBy ? [q.orderBy] : [];
  if (q.groupBy !== 'none' && !q.orderBy.startsWith(q.groupBy)) {
    parts.unshift(q.groupBy);
  }
  if (!parts.length) {
    return '';
  }
  return parts.join(', ');
}

/** Clicking a column header: sort descending first, then ascending, then the default. */
export function toggleSort(orderBy: string, column: string): string {
  if (orderBy === `${column} desc`) {
    return `${column} asc`;
  }
  if (orderBy === `${column} asc`) {
    return '';
  }
  return `${column} desc`;
}

/** The sort direction of `column` in `orderBy`, if it is the sort column. */
export function sortDirection(orderBy: string, column: string): 'asc' | 'desc' | null {
  if (orderBy === `${column} desc`) {
    return 'desc';
  }
  if (orderBy === `${column} asc` || orderBy === column) {
    return 'asc';
  }
  return null;
}

/** The columns to show: the chosen ones, else up to `perNamespace` of each namespace. */
export function visibleColumns(
  available: string[],
  chosen: string[],
  perNamespace = 3
): string[] {
  if (chosen.length) {
    return [...BASE_COLUMNS, ...chosen];
  }
  const picked: string[] = [];
  for (const ns of ['params.', 'metrics.', 'tags.']) {
    picked.push(...available.filter(c => c.startsWith(ns)).slice(0, perNamespace));
  }
  return [...BASE_COLUMNS, ...picked];
}

/** Columns that can be chosen (params, metrics, tags), union of what has been seen. */
export function choosableColumns(seen: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const c of seen) {
    if (/^(params|metrics|tags)\./.test(c)) {
      out.add(c);
    }
  }
  return [...out].sort();
}

/** The group heading of a row, or null when not grouping. */
export function groupKey(row: IRunRow, groupBy: GroupBy): string | null {
  if (groupBy === 'none') {
    return null;
  }
  const value = row[groupBy];
  return value === null || value === undefined || value === '' ? '(none)' : String(value);
}

/** A string literal of the filter language (single-quoted, backslash escapes). */
export function filterString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The filter matching the runs of group `key` among those `filter` matches (to count
 * them); null when not grouping. */
export function groupFilter(groupBy: GroupBy, key: string, filter: string): string | null {
  if (groupBy === 'none') {
    return null;
  }
  const own =
    key === '(none)'
      ? `(${groupBy} = null or ${groupBy} = '')`
      : `${groupBy} = ${filterString(key)}`;
  return filter.trim() ? `(${filter.trim()}) and ${own}` : own;
}

/** How a group's heading names it: a notebook by its file name (its folder in the
 * tooltip), an experiment as it is. */
export function groupLabel(groupBy: GroupBy, key: string): string {
  if (groupBy === 'notebook_path' && key !== '(none)') {
    return key.split(/[\\/]/).pop() || key;
  }
  return key;
}

/**
 * The rows of a loaded window, with a group heading before each row that starts a group.
 * `previous` is the row before the window (so a window that starts mid-group has no
 * heading).
 */
export function withGroupHeadings(
  rows: IRunRow[],
  groupBy: GroupBy,
  previous: IRunRow | null = null
): ({ kind: 'group'; label: string } | { kind: 'run'; row: IRunRow })[] {
  const out: ({ kind: 'group'; label: string } | { kind: 'run'; row: IRunRow })[] = [];
  let last = previous ? groupKey(previous, groupBy) : undefined;
  for (const row of rows) {
    const key = groupKey(row, groupBy);
    if (key !== null && key !== last) {
      out.push({ kind: 'group', label: key });
    }
    last = key;
    out.push({ kind: 'run', row });
  }
  return out;
}

/**
 * Rows fetched from the server page by page, kept by offset. The table asks for the
 * rows of the visible window; missing pages are fetched once each.
 */
export class PagedRows {
  readonly pageSize: number;
  total = 0;
  columns = new Set<string>();
  private pages = new Map<number, IRunRow[]>();
  private pending = new Set<number>();

  constructor(pageSize = 200) {
    this.pageSize = pageSize;
  }

  /** The row at `index`, or undefined when its page is not loaded. */
  row(index: number): IRunRow | undefined {
    const page = this.pages.get(Math.floor(index / this.pageSize));
    return page?.[index % this.pageSize];
  }

  /** The page numbers covering rows first..last that are neither loaded nor loading. */
  missing(first: number, last: number): number[] {
    const out: number[] = [];
    const lastRow = Math.min(last, Math.max(0, this.total - 1));
    for (
      let p = Math.floor(Math.max(0, first) / this.pageSize);
      p <= Math.floor(lastRow / this.pageSize);
      p++
    ) {
      if (!this.pages.has(p) && !this.pending.has(p)) {
        out.push(p);
      }
    }
    return out;
  }

  markPending(page: number): void {
    this.pending.add(page);
  }

  /** Store a page from the server (its total replaces the old one). */
  put(page: number, result: IRunPage): void {
    this.pending.delete(page);
    this.pages.set(page, result.runs);
    this.total = result.total;
    result.columns.forEach(c => this.columns.add(c));
  }

  failed(page: number): void {
    this.pending.delete(page);
  }

  /** Forget every page (filter, order or columns changed, or the store changed). */
  clear(): void {
    this.pages.clear();
    this.pending.clear();
  }

  /** The loaded page numbers (to refresh in place after a change event). */
  loadedPages(): number[] {
    return [...this.pages.keys()];
  }

  /** Which loaded rows have these ids (to refresh them). */
  contains(ids: string[]): boolean {
    const wanted = new Set(ids);
    for (const rows of this.pages.values()) {
      if (rows.some(r => wanted.has(r.id))) {
        return true;
      }
    }
    return false;
  }
}

/** The first and last row indices to render for a scroll position (plus overscan). */
export function visibleWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 10
): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(
    total - 1,
    Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan
  );
  return [first, last];
}

/** Split a filter error message into its text and the caret position for inline display. */
export function filterErrorParts(
  message: string,
  position: number | undefined
): { reason: string; position: number } {
  const reason = message.split('\n')[0];
  return { reason, position: position ?? 0 };
}

/** Numeric params (same for no two runs) usable as parallel-coordinate axes. */
export function numericAxes(comparison: IComparison): string[] {
  const out: string[] = [];
  for (const [key, row] of Object.entries(comparison.sections.params)) {
    const nums = row.values.map(v => (typeof v === 'boolean' ? null : toNumber(v)));
    if (nums.every(n => n !== null && Number.isFinite(n)) && row.differs) {
      out.push(key);
    }
  }
  return out;
}

/** [min, max] of finite numbers, widened when they are all equal. */
export function extent(values: (number | null)[]): [number, number] {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (!finite.length) {
    return [0, 1];
  }
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.05 || 0.5;
    hi += Math.abs(hi) * 0.05 || 0.5;
  }
  return [lo, hi];
}

/** An SVG path through the points (x, y scaled into the box); gaps at non-finite y. */
export function linePath(
  xs: number[],
  ys: (number | null)[],
  box: { width: number; height: number; x: [number, number]; y: [number, number] }
): string {
  const sx = (x: number) => ((x - box.x[0]) / (box.x[1] - box.x[0] || 1)) * box.width;
  const sy = (y: number) => box.height - ((y - box.y[0]) / (box.y[1] - box.y[0] || 1)) * box.height;
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(xs[i]).toFixed(1)},${sy(y).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** The x values of a history: steps where logged, else the point's index. */
export function historyXs(history: IHistory): number[] {
  return history.step.map((s, i) => (s === null ? i : s));
}

/** Only the rows that differ between runs (the compare view's default). */
export function differingRows(
  section: Record<string, ICompareRow>,
  onlyDiffering: boolean
): [string, ICompareRow][] {
  return Object.entries(section).filter(([, row]) => !onlyDiffering || row.differs);
}

/** A run's label: "#12 name" or "#12". */
export function runLabel(run: { number: number; name: string | null }): string {
  return run.name ? `#${run.number} ${run.name}` : `#${run.number}`;
}

/** Widths (px) of the runs table's fixed columns: the selection box and the group label. */
export const CHECK_WIDTH = 28;
export const GROUP_WIDTH = 110;

const COLUMN_WIDTHS: Record<string, number> = {
  number: 60,
  name: 120,
  status: 76,
  started_at: 96,
  duration_s: 76
};

/** The width (px) of one column of the runs table. */
export function columnWidth(column: string): number {
  return COLUMN_WIDTHS[column] ?? 92;
}

/**
 * The horizontal layout of the runs table, in the order the cells are drawn: selection
 * box, run number, group label (when grouping), then the other columns. `width` is the
 * total (wider than a narrow sidebar, which then scrolls sideways); `pinned` is the width
 * kept in view at the left (box and run number) while the rest scrolls under it.
 */
export function tableLayout(
  columns: string[],
  grouped: boolean
): { width: number; pinned: number; order: string[] } {
  const order = ['number', ...(grouped ? ['@group'] : []), ...columns.filter(c => c !== 'number')];
  const width =
    CHECK_WIDTH + order.reduce((sum, c) => sum + (c === '@group' ? GROUP_WIDTH : columnWidth(c)), 0);
  return { width, pinned: CHECK_WIDTH + columnWidth('number'), order };
}

/** How many cells a notebook diff adds, removes and changes (nbdime's `cells` ops). */
export function notebookDiffCounts(diff: INotebookDiff): {
  added: number;
  removed: number;
  changed: number;
} {
  const counts = { added: 0, removed: 0, changed: 0 };
  const ops: any[] = diff.diff.find(d => d.key === 'cells')?.diff ?? [];
  for (const op of ops) {
    if (op.op === 'addrange') {
      counts.added += op.valuelist?.length ?? 0;
    } else if (op.op === 'removerange') {
      counts.removed += op.length ?? 0;
    } else if (op.op === 'patch') {
      counts.changed += 1;
    }
  }
  return counts;
}

/** One line for the sidebar: "1 cell added, 2 changed", or that nothing differs. */
export function notebookDiffSummary(diff: INotebookDiff): string {
  const c = notebookDiffCounts(diff);
  const parts = [
    c.added && `${c.added} added`,
    c.removed && `${c.removed} removed`,
    c.changed && `${c.changed} changed`
  ].filter(Boolean) as string[];
  if (!parts.length) {
    // Metadata-only changes leave the cells alone but still differ.
    return diff.changed ? 'Only notebook metadata differs.' : 'The notebooks are the same.';
  }
  const total = c.added + c.removed + c.changed;
  return `${total} ${total === 1 ? 'cell' : 'cells'}: ${parts.join(', ')}`;
}

/** The main-area tab of a notebook diff: its title, and an id that names the pair and kind so
 * asking again for the same diff brings its tab forward instead of opening another. */
export function notebookDiffTab(diff: INotebookDiff): { id: string; title: string } {
  const title = `Diff #${diff.a.number} → #${diff.b.number}` + (diff.kind === 'lineage' ? ' (lineage)' : '');
  return { id: `jp-xtrack-diff-${diff.a.id}-${diff.b.id}-${diff.kind}`, title };
}

/**
 * The sidebar's state logic, free of the DOM and of JupyterLab so jest can test it: the
 * API's types, run-table queries, sorting, column choice, grouping, the paged row cache
 * and compare-view helpers.
 */
import { Cell, formatValue, toNumber } from './format';

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
  /** Child runs (trials, candidates) of this run. */
  children_count?: number;
  /** Some of what the run logged could not be stored (its detail's not_stored says how much). */
  incomplete?: boolean;
  /** Listed (with a filter, nested) for its matching children; it does not match itself. */
  context?: boolean;
  [column: string]: Cell | undefined;
}

/** count/mean/min/max of one metric's finite values over a group's runs. */
export interface IAggregate {
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

/** One group of GET runs?group_by=...: its value, run count, the filter condition that
 * selects its runs (null when the value has no literal) and its metrics' aggregates. */
export interface IGroup {
  key: Cell;
  count: number;
  filter: string | null;
  metrics: Record<string, IAggregate>;
}

export interface IRunPage {
  runs: IRunRow[];
  columns: string[];
  /** The columns that are the tracker's bookkeeping (job_progress, xtrack.* tags). */
  system?: string[];
  total: number;
  offset: number;
  limit: number;
  store_state: 'ok' | 'missing';
  groups?: IGroup[];
  truncated?: boolean;
  /** With a filter, nested: the runs the filter matched (`total` counts the top rows). */
  matched?: number;
  /** Asked to nest a filter's matches: false when the server answered a flat page. */
  nested?: boolean;
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

/** A param that is not a plain setting ("↻ varies", "(repr)", ...) and what that means. */
export interface IParamMark {
  text: string;
  help: string;
}

/** What the store is missing of a run, counted by the writer that dropped it. */
export interface INotStored {
  points: number;
  writes: number;
  reason: string | null;
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
  /** Who ran it ($XTRACK_USER, else the login name) and on which machine. */
  user?: string | null;
  host?: string | null;
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
  incomplete?: boolean;
  not_stored?: INotStored | null;
  param_marks?: Record<string, IParamMark>;
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
  /** git: one notebook of a run's git diff, HEAD → working tree (a and b are that run). */
  kind: 'notebook' | 'lineage' | 'git';
  path?: string;
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

/** 'none', or the column whose values group the runs (experiment, params.opt, ...). */
export type GroupBy = string;

/** The columns every table shows before the chosen params/metrics/tags. */
export const BASE_COLUMNS = ['number', 'name', 'status', 'started_at', 'duration_s'];

export interface IRunsQuery {
  /** The filter box: the filter language or plain words. */
  filter: string;
  orderBy: string;
  columns: string[];
  /** More filters every run must also match (a group's, a chart's brush, roots only). */
  and?: string[];
  /** Only the children of this run. */
  parent?: string;
  /** With a filter: the matches' tree (matched roots, parents of matched children). */
  nest?: boolean;
}

/** The query string of GET runs for one page. */
export function runsQueryString(q: IRunsQuery, offset: number, limit: number): string {
  const params = new URLSearchParams();
  for (const f of [q.filter, ...(q.and ?? [])]) {
    if (f.trim()) {
      params.append('filter', f.trim());
    }
  }
  if (q.parent) {
    params.set('parent', q.parent);
  }
  if (q.nest) {
    params.set('nest', '1');
  }
  if (q.orderBy) {
    params.set('order_by', q.orderBy);
  }
  params.set('offset', String(offset));
  params.set('limit', String(limit));
  // Chosen columns only on later pages. The first page (and every page while none are
  // chosen) also brings all the others, so the chooser can offer every column.
  const all = 'params.*,metrics.*,tags.*';
  params.set('columns', !q.columns.length ? all : offset === 0 ? `${q.columns.join(',')},${all}` : q.columns.join(','));
  return params.toString();
}

/** The query string asking for the groups of `groupBy` (no rows), each with the
 * aggregates of every metric. */
export function groupsQueryString(q: IRunsQuery, groupBy: string): string {
  const params = new URLSearchParams(runsQueryString({ ...q, columns: [] }, 0, 0));
  params.set('group_by', groupBy);
  params.set('columns', 'metrics.*');
  return params.toString();
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

/** The columns to show: the base ones, then the chosen ones, else the defaults; who ran
 * the run (when shown) comes right after its name, where a narrow sidebar still shows it. */
export function visibleColumns(chosen: string[], defaults: string[]): string[] {
  const rest = chosen.length ? chosen : defaults;
  const out = [...BASE_COLUMNS, ...rest.filter(c => c !== USER_COLUMN)];
  if (rest.includes(USER_COLUMN)) {
    out.splice(out.indexOf('name') + 1, 0, USER_COLUMN);
  }
  return out;
}

/** How many defaults of each namespace, at most. */
const DEFAULT_COUNTS: [string, number][] = [['metrics.', 4], ['params.', 4], ['tags.', 2]];

/**
 * The columns shown before any is chosen, picked from the loaded `rows`: the metrics the
 * experiment optimises (a sweep's or AutoML search's `xtrack.job.metric`) first, then
 * the params, metrics and tags whose values differ between the runs, the most filled
 * first. Bookkeeping (`system`) never; a column the same for every run says nothing.
 */
export function defaultColumns(rows: IRunRow[], available: string[], system: Set<string>): string[] {
  const optimised = new Set(
    rows.map(r => r['tags.xtrack.job.metric']).filter(m => typeof m === 'string').map(m => `metrics.${m}`)
  );
  const stats = (c: string) => {
    const values = rows.map(r => r[c]).filter(v => v !== null && v !== undefined);
    return { filled: values.length, distinct: new Set(values.map(v => JSON.stringify(v))).size };
  };
  const out: string[] = [];
  for (const [ns, count] of DEFAULT_COUNTS) {
    // An optimised metric counts even before a loaded row has it (a sweep's trials).
    const candidates = [...new Set([...optimised, ...available])]
      .filter(c => c.startsWith(ns) && !system.has(c))
      .map(c => ({ c, ...stats(c), first: optimised.has(c) }))
      .filter(x => x.first || (x.filled > 0 && (x.distinct > 1 || rows.length === 1)))
      .sort((a, b) => Number(b.first) - Number(a.first) || b.filled - a.filled || a.c.localeCompare(b.c));
    out.push(...candidates.slice(0, count).map(x => x.c));
  }
  return out;
}

/** The chooser's sections: the run's own columns (who ran it), user params, metrics and
 * tags, and the tracker's own columns. */
export function columnGroups(
  available: string[],
  system: Set<string>,
  search = ''
): { run: string[]; params: string[]; metrics: string[]; tags: string[]; system: string[] } {
  const needle = search.trim().toLowerCase();
  const shown = available.filter(c => !needle || c.toLowerCase().includes(needle));
  const user = (ns: string) => shown.filter(c => c.startsWith(ns) && !system.has(c));
  return {
    run: shown.filter(c => c === USER_COLUMN),
    params: user('params.'),
    metrics: user('metrics.'),
    tags: user('tags.'),
    system: shown.filter(c => system.has(c))
  };
}

/** `columns` in the user's saved order: those in `order` first, as there, then the rest. */
export function applyOrder(columns: string[], order: string[]): string[] {
  const known = order.filter(c => columns.includes(c));
  return [...known, ...columns.filter(c => !known.includes(c))];
}

/** `columns` with `moved` put just before `target` (at the end when target is null). */
export function moveColumn(columns: string[], moved: string, target: string | null): string[] {
  const rest = columns.filter(c => c !== moved);
  const at = target === null ? rest.length : rest.indexOf(target);
  return at < 0 ? columns : [...rest.slice(0, at), moved, ...rest.slice(at)];
}

/** Columns that can be chosen (params, metrics, tags, and who ran the run), union of what
 * has been seen. */
export function choosableColumns(seen: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const c of seen) {
    if (/^(params|metrics|tags)\./.test(c) || c === USER_COLUMN) {
      out.add(c);
    }
  }
  return [...out].sort();
}

/** The runs table's column of who ran each run (`$XTRACK_USER`, else the login name). */
export const USER_COLUMN = 'user';

/** One person of GET users: their name and how many runs they ran. */
export interface IUserCount {
  user: string | null;
  runs: number;
}

/** GET users: who ran the store's runs, most runs first, and who this server runs as. */
export interface IUserList {
  users: IUserCount[];
  me: string;
  truncated: boolean;
}

/** The filter keeping the runs of `users` (`user in ('alice', 'bob')`), or null for no
 * one picked (everyone's runs). */
export function userFilter(users: string[]): string | null {
  if (!users.length) {
    return null;
  }
  const quoted = users.map(u => `'${u.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
  return `user in (${quoted.join(', ')})`;
}

/** The default columns with `user` first when the store holds more than one person's runs
 * (a team store), so that whose run each row is shows without asking. */
export function withUserColumn(defaults: string[], people: number): string[] {
  return people > 1 ? [USER_COLUMN, ...defaults.filter(c => c !== USER_COLUMN)] : defaults;
}

/** How a group's heading names its value: a notebook by its file name, a missing value
 * as "(none)", anything else as text. */
export function groupLabel(groupBy: GroupBy, key: Cell): string {
  if (key === null || key === undefined || key === '') {
    return '(none)';
  }
  if (groupBy === 'notebook_path') {
    return String(key).split(/[\\/]/).pop() || String(key);
  }
  return typeof key === 'string' ? key : formatValue(key);
}

/** A group heading's cell for one metric column: "mean (min–max)" over the group. */
export function aggregateText(agg: IAggregate | undefined): string {
  if (!agg || !agg.count || agg.mean === null) {
    return '';
  }
  if (agg.count === 1 || agg.min === agg.max) {
    return formatValue(agg.mean);
  }
  return `μ ${formatValue(agg.mean)} (${formatValue(agg.min)}–${formatValue(agg.max)})`;
}

/**
 * A list of top items where some are open onto a list of their own (a parent run onto its
 * children, a group onto its runs), flattened for a virtual table: index -> which top
 * item, and which of its sub-items (null: the top item itself).
 */
export class Outline {
  topCount: number;
  private open = new Map<number, number>();

  constructor(topCount = 0) {
    this.topCount = topCount;
  }

  /** Open top item `top` onto `length` sub-items (0 keeps it open but empty). */
  setOpen(top: number, length: number): void {
    this.open.set(top, Math.max(0, length));
  }

  close(top: number): void {
    this.open.delete(top);
  }

  isOpen(top: number): boolean {
    return this.open.has(top);
  }

  clear(): void {
    this.open.clear();
  }

  /** Rows in all: top items plus the sub-items of the open ones. */
  get length(): number {
    let n = this.topCount;
    this.open.forEach((len, top) => {
      if (top < this.topCount) {
        n += len;
      }
    });
    return n;
  }

  /** The top item and sub-item shown at row `index`. */
  at(index: number): { top: number; sub: number | null } {
    let offset = 0;
    const tops = [...this.open.keys()].filter(t => t < this.topCount).sort((a, b) => a - b);
    for (const top of tops) {
      const row = top + offset;
      if (index <= row) {
        return { top: index - offset, sub: null };
      }
      const len = this.open.get(top) ?? 0;
      if (index <= row + len) {
        return { top, sub: index - row - 1 };
      }
      offset += len;
    }
    return { top: index - offset, sub: null };
  }
}

/**
 * Rows fetched from the server page by page, kept by offset. The table asks for the
 * rows of the visible window; missing pages are fetched once each.
 */
export class PagedRows {
  readonly pageSize: number;
  total = 0;
  columns = new Set<string>();
  system = new Set<string>();
  private pages = new Map<number, IRunRow[]>();
  private pending = new Set<number>();
  // Pages whose request failed: not asked again until clear() (a new query or a retry),
  // else every render would send them again (the request storm of a bad filter).
  private failedPages = new Set<number>();

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
    if (this.total <= 0) {
      return out; // nothing known to be there (the first page is asked for explicitly)
    }
    const lastRow = Math.min(last, this.total - 1);
    for (
      let p = Math.floor(Math.max(0, first) / this.pageSize);
      p <= Math.floor(lastRow / this.pageSize);
      p++
    ) {
      if (!this.pages.has(p) && !this.pending.has(p) && !this.failedPages.has(p)) {
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
    (result.system ?? []).forEach(c => this.system.add(c));
  }

  /** A page's request failed: it is not asked for again, and nothing stale is shown
   * (no rows, no count) until clear(). */
  failed(page: number): void {
    this.pending.delete(page);
    this.failedPages.add(page);
    this.pages.clear();
    this.total = 0;
  }

  /** Forget every page (filter, order or columns changed, or the store changed). */
  clear(): void {
    this.pages.clear();
    this.pending.clear();
    this.failedPages.clear();
  }

  /** Calls `fn` with every loaded row and its index. */
  forEachLoaded(fn: (row: IRunRow, index: number) => void): void {
    this.pages.forEach((rows, p) => rows.forEach((r, i) => fn(r, p * this.pageSize + i)));
  }

  /** The loaded rows in order (for picking default columns). */
  loadedRows(): IRunRow[] {
    return [...this.pages.keys()].sort((a, b) => a - b).flatMap(p => this.pages.get(p) ?? []);
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
export const MIN_COLUMN_WIDTH = 40;

const COLUMN_WIDTHS: Record<string, number> = {
  number: 60,
  name: 140,
  status: 76,
  // "2026-09-21 14:05" whole.
  started_at: 124,
  user: 90,
  duration_s: 76
};

/** The width (px) of one column of the runs table: the user's (resized), else one that
 * fits a namespaced header ("metrics.val_acc") up to a limit. */
export function columnWidth(column: string, widths: Record<string, number> = {}): number {
  const chosen = widths[column];
  if (typeof chosen === 'number' && chosen >= MIN_COLUMN_WIDTH) {
    return chosen;
  }
  return COLUMN_WIDTHS[column] ?? Math.min(170, Math.max(92, 7 * column.length + 18));
}

/**
 * The horizontal layout of the runs table, in the order the cells are drawn: selection
 * box, run number, group label (when grouping), then the other columns. `width` is the
 * total (wider than a narrow sidebar, which then scrolls sideways); `pinned` is the width
 * kept in view at the left (box and run number) while the rest scrolls under it.
 */
export function tableLayout(
  columns: string[],
  grouped: boolean,
  widths: Record<string, number> = {}
): { width: number; pinned: number; order: string[] } {
  const order = ['number', ...(grouped ? ['@group'] : []), ...columns.filter(c => c !== 'number')];
  const width =
    CHECK_WIDTH +
    order.reduce((sum, c) => sum + (c === '@group' ? GROUP_WIDTH : columnWidth(c, widths)), 0);
  return { width, pinned: CHECK_WIDTH + columnWidth('number', widths), order };
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
  if (diff.kind === 'git') {
    const name = (diff.path ?? '').split('/').pop();
    // The path spelled with id-safe characters only, each other one as _<hex code>.
    const key = (diff.path ?? '').replace(/[^A-Za-z0-9-]/g, c => `_${c.charCodeAt(0).toString(16)}`);
    return { id: `jp-xtrack-gitdiff-${diff.a.id}-${key}`, title: `#${diff.a.number} ${name} (git diff)` };
  }
  const title = `Diff #${diff.a.number} → #${diff.b.number}` + (diff.kind === 'lineage' ? ' (lineage)' : '');
  return { id: `jp-xtrack-diff-${diff.a.id}-${diff.b.id}-${diff.kind}`, title };
}

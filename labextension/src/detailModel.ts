/**
 * The run detail's logic, free of the DOM so jest can test it: the facts `GET runs/{id}`
 * returns beyond the run table's fields, which metrics and tags are the tracker's own
 * bookkeeping, the environment search, the git diff split by file (notebooks shown by
 * their cell sources), and the leaderboard of a search's children.
 */
import { Cell, toNumber } from './format';
import { INotStored, IRunBrief, IRunDetail, IRunRow } from './model';

export interface IResources {
  wall_s?: number;
  cpu_s?: number;
  peak_rss_bytes?: number | null;
  rss_bytes?: number | null;
  peak_rss_scope?: string;
  peak_gpu_bytes?: number;
}

export interface IDataset {
  name: string;
  kind?: string;
  shape?: unknown;
  hash?: string | null;
  /** The earlier run that first held this content (null: this run made it). */
  producer?: IRunBrief | null;
}

/** `GET runs/{id}` as the run detail reads it: every fact the store keeps. */
export interface IRunFacts extends IRunDetail {
  history_keys?: string[];
  resources?: IResources | null;
  datasets?: IDataset[] | null;
  error?: { type?: string; message?: string; traceback?: string } | null;
  capture_problems?: string[] | null;
  params_flagged?: string[] | null;
  host?: string | null;
  pid?: number | null;
}

/** What `GET runs/{id}/previews/{name}` answers. */
export interface IPreview {
  name: string;
  media_type: string;
  kind: 'image' | 'table' | 'json' | 'html' | 'text' | 'none';
  size: number;
  truncated: boolean;
  text?: string;
  json?: unknown;
  columns?: string[];
  rows?: Cell[][];
  total_rows?: number | null;
  error?: string;
}

/** Metrics the tracker and its searches log for their own accounting (job progress, a
 * search's best so far, AutoML's timing and fold scores), shown apart from the user's. */
export const BOOKKEEPING_METRICS: ReadonlySet<string> = new Set([
  'job_progress',
  'best_value',
  'best_cv_score',
  'elapsed_s',
  'n_rows',
  'fold_score',
  'cv_std',
  'fit_time_s',
  'predict_time_s'
]);

/** The system-metrics timeline (CPU, memory, GPU over time) lives under this prefix. */
export const SYSTEM_PREFIX = 'system/';

/** Whether metric `key` is bookkeeping or a system metric rather than the user's own. */
export function isBookkeepingMetric(key: string): boolean {
  return BOOKKEEPING_METRICS.has(key) || key.startsWith(SYSTEM_PREFIX);
}

/** Whether tag `key` is one the tracker writes (`xtrack.*`). */
export function isSystemTag(key: string): boolean {
  return key.startsWith('xtrack.');
}

/** `values` split into the user's entries and the tracker's, by `isSystem`. */
export function splitBy<T>(
  values: Record<string, T>,
  isSystem: (key: string) => boolean
): { user: Record<string, T>; system: Record<string, T> } {
  const user: Record<string, T> = {};
  const system: Record<string, T> = {};
  for (const [k, v] of Object.entries(values)) {
    (isSystem(k) ? system : user)[k] = v;
  }
  return { user, system };
}

/** Resources as label → text rows (CPU time, peak memory, ...), skipping what was not measured. */
export function resourceRows(
  r: IResources | null | undefined,
  formatBytes: (n: number) => string,
  formatDuration: (s: number) => string
): [string, string][] {
  if (!r) {
    return [];
  }
  const rows: [string, string][] = [];
  if (typeof r.wall_s === 'number') {
    rows.push(['wall time', formatDuration(r.wall_s)]);
  }
  if (typeof r.cpu_s === 'number') {
    rows.push(['CPU time', formatDuration(r.cpu_s)]);
  }
  if (typeof r.peak_rss_bytes === 'number') {
    const scope = r.peak_rss_scope ? ` (${r.peak_rss_scope})` : '';
    rows.push(['peak memory', formatBytes(r.peak_rss_bytes) + scope]);
  }
  if (typeof r.rss_bytes === 'number') {
    rows.push(['memory at end', formatBytes(r.rss_bytes)]);
  }
  if (typeof r.peak_gpu_bytes === 'number') {
    rows.push(['peak GPU memory', formatBytes(r.peak_gpu_bytes)]);
  }
  return rows;
}

/** The hardware of the environment blob as label → text rows. */
export function hardwareRows(
  env: Record<string, any> | null | undefined,
  formatBytes: (n: number) => string
): [string, string][] {
  const hw = env?.hardware;
  if (!hw || typeof hw !== 'object') {
    return [];
  }
  const rows: [string, string][] = [];
  if (hw.cpu_model) {
    rows.push(['CPU', String(hw.cpu_model)]);
  }
  if (hw.cores_logical || hw.cores_physical) {
    rows.push(['cores', `${hw.cores_physical ?? '?'} physical, ${hw.cores_logical ?? '?'} logical`]);
  }
  if (typeof hw.memory_bytes === 'number') {
    rows.push(['memory', formatBytes(hw.memory_bytes)]);
  }
  const gpus: any[] = Array.isArray(hw.gpus) ? hw.gpus : [];
  gpus.forEach((g, i) => {
    const mem = typeof g?.memory_bytes === 'number' ? `, ${formatBytes(g.memory_bytes)}` : '';
    rows.push([`GPU ${i}`, `${g?.name ?? 'unknown'}${mem}`]);
  });
  if (!gpus.length) {
    rows.push(['GPU', 'none found']);
  }
  return rows;
}

/** Every environment entry as [group, name, value] rows: Python, platform, imported and
 * installed packages, environment variables. */
export function environmentRows(env: Record<string, any> | null | undefined): [string, string, string][] {
  if (!env) {
    return [];
  }
  const rows: [string, string, string][] = [];
  const add = (group: string, values: unknown) => {
    if (values && typeof values === 'object') {
      for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
        rows.push([group, k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
      }
    }
  };
  add('python', env.python);
  add('platform', env.platform);
  add('imported', env.imported);
  add('installed', env.packages);
  add('env var', env.env_vars);
  return rows;
}

/** The rows whose name or value contains every word of `query` (case-insensitive). */
export function searchRows<T extends string[]>(rows: T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return rows;
  }
  return rows.filter(r => {
    const text = r.join(' ').toLowerCase();
    return words.every(w => text.includes(w));
  });
}

export interface IFileDiff {
  path: string;
  /** The diff's lines for this file, its `diff --git` header included. */
  lines: string[];
  added: number;
  removed: number;
  notebook: boolean;
}

/** A `git diff` split into one entry per file, with its added and removed line counts. */
export function splitDiff(text: string): IFileDiff[] {
  const files: IFileDiff[] = [];
  let current: IFileDiff | null = null;
  for (const line of text.split('\n')) {
    const head = /^diff --git a\/(.*?) b\/(.*)$/.exec(line);
    if (head) {
      current = { path: head[2], lines: [], added: 0, removed: 0, notebook: head[2].endsWith('.ipynb') };
      files.push(current);
    } else if (!current) {
      // A diff without git's headers (or text before the first): one unnamed entry.
      current = { path: '(diff)', lines: [], added: 0, removed: 0, notebook: false };
      files.push(current);
    }
    current.lines.push(line);
    if (line.startsWith('+') && !line.startsWith('+++')) {
      current.added++;
    } else if (line.startsWith('-') && !line.startsWith('---')) {
      current.removed++;
    }
  }
  return files.filter(f => f.lines.some(l => l.trim()));
}

export interface ISourceLine {
  kind: 'add' | 'del' | 'same' | 'hunk';
  text: string;
}

/**
 * A notebook's JSON diff read as a diff of its cells' sources: the lines inside `"source"`
 * arrays decoded from JSON strings, hunk headers kept, everything else (outputs, base64
 * images, execution counts, metadata) left out and counted. Reads the unified diff alone,
 * so it needs neither side of the notebook.
 */
export function notebookSourceDiff(lines: string[]): { lines: ISourceLine[]; hidden: number } {
  const out: ISourceLine[] = [];
  let hidden = 0;
  let inSource = false;
  for (const raw of lines) {
    if (raw.startsWith('diff --git') || raw.startsWith('index ') || raw.startsWith('---') ||
        raw.startsWith('+++') || raw.startsWith('new file') || raw.startsWith('deleted file')) {
      continue;
    }
    if (raw.startsWith('@@')) {
      out.push({ kind: 'hunk', text: raw.replace(/^(@@[^@]*@@).*$/, '$1') });
      inSource = false;
      continue;
    }
    const mark = raw[0];
    const body = raw.slice(1).trim();
    if (/^"source": \[/.test(body)) {
      inSource = !/\],?$/.test(body);
      const inline = /^"source": \[(".*")\],?$/.exec(body);
      if (inline) {
        out.push({ kind: kindOf(mark), text: decodeJsonLine(inline[1]) });
      }
      continue;
    }
    if (inSource) {
      if (/^\],?$/.test(body)) {
        inSource = false;
        continue;
      }
      if (body.startsWith('"')) {
        out.push({ kind: kindOf(mark), text: decodeJsonLine(body.replace(/,$/, '')) });
        continue;
      }
    }
    if (mark === '+' || mark === '-') {
      hidden++;
    }
  }
  // Hunks left with no source line say nothing.
  const kept = out.filter((l, i) => l.kind !== 'hunk' || (out[i + 1] && out[i + 1].kind !== 'hunk'));
  return { lines: kept, hidden };
}

function kindOf(mark: string): ISourceLine['kind'] {
  return mark === '+' ? 'add' : mark === '-' ? 'del' : 'same';
}

function decodeJsonLine(literal: string): string {
  try {
    return String(JSON.parse(literal)).replace(/\n$/, '');
  } catch {
    return literal;
  }
}

/** The metric a search's children are ranked by, and whether higher is better. */
export function leaderboardMetric(run: IRunDetail): { metric: string | null; maximize: boolean } {
  const p = run.params as Record<string, Cell>;
  const t = run.tags;
  const metric =
    (t['xtrack.job.metric'] as string) ||
    (typeof p['sweep.metric'] === 'string' ? (p['sweep.metric'] as string) : '') ||
    (typeof p['automl.metric'] === 'string' ? (p['automl.metric'] as string) : '') ||
    null;
  const direction = t['xtrack.job.direction'] || t['xtrack.sweep.direction'] || p['sweep.direction'];
  return { metric, maximize: direction !== 'minimize' };
}

/** Children ordered best first by `metrics.<metric>` (those without it last, by number). */
export function rankChildren(rows: IRunRow[], metric: string | null, maximize: boolean): IRunRow[] {
  const score = (r: IRunRow) => (metric ? toNumber(r[`metrics.${metric}`]) : null);
  return [...rows].sort((a, b) => {
    const x = score(a);
    const y = score(b);
    if (x === null || y === null) {
      return x === null && y === null ? a.number - b.number : x === null ? 1 : -1;
    }
    return maximize ? y - x : x - y;
  });
}

/** The run id a tag names (`xtrack.sweep.best_run`), to show it as a link. */
export function linkedRunTag(key: string): boolean {
  return key === 'xtrack.sweep.best_run' || key.endsWith('.run_id');
}

/** What the store is missing of a run, as one line: "287,001 metric points and 1 write
 * not stored (the disk is full)" (the Python side's `not_stored_text`, same words). */
export function notStoredText(lost: INotStored): string {
  const count = (n: number, what: string) => `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
  const parts = [
    ...(lost.points ? [count(lost.points, 'metric point')] : []),
    ...(lost.writes ? [count(lost.writes, 'write')] : [])
  ];
  return `${parts.join(' and ') || 'nothing'} not stored${lost.reason ? ` (${lost.reason})` : ''}`;
}

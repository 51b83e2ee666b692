/**
 * The Jobs view's and Launch form's logic, free of the DOM and of JupyterLab so jest can test
 * it: the types of `GET jobs` and of the kernel bridge (`jupyter_xtrack.kernel.launch`),
 * the expression sent to the kernel and how its answer is read, form validation, and the
 * text a job row shows.
 */
import { formatDuration, formatNumber } from './format';

export type JobState = 'running' | 'finished' | 'failed' | 'cancelled' | 'lost';

/** A background sweep or AutoML search: its parent run as `GET jobs` lists it. */
export interface IJob {
  run_id: string;
  number: number;
  name: string | null;
  kind: 'sweep' | 'automl' | string;
  state: JobState;
  status: string;
  progress: { done: number | null; total: number | null; fraction: number | null };
  best: number | null;
  metric: string | null;
  direction: 'maximize' | 'minimize' | null;
  trials: number;
  started_at: number;
  ended_at: number | null;
  /** Who started it. */
  user?: string | null;
  host: string | null;
  /** The hosts its trials ran on, most trials first (a sweep on Dask workers elsewhere). */
  hosts?: { host: string | null; runs: number }[];
  pid: number | null;
  cancel_requested: boolean;
  notebook_path: string | null;
  /** Started with background=True: only those can be cancelled from the sidebar. */
  background?: boolean;
}

export interface IJobList {
  jobs: IJob[];
}

/** What an op of the kernel bridge answers: a value, errors by form field, or one error. */
export type Reply<T> =
  | { ok: true; value: T }
  | { ok: false; errors: Record<string, string> }
  | { ok: false; error: string };

/** A pandas DataFrame bound to a public name in the kernel (op `frames`). */
export interface IFrameInfo {
  name: string;
  rows: number;
  columns: { name: string; dtype: string }[];
}

/** What an AutoML search on a frame and target can do (op `automl_options`). */
export interface IAutoMLOptions {
  task: 'binary' | 'multiclass' | 'regression';
  metrics: string[];
  default_metric: string;
  rows: number;
}

/** A tracked cell of the notebook that recorded params (op `cells`). */
export interface ITrackedCell {
  cell_id: string;
  runs: number;
  last_run: {
    id: string;
    number: number;
    name: string | null;
    params: Record<string, unknown>;
    metrics: string[];
    started_at: number;
  };
  code: string;
  space: string;
  metric: string | null;
  direction: 'maximize' | 'minimize';
}

/** What `start_automl` and `start_sweep` answer. */
export interface IStarted {
  job: string | number;
  run_id: string | null;
}

export type Direction = 'maximize' | 'minimize';

export const NOT_INSTALLED = "jupyter_xtrack is not installed in this notebook's kernel";

/**
 * The Python expression that runs `op` of the bridge with `args`. JSON.stringify of a string
 * is a valid Python string literal for what we send (quotes, backslashes and control
 * characters escaped; non-ASCII kept, which Python 3 reads as is).
 */
export function kernelExpression(op: string, args: object): string {
  const literal = (s: string) =>
    // U+2028/2029 are fine in JSON and Python, but escaped anyway so no line-ending
    // handling between here and the kernel can split the expression.
    JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return (
    "__import__('jupyter_xtrack.kernel.launch', fromlist=['call'])" +
    `.call(${literal(op)}, ${literal(JSON.stringify(args))})`
  );
}

/**
 * Read the kernel's answer for the bridge's user expression (`content.user_expressions.xtrack`
 * of the execute reply) as a Reply. Never throws: a missing jupyter_xtrack, a Python error or
 * an answer of the wrong shape come back as `{ok: false, error}` naming the problem.
 */
export function readUserExpression<T>(result: unknown): Reply<T> {
  const r = result as any;
  if (!r || typeof r !== 'object') {
    return { ok: false, error: 'the kernel gave no answer for the xtrack request' };
  }
  if (r.status === 'error') {
    const ename = String(r.ename ?? 'Error');
    const evalue = String(r.evalue ?? '');
    if (
      (ename === 'ModuleNotFoundError' || ename === 'ImportError') &&
      /jupyter_xtrack/.test(evalue)
    ) {
      return { ok: false, error: NOT_INSTALLED };
    }
    return { ok: false, error: `the kernel raised ${ename}: ${evalue}`.trim() };
  }
  const data = r.data?.['application/json'];
  if (data && typeof data === 'object' && typeof data.ok === 'boolean') {
    if (data.ok) {
      return { ok: true, value: data.value as T };
    }
    if (data.errors && typeof data.errors === 'object' && Object.keys(data.errors).length) {
      return { ok: false, errors: data.errors };
    }
    return { ok: false, error: String(data.error ?? 'the request failed') };
  }
  const text = r.data?.['text/plain'];
  return {
    ok: false,
    error:
      'the kernel answered in an unexpected form' + (text ? `: ${String(text).slice(0, 200)}` : '') +
      ' (is jupyter_xtrack in the kernel the same version as the server?)'
  };
}

/** Field errors of a reply ({} when it has none), to show next to the fields. */
export function fieldErrors(reply: Reply<unknown>): Record<string, string> {
  return !reply.ok && 'errors' in reply ? reply.errors : {};
}

/** The whole-form error of a reply, or null. */
export function formError(reply: Reply<unknown>): string | null {
  return !reply.ok && 'error' in reply ? reply.error : null;
}

/*
 * The time-budget grammar, shared with Python (`jupyter_xtrack.optimize.scoring.parse_budget`);
 * both are tested on the cases in test/fixtures/time_budgets.json. A budget is a plain number
 * of seconds ("90", "2.5"), or terms NUMBER UNIT summed ("30s", "5m", "1.5h", "1h30m",
 * "1h 30m"), UNIT being s, m or h in either case, with whitespace allowed around and between
 * terms. It must be more than 0.
 */
const NUMBER = '[0-9]+(?:\\.[0-9]+)?';
const BUDGET_SECONDS = new RegExp(`^${NUMBER}$`);
const BUDGET_TERMS = new RegExp(`^(?:${NUMBER}\\s*[hHmMsS]\\s*)+$`);
const BUDGET_TERM = new RegExp(`(${NUMBER})\\s*([hHmMsS])`, 'g');
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** A time budget ("30s", "5m", "1.5h", "1h30m", "90") in seconds, or the error to show by its field. */
export function parseBudget(text: string): { seconds: number } | { error: string } {
  const t = text.trim();
  if (!t) {
    return { error: 'give a time budget, e.g. 30s, 5m or 1h' };
  }
  let seconds: number;
  if (BUDGET_SECONDS.test(t)) {
    seconds = parseFloat(t);
  } else if (BUDGET_TERMS.test(t)) {
    seconds = 0;
    for (const [, n, unit] of t.matchAll(BUDGET_TERM)) {
      seconds += parseFloat(n) * UNIT_SECONDS[unit.toLowerCase()];
    }
  } else {
    return { error: `"${t}" is not a time budget: write a number with s, m or h (30s, 5m, 1h, 1h30m)` };
  }
  if (!(seconds > 0)) {
    return { error: 'the time budget must be more than 0' };
  }
  return { seconds };
}

export interface IAutoMLForm {
  frame: string;
  target: string;
  timeBudget: string;
  metric: string;
  name: string;
}

/** Field errors of the AutoML form before anything is sent ({} when it may be sent). */
export function validateAutoML(form: IAutoMLForm): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!form.frame) {
    errors.frame = 'pick a DataFrame';
  }
  if (!form.target) {
    errors.target = 'pick the target column';
  }
  const budget = parseBudget(form.timeBudget);
  if ('error' in budget) {
    errors.time_budget = budget.error;
  }
  return errors;
}

/** The bridge's arguments for `check_automl` / `start_automl`. */
export function automlArgs(form: IAutoMLForm): Record<string, unknown> {
  return {
    frame: form.frame,
    target: form.target,
    time_budget: form.timeBudget.trim(),
    metric: form.metric || null,
    name: form.name.trim() || null
  };
}

export interface ISweepForm {
  cellId: string;
  space: string;
  metric: string;
  /** '' leaves the choice to the sweep: the metric's name decides, and the sweep says so. */
  direction: Direction | '';
  trials: string;
  /** '' leaves the choice to the sweep: TPE, or grid for a space of grid(...) only. */
  sampler: string;
  /** '' runs without pruning. */
  pruner: string;
  name: string;
}

/** The samplers and pruners `xt.sweep` knows (optimize/samplers.py, optimize/pruners.py). */
export const SAMPLERS = ['tpe', 'random', 'grid', 'gp', 'cmaes'];
export const PRUNERS = ['asha', 'hyperband', 'median'];

/** Field errors of the sweep form before anything is sent ({} when it may be sent). */
export function validateSweep(form: ISweepForm): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!form.cellId) {
    errors.cell_id = 'pick a tracked cell';
  }
  if (!form.space.trim()) {
    errors.space = 'give a search space, e.g. lr=loguniform(0.001, 0.1); depth=int(2, 8)';
  }
  if (!form.metric.trim()) {
    errors.metric = 'pick the metric to optimise';
  }
  if (form.direction !== '' && form.direction !== 'maximize' && form.direction !== 'minimize') {
    errors.direction = 'pick maximize or minimize, or leave it to the metric\'s name';
  }
  const t = form.trials.trim();
  if (!/^\d+$/.test(t) || parseInt(t, 10) < 1) {
    errors.trials = 'trials must be a whole number of at least 1';
  }
  return errors;
}

/** The bridge's arguments for `check_sweep` / `start_sweep`. */
export function sweepArgs(form: ISweepForm, source: string): Record<string, unknown> {
  return {
    cell_id: form.cellId,
    source,
    space: form.space.trim(),
    trials: parseInt(form.trials.trim(), 10),
    metric: form.metric.trim(),
    direction: form.direction || null,
    sampler: form.sampler || null,
    pruner: form.pruner || null,
    name: form.name.trim() || null
  };
}

/** The form a tracked cell suggests: its space and metric, 20 trials; the direction is left
 * to the sweep (the metric's name decides) until the user picks one. */
export function sweepFormFor(cell: ITrackedCell, name = ''): ISweepForm {
  return {
    cellId: cell.cell_id,
    space: cell.space,
    metric: cell.metric ?? cell.last_run.metrics[0] ?? '',
    direction: '',
    trials: '20',
    sampler: '',
    pruner: '',
    name
  };
}

/** The source a sweep runs: the cell as it is now in the open notebook, else as recorded. */
export function sweepSource(
  current: string | null | undefined,
  recorded: string
): { source: string; from: 'notebook' | 'recorded' } {
  return current !== null && current !== undefined
    ? { source: current, from: 'notebook' }
    : { source: recorded, from: 'recorded' };
}

/** Seconds the job has run: to now while it runs, to its end after; null when unknown. */
export function elapsedSeconds(job: IJob, now = Date.now() / 1000): number | null {
  const end = job.ended_at ?? (job.state === 'running' ? now : null);
  return end === null ? null : Math.max(0, end - job.started_at);
}

/** Whether the job's progress is seconds of a time budget (AutoML) rather than trials. */
function timeBudgeted(job: IJob): boolean {
  return job.kind === 'automl' && !!job.progress.total;
}

/** The share of a job done, 0..1, or null when unknown. An AutoML search's share is the
 * time it has run over its budget: the same seconds the row shows as elapsed. */
export function jobFraction(job: IJob, now = Date.now() / 1000): number | null {
  if (job.state === 'finished') {
    return 1;
  }
  const clamp = (f: number) => Math.min(1, Math.max(0, f));
  const elapsed = elapsedSeconds(job, now);
  if (timeBudgeted(job) && elapsed !== null) {
    return clamp(elapsed / job.progress.total!);
  }
  const p = job.progress;
  if (p.fraction !== null && Number.isFinite(p.fraction)) {
    return clamp(p.fraction);
  }
  if (p.done !== null && p.total) {
    return clamp(p.done / p.total);
  }
  return null;
}

/** The progress text: "3 / 20" trials done, "12.3 s / 20 s" of an AutoML budget (its
 * elapsed time, so it agrees with the row's other figures), "3 done" or "—". */
export function progressText(job: IJob, now = Date.now() / 1000): string {
  const { done, total } = job.progress;
  const elapsed = elapsedSeconds(job, now);
  if (timeBudgeted(job) && elapsed !== null) {
    // A budget is given in whole seconds ("20 s", not "20.0 s"); longer ones as durations.
    const budget = total! < 60 ? `${total} s` : formatDuration(total);
    return `${formatDuration(Math.min(elapsed, total!))} / ${budget}`;
  }
  if (done !== null && total !== null) {
    return `${done} / ${total}`;
  }
  if (done !== null) {
    return `${done} done`;
  }
  const f = jobFraction(job, now);
  return f === null ? '—' : `${Math.round(f * 100)}%`;
}

/** The children figure beside the progress: AutoML's candidates ("12 candidates"); for a
 * running sweep whose progress counts its ended trials, the trials still running ("1
 * running"), so "1 / 6" is never followed by a different count of trials ("2 trials"). */
export function childrenText(job: IJob): string {
  if (job.kind === 'automl') {
    return `${job.trials} ${job.trials === 1 ? 'candidate' : 'candidates'}`;
  }
  const done = job.progress.done;
  if (done === null || job.state !== 'running') {
    return trialsText(job.trials);
  }
  const running = job.trials - done;
  return running > 0 ? `${running} running` : '';
}

/** Where a job's trials ran: "on gpu-1 (2), gpu-2 (1)"; "on gpu-1" when one host ran them
 * all; past `max` hosts, "and 3 more"; '' before any trial. */
export function hostsText(job: IJob, max = 3): string {
  const hosts = job.hosts ?? [];
  if (!hosts.length) {
    return '';
  }
  if (hosts.length === 1) {
    return `on ${hosts[0].host ?? 'an unknown host'}`;
  }
  const named = hosts.slice(0, max).map(h => `${h.host ?? '?'} (${h.runs})`);
  const rest = hosts.length - max;
  return `on ${named.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}

/** The best score with its metric and direction: "accuracy 0.9512 ↑", or "no score yet". */
export function bestText(job: IJob): string {
  if (job.best === null || job.best === undefined) {
    return job.state === 'running' ? 'no score yet' : 'no score';
  }
  const arrow = job.direction === 'maximize' ? ' ↑' : job.direction === 'minimize' ? ' ↓' : '';
  return `${job.metric ? job.metric + ' ' : ''}${formatNumber(job.best)}${arrow}`;
}

/** How long the job has run (until now while running). */
export function elapsedText(job: IJob, now = Date.now() / 1000): string {
  const elapsed = elapsedSeconds(job, now);
  return elapsed === null ? '—' : formatDuration(elapsed);
}

/** A job's label: "#12 name", or "#12 sweep". */
export function jobLabel(job: IJob): string {
  return `#${job.number} ${job.name || job.kind}`;
}

/** "3 trials", "1 trial". */
export function trialsText(n: number): string {
  return `${n} ${n === 1 ? 'trial' : 'trials'}`;
}

/** Whether the list has a job that may still change (so the view polls). */
export function anyRunning(jobs: IJob[]): boolean {
  return jobs.some(j => j.state === 'running');
}

/** The Cancel button's label: "Cancelling…" from the click until the job stops running. */
export function cancelLabel(job: IJob, clicked: boolean): string {
  return clicked || job.cancel_requested ? 'Cancelling…' : 'Cancel';
}

/** "Iris · 150 rows · 5 columns" for the frame select. */
export function frameLabel(frame: IFrameInfo): string {
  return `${frame.name} (${frame.rows.toLocaleString('en-US')} × ${frame.columns.length})`;
}

/** A cell's params in one short line: "lr=0.1, depth=3". */
export function paramsLine(params: Record<string, unknown>, maxLength = 80): string {
  const text = Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return text.length > maxLength ? text.slice(0, maxLength - 1) + '…' : text;
}

/** A job the Launch form just started: its parent run when known, and when it started. */
export interface IExpectedJob {
  runId: string | null;
  /** Unix seconds, taken just before the start request was sent. */
  since: number;
}

/** Whether `job` is the one launched: its run id, or (id unknown) one started since then. */
export function isExpected(job: IJob, expected: IExpectedJob): boolean {
  if (expected.runId !== null) {
    return job.run_id === expected.runId;
  }
  // Clocks of browser and kernel may differ a little.
  return job.started_at >= expected.since - 5;
}

/**
 * Formatting of run values for display. Everything here returns plain text: the
 * components render it as React text nodes, never as HTML.
 */

/** A value as the API sends it: numbers, the names of non-finite numbers, text, ... */
export type Cell = string | number | boolean | null | undefined | object;

const NON_FINITE: Record<string, number> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity
};

/** The number a cell holds ("NaN"/"Infinity" included), or null when it is not one. */
export function toNumber(value: Cell): number | null {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'string' && value in NON_FINITE) {
    return NON_FINITE[value];
  }
  if (typeof value === 'boolean') {
    return value ? 1 : 0;
  }
  return null;
}

/** Short text for a number: 4 significant digits, integers as they are. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) {
    return 'NaN';
  }
  if (!Number.isFinite(n)) {
    return n > 0 ? '∞' : '-∞';
  }
  if (Number.isInteger(n) && Math.abs(n) < 1e15) {
    return String(n);
  }
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return n.toExponential(3).replace(/\.?0+e/, 'e');
  }
  return String(Number(n.toPrecision(4)));
}

/** Text for any cell: missing values as an em dash, numbers short, objects as JSON. */
export function formatValue(value: Cell, maxLength = 60): string {
  if (value === null || value === undefined) {
    return '—';
  }
  const num = toNumber(value);
  if (num !== null && typeof value !== 'boolean') {
    return formatNumber(num);
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > maxLength ? text.slice(0, maxLength - 1) + '…' : text;
}

/** A duration in seconds as "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds - m * 60);
    return `${m} min ${String(s).padStart(2, '0')} s`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds - h * 3600) / 60);
  return `${h} h ${String(m).padStart(2, '0')} min`;
}

/** Unix seconds as a local "YYYY-MM-DD HH:MM", or relative ("5 min ago") when recent. */
export function formatTime(unix: number | null | undefined, now = Date.now() / 1000): string {
  if (unix === null || unix === undefined) {
    return '—';
  }
  const age = now - unix;
  if (age >= 0 && age < 60) {
    return 'just now';
  }
  if (age >= 0 && age < 3600) {
    return `${Math.floor(age / 60)} min ago`;
  }
  if (age >= 0 && age < 86400) {
    return `${Math.floor(age / 3600)} h ago`;
  }
  const d = new Date(unix * 1000);
  const pad = (x: number) => String(x).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** A byte count as "512 B", "1.5 KB", "12 MB". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '—';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${Number(value.toPrecision(3))} ${units[unit]}`;
}

/** A blob hash shortened for display ("xxh3_128:1a2b3c4d…"). */
export function shortHash(hash: string | null | undefined): string {
  if (!hash) {
    return '—';
  }
  const [algo, digest] = hash.includes(':') ? hash.split(':', 2) : ['', hash];
  return `${algo ? algo + ':' : ''}${digest.slice(0, 8)}…`;
}

/** A column's header: namespaced columns keep their prefix (params.lr, tags.xtrack.job.id:
 * two columns never read the same), base columns get a short word. */
export function columnLabel(column: string): string {
  return (
    {
      number: '#',
      started_at: 'started',
      duration_s: 'duration',
      'git.commit': 'commit'
    }[column] ?? column
  );
}

/** `text` cut to `max` characters in the middle ("tags.xtrack…job.state"), so that both
 * the namespace and the end of a long key stay readable. */
export function middleEllipsis(text: string, max: number): string {
  if (text.length <= max || max < 5) {
    return text;
  }
  const head = Math.ceil((max - 1) / 2);
  return text.slice(0, head) + '…' + text.slice(text.length - (max - 1 - head));
}

/** Why a run is marked incomplete (the ⚠ after its status). */
export const INCOMPLETE_HELP = 'incomplete: some of what this run logged could not be stored (its detail says how much and why)';

/** A run's status as the runs table shows it: "finished ⚠" when it is incomplete (as
 * `xtrack ls` writes it). */
export function statusText(status: string, incomplete?: boolean | null): string {
  return incomplete ? `${status} ⚠` : status;
}

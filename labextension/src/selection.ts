/**
 * The runs a chart's brush keeps: parallel coordinates and the scatter view publish it, and
 * whatever lists runs (the runs table, Compare's sections) can narrow itself to it.
 *
 * One small interface between views that do not know each other: a value and a signal. A
 * view that brushes calls `setBrushed`; a list subscribes with `useBrushedRuns` (React) or
 * `onBrushChanged` and reads `brushedRuns()`; `null` means nothing brushed.
 */
import * as React from 'react';

/** What a brush keeps, and which view set it (a list may say "brushed in ..."). */
export interface IBrush {
  ids: ReadonlySet<string>;
  source: string;
  /** The kept runs' numbers, when the view knows them: a shorter filter than the ids. */
  numbers?: readonly number[];
}

let current: IBrush | null = null;
const listeners = new Set<(brush: IBrush | null) => void>();

/** Call `listener` with the new brush (or null) whenever it changes; returns the unsubscribe. */
export function onBrushChanged(listener: (brush: IBrush | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The runs kept by the current brush, or null when none is set. */
export function brushedRuns(): IBrush | null {
  return current;
}

/** Set (ids) or clear (null) the brush; listeners hear only real changes. */
export function setBrushed(ids: Iterable<string> | null, source = '', numbers?: readonly number[]): void {
  const next = ids === null ? null : { ids: new Set(ids), source, numbers };
  const same =
    (next === null && current === null) ||
    (next !== null && current !== null && next.source === current.source &&
      next.ids.size === current.ids.size && [...next.ids].every(id => current!.ids.has(id)));
  if (same) {
    return;
  }
  current = next;
  listeners.forEach(listener => listener(next));
}

/** The current brush, re-rendering the component when it changes. */
export function useBrushedRuns(): IBrush | null {
  const [brush, setBrush] = React.useState<IBrush | null>(current);
  React.useEffect(() => {
    setBrush(current);
    const off = onBrushChanged(setBrush);
    return () => {
      off();
    };
  }, []);
  return brush;
}

/** The brush as a runs filter (and the words naming it), for a list that filters on the
 * server: `number in (...)` when the numbers are known (about 7 characters a run, so a
 * brush over Compare's 500 runs stays far below the filter's length limit), else
 * `id in (...)`. A brush that keeps nothing matches nothing. */
export function brushFilter(brush: IBrush): { filter: string; label: string } {
  const n = brush.ids.size;
  const label = `${n} run${n === 1 ? '' : 's'} brushed${brush.source ? ` in the ${brush.source}` : ''}`;
  if (!n) {
    return { filter: 'number = -1', label };
  }
  const filter = brush.numbers && brush.numbers.length === n
    ? `number in (${[...brush.numbers].sort((a, b) => a - b).join(', ')})`
    : `id in (${[...brush.ids].map(id => `'${id.replace(/[\\']/g, c => '\\' + c)}'`).join(', ')})`;
  return { filter, label };
}

/** The runs table: server-side paging, sorting and filtering, virtualised rows. */
import * as React from 'react';
import { ApiError, requestAPI } from './api';
import { columnLabel, formatDuration, formatTime, formatValue } from './format';
import {
  CHECK_WIDTH,
  choosableColumns,
  columnWidth,
  GROUP_WIDTH,
  GroupBy,
  groupFilter,
  groupKey,
  groupLabel,
  IRunPage,
  IRunRow,
  IRunsQuery,
  PagedRows,
  runsQueryString,
  sortDirection,
  tableLayout,
  toggleSort,
  visibleColumns,
  visibleWindow
} from './model';

const ROW_HEIGHT = 26;
/** While the table shows an error other than a bad filter, it asks again this often. */
const RETRY_MS = 5000;

export interface IRunsTableProps {
  columns: string[];
  groupBy: GroupBy;
  pageSize: number;
  /** Bumped by the change feed: reload what is shown. */
  revision: number;
  onColumns: (columns: string[]) => void;
  onGroupBy: (groupBy: GroupBy) => void;
  onOpen: (id: string) => void;
  onCompare: (ids: string[]) => void;
}

function cellText(row: IRunRow, column: string): string {
  if (column === 'started_at') {
    return formatTime(row.started_at);
  }
  if (column === 'duration_s') {
    return row.status === 'running' ? 'running…' : formatDuration(row.duration_s);
  }
  if (column === 'number') {
    return `#${row.number}`;
  }
  return formatValue(row[column]);
}

export function RunsTable(props: IRunsTableProps): JSX.Element {
  const [filterText, setFilterText] = React.useState('');
  const [filter, setFilter] = React.useState('');
  const [orderBy, setOrderBy] = React.useState('');
  const [error, setError] = React.useState<ApiError | null>(null);
  const [loading, setLoading] = React.useState(true);
  const [storeMissing, setStoreMissing] = React.useState(false);
  const [selected, setSelected] = React.useState<string[]>([]);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [viewport, setViewport] = React.useState(600);
  const [, setTick] = React.useState(0);
  const [retry, setRetry] = React.useState(0);
  const rowsRef = React.useRef(new PagedRows(props.pageSize));
  const bodyRef = React.useRef<HTMLDivElement>(null);
  // Runs per group of the current query (null: being counted), for the group headings.
  const groupCounts = React.useRef(new Map<string, number | null>());
  // The row last opened, focused again when the table is shown again (keyboard users).
  const lastOpened = React.useRef<number | null>(null);
  const query: IRunsQuery = { filter, orderBy, groupBy: props.groupBy, columns: props.columns };
  const queryKey = JSON.stringify(query);
  const rows = rowsRef.current;

  const fetchPage = React.useCallback(
    async (page: number, key: string) => {
      rows.markPending(page);
      try {
        const result = await requestAPI<IRunPage>(
          'runs?' + runsQueryString(JSON.parse(key), page * rows.pageSize, rows.pageSize)
        );
        if (key !== latestKey.current) {
          return;
        }
        rows.put(page, result);
        setStoreMissing(result.store_state === 'missing');
        setError(null);
      } catch (e) {
        rows.failed(page);
        if (key === latestKey.current) {
          setError(e as ApiError);
        }
      } finally {
        if (key === latestKey.current) {
          setLoading(false);
          setTick(t => t + 1);
        }
      }
    },
    [rows]
  );
  const latestKey = React.useRef(queryKey);

  // A new query (or a change in the store, or a retry): start from the first visible page
  // again.
  React.useEffect(() => {
    latestKey.current = queryKey;
    rows.clear();
    groupCounts.current.clear();
    setLoading(true);
    const [first, last] = visibleWindow(scrollTop, viewport, ROW_HEIGHT, Math.max(rows.total, 1));
    const pages = new Set([Math.floor(first / rows.pageSize), Math.floor(last / rows.pageSize)]);
    pages.forEach(p => void fetchPage(p, queryKey));
  }, [queryKey, props.revision, retry]);

  // An error the user cannot fix from here (server, store, network) may go away by itself
  // (a store moved aside, a server restarted): ask again every few seconds meanwhile.
  React.useEffect(() => {
    if (!error || error.reason === 'filter') {
      return;
    }
    const timer = window.setTimeout(() => setRetry(r => r + 1), RETRY_MS);
    return () => window.clearTimeout(timer);
  }, [error, retry]);

  React.useEffect(() => {
    const el = bodyRef.current;
    if (!el) {
      return;
    }
    let shown = el.clientHeight > 0;
    const observer = new ResizeObserver(() => {
      setViewport(el.clientHeight || 600);
      // Shown again after a run's view (hidden meanwhile, it lost the focus): put the
      // focus back on the run that was opened, so the keyboard carries on from there.
      const nowShown = el.clientHeight > 0;
      if (nowShown && !shown && lastOpened.current !== null && document.activeElement === document.body) {
        (el.querySelector(`[data-index="${lastOpened.current}"]`) as HTMLElement | null)?.focus();
      }
      shown = nowShown;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const [first, last] = visibleWindow(scrollTop, viewport, ROW_HEIGHT, rows.total);
  React.useEffect(() => {
    rows.missing(first, last).forEach(p => void fetchPage(p, queryKey));
    // Count the runs of each group whose heading is on screen (once per query).
    for (let i = first; i <= last; i++) {
      const row = rows.row(i);
      const key = row ? groupKey(row, props.groupBy) : null;
      if (key === null || groupCounts.current.has(key)) {
        continue;
      }
      groupCounts.current.set(key, null);
      const counted = queryKey;
      const q = new URLSearchParams({
        filter: groupFilter(props.groupBy, key, filter) ?? '',
        limit: '0',
        columns: ''
      });
      requestAPI<IRunPage>('runs?' + q.toString()).then(
        page => {
          if (counted === latestKey.current) {
            groupCounts.current.set(key, page.total);
            setTick(t => t + 1);
          }
        },
        () => undefined // the heading just goes without its count
      );
    }
  });

  const open = (index: number, id: string) => {
    lastOpened.current = index;
    props.onOpen(id);
  };

  const available = choosableColumns(rows.columns);
  const columns = visibleColumns(available, props.columns);
  const layout = tableLayout(columns, props.groupBy !== 'none');
  const toggle = (id: string) =>
    setSelected(s => (s.includes(id) ? s.filter(x => x !== id) : [...s, id]));

  const onKey = (event: React.KeyboardEvent, index: number, row: IRunRow) => {
    if (event.key === 'Enter') {
      open(index, row.id);
    } else if (event.key === ' ') {
      event.preventDefault();
      toggle(row.id);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = index + (event.key === 'ArrowDown' ? 1 : -1);
      const el = bodyRef.current;
      if (el && next >= 0 && next < rows.total) {
        // The sticky header row sits above row 0 inside the scrolled box.
        const top = (next + 1) * ROW_HEIGHT;
        if (top - ROW_HEIGHT < el.scrollTop || top + ROW_HEIGHT > el.scrollTop + el.clientHeight) {
          el.scrollTop = top - el.clientHeight / 2;
        }
        // Focus at once when the row is drawn already, so a quick second key press acts on
        // it; a row brought into view by the scroll is drawn on the next frame.
        const target = () => el.querySelector(`[data-index="${next}"]`) as HTMLElement | null;
        const now = target();
        if (now) {
          now.focus();
        } else {
          window.requestAnimationFrame(() => target()?.focus());
        }
      }
    }
  };

  const groupTitle = (group: string) => {
    const n = groupCounts.current.get(group);
    return typeof n === 'number' ? `${group}: ${n.toLocaleString()} run${n === 1 ? '' : 's'}` : group;
  };

  const visible: JSX.Element[] = [];
  for (let i = first; i <= last; i++) {
    const row = rows.row(i);
    const style = { top: i * ROW_HEIGHT, height: ROW_HEIGHT };
    if (!row) {
      visible.push(
        <div key={`p${i}`} className="jp-xtrack-row jp-xtrack-placeholder" style={style}>
          <span className="jp-xtrack-cell">…</span>
        </div>
      );
      continue;
    }
    const group = groupKey(row, props.groupBy);
    const prev = i > 0 ? rows.row(i - 1) : undefined;
    const startsGroup = group !== null && (!prev || groupKey(prev, props.groupBy) !== group);
    visible.push(
      <div
        key={row.id}
        data-index={i}
        data-run={row.number}
        className={
          'jp-xtrack-row' +
          (selected.includes(row.id) ? ' jp-mod-selected' : '') +
          (startsGroup ? ' jp-xtrack-group-start' : '')
        }
        style={style}
        tabIndex={0}
        role="row"
        onClick={() => open(i, row.id)}
        onKeyDown={e => onKey(e, i, row)}
      >
        <span className="jp-xtrack-cell jp-xtrack-check jp-xtrack-pinned" style={{ flexBasis: CHECK_WIDTH }}
          onClick={e => e.stopPropagation()}>
          <input
            type="checkbox"
            aria-label={`select run ${row.number}`}
            checked={selected.includes(row.id)}
            onChange={() => toggle(row.id)}
          />
        </span>
        {layout.order.map(c =>
          c === '@group' ? (
            <span key={c} className="jp-xtrack-cell jp-xtrack-group" style={{ flexBasis: GROUP_WIDTH }}
              title={group === null ? '' : groupTitle(group)}>
              {startsGroup && group !== null && (
                <>
                  <span className="jp-xtrack-group-label">{groupLabel(props.groupBy, group)}</span>
                  {typeof groupCounts.current.get(group) === 'number' && (
                    <span className="jp-xtrack-group-count">{groupCounts.current.get(group)}</span>
                  )}
                </>
              )}
            </span>
          ) : (
            <span
              key={c}
              className={
                'jp-xtrack-cell ' +
                (c === 'status' ? `jp-xtrack-col-status jp-xtrack-status-${row.status}` : 'jp-xtrack-col-value') +
                (c === 'number' ? ' jp-xtrack-pinned jp-xtrack-col-number' : '')
              }
              style={{ flexBasis: columnWidth(c), left: c === 'number' ? CHECK_WIDTH : undefined }}
              title={formatValue(row[c], 400)}
            >
              {cellText(row, c)}
            </span>
          )
        )}
      </div>
    );
  }

  return (
    <div className="jp-xtrack-runs">
      <div className="jp-xtrack-toolbar">
        <input
          className="jp-xtrack-filter jp-mod-styled"
          placeholder="filter, e.g. metrics.acc > 0.9 and params.model = 'rf'"
          aria-label="filter runs"
          value={filterText}
          onChange={e => setFilterText(e.target.value)}
          onKeyDown={e => e.key === 'Enter' && setFilter(filterText)}
          onBlur={() => setFilter(filterText)}
        />
        <select
          aria-label="group runs by"
          className="jp-mod-styled"
          value={props.groupBy}
          onChange={e => props.onGroupBy(e.target.value as GroupBy)}
        >
          <option value="none">no grouping</option>
          <option value="experiment">by experiment</option>
          <option value="notebook_path">by notebook</option>
        </select>
        <details className="jp-xtrack-columns">
          <summary>columns</summary>
          <div className="jp-xtrack-columns-list">
            {available.length === 0 && <div>no params, metrics or tags yet</div>}
            {props.columns.length > 0 && (
              <button className="jp-mod-styled jp-xtrack-columns-reset" onClick={() => props.onColumns([])}
                title="show the first few params, metrics and tags again">
                default columns
              </button>
            )}
            {available.map(c => (
              <label key={c}>
                <input
                  type="checkbox"
                  checked={props.columns.includes(c) || (!props.columns.length && columns.includes(c))}
                  // No choice at all means the default columns: the last chosen one stays
                  // (the button above goes back to the defaults).
                  disabled={props.columns.length === 1 && props.columns[0] === c}
                  onChange={() => {
                    const current = props.columns.length ? props.columns : columns.filter(x => available.includes(x));
                    props.onColumns(current.includes(c) ? current.filter(x => x !== c) : [...current, c]);
                  }}
                />
                {c}
              </label>
            ))}
          </div>
        </details>
        <button
          className="jp-mod-styled jp-mod-accept"
          disabled={selected.length < 2}
          onClick={() => props.onCompare(selected)}
          title="compare the selected runs"
        >
          Compare{selected.length >= 2 ? ` (${selected.length})` : ''}
        </button>
      </div>
      {error && error.reason === 'filter' ? (
        <pre className="jp-xtrack-filter-error" role="alert">
          {error.message.split('\n')[0]}
          {'\n'}
          {error.filter}
          {'\n'}
          {' '.repeat(error.position ?? 0) + '^'}
        </pre>
      ) : error ? (
        <div className="jp-xtrack-error" role="alert">
          {error.reason === 'store' ? 'The run store cannot be read: ' : 'Server error: '}
          {error.message}
          <div className="jp-xtrack-error-actions">
            <button className="jp-mod-styled" onClick={() => setRetry(r => r + 1)}>Retry</button>
            <span className="jp-xtrack-muted"> (tried again every {RETRY_MS / 1000} s)</span>
          </div>
        </div>
      ) : null}
      <div
        className="jp-xtrack-body"
        ref={bodyRef}
        onScroll={e => setScrollTop(Math.max(0, (e.target as HTMLDivElement).scrollTop - ROW_HEIGHT))}
        role="grid"
        aria-rowcount={rows.total}
        aria-colcount={layout.order.length + 1}
      >
        {error && error.reason !== 'filter' && rows.total === 0 ? null : loading && rows.total === 0 ? (
          <div className="jp-xtrack-empty">Loading runs…</div>
        ) : storeMissing ? (
          <div className="jp-xtrack-empty">
            No runs yet. Load the extension with <code>%load_ext jupyter_xtrack</code> and put{' '}
            <code>%%track</code> on a cell: its run appears here.
          </div>
        ) : rows.total === 0 && !error ? (
          <div className="jp-xtrack-empty">
            {filter ? 'No run matches this filter.' : 'No runs in the store yet.'}
          </div>
        ) : (
          // One box as wide as all the columns: a narrow sidebar scrolls it sideways, the
          // header stays on top and the box and run number stay at the left.
          <div className="jp-xtrack-table" style={{ width: layout.width }}>
            <div className="jp-xtrack-header" role="row" style={{ height: ROW_HEIGHT }}>
              <span className="jp-xtrack-cell jp-xtrack-check jp-xtrack-pinned" style={{ flexBasis: CHECK_WIDTH }} />
              {layout.order.map(c => {
                if (c === '@group') {
                  return (
                    <span key={c} className="jp-xtrack-cell jp-xtrack-group" style={{ flexBasis: GROUP_WIDTH }}>
                      {props.groupBy === 'experiment' ? 'experiment' : 'notebook'}
                    </span>
                  );
                }
                const dir = sortDirection(orderBy, c);
                return (
                  <button
                    key={c}
                    className={'jp-xtrack-cell jp-xtrack-sort' + (c === 'number' ? ' jp-xtrack-pinned' : '')}
                    style={{ flexBasis: columnWidth(c), left: c === 'number' ? CHECK_WIDTH : undefined }}
                    title={`sort by ${c}`}
                    aria-sort={dir === 'desc' ? 'descending' : dir === 'asc' ? 'ascending' : 'none'}
                    onClick={() => setOrderBy(toggleSort(orderBy, c))}
                  >
                    {columnLabel(c)}
                    {dir === 'desc' ? ' ▼' : dir === 'asc' ? ' ▲' : ''}
                  </button>
                );
              })}
            </div>
            <div className="jp-xtrack-spacer" style={{ height: rows.total * ROW_HEIGHT }}>
              {visible}
            </div>
          </div>
        )}
      </div>
      <div className="jp-xtrack-footer">
        {rows.total.toLocaleString()} run{rows.total === 1 ? '' : 's'}
        {selected.length ? ` · ${selected.length} selected` : ''}
      </div>
    </div>
  );
}

/**
 * The runs table: server-side paging, sorting, filtering and plain-word search,
 * virtualised rows; child runs nested under their parent, groups by any column with
 * collapse and aggregates; columns chosen, resized and reordered (remembered).
 */
import * as React from 'react';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ApiError, requestAPI } from './api';
import { columnLabel, formatDuration, formatTime, formatValue, INCOMPLETE_HELP, middleEllipsis, statusText } from './format';
import {
  aggregateText,
  applyOrder,
  CHECK_WIDTH,
  choosableColumns,
  columnGroups,
  columnWidth,
  defaultColumns,
  GroupBy,
  groupLabel,
  groupsQueryString,
  IGroup,
  IRunPage,
  IRunRow,
  IRunsQuery,
  IUserList,
  MIN_COLUMN_WIDTH,
  moveColumn,
  Outline,
  PagedRows,
  runsQueryString,
  sortDirection,
  tableLayout,
  toggleSort,
  userFilter,
  visibleColumns,
  visibleWindow,
  withUserColumn
} from './model';

const ROW_HEIGHT = 26;
/** While the table shows an error other than a bad filter, it asks again this often. */
const RETRY_MS = 5000;
/** The user filter's list of people is asked again at most this often. */
const USERS_MS = 10_000;
/** The filter that keeps child runs under their parent (when nothing is filtered). */
const ROOTS_ONLY = 'parent_id = null';
/** Columns a group can be chosen by besides the params/metrics/tags shown. */
const GROUP_FIELDS: [string, string][] = [
  ['experiment', 'by experiment'],
  ['notebook_path', 'by notebook'],
  ['status', 'by status'],
  ['kind', 'by kind'],
  ['git.branch', 'by git branch']
];

/** A filter from another view (a chart's brush): every run shown must also match it. */
export interface IExternalFilter {
  filter: string;
  /** How the chip above the table names it ("lr 0.01–0.1"). */
  label: string;
}

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
  /** Where column widths and order are remembered (columnWidths, columnOrder). */
  settings?: ISettingRegistry.ISettings | null;
  /** Narrows the table on top of the filter box, shown as a chip; null: none. */
  externalFilter?: IExternalFilter | null;
  /** The chip's × was pressed: the owner drops its filter. */
  onClearExternalFilter?: () => void;
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
  if (column === 'status') {
    return statusText(row.status, row.incomplete);
  }
  return formatValue(row[column]);
}

/** The saved column widths and order, and a way to change them. */
function useLayoutSettings(settings: ISettingRegistry.ISettings | null | undefined) {
  const read = () => ({
    widths: ((settings?.composite.columnWidths as Record<string, number>) ?? {}) as Record<string, number>,
    order: ((settings?.composite.columnOrder as string[]) ?? []) as string[]
  });
  const [layout, setLayout] = React.useState(read);
  React.useEffect(() => {
    const changed = () => setLayout(read());
    settings?.changed.connect(changed);
    return () => {
      settings?.changed.disconnect(changed);
    };
  }, [settings]);
  const save = (key: 'columnWidths' | 'columnOrder', value: Record<string, number> | string[]) => {
    setLayout(l => (key === 'columnWidths' ? { ...l, widths: value as Record<string, number> } : { ...l, order: value as string[] }));
    void settings?.set(key, value as any);
  };
  return { layout, setLayout, save };
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
  const [groups, setGroups] = React.useState<IGroup[] | null>(null);
  // With a filter, nested: how many runs matched (the top rows include context parents).
  const [matched, setMatched] = React.useState<number | null>(null);
  const [serverFlat, setServerFlat] = React.useState(false);
  const [truncated, setTruncated] = React.useState(false);
  const [collapsed, setCollapsed] = React.useState<Set<string>>(() => new Set());
  const [expanded, setExpanded] = React.useState<Set<string>>(() => new Set());
  const [columnSearch, setColumnSearch] = React.useState('');
  const [dragged, setDragged] = React.useState<string | null>(null);
  // Whose runs are shown: the people picked (none: everyone's), and who ran the store's runs.
  const [pickedUsers, setPickedUsers] = React.useState<string[]>([]);
  const [people, setPeople] = React.useState<IUserList | null>(null);
  const { layout, setLayout, save } = useLayoutSettings(props.settings);
  const root = React.useRef(new PagedRows(props.pageSize)).current;
  // The runs under a top item: a parent's children (by run id) or a group's runs (by key).
  const subs = React.useRef(new Map<string, PagedRows>()).current;
  const bodyRef = React.useRef<HTMLDivElement>(null);
  // The row last opened, focused again when the table is shown again (keyboard users).
  const lastOpened = React.useRef<number | null>(null);
  // Set while a column's edge is dragged, so the header's own drag (a move) stays out.
  const resizing = React.useRef(false);

  const grouped = props.groupBy !== 'none';
  const external = props.externalFilter?.filter.trim() ? [props.externalFilter.filter] : [];
  const byUser = userFilter(pickedUsers);
  // What narrows the table besides the filter box: a chart's brush, the people picked.
  const narrowing = [...external, ...(byUser ? [byUser] : [])];
  // Child runs stay under their parent, with a filter too: then the server lists the
  // matches' tree (a parent that does not match shown as context) and a parent's
  // expansion lists its children that match.
  const filtered = !!filter.trim() || narrowing.length > 0;
  // Whether rows show as a tree: not when grouped, nor when the server could not nest a
  // filter's matches (too many parents) and answered a flat page.
  const nested = !grouped && !serverFlat;
  const query: IRunsQuery = {
    filter,
    orderBy,
    columns: props.columns,
    and: [...narrowing, ...(!grouped && !filtered ? [ROOTS_ONLY] : [])],
    nest: !grouped && filtered
  };
  // With a filter, a parent starts open onto its matching children (they are what was
  // asked for); a toggle flips that. Without one, parents start closed.
  const isOpen = (row: IRunRow) => nested && expanded.has(row.id) !== (filtered && !!row.children_count);
  const queryKey = JSON.stringify({ query, groupBy: props.groupBy });
  const latestKey = React.useRef(queryKey);

  const fetchRows = React.useCallback(
    async (target: PagedRows, q: IRunsQuery, page: number, key: string) => {
      target.markPending(page);
      try {
        const result = await requestAPI<IRunPage>(
          'runs?' + runsQueryString(q, page * target.pageSize, target.pageSize)
        );
        if (key !== latestKey.current) {
          return;
        }
        target.put(page, result);
        if (target === root) {
          setMatched(result.matched ?? null);
          setServerFlat(result.nested === false);
        }
        result.system?.forEach(c => root.system.add(c));
        result.columns.forEach(c => root.columns.add(c));
        setStoreMissing(result.store_state === 'missing');
        setError(null);
      } catch (e) {
        // Not asked again until the query changes (or Retry): no request storm.
        target.failed(page);
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
    [root]
  );

  const fetchGroups = React.useCallback(async (q: IRunsQuery, groupBy: string, key: string) => {
    try {
      const result = await requestAPI<IRunPage>('runs?' + groupsQueryString(q, groupBy));
      if (key !== latestKey.current) {
        return;
      }
      setGroups(result.groups ?? []);
      setTruncated(!!result.truncated);
      setStoreMissing(result.store_state === 'missing');
      setError(null);
    } catch (e) {
      if (key === latestKey.current) {
        setGroups([]);
        setError(e as ApiError);
      }
    } finally {
      if (key === latestKey.current) {
        setLoading(false);
      }
    }
  }, []);

  // A new query (or a change in the store, or a retry): start again from the top items.
  React.useEffect(() => {
    latestKey.current = queryKey;
    root.clear();
    subs.clear();
    setLoading(true);
    if (grouped) {
      void fetchGroups(query, props.groupBy, queryKey);
    } else {
      setGroups(null);
      void fetchRows(root, query, 0, queryKey);
    }
  }, [queryKey, props.revision, retry]);

  // A new filter is a new set of runs: a selection the user can no longer see is dropped.
  React.useEffect(() => setSelected([]), [filter, props.externalFilter?.filter, byUser]);
  // ... and its parents open or closed as that filter starts them (see isOpen).
  React.useEffect(() => setExpanded(new Set()), [filter, props.externalFilter?.filter, byUser]);

  // Who ran the store's runs (for the user filter and the default user column), asked
  // again when the store changes, at most every USERS_MS (a running run changes it all the
  // time, and counting reads every run); without an answer the filter is not offered.
  const usersAsked = React.useRef(0);
  React.useEffect(() => {
    const ask = () => {
      usersAsked.current = Date.now();
      requestAPI<IUserList>('users')
        .then(setPeople)
        .catch(() => setPeople(null));
    };
    const wait = usersAsked.current + USERS_MS - Date.now();
    if (wait <= 0) {
      ask();
      return;
    }
    const timer = window.setTimeout(ask, wait);
    return () => window.clearTimeout(timer);
  }, [props.revision, retry]);

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

  // The runs under top item `key` (a group's or a parent's), made on first need.
  const subRows = (key: string, length: number, q: IRunsQuery): { rows: PagedRows; q: IRunsQuery } => {
    let rows = subs.get(key);
    if (!rows) {
      rows = new PagedRows(props.pageSize);
      rows.total = length;
      subs.set(key, rows);
    }
    return { rows, q };
  };

  // The flattened list: top items (groups, or runs) and the open ones' runs.
  const outline = new Outline(grouped ? groups?.length ?? 0 : root.total);
  const subOf: (top: number) => { rows: PagedRows; q: IRunsQuery } | null = top => {
    if (grouped) {
      const g = groups?.[top];
      if (!g || g.filter === null) {
        return null;
      }
      return subRows(`g:${JSON.stringify(g.key)}`, g.count, { ...query, and: [...(query.and ?? []), g.filter] });
    }
    const parent = root.row(top);
    if (!parent || !isOpen(parent)) {
      return null;
    }
    return subRows(`p:${parent.id}`, parent.children_count ?? 0, {
      filter,
      and: narrowing,
      orderBy: orderBy || 'number',
      columns: props.columns,
      parent: parent.id
    });
  };
  if (grouped) {
    groups?.forEach((g, i) => {
      if (g.filter !== null && !collapsed.has(JSON.stringify(g.key))) {
        outline.setOpen(i, g.count);
      }
    });
  } else if (nested) {
    root.forEachLoaded((row, index) => {
      if (row.children_count && isOpen(row)) {
        outline.setOpen(index, row.children_count ?? 0);
      }
    });
  }

  const total = outline.length;
  const [first, last] = visibleWindow(scrollTop, viewport, ROW_HEIGHT, total);
  const wanted = new Map<PagedRows, { q: IRunsQuery; lo: number; hi: number }>();
  const want = (rows: PagedRows, q: IRunsQuery, index: number) => {
    const w = wanted.get(rows);
    if (w) {
      w.lo = Math.min(w.lo, index);
      w.hi = Math.max(w.hi, index);
    } else {
      wanted.set(rows, { q, lo: index, hi: index });
    }
  };

  React.useEffect(() => {
    wanted.forEach((w, rows) => rows.missing(w.lo, w.hi).forEach(p => void fetchRows(rows, w.q, p, queryKey)));
  });

  const open = (index: number, id: string) => {
    lastOpened.current = index;
    props.onOpen(id);
  };

  const available = choosableColumns(root.columns);
  const system = root.system;
  const sampled = [...root.loadedRows().slice(0, 200), ...[...subs.values()].flatMap(s => s.loadedRows().slice(0, 50))];
  const defaults = withUserColumn(defaultColumns(sampled, available, system), people?.users.length ?? 0);
  const columns = applyOrder(visibleColumns(props.columns, defaults), layout.order);
  const table = tableLayout(columns, false, layout.widths);
  const width = (c: string) => columnWidth(c, layout.widths);
  // A group heading's label covers the columns before the first metric (the run number
  // at least), so that every metric column gets its aggregate.
  const firstMetric = table.order.findIndex(c => c.startsWith('metrics.'));
  const labelSpan = firstMetric < 0 ? Math.min(2, table.order.length) : Math.max(1, firstMetric);
  const labelWidth = table.order.slice(0, labelSpan).reduce((sum, c) => sum + width(c), 0);
  const toggle = (id: string) =>
    setSelected(s => (s.includes(id) ? s.filter(x => x !== id) : [...s, id]));
  const flip = (set: Set<string>, key: string, update: (s: Set<string>) => void) => {
    const next = new Set(set);
    if (!next.delete(key)) {
      next.add(key);
    }
    update(next);
  };

  const focusRow = (next: number) => {
    const el = bodyRef.current;
    if (!el || next < 0 || next >= total) {
      return;
    }
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
  };

  const onKey = (event: React.KeyboardEvent, index: number, row: IRunRow) => {
    if (event.key === 'Enter') {
      open(index, row.id);
    } else if (event.key === ' ') {
      event.preventDefault();
      toggle(row.id);
    } else if ((event.key === 'ArrowRight' || event.key === 'ArrowLeft') && row.children_count && nested) {
      event.preventDefault();
      if ((event.key === 'ArrowRight') !== isOpen(row)) {
        flip(expanded, row.id, setExpanded);
      }
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      focusRow(index + (event.key === 'ArrowDown' ? 1 : -1));
    }
  };

  const runRow = (row: IRunRow, i: number, child: boolean): JSX.Element => {
    const kids = row.children_count ?? 0;
    const opened = isOpen(row);
    return (
      <div
        key={`${child ? 'c' : 'r'}${row.id}`}
        data-index={i}
        data-run={row.number}
        className={
          'jp-xtrack-row' +
          (selected.includes(row.id) ? ' jp-mod-selected' : '') +
          (child || row.parent_id ? ' jp-xtrack-child' : '') +
          (row.context ? ' jp-xtrack-context' : '')
        }
        style={{ top: i * ROW_HEIGHT, height: ROW_HEIGHT }}
        tabIndex={0}
        role="row"
        aria-expanded={nested && kids ? opened : undefined}
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
        {table.order.map(c => (
          <span
            key={c}
            className={
              'jp-xtrack-cell ' +
              (c === 'status' ? `jp-xtrack-col-status jp-xtrack-status-${row.status}` : 'jp-xtrack-col-value') +
              (c === 'number' ? ' jp-xtrack-pinned jp-xtrack-col-number' : '') +
              (c === 'name' ? ' jp-xtrack-col-name' : '')
            }
            style={{ flexBasis: width(c), left: c === 'number' ? CHECK_WIDTH : undefined }}
            title={c === 'status' && row.incomplete ? INCOMPLETE_HELP : formatValue(row[c], 400)}
          >
            {c === 'name' && nested && kids > 0 && (
              <button
                className="jp-xtrack-twisty"
                aria-label={`${opened ? 'hide' : 'show'} the ${kids} ${filtered ? 'matching ' : ''}child runs of run ${row.number}`}
                title={`${kids} ${filtered ? 'matching ' : ''}child run${kids === 1 ? '' : 's'} (trials, candidates)`}
                onClick={e => {
                  e.stopPropagation();
                  flip(expanded, row.id, setExpanded);
                }}
              >
                {opened ? '▾' : '▸'}
              </button>
            )}
            {c === 'name' && (child || row.parent_id) && <span className="jp-xtrack-child-mark">↳ </span>}
            {c === 'name' && row.context && (
              <span className="jp-xtrack-context-mark" title="shown for its matching child runs: it does not match the filter itself">
                context{' '}
              </span>
            )}
            {cellText(row, c)}
            {c === 'name' && nested && kids > 0 && <span className="jp-xtrack-kids">{kids}</span>}
          </span>
        ))}
      </div>
    );
  };

  const groupRow = (g: IGroup, i: number): JSX.Element => {
    const key = JSON.stringify(g.key);
    const isOpen = g.filter !== null && !collapsed.has(key);
    const label = groupLabel(props.groupBy, g.key);
    const flipGroup = () => g.filter !== null && flip(collapsed, key, setCollapsed);
    return (
      <div
        key={`g${key}`}
        data-index={i}
        data-group={label}
        className="jp-xtrack-row jp-xtrack-group-row jp-xtrack-group-start"
        style={{ top: i * ROW_HEIGHT, height: ROW_HEIGHT }}
        tabIndex={0}
        role="row"
        aria-expanded={isOpen}
        onClick={flipGroup}
        onKeyDown={e => {
          if (e.key === 'Enter' || e.key === ' ' || (e.key === 'ArrowLeft' && isOpen) || (e.key === 'ArrowRight' && !isOpen)) {
            e.preventDefault();
            flipGroup();
          } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            focusRow(i + (e.key === 'ArrowDown' ? 1 : -1));
          }
        }}
      >
        <span className="jp-xtrack-cell jp-xtrack-check jp-xtrack-pinned" style={{ flexBasis: CHECK_WIDTH }}>
          {g.filter !== null ? (isOpen ? '▾' : '▸') : ''}
        </span>
        {/* The label spans the run number and what follows up to the first metric. */}
        <span className="jp-xtrack-cell jp-xtrack-pinned jp-xtrack-group" style={{ flexBasis: labelWidth, left: CHECK_WIDTH }}
          title={`${props.groupBy}: ${String(g.key ?? '(none)')}`}>
          <span className="jp-xtrack-group-label">{label}</span>
          <span className="jp-xtrack-group-count" title={`${g.count} runs`}>{g.count}</span>
        </span>
        {table.order.slice(labelSpan).map(c => (
          <span key={c} className="jp-xtrack-cell jp-xtrack-aggregate" style={{ flexBasis: width(c) }}
            title={g.metrics[c] ? `${c} over ${g.metrics[c].count} runs: mean (min–max)` : ''}>
            {aggregateText(g.metrics[c])}
          </span>
        ))}
      </div>
    );
  };

  const visible: JSX.Element[] = [];
  for (let i = first; i <= last; i++) {
    const { top, sub } = outline.at(i);
    let row: IRunRow | undefined;
    if (sub === null && grouped) {
      const g = groups?.[top];
      if (g) {
        visible.push(groupRow(g, i));
      }
      continue;
    }
    if (sub === null) {
      want(root, query, top);
      row = root.row(top);
    } else {
      const s = subOf(top);
      if (s) {
        want(s.rows, s.q, sub);
        row = s.rows.row(sub);
      }
    }
    visible.push(
      row ? (
        runRow(row, i, sub !== null && !grouped)
      ) : (
        <div key={`p${i}`} className="jp-xtrack-row jp-xtrack-placeholder" style={{ top: i * ROW_HEIGHT, height: ROW_HEIGHT }}>
          <span className="jp-xtrack-cell">…</span>
        </div>
      )
    );
  }

  const startResize = (event: React.PointerEvent, c: string) => {
    event.preventDefault();
    event.stopPropagation();
    resizing.current = true;
    const startX = event.clientX;
    const start = width(c);
    let latest = start;
    const move = (e: PointerEvent) => {
      latest = Math.max(MIN_COLUMN_WIDTH, Math.round(start + e.clientX - startX));
      setLayout(l => ({ ...l, widths: { ...l.widths, [c]: latest } }));
    };
    const up = () => {
      resizing.current = false;
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      save('columnWidths', { ...layout.widths, [c]: latest });
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };
  const reorder = (moved: string, target: string | null) => {
    const shown = table.order.filter(c => c !== 'number');
    save('columnOrder', moveColumn(shown, moved, target));
  };

  const chooser = columnGroups(available, system, columnSearch);
  const current = props.columns.length ? props.columns : columns.filter(x => available.includes(x));
  const choice = (c: string) => (
    <label key={c}>
      <input
        type="checkbox"
        checked={props.columns.includes(c) || (!props.columns.length && columns.includes(c))}
        // No choice at all means the default columns: the last chosen one stays
        // (the button below the search goes back to the defaults).
        disabled={props.columns.length === 1 && props.columns[0] === c}
        onChange={() => props.onColumns(current.includes(c) ? current.filter(x => x !== c) : [...current, c])}
      />
      {c}
    </label>
  );
  const section = (title: string, names: string[]) =>
    names.length > 0 && (
      <fieldset className="jp-xtrack-columns-group" key={title}>
        <legend>{title} ({names.length})</legend>
        {names.map(choice)}
      </fieldset>
    );
  const groupChoices = [
    ...GROUP_FIELDS,
    ...columns.filter(c => /^(params|tags)\./.test(c)).map(c => [c, `by ${c}`] as [string, string])
  ];
  if (grouped && !groupChoices.some(([v]) => v === props.groupBy)) {
    groupChoices.push([props.groupBy, `by ${props.groupBy}`]);
  }

  const shownCount = grouped ? (groups ?? []).reduce((n, g) => n + g.count, 0) : matched ?? root.total;
  const empty = !error && !loading && (grouped ? groups?.length === 0 : root.total === 0);

  return (
    <div className="jp-xtrack-runs">
      <div className="jp-xtrack-toolbar">
        <input
          className="jp-xtrack-filter jp-mod-styled"
          placeholder="search names and tags, or filter: metrics.acc > 0.9"
          title="Plain words search run names, experiments, notebooks, text params and tags. The filter language: metrics.acc > 0.9 and params.model = 'rf', status = 'failed', name ~ 'mlp*'."
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
          onChange={e => props.onGroupBy(e.target.value)}
        >
          <option value="none">no grouping</option>
          {groupChoices.map(([value, label]) => (
            <option key={value} value={value}>{label}</option>
          ))}
        </select>
        <details className="jp-xtrack-columns">
          <summary>columns</summary>
          <div className="jp-xtrack-columns-list">
            <input
              className="jp-mod-styled jp-xtrack-columns-search"
              placeholder="search columns"
              aria-label="search columns"
              value={columnSearch}
              onChange={e => setColumnSearch(e.target.value)}
            />
            {props.columns.length > 0 && (
              <button className="jp-mod-styled jp-xtrack-columns-reset" onClick={() => props.onColumns([])}
                title="show the columns that differ between the runs, and the metric the experiment optimises">
                default columns
              </button>
            )}
            {available.length === 0 && <div>no params, metrics or tags yet</div>}
            {section('run', chooser.run)}
            {section('params', chooser.params)}
            {section('metrics', chooser.metrics)}
            {section('tags', chooser.tags)}
            {chooser.system.length > 0 && (
              <details className="jp-xtrack-columns-system" open={!!columnSearch.trim()}>
                <summary title="progress, timings and xtrack.* tags the tracker records for itself">
                  system ({chooser.system.length})
                </summary>
                {chooser.system.map(choice)}
              </details>
            )}
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
      {people && (people.users.length > 1 || pickedUsers.length > 0) && (
        <UserFilter people={people} picked={pickedUsers} onPick={setPickedUsers} />
      )}
      {props.externalFilter && (
        <div className="jp-xtrack-chips">
          <span className="jp-xtrack-chip" title={props.externalFilter.filter}>
            {props.externalFilter.label}
            <button aria-label="clear this filter" onClick={() => props.onClearExternalFilter?.()}>×</button>
          </span>
        </div>
      )}
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
        aria-rowcount={total}
        aria-colcount={table.order.length + 1}
      >
        {error ? null : loading && total === 0 ? (
          <div className="jp-xtrack-empty">Loading runs…</div>
        ) : storeMissing ? (
          <div className="jp-xtrack-empty">
            No runs yet. Load the extension with <code>%load_ext jupyter_xtrack</code> and put{' '}
            <code>%%track</code> on a cell: its run appears here.
          </div>
        ) : empty ? (
          <div className="jp-xtrack-empty">
            {filter || narrowing.length ? 'No run matches this filter.' : 'No runs in the store yet.'}
          </div>
        ) : (
          // One box as wide as all the columns: a narrow sidebar scrolls it sideways, the
          // header stays on top and the box and run number stay at the left.
          <div className="jp-xtrack-table" style={{ width: table.width }}>
            <div className="jp-xtrack-header" role="row" style={{ height: ROW_HEIGHT }}>
              <span className="jp-xtrack-cell jp-xtrack-check jp-xtrack-pinned" style={{ flexBasis: CHECK_WIDTH }} />
              {table.order.map(c => {
                const dir = sortDirection(orderBy, c);
                const ns = c.split('.')[0];
                const movable = c !== 'number';
                return (
                  <button
                    key={c}
                    data-col={c}
                    className={
                      'jp-xtrack-cell jp-xtrack-sort' +
                      (c === 'number' ? ' jp-xtrack-pinned' : '') +
                      (['params', 'metrics', 'tags'].includes(ns) ? ` jp-xtrack-ns-${ns}` : '') +
                      (dragged && dragged !== c ? ' jp-xtrack-drop' : '')
                    }
                    style={{ flexBasis: width(c), left: c === 'number' ? CHECK_WIDTH : undefined }}
                    title={`${c}: click to sort${movable ? ', drag to move (or Alt+←/→), drag the edge to resize' : ''}`}
                    aria-sort={dir === 'desc' ? 'descending' : dir === 'asc' ? 'ascending' : 'none'}
                    draggable={movable}
                    onDragStart={e => {
                      if (resizing.current) {
                        e.preventDefault(); // the edge is being dragged: a resize, not a move
                        return;
                      }
                      e.dataTransfer.setData('text/plain', c);
                      setDragged(c);
                    }}
                    onDragEnd={() => setDragged(null)}
                    onDragOver={e => movable && dragged && e.preventDefault()}
                    onDrop={e => {
                      e.preventDefault();
                      const moved = e.dataTransfer.getData('text/plain') || dragged;
                      setDragged(null);
                      if (moved && moved !== c && movable) {
                        reorder(moved, c);
                      }
                    }}
                    onKeyDown={e => {
                      if (movable && e.altKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
                        e.preventDefault();
                        const shown = table.order.filter(x => x !== 'number');
                        const at = shown.indexOf(c);
                        const target = e.key === 'ArrowLeft' ? shown[at - 1] : shown[at + 2] ?? null;
                        if (e.key === 'ArrowRight' && at === shown.length - 1) {
                          return;
                        }
                        if (target !== undefined) {
                          reorder(c, target);
                        }
                      }
                    }}
                    onClick={() => setOrderBy(toggleSort(orderBy, c))}
                  >
                    {middleEllipsis(columnLabel(c), Math.floor((width(c) - 14) / 6.5))}
                    {dir === 'desc' ? ' ▼' : dir === 'asc' ? ' ▲' : ''}
                    <span
                      className="jp-xtrack-resize"
                      aria-hidden="true"
                      onPointerDown={e => startResize(e, c)}
                      onClick={e => e.stopPropagation()}
                      onDoubleClick={e => {
                        e.stopPropagation();
                        const { [c]: _, ...rest } = layout.widths;
                        save('columnWidths', rest);
                      }}
                    />
                  </button>
                );
              })}
            </div>
            <div className="jp-xtrack-spacer" style={{ height: total * ROW_HEIGHT }}>
              {visible}
            </div>
          </div>
        )}
      </div>
      <div className="jp-xtrack-footer">
        {error ? 'no runs shown' : `${shownCount.toLocaleString()} run${shownCount === 1 ? '' : 's'}`}
        {grouped && groups ? ` in ${groups.length}${truncated ? '+' : ''} group${groups.length === 1 ? '' : 's'}` : ''}
        {selected.length > 0 && (
          <>
            {` · ${selected.length} selected `}
            <button className="jp-xtrack-link" onClick={() => setSelected([])}>clear</button>
          </>
        )}
      </div>
    </div>
  );
}

/** Whose runs the table shows: Mine, Everyone, or the people picked from the store's users
 * (each with how many runs they ran). Shown where the store holds more than one person's
 * runs; narrows the table as `user in (...)` on top of the filter box. */
function UserFilter(props: { people: IUserList; picked: string[]; onPick: (users: string[]) => void }): JSX.Element {
  const { people, picked } = props;
  const mine = picked.length === 1 && picked[0] === people.me;
  const everyone = picked.length === 0;
  const flip = (user: string) =>
    props.onPick(picked.includes(user) ? picked.filter(u => u !== user) : [...picked, user]);
  const summary = everyone ? 'pick people' : mine ? `${people.me} (me)` : picked.join(', ');
  return (
    <div className="jp-xtrack-userbar" role="group" aria-label="whose runs">
      <button className={`jp-xtrack-seg${mine ? ' jp-mod-active' : ''}`} aria-pressed={mine}
        title={`only the runs of ${people.me} (this server's user)`}
        onClick={() => props.onPick([people.me])}>
        Mine
      </button>
      <button className={`jp-xtrack-seg${everyone ? ' jp-mod-active' : ''}`} aria-pressed={everyone}
        title="every member's runs" onClick={() => props.onPick([])}>
        Everyone
      </button>
      <details className="jp-xtrack-columns jp-xtrack-users">
        <summary title={everyone ? 'show the runs of some people only' : `runs of ${picked.join(', ')}`}>
          {summary}
        </summary>
        <div className="jp-xtrack-columns-list" role="group" aria-label="people">
          {people.users.map(u => (
            <label key={u.user ?? ''} title={u.user === null ? 'runs recorded without a user' : undefined}>
              <input type="checkbox" disabled={u.user === null}
                checked={u.user !== null && picked.includes(u.user)}
                onChange={() => u.user !== null && flip(u.user)} />
              {u.user ?? '(unknown)'}{u.user === people.me ? ' (me)' : ''}{' '}
              <span className="jp-xtrack-muted">{u.runs}</span>
            </label>
          ))}
          {people.truncated && <div className="jp-xtrack-muted">more people than listed: filter with user = '…'</div>}
        </div>
      </details>
    </div>
  );
}

import {
  aggregateText, applyOrder, choosableColumns, columnGroups, defaultColumns, differingRows, extent,
  groupLabel, groupsQueryString, IComparison, IRunPage, IRunRow, moveColumn, Outline,
  CHECK_WIDTH, columnWidth, GROUP_WIDTH, linePath, numericAxes, tableLayout, PagedRows, runsQueryString, sortDirection, toggleSort,
  visibleColumns, visibleWindow, INotebookDiff, notebookDiffCounts,
  notebookDiffSummary, notebookDiffTab, userFilter, withUserColumn
} from '../src/model';

function row(n: number, extra: Partial<IRunRow> = {}): IRunRow {
  return {
    id: `id${n}`, number: n, name: null, experiment: 'default', status: 'finished',
    started_at: n, ended_at: n + 1, duration_s: 1, parent_id: null, kind: 'cell',
    notebook_path: null, ...extra
  };
}

function page(offset: number, n: number, total: number): IRunPage {
  return {
    runs: Array.from({ length: n }, (_, i) => row(offset + i + 1)), columns: ['id', 'params.lr'],
    total, offset, limit: n, store_state: 'ok'
  };
}

describe('runs queries', () => {
  it('builds the GET runs query', () => {
    const q = { filter: " metrics.acc > 0.9 ", orderBy: 'metrics.acc desc', columns: ['params.lr'] };
    const params = new URLSearchParams(runsQueryString(q, 200, 100));
    expect(params.get('filter')).toBe('metrics.acc > 0.9');
    expect(params.get('order_by')).toBe('metrics.acc desc');
    expect(params.get('offset')).toBe('200');
    expect(params.get('columns')).toBe('params.lr');
    const all = new URLSearchParams(runsQueryString({ ...q, filter: '', columns: [] }, 0, 10));
    expect(all.has('filter')).toBe(false);
    expect(all.get('columns')).toBe('params.*,metrics.*,tags.*');
    // The first page also brings the columns not chosen, for the chooser to offer.
    const first = new URLSearchParams(runsQueryString(q, 0, 100));
    expect(first.get('columns')).toBe('params.lr,params.*,metrics.*,tags.*');
  });
  it('sends extra filters and a parent alongside the box', () => {
    const q = { filter: 'mlp', orderBy: '', columns: [], and: ['parent_id = null', ' '], parent: 'abc' };
    const params = new URLSearchParams(runsQueryString(q, 0, 10));
    expect(params.getAll('filter')).toEqual(['mlp', 'parent_id = null']);
    expect(params.get('parent')).toBe('abc');
    expect(params.has('nest')).toBe(false);
    // With a filter, the table asks for the matches' tree (trials under their parent).
    expect(new URLSearchParams(runsQueryString({ ...q, parent: undefined, nest: true }, 0, 10)).get('nest')).toBe('1');
    const groups = new URLSearchParams(groupsQueryString(q, 'params.opt'));
    expect(groups.get('group_by')).toBe('params.opt');
    expect(groups.get('limit')).toBe('0');
    expect(groups.get('columns')).toBe('metrics.*');
  });
  it('names a group by its value, a notebook by its file name', () => {
    expect(groupLabel('notebook_path', '/home/me/work/train.ipynb')).toBe('train.ipynb');
    expect(groupLabel('notebook_path', null)).toBe('(none)');
    expect(groupLabel('experiment', 'a/b')).toBe('a/b');
    expect(groupLabel('params.lr', 0.1)).toBe('0.1');
  });
  it('writes a group aggregate as mean (min-max)', () => {
    expect(aggregateText({ count: 2, mean: 0.85, min: 0.8, max: 0.9 })).toBe('μ 0.85 (0.8–0.9)');
    expect(aggregateText({ count: 1, mean: 0.5, min: 0.5, max: 0.5 })).toBe('0.5');
    expect(aggregateText({ count: 0, mean: null, min: null, max: null })).toBe('');
    expect(aggregateText(undefined)).toBe('');
  });
  it('cycles sorting desc -> asc -> default', () => {
    expect(toggleSort('', 'metrics.acc')).toBe('metrics.acc desc');
    expect(toggleSort('metrics.acc desc', 'metrics.acc')).toBe('metrics.acc asc');
    expect(toggleSort('metrics.acc asc', 'metrics.acc')).toBe('');
    expect(toggleSort('metrics.acc asc', 'params.lr')).toBe('params.lr desc');
    expect(sortDirection('params.lr desc', 'params.lr')).toBe('desc');
    expect(sortDirection('params.lr desc', 'number')).toBeNull();
  });
  it('chooses columns', () => {
    const available = choosableColumns(['id', 'params.a', 'params.b', 'params.c', 'params.d', 'metrics.x', 'tags.t', 'git.commit']);
    expect(available).toEqual(['metrics.x', 'params.a', 'params.b', 'params.c', 'params.d', 'tags.t']);
    expect(visibleColumns([], ['params.a'])).toEqual(['number', 'name', 'status', 'started_at', 'duration_s', 'params.a']);
    expect(visibleColumns(['params.d'], ['params.a']).slice(-1)).toEqual(['params.d']);
  });
  it('defaults to what differs and what the experiment optimises, never bookkeeping', () => {
    const rows = [
      row(1, { 'params.lr': 0.1, 'params.seed': 1, 'metrics.loss': 0.5, 'metrics.job_progress': 1,
               'tags.team': 'ml', 'tags.xtrack.job.metric': 'val_acc' }),
      row(2, { 'params.lr': 0.2, 'params.seed': 1, 'metrics.loss': 0.4, 'metrics.job_progress': 0.5,
               'tags.team': 'ml', 'tags.note': 'x' }),
      row(3, { 'params.lr': 0.3, 'params.seed': 1, 'params.depth': 3, 'tags.note': 'y' })
    ];
    const available = choosableColumns(Object.keys({ ...rows[0], ...rows[1], ...rows[2] }));
    const system = new Set(['metrics.job_progress', 'tags.xtrack.job.metric']);
    // val_acc is named by the sweep though no loaded row has it yet; seed and team never vary.
    expect(defaultColumns(rows, available, system)).toEqual(
      ['metrics.val_acc', 'metrics.loss', 'params.lr', 'tags.note']);
    expect(defaultColumns([rows[2]], available, system)).toEqual(['params.depth', 'params.lr', 'params.seed', 'tags.note']);
  });
  it('groups and searches the chooser, bookkeeping apart', () => {
    const system = new Set(['metrics.job_progress', 'tags.xtrack.a']);
    const all = ['metrics.acc', 'metrics.job_progress', 'params.lr', 'tags.team', 'tags.xtrack.a', 'user'];
    expect(columnGroups(all, system)).toEqual({
      run: ['user'], params: ['params.lr'], metrics: ['metrics.acc'], tags: ['tags.team'],
      system: ['metrics.job_progress', 'tags.xtrack.a']
    });
    expect(columnGroups(all, system, ' ACC ').metrics).toEqual(['metrics.acc']);
    expect(columnGroups(all, system, 'xtrack')).toEqual({ run: [], params: [], metrics: [], tags: [], system: ['tags.xtrack.a'] });
  });
  it('keeps the order the user dragged the columns into', () => {
    expect(applyOrder(['a', 'b', 'c', 'd'], ['c', 'x', 'a'])).toEqual(['c', 'a', 'b', 'd']);
    expect(moveColumn(['a', 'b', 'c'], 'c', 'a')).toEqual(['c', 'a', 'b']);
    expect(moveColumn(['a', 'b', 'c'], 'a', null)).toEqual(['b', 'c', 'a']);
    expect(moveColumn(['a', 'b'], 'a', 'zzz')).toEqual(['a', 'b']);
  });
});

describe('Outline', () => {
  it('flattens open top items onto their sub-items', () => {
    const o = new Outline(5);
    expect(o.length).toBe(5);
    expect(o.at(3)).toEqual({ top: 3, sub: null });
    o.setOpen(1, 3);
    o.setOpen(3, 2);
    expect(o.length).toBe(10);
    const flat = Array.from({ length: o.length }, (_, i) => o.at(i));
    expect(flat.map(x => (x.sub === null ? `${x.top}` : `${x.top}.${x.sub}`))).toEqual(
      ['0', '1', '1.0', '1.1', '1.2', '2', '3', '3.0', '3.1', '4']);
    o.close(1);
    expect(o.at(4)).toEqual({ top: 3, sub: 0 });
    o.setOpen(9, 4); // beyond the top items: ignored
    expect(o.length).toBe(7);
  });
});

describe('PagedRows', () => {
  it('fetches each missing page once and serves rows by index', () => {
    const rows = new PagedRows(100);
    rows.total = 1000;
    expect(rows.missing(0, 150)).toEqual([0, 1]);
    rows.markPending(0);
    expect(rows.missing(0, 150)).toEqual([1]);
    rows.put(0, page(0, 100, 1000));
    expect(rows.row(5)?.number).toBe(6);
    expect(rows.row(150)).toBeUndefined();
    expect(rows.columns.has('params.lr')).toBe(true);
    expect(rows.contains(['id7'])).toBe(true);
    expect(rows.missing(950, 2000)).toEqual([9]);
    rows.clear();
    expect(rows.row(5)).toBeUndefined();
  });
  it('never asks again for a failed page until cleared, and shows nothing stale', () => {
    const rows = new PagedRows(10);
    rows.put(0, page(0, 10, 50));
    rows.markPending(1);
    rows.failed(1);
    // The storm of defect 1: each render asked again for the failed page.
    expect(rows.missing(0, 49)).toEqual([]);
    expect(rows.total).toBe(0);
    expect(rows.row(0)).toBeUndefined();
    rows.clear();
    rows.total = 50;
    expect(rows.missing(0, 19)).toEqual([0, 1]);
  });
  it('virtualises: only rows in view plus overscan', () => {
    expect(visibleWindow(0, 260, 26, 100000, 5)).toEqual([0, 15]);
    const [first, last] = visibleWindow(26 * 50000, 260, 26, 100000, 5);
    expect(first).toBe(49995);
    expect(last - first).toBeLessThan(30);
    expect(visibleWindow(0, 260, 26, 3)).toEqual([0, 2]);
  });
});

describe('table layout', () => {
  it('is as wide as all its columns, number first and pinned, group after it', () => {
    const cols = ['number', 'name', 'status', 'params.lr'];
    const flat = tableLayout(cols, false);
    expect(flat.order).toEqual(cols);
    expect(flat.width).toBe(CHECK_WIDTH + cols.reduce((s, c) => s + columnWidth(c), 0));
    expect(flat.pinned).toBe(CHECK_WIDTH + columnWidth('number'));
    const grouped = tableLayout(cols, true);
    expect(grouped.order).toEqual(['number', '@group', 'name', 'status', 'params.lr']);
    expect(grouped.width).toBe(flat.width + GROUP_WIDTH);
  });
});

describe('compare helpers', () => {
  const comparison: IComparison = {
    runs: [], labels: ['#1', '#2'],
    sections: {
      params: {
        lr: { values: [0.1, 0.2], differs: true },
        seed: { values: [1, 1], differs: false },
        model: { values: ['rf', 'svm'], differs: true }
      },
      metrics: {}, env: {}, git: {}, data: {}
    },
    code_diffs: {}, histories: {}
  };
  it('finds numeric params that vary', () => {
    expect(numericAxes(comparison)).toEqual(['lr']);
  });
  it('keeps only differing rows on request', () => {
    expect(differingRows(comparison.sections.params, true).map(([k]) => k)).toEqual(['lr', 'model']);
    expect(differingRows(comparison.sections.params, false).length).toBe(3);
  });
  it('scales lines and breaks them at non-finite values', () => {
    expect(extent([1, 1])).toEqual([0.95, 1.05]);
    expect(extent([null, 2, 5])).toEqual([2, 5]);
    const d = linePath([0, 1, 2, 3], [0, 1, NaN, 1], { width: 30, height: 10, x: [0, 3], y: [0, 1] });
    expect(d).toBe('M0.0,10.0L10.0,0.0M30.0,0.0');
  });
});

describe('notebook diff summary and tab', () => {
  const brief = (n: number) => ({ id: `id${n}`, number: n, name: `r${n}`, experiment: 'e', status: 'finished' as const });
  const nbDiff = (cells: any[], changed = true, kind: 'notebook' | 'lineage' = 'notebook'): INotebookDiff => ({
    kind, a: brief(1), b: brief(2), base: { cells: [] }, changed,
    diff: cells.length ? [{ op: 'patch', key: 'cells', diff: cells }] : []
  });

  it('counts added, removed and changed cells', () => {
    const d = nbDiff([
      { op: 'addrange', key: 1, valuelist: [{}, {}] },
      { op: 'removerange', key: 2, length: 1 },
      { op: 'patch', key: 3, diff: [] }
    ]);
    expect(notebookDiffCounts(d)).toEqual({ added: 2, removed: 1, changed: 1 });
    expect(notebookDiffSummary(d)).toBe('4 cells: 2 added, 1 removed, 1 changed');
    expect(notebookDiffSummary(nbDiff([{ op: 'addrange', key: 0, valuelist: [{}] }]))).toBe('1 cell: 1 added');
  });

  it('says when nothing or only metadata differs', () => {
    expect(notebookDiffSummary(nbDiff([], false))).toBe('The notebooks are the same.');
    expect(notebookDiffSummary(nbDiff([], true))).toBe('Only notebook metadata differs.');
  });

  it('titles the tab by run numbers and keys it by pair and kind', () => {
    expect(notebookDiffTab(nbDiff([])).title).toBe('Diff #1 → #2');
    const lineage = notebookDiffTab(nbDiff([], true, 'lineage'));
    expect(lineage.title).toBe('Diff #1 → #2 (lineage)');
    expect(lineage.id).not.toBe(notebookDiffTab(nbDiff([])).id);
    expect(lineage.id).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('titles a git notebook diff by run and file, keyed by path', () => {
    const git = (path: string): INotebookDiff => ({ ...nbDiff([]), kind: 'git', path, b: nbDiff([]).a });
    const tab = notebookDiffTab(git('notebooks/a b.ipynb'));
    expect(tab.title).toBe('#1 a b.ipynb (git diff)');
    expect(tab.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(tab.id).not.toBe(notebookDiffTab(git('notebooks/a_b.ipynb')).id);
    expect(tab.id).not.toBe(notebookDiffTab(git('other/a b.ipynb')).id);
  });
});

describe('whose runs', () => {
  it('keeps the runs of the people picked, quoting their names', () => {
    expect(userFilter([])).toBeNull();
    expect(userFilter(['alice'])).toBe("user in ('alice')");
    expect(userFilter(['alice', "o'neil", 'a\\b'])).toBe("user in ('alice', 'o\\'neil', 'a\\\\b')");
  });

  it('shows the user column by default in a store of several people only', () => {
    expect(withUserColumn(['metrics.acc'], 1)).toEqual(['metrics.acc']);
    expect(withUserColumn(['metrics.acc'], 2)).toEqual(['user', 'metrics.acc']);
  });

  it('puts the user column right after the name', () => {
    expect(visibleColumns([], ['user', 'metrics.acc'])).toEqual(
      ['number', 'name', 'user', 'status', 'started_at', 'duration_s', 'metrics.acc']);
    expect(visibleColumns(['metrics.acc', 'user'], []).slice(1, 3)).toEqual(['name', 'user']);
  });

  it('offers the user column in the chooser', () => {
    expect(choosableColumns(['id', 'user', 'params.a'])).toEqual(['params.a', 'user']);
  });
});

import {
  environmentRows,
  hardwareRows,
  isBookkeepingMetric,
  leaderboardMetric,
  notStoredText,
  notebookSourceDiff,
  rankChildren,
  resourceRows,
  searchRows,
  splitBy,
  splitDiff
} from '../src/detailModel';
import { IRunDetail, IRunRow } from '../src/model';

const bytes = (n: number) => `${n} B`;
const secs = (s: number) => `${s} s`;

describe('bookkeeping apart from user data', () => {
  it('puts job progress, best_value, elapsed_s, n_rows, fold_score and system/* apart', () => {
    for (const k of ['job_progress', 'best_value', 'elapsed_s', 'n_rows', 'fold_score', 'system/cpu_percent']) {
      expect(isBookkeepingMetric(k)).toBe(true);
    }
    expect(isBookkeepingMetric('val_acc')).toBe(false);
    const { user, system } = splitBy({ acc: 1, job_progress: 0.5 }, isBookkeepingMetric);
    expect(user).toEqual({ acc: 1 });
    expect(system).toEqual({ job_progress: 0.5 });
  });
});

describe('resources, hardware and environment', () => {
  it('lists what was measured, nothing else', () => {
    expect(resourceRows({ cpu_s: 2, peak_rss_bytes: 10, peak_rss_scope: 'process' }, bytes, secs)).toEqual([
      ['CPU time', '2 s'],
      ['peak memory', '10 B (process)']
    ]);
    expect(resourceRows(null, bytes, secs)).toEqual([]);
  });
  it('reads the hardware of the environment blob', () => {
    const env = { hardware: { cpu_model: 'Xeon', cores_logical: 8, cores_physical: 4, memory_bytes: 64, gpus: [] } };
    expect(hardwareRows(env, bytes)).toEqual([
      ['CPU', 'Xeon'], ['cores', '4 physical, 8 logical'], ['memory', '64 B'], ['GPU', 'none found']
    ]);
    expect(hardwareRows({}, bytes)).toEqual([]);
  });
  it('searches every environment entry by all words', () => {
    const rows = environmentRows({ python: { version: '3.11' }, packages: { numpy: '2.0', pandas: '2.2' }, env_vars: { OMP_NUM_THREADS: '4' } });
    expect(rows).toContainEqual(['installed', 'numpy', '2.0']);
    expect(searchRows(rows, 'NUMPY').map(r => r[1])).toEqual(['numpy']);
    expect(searchRows(rows, 'installed 2.2').map(r => r[1])).toEqual(['pandas']);
    expect(searchRows(rows, '  ')).toHaveLength(rows.length);
  });
});

const NB_DIFF = [
  'diff --git a/nb.ipynb b/nb.ipynb',
  'index 1..2 100644',
  '--- a/nb.ipynb',
  '+++ b/nb.ipynb',
  '@@ -10,7 +10,7 @@ {',
  '    "source": [',
  '-    "lr = 0.1\\n",',
  '+    "lr = 0.01\\n",',
  '     "print(\\"lr\\", lr)"',
  '    ]',
  '@@ -40,3 +40,3 @@',
  '-      "image/png": "iVBORw0KGgoAAA...",',
  '+      "image/png": "iVBORw0KGgoBBB...",',
  '-   "execution_count": 3,',
  '+   "execution_count": 4,',
  'diff --git a/train.py b/train.py',
  '--- a/train.py',
  '+++ b/train.py',
  '@@ -1 +1 @@',
  '-a',
  '+b'
].join('\n');

describe('git diff', () => {
  it('splits by file with counts', () => {
    const files = splitDiff(NB_DIFF);
    expect(files.map(f => [f.path, f.added, f.removed, f.notebook])).toEqual([
      ['nb.ipynb', 3, 3, true],
      ['train.py', 1, 1, false]
    ]);
  });
  it('reads a notebook diff as its cell sources, hiding outputs and metadata', () => {
    const { lines, hidden } = notebookSourceDiff(splitDiff(NB_DIFF)[0].lines);
    expect(lines).toEqual([
      { kind: 'hunk', text: '@@ -10,7 +10,7 @@' },
      { kind: 'del', text: 'lr = 0.1' },
      { kind: 'add', text: 'lr = 0.01' },
      { kind: 'same', text: 'print("lr", lr)' }
    ]);
    expect(hidden).toBe(4); // the PNG and the execution counts
  });
});

describe('children leaderboard', () => {
  const run = (params: Record<string, unknown>, tags: Record<string, string>) =>
    ({ params, tags } as unknown as IRunDetail);
  it('ranks by the metric the search optimises, in its direction', () => {
    expect(leaderboardMetric(run({ 'sweep.metric': 'loss' }, { 'xtrack.sweep.direction': 'minimize' })))
      .toEqual({ metric: 'loss', maximize: false });
    expect(leaderboardMetric(run({ 'automl.metric': 'roc_auc' }, {}))).toEqual({ metric: 'roc_auc', maximize: true });
    const rows = [
      { id: 'a', number: 1, 'metrics.loss': 0.5 },
      { id: 'b', number: 2, 'metrics.loss': null },
      { id: 'c', number: 3, 'metrics.loss': 0.2 }
    ] as unknown as IRunRow[];
    expect(rankChildren(rows, 'loss', false).map(r => r.id)).toEqual(['c', 'a', 'b']);
    expect(rankChildren(rows, 'loss', true).map(r => r.id)).toEqual(['a', 'c', 'b']);
  });
});

describe('notStoredText', () => {
  it('counts what was not stored, with the reason, as the Python side says it', () => {
    expect(notStoredText({ points: 287001, writes: 1, reason: 'the disk is full' }))
      .toBe('287,001 metric points and 1 write not stored (the disk is full)');
    expect(notStoredText({ points: 1, writes: 0, reason: null })).toBe('1 metric point not stored');
    expect(notStoredText({ points: 0, writes: 0, reason: null })).toBe('nothing not stored');
  });
});

import {
  anyRunning,
  automlArgs,
  bestText,
  cancelLabel,
  childrenText,
  elapsedText,
  fieldErrors,
  formError,
  frameLabel,
  hostsText,
  IJob,
  isExpected,
  ITrackedCell,
  jobFraction,
  jobLabel,
  kernelExpression,
  NOT_INSTALLED,
  paramsLine,
  parseBudget,
  progressText,
  readUserExpression,
  sweepArgs,
  sweepFormFor,
  sweepSource,
  trialsText,
  validateAutoML,
  validateSweep
} from '../src/jobsModel';

function job(over: Partial<IJob> = {}): IJob {
  return {
    run_id: 'r1',
    number: 7,
    name: null,
    kind: 'automl',
    state: 'running',
    status: 'running',
    progress: { done: 3, total: 20, fraction: 0.15 },
    best: 0.91234,
    metric: 'accuracy',
    direction: 'maximize',
    trials: 3,
    started_at: 1000,
    ended_at: null,
    host: 'h',
    pid: 1,
    cancel_requested: false,
    notebook_path: null,
    ...over
  };
}

const CELL: ITrackedCell = {
  cell_id: 'c-1',
  runs: 2,
  last_run: { id: 'r', number: 4, name: 'fit', params: { lr: 0.1, depth: 3, kind: 'rf' }, metrics: ['score', 'loss'], started_at: 5 },
  code: '%%track\nlr = 0.1\n',
  space: 'lr=loguniform(0.001, 0.1); depth=int(2, 8)',
  metric: 'score',
  direction: 'maximize'
};

describe('kernel expression', () => {
  it('calls the bridge with the op and the args as Python string literals', () => {
    const expr = kernelExpression('frames', {});
    expect(expr).toBe(
      "__import__('jupyter_xtrack.kernel.launch', fromlist=['call']).call(\"frames\", \"{}\")"
    );
  });
  it('escapes quotes, backslashes and newlines so the literal decodes back to the JSON', () => {
    const args = { source: 'print("a\\\\b")\n\'x\'', name: 'ü\u2028' };
    const expr = kernelExpression('start_sweep', args);
    expect(expr).not.toContain('\n');
    expect(expr).not.toContain('\u2028');
    // The second argument is a JSON string literal holding the args' JSON.
    const second = expr.slice(expr.indexOf(', "') + 2, -1);
    expect(JSON.parse(JSON.parse(second))).toEqual(args);
  });
});

describe('reading the kernel answer', () => {
  const ok = (reply: unknown) => ({ status: 'ok', data: { 'application/json': reply } });
  it('passes values, field errors and form errors through', () => {
    expect(readUserExpression(ok({ ok: true, value: [1] }))).toEqual({ ok: true, value: [1] });
    const fields = readUserExpression(ok({ ok: false, errors: { time_budget: 'bad' } }));
    expect(fieldErrors(fields)).toEqual({ time_budget: 'bad' });
    expect(formError(fields)).toBeNull();
    const whole = readUserExpression(ok({ ok: false, error: 'no store' }));
    expect(formError(whole)).toBe('no store');
    expect(fieldErrors(whole)).toEqual({});
  });
  it('says jupyter_xtrack is not installed when the kernel cannot import it', () => {
    const r = readUserExpression({
      status: 'error',
      ename: 'ModuleNotFoundError',
      evalue: "No module named 'jupyter_xtrack'",
      traceback: []
    });
    expect(formError(r)).toBe(NOT_INSTALLED);
  });
  it('names other Python errors and odd answers instead of throwing', () => {
    expect(formError(readUserExpression({ status: 'error', ename: 'KeyError', evalue: "'x'" }))).toBe(
      "the kernel raised KeyError: 'x'"
    );
    expect(formError(readUserExpression(undefined))).toMatch(/no answer/);
    expect(formError(readUserExpression({ status: 'ok', data: { 'text/plain': '42' } }))).toMatch(
      /unexpected form: 42/
    );
  });
});

describe('budget and form validation', () => {
  it('reads budgets with and without units', () => {
    expect(parseBudget('30s')).toEqual({ seconds: 30 });
    expect(parseBudget(' 5 m ')).toEqual({ seconds: 300 });
    expect(parseBudget('1.5h')).toEqual({ seconds: 5400 });
    expect(parseBudget('90')).toEqual({ seconds: 90 });
  });
  it('refuses what is not a budget, naming the accepted forms', () => {
    expect(parseBudget('soon')).toEqual({ error: expect.stringMatching(/"soon" is not a time budget.*30s, 5m, 1h/) });
    expect(parseBudget('')).toEqual({ error: expect.stringMatching(/give a time budget/) });
    expect(parseBudget('0m')).toEqual({ error: 'the time budget must be more than 0' });
    expect(parseBudget('-5s')).toHaveProperty('error');
    expect(parseBudget('5 min')).toHaveProperty('error');
  });
  it('checks the AutoML form field by field', () => {
    const form = { frame: '', target: '', timeBudget: 'soon', metric: '', name: '' };
    expect(Object.keys(validateAutoML(form)).sort()).toEqual(['frame', 'target', 'time_budget']);
    const good = { frame: 'df', target: 'y', timeBudget: '8s', metric: '', name: ' ' };
    expect(validateAutoML(good)).toEqual({});
    expect(automlArgs(good)).toEqual({ frame: 'df', target: 'y', time_budget: '8s', metric: null, name: null });
  });
  it('checks the sweep form field by field', () => {
    const form = sweepFormFor(CELL);
    // The direction is left to the sweep (the metric's name decides) until one is picked.
    expect(form).toEqual({ cellId: 'c-1', space: CELL.space, metric: 'score', direction: '', trials: '20', sampler: '', pruner: '', name: '' });
    expect(validateSweep(form)).toEqual({});
    expect(sweepArgs(form, 'x = 1').direction).toBeNull();
    const bad = { ...form, space: ' ', metric: '', trials: '2.5', direction: 'up' as unknown as '' };
    expect(Object.keys(validateSweep(bad)).sort()).toEqual(['direction', 'metric', 'space', 'trials']);
    expect(validateSweep({ ...form, trials: '0' })).toHaveProperty('trials');
    expect(sweepArgs({ ...form, trials: ' 3 ', direction: 'maximize' }, 'x = 1')).toEqual({
      cell_id: 'c-1', source: 'x = 1', space: CELL.space, trials: 3, metric: 'score',
      direction: 'maximize', sampler: null, pruner: null, name: null
    });
    expect(form.sampler).toBe('');
    expect(sweepArgs({ ...form, sampler: 'cmaes', pruner: 'asha' }, 'x = 1')).toMatchObject({
      sampler: 'cmaes', pruner: 'asha'
    });
  });
  it('suggests the first logged metric when the cell suggests none', () => {
    expect(sweepFormFor({ ...CELL, metric: null }).metric).toBe('score');
  });
  it('sweeps the cell as it is now when the notebook has it, else as recorded', () => {
    expect(sweepSource('lr = 0.2', 'lr = 0.1')).toEqual({ source: 'lr = 0.2', from: 'notebook' });
    expect(sweepSource('', 'lr = 0.1')).toEqual({ source: '', from: 'notebook' });
    expect(sweepSource(null, 'lr = 0.1')).toEqual({ source: 'lr = 0.1', from: 'recorded' });
  });
});

describe('job rows', () => {
  it('shows progress as done / total and a fraction for the bar', () => {
    const sweep = job({ kind: 'sweep' });
    expect(progressText(sweep)).toBe('3 / 20');
    expect(jobFraction(sweep)).toBeCloseTo(0.15);
    expect(jobFraction(job({ kind: 'sweep', progress: { done: 5, total: 10, fraction: null } }))).toBe(0.5);
    expect(progressText(job({ kind: 'sweep', progress: { done: 4, total: null, fraction: null } }))).toBe('4 done');
    const unknown = job({ kind: 'sweep', progress: { done: null, total: null, fraction: null } });
    expect(progressText(unknown)).toBe('—');
    expect(jobFraction(unknown)).toBeNull();
    expect(jobFraction({ ...unknown, state: 'finished' })).toBe(1);
    expect(jobFraction(job({ kind: 'sweep', progress: { done: 1, total: 1, fraction: 1.7 } }))).toBe(1);
  });
  it("gives an AutoML search's progress as the same elapsed seconds the row shows", () => {
    // The job's last report said 9 s of 20 s, but it ran 10.1 s: the row says 10.1 s once.
    const ended = job({ state: 'cancelled', ended_at: 1010.1, progress: { done: 9, total: 20, fraction: 0.45 } });
    expect(progressText(ended, 99999)).toBe(`${elapsedText(ended, 99999)} / 20 s`);
    expect(elapsedText(ended, 99999)).toBe('10.1 s');
    expect(jobFraction(ended, 99999)).toBeCloseTo(0.505);
    expect(progressText(job(), 1012.34)).toBe('12.3 s / 20 s');
    expect(progressText(job(), 1100)).toBe('20.0 s / 20 s'); // past its budget, finishing
    expect(jobFraction(job({ state: 'finished', ended_at: 1005 }))).toBe(1);
  });
  it("counts a sweep's running trials beside its done / total, never a second total", () => {
    // "1 / 6" beside "2 trials" read as a contradiction: the second is 1 running.
    const sweep = job({ kind: 'sweep', trials: 2, progress: { done: 1, total: 6, fraction: null } });
    expect(progressText(sweep)).toBe('1 / 6');
    expect(childrenText(sweep)).toBe('1 running');
    expect(childrenText({ ...sweep, trials: 1 })).toBe('');
    expect(childrenText({ ...sweep, state: 'finished', trials: 6, progress: { done: 6, total: 6, fraction: 1 } })).toBe('6 trials');
    expect(childrenText(job({ kind: 'sweep', progress: { done: null, total: null, fraction: null } }))).toBe('3 trials');
    expect(childrenText(job({ trials: 12 }))).toBe('12 candidates');
  });
  it('shows the best score with its metric and direction', () => {
    expect(bestText(job())).toBe('accuracy 0.9123 ↑');
    expect(bestText(job({ direction: 'minimize', metric: 'rmse', best: 2 }))).toBe('rmse 2 ↓');
    expect(bestText(job({ best: null }))).toBe('no score yet');
    expect(bestText(job({ best: null, state: 'failed' }))).toBe('no score');
  });
  it('counts elapsed time to now while running, to the end after', () => {
    expect(elapsedText(job(), 1012.34)).toBe('12.3 s');
    expect(elapsedText(job({ state: 'finished', ended_at: 1245 }), 99999)).toBe('4 min 05 s');
    expect(elapsedText(job({ state: 'lost' }), 99999)).toBe('—');
  });
  it('labels jobs, trials and the cancel button', () => {
    expect(jobLabel(job())).toBe('#7 automl');
    expect(jobLabel(job({ name: 'iris' }))).toBe('#7 iris');
    expect(trialsText(1)).toBe('1 trial');
    expect(trialsText(0)).toBe('0 trials');
    expect(cancelLabel(job(), false)).toBe('Cancel');
    expect(cancelLabel(job(), true)).toBe('Cancelling…');
    expect(cancelLabel(job({ cancel_requested: true }), false)).toBe('Cancelling…');
  });
  it('polls only while a job runs', () => {
    expect(anyRunning([job({ state: 'finished' }), job({ state: 'cancelled' })])).toBe(false);
    expect(anyRunning([job({ state: 'finished' }), job()])).toBe(true);
  });
  it('recognises the job just launched by run id, or by start time when the id is unknown', () => {
    expect(isExpected(job(), { runId: 'r1', since: 0 })).toBe(true);
    expect(isExpected(job(), { runId: 'r2', since: 0 })).toBe(false);
    expect(isExpected(job({ started_at: 1000 }), { runId: null, since: 1003 })).toBe(true);
    expect(isExpected(job({ started_at: 900 }), { runId: null, since: 1000 })).toBe(false);
  });
  it('labels frames and params briefly', () => {
    expect(frameLabel({ name: 'df', rows: 1500, columns: [{ name: 'a', dtype: 'int64' }] })).toBe('df (1,500 × 1)');
    expect(paramsLine({ lr: 0.1, kind: 'rf' })).toBe('lr=0.1, kind=rf');
    expect(paramsLine({ x: 'y'.repeat(100) }, 10)).toBe('x=yyyyyyy…');
  });
});

describe('where a job ran', () => {
  it('names the one host, or each host with its trials, most first', () => {
    expect(hostsText(job({ hosts: [] }))).toBe('');
    expect(hostsText(job({ hosts: undefined }))).toBe('');
    expect(hostsText(job({ hosts: [{ host: 'gpu-1', runs: 5 }] }))).toBe('on gpu-1');
    expect(hostsText(job({ hosts: [{ host: 'gpu-1', runs: 2 }, { host: 'gpu-2', runs: 1 }] }))).toBe(
      'on gpu-1 (2), gpu-2 (1)'
    );
  });

  it('says how many more hosts past the first few', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'].map((host, i) => ({ host, runs: 5 - i }));
    expect(hostsText(job({ hosts }))).toBe('on a (5), b (4), c (3) and 2 more');
  });
});

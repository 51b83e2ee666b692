/**
 * The Launch tab's sweep form: a tracked cell of the notebook that recorded params, the
 * search space suggested around them, the metric, direction, trials, sampler and pruner.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import * as React from 'react';
import {
  fieldErrors,
  formError,
  IExpectedJob,
  ISweepForm,
  ITrackedCell,
  paramsLine,
  PRUNERS,
  SAMPLERS,
  sweepArgs,
  sweepFormFor,
  sweepSource,
  validateSweep
} from './jobsModel';
import { callKernel } from './kernelBridge';
import { ChoiceField, Field, FormError, inputProps, RefreshButton, TextField } from './launchFields';
import { launchJob } from './launchJob';
import { currentCellSource } from './notebookTarget';

const SWEEP_FIELDS = ['cell_id', 'source', 'space', 'trials', 'metric', 'direction', 'sampler', 'pruner', 'name'];

function cellTitle(cell: ITrackedCell): string {
  const run = cell.last_run;
  return `#${run.number}${run.name ? ' ' + run.name : ''}`;
}

function firstCodeLine(code: string): string {
  return code.split('\n').find(l => l.trim() && !l.trim().startsWith('%%')) ?? '';
}

export function SweepForm(props: {
  kernel: Kernel.IKernelConnection;
  panel: NotebookPanel | null;
  path: string;
  onStarted: (expected: IExpectedJob) => void;
}): JSX.Element {
  const { kernel } = props;
  const [cells, setCells] = React.useState<ITrackedCell[] | null>(null);
  const [cellsError, setCellsError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const [form, setForm] = React.useState<ISweepForm | null>(null);
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [whole, setWhole] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState<string | null>(null);

  const loadCells = async () => {
    setLoading(true);
    const reply = await callKernel<ITrackedCell[]>(kernel, 'cells', { notebook_path: props.path });
    setLoading(false);
    if (reply.ok) {
      setCells(reply.value);
      setCellsError(null);
      setForm(f => (f && reply.value.some(c => c.cell_id === f.cellId) ? f : null));
    } else {
      setCellsError(formError(reply) ?? Object.values(fieldErrors(reply)).join('; '));
    }
  };
  React.useEffect(() => {
    void loadCells();
  }, [kernel, props.path]);

  const cell = cells?.find(c => c.cell_id === form?.cellId) ?? null;
  const current = cell ? currentCellSource(props.panel, cell.cell_id) : null;
  const source = cell ? sweepSource(current, cell.code) : null;

  const pick = (c: ITrackedCell) => {
    setForm(f => sweepFormFor(c, f?.name ?? ''));
    setErrors({});
    setWhole(null);
  };
  const set = (key: keyof ISweepForm, value: string) => {
    setForm(f => (f ? { ...f, [key]: value } : f));
    setErrors(e => ({ ...e, [key]: '' }));
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setWhole(null);
    if (!form || !cell || !source) {
      setErrors({ cell_id: 'pick a tracked cell' });
      return;
    }
    const local = validateSweep(form);
    setErrors(local);
    if (Object.keys(local).length) {
      return;
    }
    // Read again at the click: the cell may have been edited since the last render.
    const now = sweepSource(currentCellSource(props.panel, cell.cell_id), cell.code);
    await launchJob(kernel, 'sweep', sweepArgs(form, now.source), SWEEP_FIELDS,
      { setBusy, setErrors, setWhole, onStarted: props.onStarted });
  };

  const metrics = cell
    ? [...new Set([...(cell.metric ? [cell.metric] : []), ...cell.last_run.metrics])]
    : [];
  return (
    <form className="jp-xtrack-launch-form" data-mode="sweep" onSubmit={e => void submit(e)} noValidate>
      <div className={`jp-xtrack-field${errors.cell_id ? ' jp-mod-invalid' : ''}`} data-field="cell_id">
        <div className="jp-xtrack-field-row">
          <span className="jp-xtrack-field-label" id="jp-xtrack-launch-cells-label">
            Tracked cell
          </span>
          <RefreshButton busy={loading} onClick={loadCells}
            title="List the notebook's tracked cells again" />
        </div>
        {cellsError && (
          <div className="jp-xtrack-error" role="alert">
            {cellsError}
          </div>
        )}
        {cells === null && !cellsError && <div className="jp-xtrack-muted">Loading…</div>}
        {cells !== null && !cells.length && (
          <div className="jp-xtrack-muted jp-xtrack-cells-empty">
            No tracked cell of this notebook recorded params yet: run a <code>%%track</code> cell that
            sets some (e.g. <code>lr = 0.1</code>) and logs a metric, then Refresh.
          </div>
        )}
        {cells !== null && cells.length > 0 && (
          <div className="jp-xtrack-cell-list" role="radiogroup" aria-labelledby="jp-xtrack-launch-cells-label">
            {cells.map(c => (
              <label
                key={c.cell_id}
                className={`jp-xtrack-cell-option${c.cell_id === form?.cellId ? ' jp-mod-selected' : ''}`}
                data-cell-id={c.cell_id}
              >
                <input
                  type="radio"
                  name="jp-xtrack-launch-cell"
                  checked={c.cell_id === form?.cellId}
                  onChange={() => pick(c)}
                />
                <span className="jp-xtrack-cell-option-text">
                  <span className="jp-xtrack-cell-option-title">
                    {cellTitle(c)} <span className="jp-xtrack-muted">· {c.runs} {c.runs === 1 ? 'run' : 'runs'}</span>
                  </span>
                  <code className="jp-xtrack-cell-option-code">{firstCodeLine(c.code)}</code>
                  <span className="jp-xtrack-cell-option-params">{paramsLine(c.last_run.params)}</span>
                </span>
              </label>
            ))}
          </div>
        )}
        {errors.cell_id && (
          <div className="jp-xtrack-field-error" role="alert">
            {errors.cell_id}
          </div>
        )}
      </div>
      {form && cell && source && (
        <>
          <div className="jp-xtrack-field-hint jp-xtrack-source-note" data-from={source.from}>
            {source.from === 'notebook'
              ? 'Runs the cell as it is now in the open notebook.'
              : 'This cell is not in the open notebook: runs the code recorded with its last run.'}
          </div>
          <Field
            id="space"
            label="Search space"
            error={errors.space || errors.source}
            hint="name=distribution, one per line or separated by ;  (uniform, loguniform, int, logint, choice, grid)"
          >
            <textarea
              {...inputProps('space', errors.space || errors.source)}
              className="jp-mod-styled jp-xtrack-space"
              rows={3}
              spellCheck={false}
              value={form.space}
              onChange={e => set('space', e.target.value)}
            />
          </Field>
          <div className="jp-xtrack-field-pair">
            <ChoiceField id="metric" label="Metric" error={errors.metric} value={form.metric}
              blank={metrics.length ? undefined : '— no metrics logged —'}
              choices={metrics.map(m => [m, m])} onChange={v => set('metric', v)} />
            <ChoiceField id="direction" label="Direction" error={errors.direction}
              value={form.direction} blank="from the metric's name"
              choices={[['maximize', 'maximize'], ['minimize', 'minimize']]}
              onChange={v => set('direction', v)} />
          </div>
          <div className="jp-xtrack-field-pair">
            <TextField id="trials" label="Trials" error={errors.trials} numeric
              value={form.trials} onChange={v => set('trials', v)} />
            <TextField id="name" label="Name" error={errors.name} placeholder="optional"
              value={form.name} onChange={v => set('name', v)} />
          </div>
          <div className="jp-xtrack-field-pair">
            <ChoiceField id="sampler" label="Sampler" error={errors.sampler} value={form.sampler}
              blank="default (tpe)" choices={SAMPLERS.map(v => [v, v])}
              onChange={v => set('sampler', v)} />
            <ChoiceField id="pruner" label="Pruner" error={errors.pruner} value={form.pruner}
              blank="none" choices={PRUNERS.map(v => [v, v])} onChange={v => set('pruner', v)} />
          </div>
        </>
      )}
      <FormError text={whole} />
      <div className="jp-xtrack-launch-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-xtrack-start"
          disabled={busy !== null || !form}
        >
          {busy ?? 'Start sweep'}
        </button>
      </div>
    </form>
  );
}

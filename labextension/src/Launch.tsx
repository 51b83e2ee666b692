/**
 * The Launch tab: start a background AutoML search on a DataFrame of the current notebook's
 * kernel, or a sweep over the params a tracked cell recorded. Input is validated here, then
 * by the kernel (`check_*`), before anything starts (`start_*`).
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import * as React from 'react';
import {
  automlArgs,
  fieldErrors,
  formError,
  frameLabel,
  IAutoMLForm,
  IAutoMLOptions,
  IExpectedJob,
  IFrameInfo,
  IStarted,
  ISweepForm,
  PRUNERS,
  SAMPLERS,
  ITrackedCell,
  paramsLine,
  Reply,
  sweepArgs,
  sweepFormFor,
  sweepSource,
  validateAutoML,
  validateSweep
} from './jobsModel';
import { callKernel } from './kernelBridge';

type Mode = 'automl' | 'sweep';

/** The form's two modes, with the labels of their buttons. */
const MODES: [Mode, string][] = [
  ['automl', 'AutoML on a DataFrame'],
  ['sweep', 'Sweep a tracked cell']
];

/** The notebook the form targets and its kernel, kept current through the tracker's signals. */
interface ITarget {
  panel: NotebookPanel | null;
  path: string | null;
  kernel: Kernel.IKernelConnection | null;
  kernelName: string;
  kernelStatus: string;
}

function readTarget(tracker: INotebookTracker | null): ITarget {
  const panel = tracker?.currentWidget ?? null;
  const session = panel?.sessionContext;
  const kernel = session?.session?.kernel ?? null;
  const status = kernel?.status ?? 'unknown';
  return {
    panel,
    path: panel?.context.path ?? null,
    kernel: kernel && status !== 'dead' ? kernel : null,
    kernelName: session?.kernelDisplayName ?? '',
    kernelStatus: status
  };
}

function useTarget(tracker: INotebookTracker | null): ITarget {
  const [target, setTarget] = React.useState<ITarget>(() => readTarget(tracker));
  React.useEffect(() => {
    if (!tracker) {
      return;
    }
    let panel: NotebookPanel | null = null;
    const update = () => setTarget(readTarget(tracker));
    const watch = () => {
      if (panel) {
        panel.sessionContext.kernelChanged.disconnect(update);
        panel.sessionContext.statusChanged.disconnect(update);
        panel.context.pathChanged.disconnect(update);
      }
      panel = tracker.currentWidget;
      if (panel) {
        panel.sessionContext.kernelChanged.connect(update);
        panel.sessionContext.statusChanged.connect(update);
        panel.context.pathChanged.connect(update);
      }
      update();
    };
    watch();
    tracker.currentChanged.connect(watch);
    return () => {
      tracker.currentChanged.disconnect(watch);
      if (panel) {
        panel.sessionContext.kernelChanged.disconnect(update);
        panel.sessionContext.statusChanged.disconnect(update);
        panel.context.pathChanged.disconnect(update);
      }
    };
  }, [tracker]);
  return target;
}

/** The source of the cell with this id in the open notebook, or null when it has none. */
function currentCellSource(panel: NotebookPanel | null, cellId: string): string | null {
  const cells = panel?.content.model?.cells;
  if (!cells) {
    return null;
  }
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.id === cellId) {
      return cell.sharedModel.getSource();
    }
  }
  return null;
}

/** A labelled form field with its error (from the form's checks or the kernel's) below it. */
function Field(props: {
  id: string;
  label: string;
  error?: string;
  hint?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div className={`jp-xtrack-field${props.error ? ' jp-mod-invalid' : ''}`} data-field={props.id}>
      <label htmlFor={`jp-xtrack-launch-${props.id}`}>{props.label}</label>
      {props.children}
      {props.hint && !props.error && <div className="jp-xtrack-field-hint">{props.hint}</div>}
      {props.error && (
        <div className="jp-xtrack-field-error" id={`jp-xtrack-launch-${props.id}-error`} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

/** A one-line text input in its Field. */
function TextField(props: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  value: string;
  placeholder?: string;
  numeric?: boolean;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <Field id={props.id} label={props.label} error={props.error} hint={props.hint}>
      <input
        {...inputProps(props.id, props.error)}
        className="jp-mod-styled"
        inputMode={props.numeric ? 'numeric' : undefined}
        value={props.value}
        placeholder={props.placeholder}
        onChange={e => props.onChange(e.target.value)}
      />
    </Field>
  );
}

/** A select in its Field; `choices` are [value, label] pairs, `blank` an optional first one. */
function ChoiceField(props: {
  id: string;
  label: string;
  error?: string;
  value: string;
  choices: [string, string][];
  blank?: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <Field id={props.id} label={props.label} error={props.error}>
      <select
        {...inputProps(props.id, props.error)}
        value={props.value}
        onChange={e => props.onChange(e.target.value)}
      >
        {props.blank !== undefined && <option value="">{props.blank}</option>}
        {props.choices.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** Asks the kernel for a list again. */
function RefreshButton(props: {
  busy: boolean;
  title: string;
  onClick: () => Promise<void> | void;
}): JSX.Element {
  return (
    <button
      type="button"
      className="jp-mod-styled jp-xtrack-refresh"
      disabled={props.busy}
      onClick={() => void props.onClick()}
      title={props.title}
    >
      {props.busy ? 'Refreshing…' : 'Refresh'}
    </button>
  );
}

/** The errors that belong to no field, for the whole form. */
function FormError(props: { text: string | null }): JSX.Element | null {
  return props.text ? (
    <div className="jp-xtrack-error jp-xtrack-form-error" role="alert">
      {props.text}
    </div>
  ) : null;
}

/** Props that tie an input to its Field: id, and the error's description when there is one. */
function inputProps(id: string, error?: string) {
  return {
    id: `jp-xtrack-launch-${id}`,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? `jp-xtrack-launch-${id}-error` : undefined
  };
}

/** Errors of the reply that have no field on the form, shown for the whole form. */
function unplacedErrors(errors: Record<string, string>, fields: string[]): string | null {
  const rest = Object.entries(errors).filter(([k]) => !fields.includes(k));
  return rest.length ? rest.map(([k, v]) => `${k}: ${v}`).join('\n') : null;
}

/** What a form shows while and after it launches. */
interface ILaunchUI {
  setBusy: (text: string | null) => void;
  setErrors: (errors: Record<string, string>) => void;
  setWhole: (text: string | null) => void;
  onStarted: (expected: IExpectedJob) => void;
}

/** check_*, then start_*: on success the app hears of the job; otherwise each error goes to
 * its field (`fields`), and the rest to the whole form. */
async function launchJob(
  kernel: Kernel.IKernelConnection,
  kind: Mode,
  args: Record<string, unknown>,
  fields: string[],
  ui: ILaunchUI
): Promise<void> {
  const since = Date.now() / 1000;
  ui.setBusy('Checking…');
  let reply: Reply<unknown> = await callKernel<unknown>(kernel, `check_${kind}`, args);
  if (reply.ok) {
    ui.setBusy('Starting…');
    const started = await callKernel<IStarted>(kernel, `start_${kind}`, args);
    if (started.ok) {
      ui.setBusy(null);
      ui.onStarted({ runId: started.value.run_id, since });
      return;
    }
    reply = started;
  }
  ui.setBusy(null);
  const errors = fieldErrors(reply);
  ui.setErrors(errors);
  ui.setWhole(formError(reply) ?? unplacedErrors(errors, fields));
}

const AUTOML_FIELDS = ['frame', 'target', 'time_budget', 'metric', 'name'];

function AutoMLForm(props: {
  kernel: Kernel.IKernelConnection;
  onStarted: (expected: IExpectedJob) => void;
}): JSX.Element {
  const { kernel } = props;
  const [frames, setFrames] = React.useState<IFrameInfo[] | null>(null);
  const [framesError, setFramesError] = React.useState<string | null>(null);
  const [loadingFrames, setLoadingFrames] = React.useState(false);
  const [form, setForm] = React.useState<IAutoMLForm>({
    frame: '',
    target: '',
    timeBudget: '1m',
    metric: '',
    name: ''
  });
  const [options, setOptions] = React.useState<IAutoMLOptions | null>(null);
  const [loadingOptions, setLoadingOptions] = React.useState(false);
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [whole, setWhole] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState<string | null>(null);

  const loadFrames = async () => {
    setLoadingFrames(true);
    const reply = await callKernel<IFrameInfo[]>(kernel, 'frames', {});
    setLoadingFrames(false);
    if (reply.ok) {
      setFrames(reply.value);
      setFramesError(null);
      // A single DataFrame is picked for the user; a vanished one is unpicked.
      const names = reply.value.map(f => f.name);
      setForm(f =>
        names.includes(f.frame)
          ? f
          : { ...f, frame: names.length === 1 ? names[0] : '', target: '', metric: '' }
      );
    } else {
      setFramesError(formError(reply) ?? Object.values(fieldErrors(reply)).join('; '));
    }
  };
  React.useEffect(() => {
    void loadFrames();
  }, [kernel]);
  // A restart keeps the kernel connection but empties the namespace: list it again.
  React.useEffect(() => {
    let restarting = false;
    const onStatus = (_: Kernel.IKernelConnection, status: Kernel.Status) => {
      if (status === 'restarting' || status === 'autorestarting') {
        restarting = true;
      } else if (status === 'idle' && restarting) {
        restarting = false;
        void loadFrames();
      }
    };
    kernel.statusChanged.connect(onStatus);
    return () => {
      kernel.statusChanged.disconnect(onStatus);
    };
  }, [kernel]);

  // A new frame or target asks the kernel what the search can do with it.
  React.useEffect(() => {
    if (!form.frame || !form.target) {
      setOptions(null);
      return;
    }
    let stale = false;
    setLoadingOptions(true);
    void callKernel<IAutoMLOptions>(kernel, 'automl_options', {
      frame: form.frame,
      target: form.target
    }).then(reply => {
      if (stale) {
        return;
      }
      setLoadingOptions(false);
      if (reply.ok) {
        setOptions(reply.value);
        setForm(f => ({
          ...f,
          metric: reply.value.metrics.includes(f.metric) ? f.metric : reply.value.default_metric
        }));
        setErrors(e => ({ ...e, frame: '', target: '', metric: '' }));
      } else {
        setOptions(null);
        setErrors(e => ({ ...e, ...fieldErrors(reply) }));
        setWhole(formError(reply));
      }
    });
    return () => {
      stale = true;
    };
  }, [kernel, form.frame, form.target]);

  const frame = frames?.find(f => f.name === form.frame) ?? null;
  const set = (key: keyof IAutoMLForm, value: string) => {
    setForm(f => ({ ...f, [key]: value, ...(key === 'frame' ? { target: '', metric: '' } : {}) }));
    setErrors(e => ({ ...e, [key === 'timeBudget' ? 'time_budget' : key]: '' }));
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setWhole(null);
    const local = validateAutoML(form);
    setErrors(local);
    if (Object.keys(local).length) {
      return;
    }
    await launchJob(kernel, 'automl', automlArgs(form), AUTOML_FIELDS,
      { setBusy, setErrors, setWhole, onStarted: props.onStarted });
  };

  return (
    <form className="jp-xtrack-launch-form" data-mode="automl" onSubmit={e => void submit(e)} noValidate>
      <Field
        id="frame"
        label="DataFrame"
        error={errors.frame || framesError || undefined}
        hint={frames !== null && !frames.length ? 'No DataFrames in the kernel yet: run a cell that makes one, then Refresh.' : undefined}
      >
        <div className="jp-xtrack-field-row">
          <select
            {...inputProps('frame', errors.frame)}
            value={form.frame}
            disabled={frames === null}
            onChange={e => set('frame', e.target.value)}
          >
            <option value="">{frames === null ? 'Loading…' : '— pick a DataFrame —'}</option>
            {(frames ?? []).map(f => (
              <option key={f.name} value={f.name}>
                {frameLabel(f)}
              </option>
            ))}
          </select>
          <RefreshButton busy={loadingFrames} onClick={loadFrames}
            title="List the kernel's DataFrames again" />
        </div>
      </Field>
      <Field id="target" label="Target column" error={errors.target}>
        <select
          {...inputProps('target', errors.target)}
          value={form.target}
          disabled={!frame}
          onChange={e => set('target', e.target.value)}
        >
          <option value="">— pick the column to predict —</option>
          {(frame?.columns ?? []).map(c => (
            <option key={c.name} value={c.name}>
              {c.name} ({c.dtype})
            </option>
          ))}
        </select>
      </Field>
      <Field
        id="metric"
        label="Metric"
        error={errors.metric}
        hint={
          loadingOptions
            ? 'Asking the kernel…'
            : options
              ? `${options.task} task on ${options.rows.toLocaleString('en-US')} rows`
              : undefined
        }
      >
        <select
          {...inputProps('metric', errors.metric)}
          value={form.metric}
          disabled={!options}
          onChange={e => set('metric', e.target.value)}
        >
          {!options && <option value="">— pick a target first —</option>}
          {(options?.metrics ?? []).map(m => (
            <option key={m} value={m}>
              {m}
              {m === options?.default_metric ? ' (default)' : ''}
            </option>
          ))}
        </select>
      </Field>
      <TextField id="time_budget" label="Time budget" error={errors.time_budget} hint="e.g. 30s, 5m, 1h30m"
        value={form.timeBudget} onChange={v => set('timeBudget', v)} />
      <TextField id="name" label="Name" error={errors.name} placeholder="optional"
        value={form.name} onChange={v => set('name', v)} />
      <FormError text={whole} />
      <div className="jp-xtrack-launch-actions">
        <button type="submit" className="jp-mod-styled jp-mod-accept jp-xtrack-start" disabled={busy !== null}>
          {busy ?? 'Start AutoML'}
        </button>
      </div>
    </form>
  );
}

const SWEEP_FIELDS = ['cell_id', 'source', 'space', 'trials', 'metric', 'direction', 'sampler', 'pruner', 'name'];

function cellTitle(cell: ITrackedCell): string {
  const run = cell.last_run;
  return `#${run.number}${run.name ? ' ' + run.name : ''}`;
}

function firstCodeLine(code: string): string {
  return code.split('\n').find(l => l.trim() && !l.trim().startsWith('%%')) ?? '';
}

function SweepForm(props: {
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
              value={form.direction} choices={[['maximize', 'maximize'], ['minimize', 'minimize']]}
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

export interface ILaunchViewProps {
  tracker: INotebookTracker | null;
  onStarted: (expected: IExpectedJob) => void;
}

/** The Launch tab: which notebook and kernel it targets, the mode, and that mode's form. */
export function LaunchView(props: ILaunchViewProps): JSX.Element {
  const target = useTarget(props.tracker);
  const [mode, setMode] = React.useState<Mode>('automl');

  let body: JSX.Element;
  if (!props.tracker) {
    body = (
      <div className="jp-xtrack-empty">
        Launching needs JupyterLab's notebooks, which this application does not provide.
      </div>
    );
  } else if (!target.panel || !target.path) {
    body = (
      <div className="jp-xtrack-empty jp-xtrack-launch-none">
        Open a notebook (or click into one) to launch a job in its kernel.
      </div>
    );
  } else if (!target.kernel) {
    body = (
      <div className="jp-xtrack-empty jp-xtrack-launch-none">
        {target.path} has no running kernel: pick one with Kernel ▸ Change Kernel… (or the kernel
        name in the notebook's toolbar), then come back here.
      </div>
    );
  } else {
    // Keyed by notebook and kernel: another notebook or kernel starts with a fresh form.
    const key = `${target.path}|${target.kernel.id}`;
    body =
      mode === 'automl' ? (
        <AutoMLForm key={key} kernel={target.kernel} onStarted={props.onStarted} />
      ) : (
        <SweepForm
          key={key}
          kernel={target.kernel}
          panel={target.panel}
          path={target.path}
          onStarted={props.onStarted}
        />
      );
  }
  return (
    <div className="jp-xtrack-launch">
      <div className="jp-xtrack-launch-target" aria-live="polite">
        <span className="jp-xtrack-muted">Notebook</span>
        <span className="jp-xtrack-launch-notebook">{target.path ?? 'none'}</span>
        {target.path && (
          <>
            <span className="jp-xtrack-muted">Kernel</span>
            <span className="jp-xtrack-launch-kernel">
              {target.kernel
                ? `${target.kernelName} · ${target.kernelStatus}` +
                  (target.kernelStatus === 'busy' ? ' (requests wait for the running cell)' : '')
                : 'not running'}
            </span>
          </>
        )}
      </div>
      <div className="jp-xtrack-modes" role="group" aria-label="What to launch">
        {MODES.map(([value, label]) => (
          <button
            key={value}
            className={`jp-xtrack-mode${mode === value ? ' jp-mod-active' : ''}`}
            aria-pressed={mode === value}
            onClick={() => setMode(value)}
          >
            {label}
          </button>
        ))}
      </div>
      <div className="jp-xtrack-scroll">{body}</div>
    </div>
  );
}

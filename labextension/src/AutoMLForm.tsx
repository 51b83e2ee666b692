/**
 * The Launch tab's AutoML form: a DataFrame of the kernel, its target column, a metric that
 * fits the task the kernel detects, a time budget and a name.
 */
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
  validateAutoML
} from './jobsModel';
import { callKernel } from './kernelBridge';
import { Field, FormError, inputProps, RefreshButton, TextField } from './launchFields';
import { launchJob } from './launchJob';

const AUTOML_FIELDS = ['frame', 'target', 'time_budget', 'metric', 'name'];

export function AutoMLForm(props: {
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

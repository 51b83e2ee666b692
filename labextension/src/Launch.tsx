/**
 * The Launch tab: start a background AutoML search on a DataFrame of the current notebook's
 * kernel, or a sweep over the params a tracked cell recorded. Input is validated here, then
 * by the kernel (`check_*`), before anything starts (`start_*`).
 */
import { INotebookTracker } from '@jupyterlab/notebook';
import * as React from 'react';
import { AutoMLForm } from './AutoMLForm';
import { IExpectedJob } from './jobsModel';
import { LaunchMode } from './launchJob';
import { useTarget } from './notebookTarget';
import { SweepForm } from './SweepForm';

/** The form's two modes, with the labels of their buttons. */
const MODES: [LaunchMode, string][] = [
  ['automl', 'AutoML on a DataFrame'],
  ['sweep', 'Sweep a tracked cell']
];

export interface ILaunchViewProps {
  tracker: INotebookTracker | null;
  onStarted: (expected: IExpectedJob) => void;
}

/** The Launch tab: which notebook and kernel it targets, the mode, and that mode's form. */
export function LaunchView(props: ILaunchViewProps): JSX.Element {
  const target = useTarget(props.tracker);
  const [mode, setMode] = React.useState<LaunchMode>('automl');

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

/** The Jobs tab: every sweep and AutoML search (background jobs with Cancel, foreground ones
 * too) with progress, best score and children. */
import * as React from 'react';
import { ApiError, requestAPI } from './api';
import {
  anyRunning,
  bestText,
  cancelLabel,
  childrenText,
  elapsedText,
  hostsText,
  IJob,
  IJobList,
  jobFraction,
  IExpectedJob,
  isExpected,
  jobLabel,
  progressText
} from './jobsModel';

const POLL_MS = 1000;
/** How long the view keeps polling for a job it was told to expect (just launched). */
const EXPECT_MS = 30_000;

export interface IJobsViewProps {
  /** Bumped by the change feed: reload the list. */
  revision: number;
  /** The tab is the one shown (the view polls only then). */
  active: boolean;
  /** Whether the panel itself is on screen (a collapsed sidebar does not poll). */
  isShown: () => boolean;
  /** A job just launched, to highlight and to wait for. */
  expect: IExpectedJob | null;
  onOpenRun: (runId: string) => void;
  onLaunch: () => void;
}

function JobRow(props: {
  job: IJob;
  now: number;
  highlighted: boolean;
  onOpen: () => void;
  onChanged: (job: IJob | null) => void;
}): JSX.Element {
  const { job } = props;
  const [clicked, setClicked] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const running = job.state === 'running';
  React.useEffect(() => {
    if (!running) {
      setClicked(false);
    }
  }, [running]);

  const cancel = async (event: React.MouseEvent) => {
    event.stopPropagation();
    setClicked(true);
    setError(null);
    try {
      const answer = await requestAPI<{ job: IJob }>(
        `jobs/${encodeURIComponent(job.run_id)}/cancel`,
        { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } }
      );
      props.onChanged(answer.job);
    } catch (e) {
      const err = e as ApiError;
      setClicked(false);
      setError(
        err.status === 409
          ? `${jobLabel(job)} is no longer running: ${err.message}`
          : `Cannot cancel ${jobLabel(job)}: ${err.message}`
      );
      props.onChanged(null);
    }
  };

  const fraction = jobFraction(job, props.now);
  const children = childrenText(job);
  const hosts = hostsText(job);
  // A foreground search runs in its notebook's cell: stop it there (interrupt the kernel).
  const cancellable = running && job.background !== false;
  const pct = fraction === null ? null : Math.round(fraction * 100);
  return (
    <li
      className={`jp-xtrack-job${props.highlighted ? ' jp-mod-highlighted' : ''}`}
      data-run-id={job.run_id}
      data-state={job.state}
      onClick={props.onOpen}
    >
      <div className="jp-xtrack-job-head">
        <button
          className="jp-xtrack-link jp-xtrack-job-name"
          title={`Open run ${jobLabel(job)}`}
          onClick={e => {
            e.stopPropagation();
            props.onOpen();
          }}
        >
          {jobLabel(job)}
        </button>
        <span className={`jp-xtrack-badge jp-xtrack-job-state jp-xtrack-job-state-${job.state}`}>
          {job.state}
        </span>
        {job.background === false && (
          <span className="jp-xtrack-job-fg" title="run in the foreground of its notebook's cell">
            foreground
          </span>
        )}
        {cancellable && (
          <button
            className="jp-xtrack-job-cancel jp-mod-styled"
            disabled={clicked || job.cancel_requested}
            onClick={e => void cancel(e)}
          >
            {cancelLabel(job, clicked)}
          </button>
        )}
      </div>
      <div className="jp-xtrack-job-progress">
        <div
          className={`jp-xtrack-job-bar${pct === null && running ? ' jp-mod-unknown' : ''}`}
          role="progressbar"
          aria-label={`${jobLabel(job)} progress`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct ?? undefined}
        >
          {/* Unknown progress: the bar's own stripes show instead of a fill. */}
          {pct !== null && <div className="jp-xtrack-job-fill" style={{ width: `${pct}%` }} />}
        </div>
        <span className="jp-xtrack-job-done">{progressText(job, props.now)}</span>
      </div>
      <div className="jp-xtrack-job-facts">
        <span className="jp-xtrack-job-best" title="best score so far">
          best {bestText(job)}
        </span>
        <span className="jp-xtrack-job-more">
          {children && <><span className="jp-xtrack-job-trials">{children}</span>{' · '}</>}
          {job.kind !== 'automl' && (
            // An AutoML search's progress is its elapsed time already.
            <><span className="jp-xtrack-job-elapsed" title="elapsed">{elapsedText(job, props.now)}</span>{' · '}</>
          )}
          <span className="jp-xtrack-job-kind">{job.kind === 'automl' ? 'AutoML' : job.kind}</span>
        </span>
      </div>
      {(job.user || hosts) && (
        <div className="jp-xtrack-job-where">
          {job.user && <span className="jp-xtrack-job-user" title="who started it">by {job.user}</span>}
          {job.user && hosts && ' · '}
          {hosts && (
            <span className="jp-xtrack-job-hosts" title={(job.hosts ?? []).map(h => `${h.host}: ${h.runs}`).join('\n')}>
              {hosts}
            </span>
          )}
        </div>
      )}
      {error && (
        <div className="jp-xtrack-error jp-xtrack-job-error" role="alert">
          {error}
        </div>
      )}
    </li>
  );
}

/** The list of jobs, newest first, kept fresh by the change feed and by polling while any runs. */
export function JobsView(props: IJobsViewProps): JSX.Element {
  const [jobs, setJobs] = React.useState<IJob[] | null>(null);
  const [error, setError] = React.useState<ApiError | null>(null);
  const [now, setNow] = React.useState(Date.now() / 1000);
  const inFlight = React.useRef(false);
  const again = React.useRef(false);

  const load = React.useCallback(async () => {
    // One request at a time; a reload asked for meanwhile runs right after it.
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    try {
      do {
        again.current = false;
        try {
          const list = await requestAPI<IJobList>('jobs?limit=50');
          setJobs(list.jobs);
          setError(null);
        } catch (e) {
          setError(e as ApiError);
        }
        setNow(Date.now() / 1000);
      } while (again.current);
    } finally {
      inFlight.current = false;
    }
  }, []);

  // The change feed and coming into view both reload.
  React.useEffect(() => {
    if (props.active) {
      void load();
    }
  }, [props.revision, props.active]);

  const expect = props.expect;
  const waiting =
    expect !== null &&
    Date.now() - expect.since * 1000 < EXPECT_MS &&
    !(jobs ?? []).some(j => isExpected(j, expect));
  const poll = props.active && (waiting || anyRunning(jobs ?? []));
  React.useEffect(() => {
    if (!poll) {
      return;
    }
    const timer = setInterval(() => {
      if (props.isShown()) {
        void load();
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [poll]);

  const replace = (job: IJob | null) => {
    if (job) {
      setJobs(list => (list ?? []).map(j => (j.run_id === job.run_id ? job : j)));
    }
    void load();
  };

  let body: JSX.Element;
  if (error && jobs === null) {
    body = (
      <div className="jp-xtrack-error" role="alert">
        Cannot list jobs: {error.message}{' '}
        <button className="jp-xtrack-link" onClick={() => void load()}>
          Retry
        </button>
      </div>
    );
  } else if (jobs === null) {
    body = <div className="jp-xtrack-empty">Loading jobs…</div>;
  } else if (!jobs.length) {
    body = (
      <div className="jp-xtrack-empty jp-xtrack-jobs-empty">
        <p>No jobs yet.</p>
        <p>
          Start one in a notebook with{' '}
          <code>xt.automl(df, target=..., background=True)</code> (or{' '}
          <code>xt.sweep(..., background=True)</code>), or from the{' '}
          <button className="jp-xtrack-link" onClick={props.onLaunch}>
            Launch
          </button>{' '}
          tab.
        </p>
        {waiting && <p className="jp-xtrack-muted">Waiting for the new job…</p>}
      </div>
    );
  } else {
    body = (
      <ul className="jp-xtrack-job-list" aria-label="Jobs">
        {jobs.map(job => (
          <JobRow
            key={job.run_id}
            job={job}
            now={now}
            highlighted={expect !== null && isExpected(job, expect)}
            onOpen={() => props.onOpenRun(job.run_id)}
            onChanged={replace}
          />
        ))}
      </ul>
    );
  }
  return (
    <div className="jp-xtrack-jobs">
      {error && jobs !== null && (
        <div className="jp-xtrack-error" role="alert">
          Cannot refresh jobs: {error.message}
        </div>
      )}
      {waiting && jobs !== null && jobs.length > 0 && (
        <div className="jp-xtrack-muted jp-xtrack-jobs-waiting">Waiting for the new job…</div>
      )}
      <div className="jp-xtrack-scroll">{body}</div>
    </div>
  );
}

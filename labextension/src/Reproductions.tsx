/**
 * A run's reproductions in its detail view: what it reproduces (when it is a reproduction),
 * a Reproduce button that starts `xtrack reproduce` as a background job (followed and
 * cancelled in the Jobs tab), and each reproduction with its verdict, opened or compared
 * with the original. Data: the run detail's `reproduces` and `reproductions`
 * (server/reproductions.py); the list refreshes with the detail as the store changes.
 */
import * as React from 'react';
import { ApiError, requestAPI } from './api';
import { formatTime } from './format';
import { IRunBrief, IRunDetail, runLabel } from './model';

/** One reproduction as the run detail lists it (openapi.yaml: Reproduction). */
export interface IReproduction {
  id: string;
  number: number;
  status: string;
  started_at: number;
  verdict: string | null;
  reason: string | null;
  job_state: string | null;
  is_job: boolean;
}

/** The fields of the run detail this view reads. */
export interface IReproductionLinks {
  reproduces?: IRunBrief | null;
  reproductions?: IReproduction[];
}

/** The CSS modifier of a verdict ('reproduced within tolerance' -> 'within'). */
export function verdictClass(verdict: string | null): string {
  switch (verdict) {
    case 'reproduced':
      return 'reproduced';
    case 'reproduced within tolerance':
      return 'within';
    case 'differs':
      return 'differs';
    case 'could not run':
      return 'failed';
    default:
      return 'pending';
  }
}

function ReproduceButton(props: { runId: string }): JSX.Element {
  const [env, setEnv] = React.useState<'current' | 'fresh'>('current');
  const [message, setMessage] = React.useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = React.useState(false);
  const start = async () => {
    setBusy(true);
    try {
      await requestAPI(`runs/${encodeURIComponent(props.runId)}/reproduce`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ env })
      });
      setMessage({ text: 'Started: follow it in the Jobs tab (it can be cancelled there).', error: false });
    } catch (e) {
      setMessage({ text: (e as ApiError).message, error: true });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="jp-xtrack-reproduce-start">
      <button className="jp-mod-styled jp-mod-accept" disabled={busy} onClick={start}
        title="Re-run this run's lineage in a fresh kernel and compare the results">
        Reproduce
      </button>
      <select value={env} aria-label="environment"
        title="current: this server's Python; fresh: a new environment with the run's exact package versions"
        onChange={e => setEnv(e.target.value as 'current' | 'fresh')}>
        <option value="current">in the current environment</option>
        <option value="fresh">in a fresh environment</option>
      </select>
      {message && (
        <div className={message.error ? 'jp-xtrack-error' : 'jp-xtrack-muted'} role="status">
          {message.text}
        </div>
      )}
    </div>
  );
}

export function Reproductions(props: {
  run: IRunDetail & IReproductionLinks;
  onOpen: (id: string) => void;
  onCompare?: (ids: string[]) => void;
}): JSX.Element {
  const { run } = props;
  const items = run.reproductions ?? [];
  const compare = (id: string, other: string) =>
    props.onCompare && (
      <button className="jp-xtrack-link" onClick={() => props.onCompare!([id, other])}>compare</button>
    );
  return (
    <details className="jp-xtrack-section jp-xtrack-reproductions" open>
      <summary>Reproductions ({items.length})</summary>
      {run.reproduces && (
        <div className="jp-xtrack-reproduces">
          Reproduces{' '}
          <button className="jp-xtrack-link" onClick={() => props.onOpen(run.reproduces!.id)}>
            {runLabel(run.reproduces)}
          </button>
          {compare(run.reproduces.id, run.id)}
        </div>
      )}
      {run.status !== 'running' && <ReproduceButton runId={run.id} />}
      {items.length > 0 && (
        <ul className="jp-xtrack-reproduction-list">
          {items.map(r => (
            <li key={r.id}>
              <button className="jp-xtrack-link" onClick={() => props.onOpen(r.id)}>
                #{r.number}
              </button>
              <span className={`jp-xtrack-badge jp-xtrack-verdict-${verdictClass(r.verdict)}`}>
                {r.verdict ?? (r.job_state === 'running' ? 'running…' : r.job_state ?? r.status)}
              </span>
              {!r.is_job && compare(run.id, r.id)}
              <span className="jp-xtrack-muted">{formatTime(r.started_at)}</span>
              {r.reason && <div className="jp-xtrack-reproduction-reason" title={r.reason}>{r.reason}</div>}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}

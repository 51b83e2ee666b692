/** One run: code, params, metrics with charts, environment, git, data lineage, artifacts. */
import * as React from 'react';
import { ApiError, apiUrl, quotePath, requestAPI } from './api';
import { LineChart } from './charts';
import { formatBytes, formatDuration, formatTime, formatValue, shortHash } from './format';
import { DiffText, highlightPython } from './highlight';
import { IHistory, IRunDetail, runLabel } from './model';
import { Reproductions } from './Reproductions';

function KeyValues(props: { values: Record<string, unknown> }): JSX.Element {
  const entries = Object.entries(props.values);
  if (!entries.length) {
    return <div className="jp-xtrack-muted">none</div>;
  }
  return (
    <table className="jp-xtrack-kv">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{formatValue(v as any, 200)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MetricChart(props: { runId: string; name: string }): JSX.Element {
  const [history, setHistory] = React.useState<IHistory | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    requestAPI<IHistory>(
      `runs/${encodeURIComponent(props.runId)}/metrics/${quotePath(props.name)}?max_points=500`
    ).then(setHistory, e => setError(String((e as Error).message)));
  }, [props.runId, props.name]);
  if (error) {
    return <div className="jp-xtrack-error">{error}</div>;
  }
  if (!history) {
    return <div className="jp-xtrack-muted">loading {props.name}…</div>;
  }
  if (history.count < 2) {
    return <></>;
  }
  return (
    <figure className="jp-xtrack-figure">
      <figcaption>
        {props.name} ({history.count.toLocaleString()} points
        {history.downsampled ? ', min/max downsampled' : ''})
      </figcaption>
      <LineChart series={[{ label: props.name, history }]} title={props.name} />
    </figure>
  );
}

function Section(props: { title: string; children: React.ReactNode; open?: boolean }) {
  return (
    <details className="jp-xtrack-section" open={props.open ?? true}>
      <summary>{props.title}</summary>
      {props.children}
    </details>
  );
}

export function RunDetail(props: {
  id: string;
  revision: number;
  onOpen: (id: string) => void;
  onOpenNotebook: (path: string, cellId: string | null) => void;
  onBack: () => void;
  onCompare?: (ids: string[]) => void;
}): JSX.Element {
  const [run, setRun] = React.useState<IRunDetail | null>(null);
  const [error, setError] = React.useState<ApiError | null>(null);
  React.useEffect(() => {
    requestAPI<IRunDetail>(`runs/${encodeURIComponent(props.id)}`).then(
      r => {
        setRun(r);
        setError(null);
      },
      e => setError(e as ApiError)
    );
  }, [props.id, props.revision]);

  const header = (
    <div className="jp-xtrack-toolbar">
      <button className="jp-mod-styled" onClick={props.onBack}>← Runs</button>
      {run && <span className="jp-xtrack-title">{runLabel(run)}</span>}
    </div>
  );
  if (error) {
    return <div className="jp-xtrack-detail">{header}<div className="jp-xtrack-error" role="alert">{error.message}</div></div>;
  }
  if (!run) {
    return <div className="jp-xtrack-detail">{header}<div className="jp-xtrack-empty">Loading run…</div></div>;
  }
  const env = run.env_full ?? {};
  const imported = (env.imported ?? {}) as Record<string, string>;
  const fileRow = (f: IRunDetail['inputs'][number], i: number) => (
    <tr key={i}>
      <td title={f.path}>{f.path}</td>
      <td title={f.hash ?? ''}>{shortHash(f.hash)}</td>
      <td>{formatBytes(f.size)}</td>
      <td>
        {f.producer ? (
          <button className="jp-xtrack-link" onClick={() => props.onOpen(f.producer!.id)}>
            from {runLabel(f.producer)}
          </button>
        ) : (
          f.status ?? ''
        )}
      </td>
    </tr>
  );
  return (
    <div className="jp-xtrack-detail">
      {header}
      <div className="jp-xtrack-scroll">
        <div className="jp-xtrack-summary">
          <span className={`jp-xtrack-badge jp-xtrack-status-${run.status}`}>{run.status}</span>
          <span>{run.experiment}</span>
          <span>{formatTime(run.started_at)}</span>
          <span>{run.status === 'running' ? 'running…' : formatDuration(run.duration_s)}</span>
          {run.parent && (
            <button className="jp-xtrack-link" onClick={() => props.onOpen(run.parent!.id)}>
              parent {runLabel(run.parent)}
            </button>
          )}
        </div>
        {run.notebook_path && (
          <div className="jp-xtrack-notebook">
            {run.notebook_relpath ? (
              <button className="jp-xtrack-link"
                onClick={() => props.onOpenNotebook(run.notebook_relpath!, run.cell_id)}>
                Open {run.notebook_relpath}{run.cell_id ? ' at its cell' : ''}
              </button>
            ) : (
              <span title="outside the server's root folder">{run.notebook_path}</span>
            )}
          </div>
        )}
        {run.error && (
          <div className="jp-xtrack-error">{run.error.type}: {run.error.message}</div>
        )}
        <Reproductions run={run} onOpen={props.onOpen} onCompare={props.onCompare} />
        <Section title="Code">
          <pre className="jp-xtrack-code">{highlightPython(run.code_text ?? '')}</pre>
        </Section>
        <Section title={`Params (${Object.keys(run.params).length})`}>
          <KeyValues values={run.params} />
        </Section>
        <Section title={`Metrics (${run.metric_keys.length})`}>
          <KeyValues values={run.metrics} />
          <div className="jp-xtrack-charts">
            {run.metric_keys.slice(0, 8).map(k => (
              <MetricChart key={k + props.revision} runId={run.id} name={k} />
            ))}
          </div>
        </Section>
        {Object.keys(run.tags).length > 0 && (
          <Section title="Tags"><KeyValues values={run.tags} /></Section>
        )}
        <Section title="Environment" open={false}>
          <KeyValues values={{
            python: env.python?.version, platform: env.platform?.system,
            machine: env.platform?.machine, ...imported
          }} />
        </Section>
        <Section title="Git" open={false}>
          {run.git ? (
            <>
              <KeyValues values={{ commit: run.git.commit, branch: run.git.branch, dirty: run.git.dirty }} />
              {run.git.diff && <DiffText text={run.git.diff} />}
            </>
          ) : <div className="jp-xtrack-muted">not in a git repository</div>}
        </Section>
        <Section title={`Data (${run.inputs.length} in, ${run.outputs.length} out)`}>
          <table className="jp-xtrack-files">
            <tbody>
              {run.inputs.length > 0 && <tr><th colSpan={4}>inputs</th></tr>}
              {run.inputs.map(fileRow)}
              {run.outputs.length > 0 && <tr><th colSpan={4}>outputs</th></tr>}
              {run.outputs.map(fileRow)}
            </tbody>
          </table>
        </Section>
        <Section title={`Artifacts (${run.artifacts.length})`}>
          <div className="jp-xtrack-artifacts">
            {run.artifacts.map(a => {
              const url = apiUrl(`runs/${encodeURIComponent(run.id)}/artifacts/${quotePath(a.name)}`);
              const image = /^image\/(png|jpeg|gif|webp)$/.test(a.media_type ?? '');
              return (
                <div key={a.name} className="jp-xtrack-artifact">
                  {image && <img src={url} alt={a.name} loading="lazy" />}
                  <a href={url} download={a.name.split('/').pop()} target="_blank" rel="noopener noreferrer">
                    {a.name}
                  </a>{' '}
                  <span className="jp-xtrack-muted">{formatBytes(a.size)}</span>
                </div>
              );
            })}
          </div>
        </Section>
        {(run.stdout || run.stderr) && (
          <Section title="Output" open={false}>
            {run.stdout && <pre className="jp-xtrack-code">{run.stdout}</pre>}
            {run.stderr && <pre className="jp-xtrack-code jp-xtrack-stderr">{run.stderr}</pre>}
          </Section>
        )}
      </div>
    </div>
  );
}

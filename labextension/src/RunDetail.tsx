/** One run, every fact the store keeps: code, params, metrics with charts, children and their
 * leaderboard, data (files and in-memory fingerprints), artifacts previewed, resources and
 * system metrics, hardware, environment, git, output, the full traceback, and the tracker's
 * own bookkeeping apart from the user's data. */
import * as React from 'react';
import { ApiError, apiUrl, quotePath, requestAPI } from './api';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISeries, LineChart, MetricPanels, usePanels } from './charts';
import { Evaluation } from './Evaluation';
import { evaluationCount, evaluationOf } from './evaluationModel';
import {
  environmentRows,
  hardwareRows,
  IPreview,
  IRunFacts,
  isBookkeepingMetric,
  isSystemTag,
  leaderboardMetric,
  linkedRunTag,
  notStoredText,
  rankChildren,
  resourceRows,
  searchRows,
  splitBy,
  SYSTEM_PREFIX
} from './detailModel';
import { formatBytes, formatDuration, formatTime, formatValue, shortHash } from './format';
import { highlightPython, ParamMarkTag } from './highlight';
import { IArtifact, IHistory, IParamMark, IRunPage, IRunRow, runLabel } from './model';
import { RegisterModel } from './RegisterModel';
import { Reproductions } from './Reproductions';
import { GitDiff, gitFileCount, NotebookDiffOpener } from './GitDiffs';

type OpenRun = (id: string) => void;

function KeyValues(props: { values: Record<string, unknown>; onOpen?: OpenRun; marks?: Record<string, IParamMark> }): JSX.Element {
  const entries = Object.entries(props.values);
  if (!entries.length) {
    return <div className="jp-xtrack-muted">none</div>;
  }
  return (
    <table className="jp-xtrack-kv">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th title={k}>{k}</th>
            <td>
              {props.onOpen && linkedRunTag(k) && typeof v === 'string' && v ? (
                <button className="jp-xtrack-link" onClick={() => props.onOpen!(v)}>
                  open run {v.slice(0, 8)}
                </button>
              ) : (
                formatValue(v as any, 200)
              )}
              <ParamMarkTag mark={props.marks?.[k]} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Rows(props: { rows: [string, string][] }): JSX.Element {
  return (
    <table className="jp-xtrack-kv">
      <tbody>
        {props.rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A metric's history as a chart; nothing for a metric without 2+ points (a metric with no
 * history is not an error worth a red box: its value is in the table above). */
function MetricChart(props: { runId: string; name: string }): JSX.Element {
  const [history, setHistory] = React.useState<IHistory | null>(null);
  const [error, setError] = React.useState<ApiError | null>(null);
  React.useEffect(() => {
    requestAPI<IHistory>(
      `runs/${encodeURIComponent(props.runId)}/metrics/${quotePath(props.name)}?max_points=500`
    ).then(setHistory, e => setError(e as ApiError));
  }, [props.runId, props.name]);
  if (error) {
    return error.reason === 'unknown_metric' ? <></> : <div className="jp-xtrack-error">{error.message}</div>;
  }
  if (!history) {
    return <div className="jp-xtrack-muted">loading {props.name}…</div>;
  }
  if (history.count < 2) {
    return <></>;
  }
  return (
    <figure className="jp-xtrack-figure" data-metric={props.name}>
      <figcaption>
        {props.name} ({history.count.toLocaleString()} points
        {history.downsampled ? ', min/max downsampled' : ''})
      </figcaption>
      <LineChart series={[{ label: props.name, history }]} title={props.name} />
    </figure>
  );
}

function Section(props: {
  title: string;
  count?: number | string;
  children: React.ReactNode;
  open?: boolean;
  name: string;
}) {
  return (
    <details className="jp-xtrack-section" open={props.open ?? true} data-section={props.name}>
      <summary>
        {props.title}
        {props.count !== undefined && <span className="jp-xtrack-count"> ({props.count})</span>}
      </summary>
      <div className="jp-xtrack-section-body">{props.children}</div>
    </details>
  );
}

function Charts(props: { runId: string; keys: string[]; revision: number }): JSX.Element {
  return (
    <div className="jp-xtrack-charts">
      {props.keys.map(k => (
        <MetricChart key={k + props.revision} runId={props.runId} name={k} />
      ))}
    </div>
  );
}

/** The run's metric histories under the panel chooser and toolbar Compare has: the panels
 * chosen for the run's experiment (shared with Compare), every metric until the user picks. */
function RunPanels(props: {
  runId: string;
  experiment: string;
  keys: string[];
  revision: number;
  settings?: ISettingRegistry.ISettings | null;
}): JSX.Element {
  const [remembered, setPanels] = usePanels(props.settings, props.experiment);
  const [series, setSeries] = React.useState<Record<string, ISeries[]>>({});
  // Until the user picks, every metric with a history of 2+ points (one value is in the
  // table above already); a metric the user picks is charted whatever its length.
  const single = (k: string) => (series[k]?.[0]?.history.count ?? 2) < 2;
  const chosen = remembered ? remembered.filter(k => props.keys.includes(k)) : props.keys.filter(k => !single(k));
  // Metrics of the experiment this run lacks stay chosen for the runs that have them.
  const choose = (next: string[]) => setPanels([...(remembered ?? []).filter(k => !props.keys.includes(k)), ...next]);
  const asked = React.useRef(new Set<string>());
  React.useEffect(() => {
    asked.current = new Set();
    setSeries({});
  }, [props.runId, props.revision]);
  React.useEffect(() => {
    const token = asked.current;
    for (const name of chosen.filter(n => !token.has(n))) {
      token.add(name);
      const done = (s: ISeries[]) => asked.current === token && setSeries(m => ({ ...m, [name]: s }));
      requestAPI<IHistory>(`runs/${encodeURIComponent(props.runId)}/metrics/${quotePath(name)}?max_points=500`)
        .then(history => done([{ label: name, history }]), () => done([]));
    }
  });
  return (
    <MetricPanels metrics={props.keys} chosen={chosen} onChosen={choose} histories={name => series[name] ?? null} />
  );
}

/** A search's children, best first by the metric it optimises; the best one is marked. */
function Children(props: { run: IRunFacts; revision: number; onOpen: OpenRun }): JSX.Element {
  const { metric, maximize } = leaderboardMetric(props.run);
  const [rows, setRows] = React.useState<IRunRow[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    const columns = metric ? `metrics.${metric}` : '';
    requestAPI<IRunPage>(
      `runs?parent=${encodeURIComponent(props.run.id)}&limit=500&order_by=number&columns=${encodeURIComponent(columns)}`
    ).then(
      page => setRows(rankChildren(page.runs, metric, maximize)),
      e => setError((e as Error).message)
    );
  }, [props.run.id, props.revision, metric, maximize]);
  if (error) {
    return <div className="jp-xtrack-error">{error}</div>;
  }
  if (!rows) {
    return <div className="jp-xtrack-muted">loading children…</div>;
  }
  const bestId = props.run.tags['xtrack.sweep.best_run'] || (metric && rows[0]?.[`metrics.${metric}`] !== undefined ? rows[0]?.id : null);
  return (
    <table className="jp-xtrack-kv jp-xtrack-leaderboard">
      <thead>
        <tr>
          <th>#</th>
          <th>run</th>
          <th>status</th>
          {metric && <th>{metric} {maximize ? '↑' : '↓'}</th>}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={r.id} data-run-id={r.id} className={r.id === bestId ? 'jp-xtrack-best' : ''}>
            <td>{i + 1}</td>
            <td>
              <button className="jp-xtrack-link" onClick={() => props.onOpen(r.id)}>
                {runLabel(r)}
              </button>
              {r.id === bestId && <span className="jp-xtrack-best-mark"> best</span>}
            </td>
            <td className={`jp-xtrack-status-${r.status}`}>{r.status}</td>
            {metric && <td>{formatValue(r[`metrics.${metric}`], 20)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One artifact: an image shown, anything else previewed from its head on opening. */
function Artifact(props: { runId: string; artifact: IArtifact; open: boolean }): JSX.Element {
  const a = props.artifact;
  const url = apiUrl(`runs/${encodeURIComponent(props.runId)}/artifacts/${quotePath(a.name)}`);
  const image = /^image\/(png|jpeg|gif|webp)$/.test(a.media_type ?? '');
  const [open, setOpen] = React.useState(props.open);
  const [preview, setPreview] = React.useState<IPreview | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (open && !image && !preview && !error) {
      requestAPI<IPreview>(`runs/${encodeURIComponent(props.runId)}/previews/${quotePath(a.name)}`).then(
        setPreview,
        e => setError((e as Error).message)
      );
    }
  }, [open]);
  return (
    <details className="jp-xtrack-artifact" open={open} data-artifact={a.name}
      onToggle={e => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>
        <a href={url} download={a.name.split('/').pop()} target="_blank" rel="noopener noreferrer"
          onClick={e => e.stopPropagation()}>
          {a.name}
        </a>{' '}
        <span className="jp-xtrack-muted">{formatBytes(a.size)}</span>
      </summary>
      {open && image && <img src={url} alt={a.name} loading="lazy" />}
      {open && error && <div className="jp-xtrack-error">{error}</div>}
      {open && !image && !preview && !error && <div className="jp-xtrack-muted">loading preview…</div>}
      {open && preview && <PreviewBody preview={preview} />}
    </details>
  );
}

function PreviewBody(props: { preview: IPreview }): JSX.Element {
  const p = props.preview;
  const more = p.truncated ? <div className="jp-xtrack-muted">first part of {formatBytes(p.size)} shown</div> : null;
  if (p.error) {
    return <div className="jp-xtrack-muted">{p.error}</div>;
  }
  if (p.kind === 'table' && p.columns) {
    return (
      <div className="jp-xtrack-preview">
        <div className="jp-xtrack-hscroll">
          <table className="jp-xtrack-compare jp-xtrack-preview-table">
            <thead><tr>{p.columns.map((c, i) => <th key={i}>{c}</th>)}</tr></thead>
            <tbody>
              {(p.rows ?? []).map((r, i) => (
                <tr key={i}>{r.map((v, j) => <td key={j}>{formatValue(v, 40)}</td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>
        <div className="jp-xtrack-muted">
          {(p.rows ?? []).length} of {p.total_rows ?? 'more'} rows
        </div>
      </div>
    );
  }
  if (p.kind === 'json') {
    return <pre className="jp-xtrack-code jp-xtrack-preview">{JSON.stringify(p.json, null, 2)}</pre>;
  }
  if (p.kind === 'html') {
    // sandbox="": no scripts, no forms, no same-origin access to JupyterLab.
    return <>{more}<iframe className="jp-xtrack-preview-html" sandbox="" srcDoc={p.text ?? ''} title={p.name} /></>;
  }
  if (p.kind === 'text') {
    return <>{more}<pre className="jp-xtrack-code jp-xtrack-preview">{p.text}</pre></>;
  }
  return <div className="jp-xtrack-muted">no preview for {p.media_type}; use the link to download it</div>;
}

function Environment(props: { env: Record<string, any> | null }): JSX.Element {
  const [query, setQuery] = React.useState('');
  const all = React.useMemo(() => environmentRows(props.env), [props.env]);
  const rows = searchRows(all, query);
  if (!all.length) {
    return <div className="jp-xtrack-muted">not recorded</div>;
  }
  return (
    <>
      <input className="jp-xtrack-env-search" type="search" placeholder="search packages, variables…"
        aria-label="search the environment" value={query}
        onChange={e => setQuery(e.target.value)}
        onKeyDown={e => {
          if (e.key === 'Escape' && query) {
            e.stopPropagation();
            setQuery('');
          }
        }} />
      <div className="jp-xtrack-muted">{rows.length} of {all.length}</div>
      <table className="jp-xtrack-kv jp-xtrack-env">
        <tbody>
          {rows.slice(0, 500).map(([group, k, v]) => (
            <tr key={group + k}>
              <th>{k}</th>
              <td>{v}</td>
              <td className="jp-xtrack-muted">{group}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function RunDetail(props: {
  id: string;
  revision: number;
  onOpen: OpenRun;
  onOpenNotebook: (path: string, cellId: string | null) => void;
  onBack: () => void;
  onCompare?: (ids: string[]) => void;
  onOpenNotebookDiff?: NotebookDiffOpener;
  /** Where the chosen metric panels are remembered (per experiment, shared with Compare). */
  settings?: ISettingRegistry.ISettings | null;
}): JSX.Element {
  const [run, setRun] = React.useState<IRunFacts | null>(null);
  const [error, setError] = React.useState<ApiError | null>(null);
  const root = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    requestAPI<IRunFacts>(`runs/${encodeURIComponent(props.id)}`).then(
      r => {
        setRun(r);
        setError(null);
      },
      e => setError(e as ApiError)
    );
  }, [props.id, props.revision]);
  // Focus the view when a run opens, so Escape goes back at once.
  React.useEffect(() => {
    root.current?.focus({ preventScroll: true });
  }, [props.id]);
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'Escape' && !e.defaultPrevented) {
      e.preventDefault();
      props.onBack();
    }
  };

  const header = (
    <div className="jp-xtrack-toolbar">
      <button className="jp-mod-styled" onClick={props.onBack} title="Back to the runs (Escape)">← Runs</button>
      {run && <span className="jp-xtrack-title">{runLabel(run)}</span>}
    </div>
  );
  const frame = (body: React.ReactNode) => (
    <div className="jp-xtrack-detail" ref={root} tabIndex={-1} onKeyDown={onKeyDown} data-run-id={props.id}>
      {header}
      {body}
    </div>
  );
  if (error) {
    return frame(<div className="jp-xtrack-error" role="alert">{error.message}</div>);
  }
  if (!run) {
    return frame(<div className="jp-xtrack-empty">Loading run…</div>);
  }
  const env = run.env_full ?? {};
  const metrics = splitBy(run.metrics, isBookkeepingMetric);
  const tags = splitBy(run.tags, isSystemTag);
  const histories = run.history_keys ?? run.metric_keys;
  const userCharts = histories.filter(k => !isBookkeepingMetric(k));
  const systemCharts = histories.filter(k => k.startsWith(SYSTEM_PREFIX));
  const bookkeepingCharts = histories.filter(k => isBookkeepingMetric(k) && !k.startsWith(SYSTEM_PREFIX));
  const datasets = run.datasets ?? [];
  const resources = resourceRows(run.resources, formatBytes, formatDuration);
  const hardware = hardwareRows(env, formatBytes);
  const problems = run.capture_problems ?? [];
  const evaluation = evaluationOf(run);
  const fileRow = (f: IRunFacts['inputs'][number], i: number) => (
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
  const dataCount = run.inputs.length + run.outputs.length + datasets.length;
  return frame(
    <div className="jp-xtrack-scroll">
      <div className="jp-xtrack-summary">
        <span className={`jp-xtrack-badge jp-xtrack-status-${run.status}`}>{run.status}</span>
        <span>{run.experiment}</span>
        <span>{formatTime(run.started_at)}</span>
        <span>{run.status === 'running' ? 'running…' : formatDuration(run.duration_s)}</span>
        {run.kind && run.kind !== 'cell' && <span className="jp-xtrack-muted">{run.kind}</span>}
        {(run.user || run.host) && (
          <span className="jp-xtrack-run-who" title="who ran it, and on which machine">
            {[run.user, run.host].filter(Boolean).join(' @ ')}
          </span>
        )}
        {run.parent && (
          <button className="jp-xtrack-link" onClick={() => props.onOpen(run.parent!.id)}>
            parent {runLabel(run.parent)}
          </button>
        )}
      </div>
      {run.not_stored && (
        <div className="jp-xtrack-warning" role="status">⚠ Incomplete: {notStoredText(run.not_stored)}</div>
      )}
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
        <Section name="error" title={`Error: ${run.error.type ?? 'error'}`}>
          <div className="jp-xtrack-error">{run.error.type}: {run.error.message}</div>
          {run.error.traceback && <pre className="jp-xtrack-code jp-xtrack-traceback">{run.error.traceback}</pre>}
        </Section>
      )}
      <Reproductions run={run} onOpen={props.onOpen} onCompare={props.onCompare} />
      <RegisterModel runId={run.id} revision={props.revision} />
      <Section name="code" title="Code" count={run.code_text ? `${run.code_text.split('\n').length} lines` : 'none'}>
        {run.code_text ? <pre className="jp-xtrack-code">{highlightPython(run.code_text)}</pre>
          : <div className="jp-xtrack-muted">no code recorded</div>}
      </Section>
      <Section name="params" title="Params" count={Object.keys(run.params).length}>
        <KeyValues values={run.params} marks={run.param_marks} />
      </Section>
      <Section name="metrics" title="Metrics" count={Object.keys(metrics.user).length}>
        <KeyValues values={metrics.user} />
        {userCharts.length > 0 && (
          <RunPanels runId={run.id} experiment={run.experiment} keys={userCharts} revision={props.revision}
            settings={props.settings} />
        )}
      </Section>
      {evaluation && (
        <Section name="evaluation" title="Evaluation" count={evaluationCount(evaluation)}>
          <Evaluation evaluation={evaluation} />
        </Section>
      )}
      {run.children.length > 0 && (
        <Section name="children" title="Children" count={run.children.length}>
          <Children run={run} revision={props.revision} onOpen={props.onOpen} />
        </Section>
      )}
      {Object.keys(tags.user).length > 0 && (
        <Section name="tags" title="Tags" count={Object.keys(tags.user).length}>
          <KeyValues values={tags.user} />
        </Section>
      )}
      <Section name="data" title="Data" count={`${run.inputs.length} in, ${run.outputs.length} out, ${datasets.length} in memory`}
        open={dataCount > 0}>
        {run.inputs.length + run.outputs.length > 0 && (
          <table className="jp-xtrack-files">
            <tbody>
              {run.inputs.length > 0 && <tr><th colSpan={4}>files read</th></tr>}
              {run.inputs.map(fileRow)}
              {run.outputs.length > 0 && <tr><th colSpan={4}>files written</th></tr>}
              {run.outputs.map(fileRow)}
            </tbody>
          </table>
        )}
        {datasets.length > 0 && (
          <table className="jp-xtrack-files jp-xtrack-datasets">
            <tbody>
              <tr><th colSpan={5}>in memory (fingerprints)</th></tr>
              {datasets.map((d, i) => (
                <tr key={i} data-dataset={d.name}>
                  <td>{d.name}</td>
                  <td>{d.kind ?? ''}</td>
                  <td>{Array.isArray(d.shape) ? d.shape.join(' × ') : formatValue(d.shape as any, 30)}</td>
                  <td title={d.hash ?? ''}>{shortHash(d.hash)}</td>
                  <td>
                    {d.producer && (
                      <button className="jp-xtrack-link" title="the earliest run that held this content"
                        onClick={() => props.onOpen(d.producer!.id)}>
                        produced by {runLabel(d.producer)}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {dataCount === 0 && <div className="jp-xtrack-muted">no files or data recorded</div>}
      </Section>
      <Section name="artifacts" title="Artifacts" count={run.artifacts.length} open={run.artifacts.length > 0}>
        <div className="jp-xtrack-artifacts">
          {run.artifacts.map((a, i) => <Artifact key={a.name} runId={run.id} artifact={a} open={i < 4} />)}
        </div>
      </Section>
      <Section name="resources" title="Resources" count={resources.length + systemCharts.length} open={false}>
        {resources.length ? <Rows rows={resources} /> : <div className="jp-xtrack-muted">not measured</div>}
        {systemCharts.length > 0 && (
          <>
            <div className="jp-xtrack-subhead">system metrics ({systemCharts.length})</div>
            <Charts runId={run.id} keys={systemCharts} revision={props.revision} />
          </>
        )}
      </Section>
      <Section name="hardware" title="Hardware" count={hardware.length} open={false}>
        {hardware.length ? <Rows rows={hardware} /> : <div className="jp-xtrack-muted">not recorded</div>}
      </Section>
      <Section name="environment" title="Environment" count={environmentRows(env).length} open={false}>
        <Environment env={run.env_full} />
      </Section>
      <Section name="git" title="Git" count={gitFileCount(run.git)} open={false}>
        {run.git ? (
          <>
            <KeyValues values={{ commit: run.git.commit, branch: run.git.branch, dirty: run.git.dirty }} />
            {run.git.diff && <GitDiff runId={run.id} git={run.git} onOpenNotebookDiff={props.onOpenNotebookDiff} />}
          </>
        ) : <div className="jp-xtrack-muted">not in a git repository</div>}
      </Section>
      {(run.stdout || run.stderr) && (
        <Section name="output" title="Output" open={false}>
          {run.stdout && <pre className="jp-xtrack-code">{run.stdout}</pre>}
          {run.stderr && <pre className="jp-xtrack-code jp-xtrack-stderr">{run.stderr}</pre>}
        </Section>
      )}
      <Section name="system" title="System (bookkeeping)"
        count={Object.keys(metrics.system).length + Object.keys(tags.system).length + problems.length} open={false}>
        <div className="jp-xtrack-muted">What the tracker and its searches record for their own accounting.</div>
        <KeyValues values={{ ...metrics.system, ...tags.system }} onOpen={props.onOpen} />
        <Charts runId={run.id} keys={bookkeepingCharts} revision={props.revision} />
        {problems.length > 0 && (
          <>
            <div className="jp-xtrack-subhead">capture problems</div>
            <ul>{problems.map((p, i) => <li key={i}>{p}</li>)}</ul>
          </>
        )}
      </Section>
    </div>
  );
}

/** Two or more runs side by side: params, metrics, overlaid histories, parallel
 * coordinates, environment/git/data differences, code diffs and the notebook diff. */
import * as React from 'react';
import { ApiError, requestAPI } from './api';
import { LineChart, ParallelCoordinates, seriesColor } from './charts';
import { formatValue, toNumber } from './format';
import { DiffText } from './highlight';
import { differingRows, IComparison, INotebookDiff, notebookDiffSummary, numericAxes } from './model';

function SectionTable(props: {
  title: string;
  labels: string[];
  rows: Record<string, { values: unknown[]; differs: boolean }>;
  onlyDiffering: boolean;
}): JSX.Element | null {
  const rows = differingRows(props.rows as any, props.onlyDiffering);
  if (!rows.length) {
    return null;
  }
  return (
    <details className="jp-xtrack-section" open>
      <summary>{props.title}</summary>
      <div className="jp-xtrack-hscroll">
        <table className="jp-xtrack-compare">
          <thead>
            <tr>
              <th />
              {props.labels.map(l => <th key={l} title={l}>{l}</th>)}
            </tr>
          </thead>
          <tbody>
            {rows.map(([key, row]) => (
              <tr key={key} className={row.differs ? 'jp-xtrack-differs' : ''}>
                <th title={key}>{key}</th>
                {row.values.map((v, i) => <td key={i}>{formatValue(v as any)}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

/** nbdime's diff as a per-cell summary: added, removed and changed cells with sources. */
export function NotebookDiffView(props: { diff: INotebookDiff }): JSX.Element {
  const cells: any[] = props.diff.base?.cells ?? [];
  const cellsDiff = props.diff.diff.find(d => d.key === 'cells')?.diff ?? [];
  const items: JSX.Element[] = [];
  const byIndex = new Map<number, any[]>();
  for (const op of cellsDiff) {
    byIndex.set(op.key, [...(byIndex.get(op.key) ?? []), op]);
  }
  const source = (c: any) => (Array.isArray(c?.source) ? c.source.join('') : String(c?.source ?? ''));
  for (let i = 0; i <= cells.length; i++) {
    for (const op of byIndex.get(i) ?? []) {
      if (op.op === 'addrange') {
        op.valuelist.forEach((c: any, j: number) =>
          items.push(<pre key={`a${i}-${j}`} className="jp-xtrack-code jp-xtrack-add">{source(c)}</pre>));
      }
    }
    if (i === cells.length) {
      break;
    }
    const ops = byIndex.get(i) ?? [];
    const removed = ops.some(op => op.op === 'removerange');
    const patched = ops.find(op => op.op === 'patch');
    let text = source(cells[i]);
    if (patched) {
      const src = patched.diff.find((d: any) => d.key === 'source');
      const lines = text.split(/(?<=\n)/);
      if (src) {
        const out: JSX.Element[] = [];
        const lineOps = new Map<number, any[]>();
        for (const lop of src.diff ?? []) {
          lineOps.set(lop.key, [...(lineOps.get(lop.key) ?? []), lop]);
        }
        for (let k = 0; k <= lines.length; k++) {
          let drop = false;
          for (const lop of lineOps.get(k) ?? []) {
            if (lop.op === 'addrange') {
              lop.valuelist.forEach((l: string, m: number) =>
                out.push(<div key={`+${k}-${m}`} className="jp-xtrack-add">+ {l}</div>));
            } else if (lop.op === 'removerange') {
              for (let r = 0; r < lop.length; r++) {
                out.push(<div key={`-${k + r}`} className="jp-xtrack-del">- {lines[k + r]}</div>);
              }
              drop = true;
            }
          }
          if (k < lines.length && !drop && ![...lineOps.values()].flat().some(
            (lop: any) => lop.op === 'removerange' && k > lop.key && k < lop.key + lop.length)) {
            out.push(<div key={`=${k}`}>  {lines[k]}</div>);
          }
        }
        items.push(<pre key={`p${i}`} className="jp-xtrack-code jp-xtrack-changed">{out}</pre>);
        continue;
      }
      text += '\n(outputs or metadata changed)';
    }
    items.push(
      <pre key={`c${i}`} className={`jp-xtrack-code ${removed ? 'jp-xtrack-del' : patched ? 'jp-xtrack-changed' : ''}`}>
        {text}
      </pre>
    );
  }
  return (
    <div className="jp-xtrack-nbdiff">
      {props.diff.changed ? items : <div className="jp-xtrack-muted">The notebooks are the same.</div>}
    </div>
  );
}

export function Compare(props: {
  ids: string[];
  onBack: () => void;
  onOpen: (id: string) => void;
  /** Opens nbdime's diff in a main-area tab; without it (no renderers), the sidebar shows a
   * plain per-cell diff instead. */
  onOpenNotebookDiff?: ((diff: INotebookDiff) => void) | null;
}): JSX.Element {
  const [metric, setMetric] = React.useState<string>('');
  const [data, setData] = React.useState<IComparison | null>(null);
  const [error, setError] = React.useState<ApiError | null>(null);
  const [onlyDiffering, setOnlyDiffering] = React.useState(true);
  const [nbKind, setNbKind] = React.useState<'notebook' | 'lineage'>('notebook');
  const [nbDiff, setNbDiff] = React.useState<INotebookDiff | null>(null);
  const [nbError, setNbError] = React.useState<string | null>(null);
  const [nbLoading, setNbLoading] = React.useState(false);

  // The first answer brings the histories of a metric worth charting (auto_metric); only
  // choosing another metric asks again, and an answer that already has it is not refetched.
  const dataRef = React.useRef<IComparison | null>(null);
  React.useEffect(() => {
    if (metric && dataRef.current?.histories[metric]) {
      return;
    }
    const q = new URLSearchParams({ ids: props.ids.join(','), max_points: '500' });
    if (metric) {
      q.set('metrics', metric);
    } else {
      q.set('auto_metric', '1');
    }
    let current = true;
    requestAPI<IComparison>('compare?' + q.toString()).then(
      c => {
        if (!current) {
          return;
        }
        // Keep the histories fetched before, so switching back is instant.
        const merged = { ...c, histories: { ...(dataRef.current?.histories ?? {}), ...c.histories } };
        dataRef.current = merged;
        setData(merged);
        setError(null);
        if (!metric) {
          const first = Object.keys(c.histories)[0] ?? Object.keys(c.sections.metrics)[0];
          if (first) {
            setMetric(first);
          }
        }
      },
      e => current && setError(e as ApiError)
    );
    return () => {
      current = false;
    };
  }, [props.ids.join(','), metric]);

  const loadNotebookDiff = (kind: 'notebook' | 'lineage') => {
    setNbKind(kind);
    setNbLoading(true);
    setNbError(null);
    const q = new URLSearchParams({ a: props.ids[0], b: props.ids[1], kind });
    requestAPI<INotebookDiff>('diff?' + q.toString())
      .then(d => {
        setNbDiff(d);
        props.onOpenNotebookDiff?.(d);
      }, e => {
        setNbDiff(null);
        setNbError((e as Error).message);
      })
      .finally(() => setNbLoading(false));
  };

  const header = (
    <div className="jp-xtrack-toolbar">
      <button className="jp-mod-styled" onClick={props.onBack}>← Runs</button>
      <span className="jp-xtrack-title">Compare {props.ids.length} runs</span>
      <label className="jp-xtrack-muted">
        <input type="checkbox" checked={onlyDiffering} onChange={() => setOnlyDiffering(!onlyDiffering)} />
        only differences
      </label>
    </div>
  );
  if (error) {
    return <div className="jp-xtrack-detail">{header}<div className="jp-xtrack-error" role="alert">{error.message}</div></div>;
  }
  if (!data) {
    return <div className="jp-xtrack-detail">{header}<div className="jp-xtrack-empty">Comparing…</div></div>;
  }
  const histories = metric ? data.histories[metric] ?? {} : {};
  const series = data.runs
    .map((r, i) => ({ label: data.labels[i], history: histories[r.id] }))
    .filter(s => s.history);
  const axes = numericAxes(data);
  const metricRow = data.sections.metrics[metric];
  const pcAxes = metricRow ? [...axes, metric] : axes;
  const pcRows = data.runs.map((_, i) => ({
    label: data.labels[i],
    values: [
      ...axes.map(a => toNumber(data.sections.params[a].values[i] as any)),
      ...(metricRow ? [toNumber(metricRow.values[i] as any)] : [])
    ]
  }));
  return (
    <div className="jp-xtrack-detail">
      {header}
      <div className="jp-xtrack-scroll">
        <div className="jp-xtrack-legend">
          {data.runs.map((r, i) => (
            <button key={r.id} className="jp-xtrack-link" onClick={() => props.onOpen(r.id)}>
              <span className="jp-xtrack-swatch" style={{ background: seriesColor(i) }} />
              {data.labels[i]}
            </button>
          ))}
        </div>
        {Object.keys(data.sections.metrics).length > 0 && (
          <details className="jp-xtrack-section" open>
            <summary>Metric histories</summary>
            <select aria-label="metric to chart" className="jp-mod-styled" value={metric}
              onChange={e => setMetric(e.target.value)}>
              {Object.keys(data.sections.metrics).map(k => <option key={k} value={k}>{k}</option>)}
            </select>
            {series.length > 0 ? <LineChart series={series} width={360} height={180} title={metric} />
              : <div className="jp-xtrack-muted">no history for {metric}</div>}
          </details>
        )}
        {data.runs.length > 3 && pcAxes.length >= 2 && (
          <details className="jp-xtrack-section" open>
            <summary>Params against {metric || 'metrics'}</summary>
            <div className="jp-xtrack-hscroll"><ParallelCoordinates axes={pcAxes} rows={pcRows} /></div>
            {metricRow && (
              <div className="jp-xtrack-muted jp-xtrack-pc-key">
                One line per run, coloured by {metric}:{' '}
                <span className="jp-xtrack-pc-scale" /> lowest to highest
              </div>
            )}
          </details>
        )}
        {(['params', 'metrics', 'env', 'git', 'data'] as const).map(s => (
          <SectionTable key={s} title={s} labels={data.labels} rows={data.sections[s]} onlyDiffering={onlyDiffering} />
        ))}
        <details className="jp-xtrack-section">
          <summary>Code</summary>
          {Object.entries(data.code_diffs).map(([label, text]) => (
            <div key={label}>
              <div className="jp-xtrack-muted">{data.labels[0]} → {label}</div>
              <DiffText text={text} />
            </div>
          ))}
        </details>
        <details className="jp-xtrack-section" open={nbDiff !== null}>
          <summary>Notebook diff ({data.labels[0]} → {data.labels[1]})</summary>
          <div className="jp-xtrack-toolbar">
            <button className="jp-mod-styled" onClick={() => loadNotebookDiff('notebook')}>saved notebook</button>
            <button className="jp-mod-styled" onClick={() => loadNotebookDiff('lineage')}>executed lineage</button>
            {nbLoading && <span className="jp-xtrack-muted">diffing {nbKind}…</span>}
          </div>
          {nbError && <div className="jp-xtrack-error">{nbError}</div>}
          {nbDiff && (props.onOpenNotebookDiff
            ? (
              <div className="jp-xtrack-nbdiff-summary">
                <span>{nbDiff.kind === 'lineage' ? 'executed lineage' : 'saved notebook'}: {notebookDiffSummary(nbDiff)}</span>
                <button className="jp-mod-styled" onClick={() => props.onOpenNotebookDiff?.(nbDiff)}>open diff tab</button>
              </div>
            )
            : <NotebookDiffView diff={nbDiff} />)}
        </details>
      </div>
    </div>
  );
}

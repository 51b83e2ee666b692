/** Two or more runs side by side: params and metrics with deltas against a reference run and
 * the best value marked, metric panels (the chart module), parallel coordinates and a scatter
 * whose brush narrows the runs lists, environment/git/data differences, code diffs and the
 * notebook diff. */
import * as React from 'react';
import { ApiError, requestAPI } from './api';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISeries, MetricPanels, seriesColor, usePanels, useSettingMap } from './charts';
import { formatNumber } from './chartcore';
import { EvaluationCompare } from './EvaluationCompare';
import { formatValue, toNumber } from './format';
import { IPlotRow, ParallelCoords } from './ParallelCoords';
import { Scatter } from './Scatter';
import { setBrushed, useBrushedRuns } from './selection';
import { DiffText, ParamMarkTag } from './highlight';
import { CompareGitDiffs } from './GitDiffs';
import { differingRows, IComparison, INotebookDiff, IParamMark, notebookDiffSummary, numericAxes } from './model';

/** The compared runs whose git state was dirty, each with its label (their diffs can be opened). */
function dirtyRuns(data: IComparison): { id: string; label: string }[] {
  const dirty = data.sections.git['dirty']?.values ?? [];
  return data.runs.map((r, i) => ({ id: r.id, label: data.labels[i] })).filter((_, i) => dirty[i] === true);
}

/** A number's change against the reference run's, as "+0.012" (none when either is not a number). */
function delta(v: unknown, ref: unknown): string | null {
  const a = toNumber(v as any);
  const b = toNumber(ref as any);
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || a === b) {
    return null;
  }
  const d = a - b;
  return `${d > 0 ? '+' : '−'}${formatNumber(Math.abs(d))}`;
}

/** The index (among `cols`) of the best value of a metric row, or -1 (unknown direction,
 * no numbers, or all equal). */
function bestIndex(values: unknown[], cols: number[], direction: string | null | undefined): number {
  if (direction !== 'maximize' && direction !== 'minimize') {
    return -1;
  }
  let best = -1;
  let bestValue = 0;
  let distinct = false;
  for (const i of cols) {
    const v = toNumber(values[i] as any);
    if (v === null || !Number.isFinite(v)) {
      continue;
    }
    if (best >= 0 && v !== bestValue) {
      distinct = true;
    }
    if (best < 0 || (direction === 'maximize' ? v > bestValue : v < bestValue)) {
      best = i;
      bestValue = v;
    }
  }
  return distinct ? best : -1;
}

type Direction = 'maximize' | 'minimize';

const SOURCE_TEXT: Record<string, string> = {
  recorded: 'as the search that optimised it recorded',
  name: 'as its name says'
};

/** For a metric whose direction neither a search nor its name gives: the user says which
 * way is better (pressed again, the choice is removed). */
function DirectionToggle(props: { metric: string; value: Direction | null; onChange: (d: Direction | null) => void }): JSX.Element {
  const button = (d: Direction, mark: string, text: string) => (
    <button className={`jp-xtrack-direction${props.value === d ? ' jp-mod-active' : ''}`} aria-pressed={props.value === d}
      aria-label={`${props.metric}: ${text}`} title={`${text} (remembered for ${props.metric})`}
      onClick={() => props.onChange(props.value === d ? null : d)}>{mark}</button>
  );
  return (
    <span className="jp-xtrack-direction-toggle" role="group" aria-label={`which way ${props.metric} is better`}>
      {button('maximize', '↑', 'higher is better')}
      {button('minimize', '↓', 'lower is better')}
    </span>
  );
}

function SectionTable(props: {
  title: string;
  labels: string[];
  rows: Record<string, { values: unknown[]; differs: boolean }>;
  onlyDiffering: boolean;
  /** The runs shown (indices), the reference among them, and how to change it. */
  cols: number[];
  reference: number;
  onReference: (i: number) => void;
  deltas: boolean;
  directions?: Record<string, string | null>;
  /** How each direction is known (recorded by a search, or the name); and, for a metric
   * neither says, the user's choice (remembered) and how to change it. */
  sources?: Record<string, string | null>;
  chosen?: Record<string, Direction>;
  onDirection?: (key: string, direction: Direction | null) => void;
  /** Each run's param marks ("↻ varies", "(repr)") by key. */
  marks?: Record<string, (IParamMark | null)[]>;
}): JSX.Element | null {
  const rows = differingRows(props.rows as any, props.onlyDiffering);
  if (!rows.length) {
    return null;
  }
  return (
    <details className="jp-xtrack-section" open>
      <summary>{props.title} ({rows.length})</summary>
      <div className="jp-xtrack-hscroll">
        <table className="jp-xtrack-compare" data-section={props.title}>
          <thead>
            <tr>
              <th />
              {props.cols.map(i => (
                <th key={i} title={`${props.labels[i]}: click to compare the others against this run`}
                  className={i === props.reference ? 'jp-xtrack-reference' : ''}>
                  <button className="jp-xtrack-link" onClick={() => props.onReference(i)}>{props.labels[i]}</button>
                  {i === props.reference && <span className="jp-xtrack-muted"> (ref)</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(([key, row]) => {
              const known = props.directions?.[key];
              const direction = known ?? props.chosen?.[key];
              const best = bestIndex(row.values, props.cols, direction);
              return (
                <tr key={key} className={row.differs ? 'jp-xtrack-differs' : ''} data-key={key}>
                  <th title={known ? `${key} (${known}: ${SOURCE_TEXT[props.sources?.[key] ?? 'name'] ?? ''})` : key}>
                    {key}
                    {!known && props.onDirection && (
                      <DirectionToggle metric={key} value={props.chosen?.[key] ?? null}
                        onChange={d => props.onDirection!(key, d)} />
                    )}
                  </th>
                  {props.cols.map(i => {
                    const d = props.deltas && i !== props.reference ? delta(row.values[i], row.values[props.reference]) : null;
                    return (
                      <td key={i} className={i === best ? 'jp-xtrack-best' : ''} title={i === best ? 'best' : undefined}>
                        {formatValue(row.values[i] as any)}
                        <ParamMarkTag mark={props.marks?.[key]?.[i]} />
                        {d && <span className="jp-xtrack-delta"> {d}</span>}
                      </td>
                    );
                  })}
                </tr>
              );
            })}
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

/** The comparison as the server sends it, with what charts need beyond the base shape. */
interface IComparisonPlus extends IComparison {
  directions?: Record<string, Direction | null>;
  direction_sources?: Record<string, 'recorded' | 'name' | null>;
  log_params?: string[];
  param_marks?: Record<string, (IParamMark | null)[]>;
  evaluated?: string[];
}

/** Numeric values of each run for the plots: every param and metric that has a number. */
function plotRows(data: IComparisonPlus): { rows: IPlotRow[]; params: string[]; metrics: string[] } {
  const numericKeys = (section: Record<string, { values: unknown[] }>) =>
    Object.keys(section).filter(k =>
      section[k].values.filter(v => typeof v !== 'boolean' && toNumber(v as any) !== null).length >= 2);
  const params = numericKeys(data.sections.params);
  const metrics = numericKeys(data.sections.metrics);
  const rows = data.runs.map((r, i) => {
    const values: Record<string, number | null> = {};
    for (const k of params) {
      values[k] = toNumber(data.sections.params[k].values[i] as any);
    }
    for (const k of metrics) {
      values[k] = toNumber(data.sections.metrics[k].values[i] as any);
    }
    return { id: r.id, label: data.labels[i], values };
  });
  return { rows, params, metrics };
}

const LEGEND_INLINE = 12;

export function Compare(props: {
  ids: string[];
  onBack: () => void;
  onOpen: (id: string) => void;
  /** Opens nbdime's diff in a main-area tab; without it (no renderers), the sidebar shows a
   * plain per-cell diff instead. */
  onOpenNotebookDiff?: ((diff: INotebookDiff) => void) | null;
  /** Where the chosen metric panels are remembered (per experiment). */
  settings?: ISettingRegistry.ISettings | null;
}): JSX.Element {
  const [data, setData] = React.useState<IComparisonPlus | null>(null);
  const [error, setError] = React.useState<ApiError | null>(null);
  const [onlyDiffering, setOnlyDiffering] = React.useState(true);
  const [reference, setReference] = React.useState(0);
  const [nbKind, setNbKind] = React.useState<'notebook' | 'lineage'>('notebook');
  const [nbDiff, setNbDiff] = React.useState<INotebookDiff | null>(null);
  const [nbError, setNbError] = React.useState<string | null>(null);
  const [nbLoading, setNbLoading] = React.useState(false);
  const brush = useBrushedRuns();
  const experiment = data?.runs[0]?.experiment ?? '';
  const [remembered, setPanels] = usePanels(props.settings, experiment);
  // Which way is better for metrics neither a search nor the name says, as the user said.
  const [chosenDirections, setDirection] = useSettingMap<Direction>(props.settings, 'metricDirections');
  // Until the user picks, the metric the server found worth charting (auto_metric).
  const [autoPanels, setAutoPanels] = React.useState<string[]>([]);
  const chosen = remembered ?? autoPanels;

  // The first answer brings the histories of a metric worth charting (auto_metric); choosing
  // more panels asks only for the histories not fetched yet, merged into what is shown.
  const dataRef = React.useRef<IComparisonPlus | null>(null);
  const ask = (metrics: string[]) => {
    const q = new URLSearchParams({ ids: props.ids.join(','), max_points: '1000' });
    if (metrics.length) {
      q.set('metrics', metrics.join(','));
    } else {
      q.set('auto_metric', '1');
    }
    return requestAPI<IComparisonPlus>('compare?' + q.toString());
  };
  React.useEffect(() => {
    let current = true;
    dataRef.current = null;
    ask([]).then(c => {
      if (!current) {
        return;
      }
      dataRef.current = c;
      setData(c);
      setError(null);
      setAutoPanels(Object.keys(c.histories).slice(0, 1));
    }, e => current && setError(e as ApiError));
    return () => {
      current = false;
    };
  }, [props.ids.join(',')]);
  React.useEffect(() => {
    const have = dataRef.current;
    const missing = have ? chosen.filter(m => !have.histories[m] && have.sections.metrics[m]) : [];
    if (!missing.length) {
      return;
    }
    let current = true;
    ask(missing).then(c => {
      if (current && dataRef.current) {
        const merged = { ...dataRef.current, histories: { ...dataRef.current.histories, ...c.histories } };
        dataRef.current = merged;
        setData(merged);
      }
    }, e => current && setError(e as ApiError));
    return () => {
      current = false;
    };
  }, [chosen.join('\u0000'), data !== null]);

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
  const plots = React.useMemo(() => (data ? plotRows(data) : null), [data]);
  // Each panel's series, made once per answer and brush (a new array would redraw the chart).
  const seriesCache = React.useMemo(() => new Map<string, ISeries[]>(), [data, brush, reference]);
  if (error) {
    return <div className="jp-xtrack-detail">{header}<div className="jp-xtrack-error" role="alert">{error.message}</div></div>;
  }
  if (!data || !plots) {
    return <div className="jp-xtrack-detail">{header}<div className="jp-xtrack-empty">Comparing…</div></div>;
  }
  // The brush (from the plots) narrows the columns; the reference run always stays.
  const cols = data.runs.map((_, i) => i).filter(i => !brush || brush.ids.has(data.runs[i].id) || i === reference);
  const histories = (name: string): ISeries[] | null => {
    const h = data.histories[name];
    if (!h) {
      return data.sections.metrics[name] ? null : [];
    }
    if (!seriesCache.has(name)) {
      const dark = document.body.dataset.jpThemeLight === 'false';
      seriesCache.set(name, data.runs
        .map((r, i) => ({ label: data.labels[i], history: h[r.id], color: seriesColor(i, dark) }))
        .filter((s, i) => s.history && cols.includes(i)));
    }
    return seriesCache.get(name)!;
  };
  const byLabel = new Map(data.labels.map((l, i) => [l, i]));
  const groupChoices = ['experiment', 'name', ...plots.params.filter(p => new Set(plots.rows.map(r => r.values[p])).size < plots.rows.length)];
  const groupOf = (key: string, label: string): string => {
    const i = byLabel.get(label) ?? 0;
    if (key === 'experiment') {
      return data.runs[i].experiment;
    }
    if (key === 'name') {
      return data.runs[i].name ?? data.labels[i];
    }
    return `${key}=${formatValue(data.sections.params[key]?.values[i] as any)}`;
  };
  const colorBy = chosen.find(m => plots.metrics.includes(m)) ?? plots.metrics[0] ?? '';
  const pcInitial = colorBy ? [colorBy, ...numericAxes(data).filter(a => plots.params.includes(a))] : numericAxes(data);
  const plotKeys = [...plots.metrics, ...plots.params];
  const logKeys = new Set(data.log_params ?? []);
  const numberOf = new Map(data.runs.map(r => [r.id, r.number]));
  const onBrush = (source: string) => (ids: string[] | null) =>
    setBrushed(ids, source, ids?.map(id => numberOf.get(id)).filter((n): n is number => n !== undefined));
  const legend = data.runs.map((r, i) => (
    <button key={r.id} className="jp-xtrack-link" onClick={() => props.onOpen(r.id)}
      style={{ opacity: cols.includes(i) ? 1 : 0.4 }}>
      <span className="jp-xtrack-swatch" style={{ background: seriesColor(i, document.body.dataset.jpThemeLight === 'false') }} />
      {data.labels[i]}
    </button>
  ));
  return (
    <div className="jp-xtrack-detail">
      {header}
      <div className="jp-xtrack-scroll">
        {brush && (
          <div className="jp-xtrack-brushed" role="status">
            {brush.ids.size} runs kept by the {brush.source} brush
            <button className="jp-xtrack-link" onClick={() => setBrushed(null)}>show all</button>
          </div>
        )}
        {data.runs.length > LEGEND_INLINE ? (
          // Many runs: the legend folds away, so the charts stay on screen (hover names runs).
          <details className="jp-xtrack-legend-fold">
            <summary>{data.runs.length} runs (colours)</summary>
            <div className="jp-xtrack-legend">{legend}</div>
          </details>
        ) : <div className="jp-xtrack-legend">{legend}</div>}
        {Object.keys(data.sections.metrics).length > 0 && (
          <details className="jp-xtrack-section" open>
            <summary>Metric panels</summary>
            <MetricPanels metrics={Object.keys(data.sections.metrics)} chosen={chosen} onChosen={setPanels}
              histories={histories} groupChoices={groupChoices} groupOf={groupOf} />
          </details>
        )}
        <EvaluationCompare runs={data.runs} labels={data.labels} evaluated={data.evaluated ?? []} cols={cols}
          reference={reference} onReference={setReference} delta={delta} />
        {data.runs.length > 2 && pcInitial.length >= 2 && (
          <details className="jp-xtrack-section" open>
            <summary>Parallel coordinates</summary>
            <ParallelCoords rows={plots.rows} keys={plotKeys} initial={pcInitial} colorBy={colorBy}
              logKeys={logKeys} onBrush={onBrush('parallel coordinates')} />
          </details>
        )}
        {data.runs.length > 2 && plotKeys.length >= 2 && (
          <details className="jp-xtrack-section" open>
            <summary>Scatter</summary>
            <Scatter rows={plots.rows} keys={plotKeys} logKeys={logKeys} onBrush={onBrush('scatter')}
              initialX={pcInitial.find(k => k !== colorBy) ?? plotKeys[1]} initialY={colorBy || plotKeys[0]} />
          </details>
        )}
        {(['params', 'metrics', 'env', 'git', 'data'] as const).map(s => (
          <React.Fragment key={s}>
            <SectionTable title={s} labels={data.labels} rows={data.sections[s]} onlyDiffering={onlyDiffering}
              cols={cols} reference={reference} onReference={setReference}
              deltas={s === 'params' || s === 'metrics'} directions={s === 'metrics' ? data.directions : undefined}
              sources={data.direction_sources} chosen={chosenDirections}
              onDirection={s === 'metrics' ? setDirection : undefined}
              marks={s === 'params' ? data.param_marks : undefined} />
            {s === 'git' && <CompareGitDiffs runs={dirtyRuns(data)} onOpenNotebookDiff={props.onOpenNotebookDiff} />}
          </React.Fragment>
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

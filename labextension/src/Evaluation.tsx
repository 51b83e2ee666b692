/** The run detail's Evaluation section: the report xt.evaluate recorded, read as a reviewer
 * reads one. Headline metrics, per-class metrics, the confusion matrix as a heat map (counts
 * and each true class's percentages), the curves drawn by the shared chart module with their
 * reference lines and areas in the legend, permutation importance as sorted bars, and the
 * slices with the flagged ones marked in words and an icon. The data shaping is in
 * evaluationModel.ts; Compare's overlay of several runs is in EvaluationCompare.tsx. */
import * as React from 'react';
import { formatNumber, IChartOptions, IChartSeries, seriesColor } from './chartcore';
import { UChart } from './charts';
import {
  confusionOf,
  evaluationSummary,
  IEvaluation,
  importanceBars,
  IPlot,
  metricRows,
  perClassRows,
  plotsOf,
  sliceTable
} from './evaluationModel';
import { toNumber } from './format';

/** A number of the report as text ("—" where it has none). */
function num(v: unknown): string {
  return formatNumber(toNumber(v as any));
}

/** The series with the colours the chart gives them, so that the legend matches. */
function coloured(series: IChartSeries[], dark: boolean): IChartSeries[] {
  return series.map((s, i) => (s.color ? s : { ...s, color: seriesColor(i, dark) }));
}

/** One plot: its chart and a legend naming each curve with its area (the chart's own
 * legend is off; its hover names the curves too). */
export function EvalPlot(props: { plot: IPlot }): JSX.Element {
  const dark = document.body.dataset.jpThemeLight === 'false';
  const { plot } = props;
  const series = React.useMemo(() => coloured(plot.series, dark), [plot, dark]);
  const options = React.useMemo<IChartOptions>(
    () => ({ title: plot.yTitle, xTitle: plot.xTitle, height: 220 }), [plot]);
  return (
    <figure className="jp-xtrack-figure jp-xtrack-panel jp-xtrack-eval-plot" data-plot={plot.key}>
      <figcaption>{plot.title}</figcaption>
      <UChart series={series} options={options} />
      <ul className="jp-xtrack-eval-legend" aria-label={`${plot.title} legend`}>
        {series.map((s, i) => (
          <li key={i} className={i === series.length - 1 && plot.reference ? 'jp-xtrack-eval-reference' : ''}>
            <span className="jp-xtrack-swatch" style={{ background: s.color }} />
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** The headline metrics; with a baseline (`baseline=`, or compare_models' champion), its
 * values on the same data beside them. */
function Metrics(props: { ev: IEvaluation }): JSX.Element {
  const baseline = props.ev.baseline;
  return (
    <div className="jp-xtrack-hscroll">
      <table className="jp-xtrack-kv jp-xtrack-eval-metrics">
        {baseline && (
          <thead>
            <tr>
              <th />
              <th title={props.ev.model}>{props.ev.model ?? 'this model'}</th>
              <th title={`baseline: ${baseline.model ?? 'model'}`}>baseline: {baseline.model ?? 'model'}</th>
            </tr>
          </thead>
        )}
        <tbody>
          {metricRows(props.ev).map(([k, v, b]) => (
            <tr key={k} data-metric={k}>
              <th title={k}>{k}</th>
              <td>{formatNumber(v)}</td>
              {baseline && <td className="jp-xtrack-eval-baseline">{formatNumber(b)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PerClass(props: { ev: IEvaluation }): JSX.Element | null {
  const rows = perClassRows(props.ev);
  if (!rows.length) {
    return null;
  }
  return (
    <>
      <div className="jp-xtrack-subhead">per class</div>
      <div className="jp-xtrack-hscroll">
        <table className="jp-xtrack-compare jp-xtrack-eval-perclass">
          <thead>
            <tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>
          </thead>
          <tbody>
            {rows.map(([label, m]) => (
              <tr key={label} data-class={label}>
                <th>{label}{label === props.ev.pos_label ? ' (positive)' : ''}</th>
                <td>{num(m.precision)}</td>
                <td>{num(m.recall)}</td>
                <td>{num(m.f1)}</td>
                <td>{num(m.support)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The most of the theme's brand colour a confusion cell mixes in (a whole row's share):
 * past that, the theme's text colour would no longer read on it. */
const HEAT_MAX = 70;

/** Rows are the true class, columns the predicted one; a cell's shade is its share of the
 * row, so every class reads the same however many examples it has. */
function Confusion(props: { ev: IEvaluation }): JSX.Element | null {
  const c = confusionOf(props.ev);
  if (!c) {
    return null;
  }
  return (
    <>
      <div className="jp-xtrack-subhead">confusion matrix</div>
      <div className="jp-xtrack-hscroll">
        <table className="jp-xtrack-confusion" aria-label="confusion matrix, rows true class, columns predicted class">
          <thead>
            <tr>
              <th className="jp-xtrack-muted">true ↓ predicted →</th>
              {c.labels.map(l => <th key={l} scope="col">{l}</th>)}
              <th scope="col" className="jp-xtrack-muted">total</th>
            </tr>
          </thead>
          <tbody>
            {c.rows.map(r => (
              <tr key={r.label}>
                <th scope="row">{r.label}</th>
                {r.cells.map((cell, j) => (
                  <td key={j} className={cell.correct ? 'jp-xtrack-confusion-hit' : ''}
                    style={{ '--xt-heat': `${Math.round(cell.share * HEAT_MAX)}%` } as React.CSSProperties}
                    title={`true ${r.label}, predicted ${c.labels[j]}: ${cell.count} of ${r.total}`}>
                    <span className="jp-xtrack-confusion-count">{cell.count.toLocaleString('en-US')}</span>
                    <span className="jp-xtrack-confusion-pct">{(cell.share * 100).toFixed(cell.share < 0.1 && cell.share > 0 ? 1 : 0)}%</span>
                  </td>
                ))}
                <td className="jp-xtrack-muted">{r.total.toLocaleString('en-US')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Features listed before "show all": the ones that matter, without a wall of near-zero rows. */
const IMPORTANCE_ROWS = 15;

function Importance(props: { ev: IEvaluation }): JSX.Element | null {
  const [all, setAll] = React.useState(false);
  const bars = importanceBars(props.ev);
  if (!bars.length) {
    return null;
  }
  const shown = all ? bars : bars.slice(0, IMPORTANCE_ROWS);
  return (
    <>
      <div className="jp-xtrack-subhead">permutation importance</div>
      <ol className="jp-xtrack-eval-importance">
        {shown.map(b => (
          <li key={b.feature} data-feature={b.feature}>
            <span className="jp-xtrack-eval-feature" title={b.feature}>{b.feature}</span>
            <span className="jp-xtrack-eval-bar"><span style={{ width: `${b.width * 100}%` }} /></span>
            <span className="jp-xtrack-eval-value">
              {formatNumber(b.mean)}{b.std !== null ? ` ± ${formatNumber(b.std)}` : ''}
            </span>
          </li>
        ))}
      </ol>
      {props.ev.importance_note && <div className="jp-xtrack-muted">{props.ev.importance_note}</div>}
      {shown.length < bars.length && (
        <button className="jp-xtrack-link" onClick={() => setAll(true)}>
          show all {bars.length} features
        </button>
      )}
    </>
  );
}

function Slices(props: { ev: IEvaluation }): JSX.Element | null {
  const t = sliceTable(props.ev);
  if (!t.rows.length) {
    return null;
  }
  const flagged = t.rows.filter(r => r.flagged).length;
  const margin = props.ev.slice_margin;
  return (
    <>
      <div className="jp-xtrack-subhead">
        slices <span className="jp-xtrack-muted">({flagged} of {t.rows.length} flagged
          {typeof margin === 'number' ? `: a metric worse than on all the data by more than ${formatNumber(margin)}` : ''})</span>
      </div>
      <div className="jp-xtrack-hscroll">
        <table className="jp-xtrack-compare jp-xtrack-eval-slices">
          <thead>
            <tr>
              <th>slice</th><th>count</th>
              {t.metrics.map(m => <th key={m} title={m}>{m}</th>)}
              <th>flag</th>
            </tr>
          </thead>
          <tbody>
            {t.rows.map(s => (
              <tr key={`${s.column}=${s.value}`} className={s.flagged ? 'jp-xtrack-eval-flagged' : ''}
                data-slice={`${s.column}=${s.value}`}>
                <th>{s.column} = {s.value}</th>
                <td>{s.count.toLocaleString('en-US')}</td>
                {t.metrics.map(m => (
                  <td key={m} className={s.worse.includes(m) ? 'jp-xtrack-eval-worse' : ''}
                    title={s.worse.includes(m) ? `${m} is worse here than on all the data` : undefined}>
                    {num(s.metrics[m])}{s.worse.includes(m) ? ' ▼' : ''}
                  </td>
                ))}
                <td>
                  {s.flagged && <span className="jp-xtrack-eval-flag">⚠ worse: {s.worse.join(', ')}</span>}
                  {s.note && <span className="jp-xtrack-muted">{s.note}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The body of the run detail's Evaluation section. */
export function Evaluation(props: { evaluation: IEvaluation }): JSX.Element {
  const ev = props.evaluation;
  const plots = React.useMemo(() => plotsOf(ev), [ev]);
  const artifacts = Object.values(ev.artifacts ?? {});
  return (
    <div className="jp-xtrack-evaluation" data-model-type={ev.model_type ?? ''}>
      <div className="jp-xtrack-muted">{evaluationSummary(ev)}</div>
      {(ev.notes ?? []).length > 0 && (
        <ul className="jp-xtrack-eval-notes">{ev.notes!.map((n, i) => <li key={i}>{n}</li>)}</ul>
      )}
      <Metrics ev={ev} />
      <PerClass ev={ev} />
      <Confusion ev={ev} />
      {plots.length > 0 && (
        <div className="jp-xtrack-panel-grid">
          {plots.map(p => <EvalPlot key={p.key} plot={p} />)}
        </div>
      )}
      <Importance ev={ev} />
      <Slices ev={ev} />
      {artifacts.length > 0 && (
        <div className="jp-xtrack-muted">also kept as files (Artifacts): {artifacts.join(', ')}</div>
      )}
    </div>
  );
}

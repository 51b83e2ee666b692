/** Compare's Evaluation block: the curves of the compared runs that carry an xt.evaluate
 * report overlaid (one colour per run, Compare's palette), and their evaluation metrics side
 * by side with deltas against Compare's reference run. Mounted by Compare.tsx; it fetches
 * only the runs the comparison names as evaluated, at most MAX_EVALUATED of them. */
import * as React from 'react';
import { requestAPI } from './api';
import { formatNumber, seriesColor } from './chartcore';
import { EvalPlot } from './Evaluation';
import { evaluationOf, IEvaluatedRun, IEvaluation, metricsSideBySide, overlayPlots } from './evaluationModel';

/** More overlaid curves than this are no longer told apart (the palette's first hues). */
export const MAX_EVALUATED = 8;

export function EvaluationCompare(props: {
  /** The compared runs and their labels, in Compare's order (colours follow it). */
  runs: { id: string }[];
  labels: string[];
  /** Ids of the runs with a report (the comparison's `evaluated`). */
  evaluated: string[];
  /** The runs Compare shows (indices; a brush narrows them), its reference and its setter. */
  cols: number[];
  reference: number;
  onReference: (i: number) => void;
  /** Compare's delta of a value against the reference's ("+0.012", null when none). */
  delta: (value: unknown, ref: unknown) => string | null;
}): JSX.Element | null {
  const [reports, setReports] = React.useState<Map<string, IEvaluation> | null>(null);
  const [errors, setErrors] = React.useState<string[]>([]);
  const wanted = props.evaluated.slice(0, MAX_EVALUATED);
  React.useEffect(() => {
    let current = true;
    // One run that cannot be read (deleted meanwhile) leaves the others' overlay standing.
    void Promise.allSettled(wanted.map(id => requestAPI<object>(`runs/${encodeURIComponent(id)}`)
      .then(d => [id, evaluationOf(d)] as const)))
      .then(got => {
        if (!current) {
          return;
        }
        const found = new Map<string, IEvaluation>();
        const failed: string[] = [];
        for (const g of got) {
          if (g.status === 'rejected') {
            failed.push((g.reason as Error).message);
          } else if (g.value[1]) {
            found.set(g.value[0], g.value[1]);
          }
        }
        setReports(found);
        setErrors(failed);
      });
    return () => {
      current = false;
    };
  }, [wanted.join(',')]);
  const dark = document.body.dataset.jpThemeLight === 'false';
  const shown = props.cols.filter(i => reports?.has(props.runs[i].id));
  const runs: IEvaluatedRun[] = React.useMemo(() => shown.map(i => ({
    label: props.labels[i], color: seriesColor(i, dark), evaluation: reports!.get(props.runs[i].id)!
  })), [reports, shown.join(','), dark]);
  const plots = React.useMemo(() => overlayPlots(runs), [runs]);
  const problems = errors.length > 0 && (
    <div className="jp-xtrack-error">evaluation reports not read: {errors.join('; ')}</div>
  );
  if (wanted.length < 2) {
    return null;
  }
  if (!reports) {
    return <div className="jp-xtrack-muted">loading {wanted.length} evaluation reports…</div>;
  }
  if (runs.length < 2) {
    return problems || null;
  }
  // Deltas against Compare's reference when it has a report, else the first run that has one.
  const ref = shown.includes(props.reference) ? props.reference : shown[0];
  const rows = metricsSideBySide(runs);
  return (
    <details className="jp-xtrack-section" open data-section="evaluation">
      <summary>Evaluation ({runs.length} runs)</summary>
      {problems}
      {props.evaluated.length > MAX_EVALUATED && (
        <div className="jp-xtrack-muted">
          the first {MAX_EVALUATED} of {props.evaluated.length} evaluated runs
        </div>
      )}
      {plots.length > 0 && (
        <div className="jp-xtrack-panel-grid">
          {plots.map(p => <EvalPlot key={p.key} plot={p} />)}
        </div>
      )}
      <div className="jp-xtrack-subhead">metrics</div>
      <div className="jp-xtrack-hscroll">
        <table className="jp-xtrack-compare" data-section="evaluation">
          <thead>
            <tr>
              <th />
              {shown.map(i => (
                <th key={i} className={i === ref ? 'jp-xtrack-reference' : ''}
                  title={`${props.labels[i]}: click to compare the others against this run`}>
                  <button className="jp-xtrack-link" onClick={() => props.onReference(i)}>{props.labels[i]}</button>
                  {i === ref && <span className="jp-xtrack-muted"> (ref)</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(row => (
              <tr key={row.key} data-key={row.key}>
                <th title={row.key}>{row.key}</th>
                {row.values.map((v, k) => {
                  const d = shown[k] !== ref ? props.delta(v, row.values[shown.indexOf(ref)]) : null;
                  return (
                    <td key={k}>
                      {formatNumber(v)}
                      {d && <span className="jp-xtrack-delta"> {d}</span>}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

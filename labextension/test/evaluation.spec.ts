import {
  confusionOf,
  curveLabel,
  evaluationCount,
  evaluationOf,
  evaluationSummary,
  IEvaluation,
  importanceBars,
  metricRows,
  metricsSideBySide,
  orderedPoints,
  overlayPlots,
  perClassRows,
  plotsOf,
  positiveRate,
  representativeCurve,
  sliceTable
} from '../src/evaluationModel';

// A binary report shaped as xt.evaluate writes it: the positive class is "yes" (not 1), the
// ROC curve as sklearn's roc_curve gives it (repeated FPR on the vertical steps), the PR
// curve as precision_recall_curve gives it (recall decreasing).
const binary: IEvaluation = {
  model_type: 'classifier',
  model: 'LogisticRegression',
  data: 'X_test',
  n: 10,
  pos_label: 'yes',
  labels: ['no', 'yes'],
  metrics: { accuracy_score: 0.8, roc_auc: 0.84, log_loss: 'NaN' },
  per_class: {
    yes: { precision: 0.75, recall: 0.75, f1: 0.75, support: 4 },
    no: { precision: 0.833, recall: 0.833, f1: 0.833, support: 6 }
  },
  confusion: { labels: ['no', 'yes'], matrix: [[5, 1], [1, 3]] },
  curves: {
    roc: [{ label: 'yes', x: [0, 0, 0, 0.5, 1], y: [0, 0.25, 0.5, 0.75, 1], area: 0.84 }],
    pr: [{ label: 'yes', x: [1, 0.75, 0.5, 0], y: [0.4, 0.75, 1, 1], area: 0.81 }],
    calibration: [{ label: 'yes', x: [0.1, 0.5, 0.9], y: [0.0, 0.5, 1.0], area: null }]
  },
  importance: [
    { feature: 'age', mean: 0.02, std: 0.01 },
    { feature: 'income', mean: 0.12, std: 0.02 },
    { feature: 'noise', mean: -0.01, std: 0.005 }
  ],
  slices: [
    { column: 'country', value: 'DE', count: 6, metrics: { accuracy_score: 0.83 }, worse: [] },
    { column: 'country', value: 'FR', count: 4, metrics: { example_count: 4, accuracy_score: 0.5, f1_score: 0.4 }, worse: ['accuracy_score'] }
  ],
  artifacts: { roc_curve_plot: 'roc_curve_plot.png' }
};

describe('the report', () => {
  it('is read from the run detail only when it is one', () => {
    expect(evaluationOf({ evaluation: binary })).toBe(binary);
    expect(evaluationOf({})).toBeNull();
    expect(evaluationOf({ evaluation: [1, 2] })).toBeNull();
    expect(evaluationOf({ evaluation: { model: 'x' } })).toBeNull();
  });

  it('is counted and summed up in a line naming the positive class', () => {
    expect(evaluationCount(binary)).toBe('3 metrics, 4 plots');
    expect(evaluationSummary(binary)).toBe('LogisticRegression on X_test (n = 10), positive class "yes"');
    expect(evaluationSummary({ model_type: 'regressor', metrics: {} })).toBe('regressor');
  });

  it('keeps non-finite metrics as numbers and per-class rows in the class order', () => {
    const rows = metricRows(binary);
    expect(rows[0]).toEqual(['accuracy_score', 0.8, null]);
    expect(Number.isNaN(rows[2][1])).toBe(true);
    expect(perClassRows(binary).map(r => r[0])).toEqual(['no', 'yes']);
  });

  it('sets the baseline model\'s value beside each metric it has', () => {
    const rows = metricRows({ ...binary, baseline: { model: 'Dummy', metrics: { accuracy_score: 0.6, roc_auc: 'NaN' } } });
    expect(rows[0]).toEqual(['accuracy_score', 0.8, 0.6]);
    expect(Number.isNaN(rows[1][2])).toBe(true);
    expect(rows[2][2]).toBeNull();
  });
});

describe('the confusion matrix', () => {
  it('shades each cell by its share of the true class', () => {
    const c = confusionOf(binary)!;
    expect(c.labels).toEqual(['no', 'yes']);
    expect(c.rows.map(r => r.total)).toEqual([6, 4]);
    expect(c.rows[1].cells.map(x => x.share)).toEqual([0.25, 0.75]);
    expect(c.rows[1].cells.map(x => x.correct)).toEqual([false, true]);
  });

  it('is absent without a matrix and safe with an empty row', () => {
    expect(confusionOf({ metrics: {} })).toBeNull();
    expect(confusionOf({ confusion: { labels: ['a', 'b'], matrix: [[0, 0], [1, 1]] } })!.rows[0].cells[0].share).toBe(0);
  });

  it('gives the positive rate of a binary task (the PR chance level)', () => {
    expect(positiveRate(binary)).toBe(0.4);
    expect(positiveRate({ ...binary, pos_label: null })).toBeNull();
  });
});

describe('curve points', () => {
  it('are put in increasing x, keeping every point of a vertical step', () => {
    const p = orderedPoints([0, 0, 0, 0.5, 1], [0, 0.25, 0.5, 0.75, 1]);
    expect(p.y).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(new Set(p.x).size).toBe(5);
    for (let i = 1; i < p.x.length; i++) {
      expect(p.x[i]).toBeGreaterThan(p.x[i - 1]);
    }
    expect(p.x[2]).toBeCloseTo(0, 6);
  });

  it('turn a decreasing curve (PR recall) around and drop non-finite points', () => {
    const p = orderedPoints([1, 0.75, 'NaN', 0.5, 0], [0.4, 0.75, 0.9, 1, 1]);
    expect(p.x).toEqual([0, 0.5, 0.75, 1]);
    expect(p.y).toEqual([1, 1, 0.75, 0.4]);
  });

  it('sort scattered points (residuals) by x', () => {
    expect(orderedPoints([3, 1, 2], [30, 10, 20])).toEqual({ x: [1, 2, 3], y: [10, 20, 30] });
  });
});

describe('plots', () => {
  it('name each curve with its area and end with the reference line', () => {
    const plots = plotsOf(binary);
    expect(plots.map(p => p.key)).toEqual(['roc', 'pr', 'calibration']);
    const [roc, pr, cal] = plots;
    expect(roc.series.map(s => s.label)).toEqual(['yes (AUC 0.84)', 'chance']);
    expect(Array.from(roc.reference!.step)).toEqual([0, 1]);
    expect(Array.from(roc.reference!.value)).toEqual([0, 1]);
    expect(pr.series.map(s => s.label)).toEqual(['yes (AP 0.81)', 'chance (positive rate 0.4)']);
    expect(Array.from(pr.reference!.value)).toEqual([0.4, 0.4]);
    expect(cal.series[0].label).toBe('yes');
    expect(cal.reference!.label).toBe('perfectly calibrated');
  });

  it('draw a regressor\'s residuals as points around zero and predictions against y = x', () => {
    const reg: IEvaluation = {
      model_type: 'regressor',
      metrics: { mean_absolute_error: 1.5 },
      curves: {
        residuals: [{ label: '', x: [3, 1, 2], y: [0.5, -1, 0.2], area: null }],
        predicted_actual: [{ label: '', x: [1, 4], y: [2, 3], area: null }]
      }
    };
    const [res, pa] = plotsOf(reg);
    expect(res.series[0].style).toBe('points');
    expect(res.series[0].label).toBe('model');
    expect(res.reference!.label).toBe('zero error');
    expect(Array.from(res.reference!.step)).toEqual([1, 3]);
    expect(Array.from(res.reference!.value)).toEqual([0, 0]);
    expect(Array.from(pa.reference!.step)).toEqual([1, 4]);
    expect(Array.from(pa.reference!.value)).toEqual([1, 4]);
  });

  it('label a curve without an area by its class alone', () => {
    expect(curveLabel({ label: 'spam', x: [], y: [], area: 'NaN' }, 'AUC')).toBe('spam');
    expect(curveLabel({ label: '', x: [], y: [], area: 0.5 }, 'AUC', '#2')).toBe('#2 (AUC 0.5)');
  });
});

describe('importance and slices', () => {
  it('sorts importance, bars against the largest, a harmful feature with no bar', () => {
    const bars = importanceBars(binary);
    expect(bars.map(b => b.feature)).toEqual(['income', 'age', 'noise']);
    expect(bars.map(b => b.width)).toEqual([1, 0.02 / 0.12, 0]);
  });

  it('puts flagged slices first, with every metric a slice has as a column (its count once)', () => {
    const t = sliceTable(binary);
    expect(t.metrics).toEqual(['accuracy_score', 'f1_score']);
    expect(t.rows.map(r => [r.value, r.flagged])).toEqual([['FR', true], ['DE', false]]);
  });
});

describe('Compare overlays', () => {
  const multi: IEvaluation = {
    model_type: 'classifier',
    labels: ['a', 'b', 'c'],
    metrics: { accuracy_score: 0.7, roc_auc: 0.8 },
    curves: {
      roc: [
        { label: 'a', x: [0, 1], y: [0, 1], area: 0.5 },
        { label: 'macro', x: [0, 0.2, 1], y: [0, 0.8, 1], area: 0.8 }
      ]
    }
  };
  const runs = [
    { label: '#1', color: '#0072B2', evaluation: binary },
    { label: '#2', color: '#E69F00', evaluation: multi }
  ];

  it('stand a run for by its positive class or its classes\' average', () => {
    expect(representativeCurve(multi, multi.curves!.roc)!.label).toBe('macro');
    const micro = [{ label: 'a', x: [], y: [] }, { label: 'micro', x: [], y: [] }];
    expect(representativeCurve(multi, micro)!.label).toBe('micro');
    expect(representativeCurve(multi, micro.slice(0, 1))!.label).toBe('a');
    expect(representativeCurve(binary, binary.curves!.roc)!.label).toBe('yes');
  });

  it('draw one series per run in its colour, with the shared reference', () => {
    const plots = overlayPlots(runs);
    expect(plots.map(p => p.key)).toEqual(['roc']); // the multiclass run has no PR curve
    const roc = plots[0];
    expect(roc.series.map(s => [s.label, s.color])).toEqual([
      ['#1 (AUC 0.84)', '#0072B2'],
      ['#2 · macro (AUC 0.8)', '#E69F00'],
      ['chance', '#8c8c8c']
    ]);
  });

  it('leave out a chance level the runs do not share', () => {
    const other = { ...binary, confusion: { labels: ['no', 'yes'], matrix: [[8, 0], [1, 1]] } };
    const pr = overlayPlots([runs[0], { label: '#3', color: '#009E73', evaluation: other }]).find(p => p.key === 'pr')!;
    expect(pr.reference).toBeNull();
    expect(pr.series.length).toBe(2);
  });

  it('put the metrics side by side, missing ones as null', () => {
    expect(metricsSideBySide(runs)).toEqual([
      { key: 'accuracy_score', values: [0.8, 0.7] },
      { key: 'roc_auc', values: [0.84, 0.8] },
      { key: 'log_loss', values: [NaN, null] }
    ]);
  });
});

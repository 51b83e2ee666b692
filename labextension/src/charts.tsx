/** Small SVG charts: metric histories (one or overlaid) and parallel coordinates. */
import * as React from 'react';
import { formatNumber, toNumber } from './format';
import { extent, historyXs, IHistory, linePath } from './model';

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
  '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'
];

/** The colour of series `i`. */
export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

export interface ISeries {
  label: string;
  history: IHistory;
}

/** Line chart of one or more histories on shared axes. */
export function LineChart(props: {
  series: ISeries[];
  width?: number;
  height?: number;
  title?: string;
}): JSX.Element {
  const width = props.width ?? 320;
  const height = props.height ?? 140;
  const pad = { l: 44, r: 8, t: 8, b: 18 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const all = props.series.map(s => ({
    xs: historyXs(s.history),
    ys: s.history.value.map(v => toNumber(v))
  }));
  const xr = extent(all.flatMap(s => s.xs));
  const yr = extent(all.flatMap(s => s.ys));
  return (
    // Scales down to a narrow sidebar (viewBox), never wider than its box.
    <svg className="jp-xtrack-chart" width={width} height={height} viewBox={`0 0 ${width} ${height}`}
      role="img" aria-label={props.title ?? 'metric history'}>
      <g transform={`translate(${pad.l},${pad.t})`}>
        <rect width={w} height={h} className="jp-xtrack-chart-frame" />
        <text x={-4} y={8} textAnchor="end" className="jp-xtrack-axis">{formatNumber(yr[1])}</text>
        <text x={-4} y={h} textAnchor="end" className="jp-xtrack-axis">{formatNumber(yr[0])}</text>
        <text x={0} y={h + 14} className="jp-xtrack-axis">{formatNumber(xr[0])}</text>
        <text x={w} y={h + 14} textAnchor="end" className="jp-xtrack-axis">{formatNumber(xr[1])}</text>
        {all.map((s, i) => (
          <path key={i} d={linePath(s.xs, s.ys, { width: w, height: h, x: xr, y: yr })}
            fill="none" stroke={seriesColor(i)} strokeWidth={1.5}>
            <title>{props.series[i].label}</title>
          </path>
        ))}
        {/* A metric logged once has no line to draw: a dot shows its value. */}
        {all.map((s, i) =>
          s.xs.length === 1 && s.ys[0] !== null && Number.isFinite(s.ys[0]) ? (
            <circle key={`dot${i}`} className="jp-xtrack-dot" r={3} fill={seriesColor(i)}
              cx={((s.xs[0] - xr[0]) / (xr[1] - xr[0] || 1)) * w}
              cy={h - ((s.ys[0]! - yr[0]) / (yr[1] - yr[0] || 1)) * h}>
              <title>{props.series[i].label}</title>
            </circle>
          ) : null
        )}
      </g>
    </svg>
  );
}

/** Parallel coordinates: one axis per numeric param, the last axis the chosen metric. */
export function ParallelCoordinates(props: {
  axes: string[];
  rows: { label: string; values: (number | null)[] }[];
  width?: number;
  height?: number;
}): JSX.Element {
  // About 85 px between axes: three axes fit a sidebar of default width; more scroll.
  const width = props.width ?? Math.max(220, 60 + (props.axes.length - 1) * 85);
  const height = props.height ?? 200;
  const pad = { l: 30, r: 30, t: 24, b: 12 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const ranges = props.axes.map((_, j) => extent(props.rows.map(r => r.values[j])));
  const ax = (j: number) => (props.axes.length < 2 ? 0 : (j / (props.axes.length - 1)) * w);
  const ay = (j: number, v: number) => h - ((v - ranges[j][0]) / (ranges[j][1] - ranges[j][0])) * h;
  const last = props.axes.length - 1;
  const [mlo, mhi] = ranges[last] ?? [0, 1];
  return (
    <svg className="jp-xtrack-chart" width={width} height={height} viewBox={`0 0 ${width} ${height}`}
      role="img" aria-label="parallel coordinates">
      <g transform={`translate(${pad.l},${pad.t})`}>
        {props.rows.map((row, i) => {
          const points = row.values
            .map((v, j) => (v === null || !Number.isFinite(v) ? null : `${ax(j)},${ay(j, v)}`))
            .filter(p => p !== null);
          const m = row.values[last];
          const t = m === null ? 0 : (m - mlo) / (mhi - mlo || 1);
          return (
            <polyline key={i} points={points.join(' ')} fill="none" strokeWidth={1.2}
              stroke={`hsl(${Math.round(240 - 240 * t)}, 70%, 50%)`} opacity={0.75}>
              <title>{row.label}</title>
            </polyline>
          );
        })}
        {props.axes.map((name, j) => (
          <g key={name} transform={`translate(${ax(j)},0)`}>
            <line y1={0} y2={h} className="jp-xtrack-pc-axis" />
            <text y={-10} textAnchor="middle" className="jp-xtrack-axis">{name}</text>
            <text y={h + 10} textAnchor="middle" className="jp-xtrack-axis">{formatNumber(ranges[j][0])}</text>
            <text y={-1} x={3} className="jp-xtrack-axis">{formatNumber(ranges[j][1])}</text>
          </g>
        ))}
      </g>
    </svg>
  );
}

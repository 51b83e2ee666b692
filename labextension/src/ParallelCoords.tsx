/** Parallel coordinates of runs: one vertical axis per chosen param or metric, one line per
 * run coloured by a metric. Drag along an axis to brush a range (several axes: runs within
 * all of them); the brush goes out through selection.ts so the runs lists narrow to it.
 * Axes are chosen from every numeric param and metric and reordered by dragging their title
 * (or with the arrow buttons); log axes for params sampled log-uniform, else for positive
 * values spread over two decades. The metric that colours the lines stays the first axis,
 * so it is on screen however many params follow. */
import * as React from 'react';
import { formatNumber, IUnitScale, prefersLog, unitScale } from './chartcore';

export interface IPlotRow {
  id: string;
  label: string;
  values: Record<string, number | null>;
}

const GAP = 96;
const PAD = { l: 48, r: 56, t: 34, b: 22 };
const HEIGHT = 230;

function shortName(name: string): string {
  return name.length > 14 ? `…${name.slice(-13)}` : name;
}

/** Colour of a value from low (blue) to high (red), the key under the chart. */
export function rampColor(t: number): string {
  return `hsl(${Math.round(240 - 240 * Math.min(Math.max(t, 0), 1))}, 70%, 50%)`;
}

export function ParallelCoords(props: {
  rows: IPlotRow[];
  /** Every numeric key the user may choose as an axis. */
  keys: string[];
  /** The axes shown at first (the colour metric first). */
  initial: string[];
  colorBy: string;
  logKeys: ReadonlySet<string>;
  onBrush: (ids: string[] | null) => void;
}): JSX.Element {
  const [axes, setAxes] = React.useState<string[]>(props.initial);
  const [brushes, setBrushes] = React.useState<Record<string, [number, number]>>({});
  const [dragAxis, setDragAxis] = React.useState<string | null>(null);
  const svgRef = React.useRef<SVGSVGElement>(null);
  const h = HEIGHT - PAD.t - PAD.b;
  const width = PAD.l + PAD.r + Math.max(axes.length - 1, 1) * GAP;

  React.useEffect(() => setAxes(props.initial), [props.initial.join('\u0000')]);

  const scales = React.useMemo(() => {
    const out: Record<string, IUnitScale> = {};
    for (const a of axes) {
      const vals = props.rows.map(r => r.values[a] ?? null);
      out[a] = unitScale(vals, props.logKeys.has(a) || prefersLog(vals));
    }
    return out;
  }, [axes, props.rows, props.logKeys]);

  const kept = React.useMemo(() => {
    const active = Object.entries(brushes).filter(([a]) => axes.includes(a));
    if (!active.length) {
      return null;
    }
    return new Set(props.rows.filter(r => active.every(([a, [lo, hi]]) => {
      const v = r.values[a];
      if (v === null || v === undefined || !Number.isFinite(v)) {
        return false;
      }
      const u = scales[a].unit(v);
      return u >= lo && u <= hi;
    })).map(r => r.id));
  }, [brushes, axes, scales, props.rows]);

  React.useEffect(() => props.onBrush(kept ? [...kept] : null), [kept]);

  const ax = (j: number) => PAD.l + j * GAP;
  const ay = (u: number) => PAD.t + h - u * h;
  const colorScale = scales[props.colorBy] ?? unitScale(props.rows.map(r => r.values[props.colorBy] ?? null), false);

  // Brushing: a vertical drag on an axis sets its range (in 0..1 of the axis); a click clears.
  const startBrush = (axis: string, e: React.PointerEvent) => {
    const svg = svgRef.current!;
    const top = svg.getBoundingClientRect().top;
    const u0 = Math.min(Math.max((PAD.t + h - (e.clientY - top)) / h, 0), 1);
    let moved = false;
    const move = (ev: PointerEvent) => {
      const u1 = Math.min(Math.max((PAD.t + h - (ev.clientY - top)) / h, 0), 1);
      if (Math.abs(u1 - u0) > 0.01) {
        moved = true;
        setBrushes(b => ({ ...b, [axis]: [Math.min(u0, u1), Math.max(u0, u1)] }));
      }
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      if (!moved) {
        setBrushes(b => {
          const { [axis]: _, ...rest } = b;
          return rest;
        });
      }
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  // Reordering: drag an axis title sideways; it lands where it is let go.
  const startMove = (axis: string, e: React.PointerEvent) => {
    e.preventDefault();
    const left = svgRef.current!.getBoundingClientRect().left;
    setDragAxis(axis);
    const up = (ev: PointerEvent) => {
      window.removeEventListener('pointerup', up);
      setDragAxis(null);
      const to = Math.min(Math.max(Math.round((ev.clientX - left - PAD.l) / GAP), 0), axes.length - 1);
      setAxes(list => {
        const rest = list.filter(a => a !== axis);
        rest.splice(to, 0, axis);
        return rest;
      });
    };
    window.addEventListener('pointerup', up);
  };
  const shift = (axis: string, by: number) =>
    setAxes(list => {
      const i = list.indexOf(axis);
      const j = i + by;
      if (j < 0 || j >= list.length) {
        return list;
      }
      const next = [...list];
      [next[i], next[j]] = [next[j], next[i]];
      return next;
    });
  const toggleAxis = (key: string) =>
    setAxes(list => (list.includes(key) ? list.filter(a => a !== key) : [...list, key]));

  return (
    <div className="jp-xtrack-pc">
      <details className="jp-xtrack-panels">
        <summary>Axes ({axes.length} of {props.keys.length})</summary>
        <div className="jp-xtrack-panel-list" role="group" aria-label="parallel coordinate axes">
          {props.keys.map(k => (
            <label key={k} title={k}>
              <input type="checkbox" checked={axes.includes(k)} onChange={() => toggleAxis(k)} /> {k}
            </label>
          ))}
        </div>
      </details>
      <div className="jp-xtrack-hscroll">
        <svg ref={svgRef} className="jp-xtrack-pcplot" width={width} height={HEIGHT} role="img"
          aria-label="parallel coordinates" data-axes={axes.join(',')} data-kept={kept ? kept.size : props.rows.length}>
          {props.rows.map(r => {
            const pts = axes.map((a, j) => {
              const v = r.values[a];
              return v === null || v === undefined || !Number.isFinite(v) ? null : `${ax(j)},${ay(scales[a].unit(v))}`;
            }).filter(p => p !== null);
            const c = r.values[props.colorBy];
            const on = !kept || kept.has(r.id);
            return (
              <polyline key={r.id} points={pts.join(' ')} fill="none" data-run={r.id}
                className={on ? 'jp-xtrack-pc-line' : 'jp-xtrack-pc-line jp-xtrack-pc-out'}
                stroke={on ? (c === null || c === undefined ? 'var(--jp-ui-font-color3)' : rampColor(colorScale.unit(c))) : undefined}>
                <title>{r.label}{c !== null && c !== undefined ? ` · ${props.colorBy} ${formatNumber(c)}` : ''}</title>
              </polyline>
            );
          })}
          {axes.map((a, j) => {
            const sc = scales[a];
            const b = brushes[a];
            return (
              <g key={a} transform={`translate(${ax(j)},0)`} className="jp-xtrack-pc-axisgroup" data-axis={a}
                opacity={dragAxis === a ? 0.5 : 1}>
                <text y={12} textAnchor="middle" className="jp-xtrack-pc-title" onPointerDown={e => startMove(a, e)}>
                  <title>{a}{sc.log ? ' (log axis)' : ''}: drag sideways to move</title>
                  {shortName(a)}{sc.log ? ' log' : ''}
                </text>
                <text x={-GAP / 2 + 10} y={26} className="jp-xtrack-pc-move" role="button" aria-label={`move ${a} left`}
                  onClick={() => shift(a, -1)}>◀</text>
                <text x={GAP / 2 - 10} y={26} textAnchor="end" className="jp-xtrack-pc-move" role="button"
                  aria-label={`move ${a} right`} onClick={() => shift(a, 1)}>▶</text>
                <line y1={PAD.t} y2={PAD.t + h} className="jp-xtrack-pc-axis" />
                {sc.ticks.map((t, k) => (
                  <text key={k} x={-4} y={ay(sc.unit(t)) + 3} textAnchor="end" className="jp-xtrack-axis">
                    {formatNumber(Number(t.toPrecision(3)))}
                  </text>
                ))}
                {b && <rect x={-6} width={12} y={ay(b[1])} height={(b[1] - b[0]) * h} className="jp-xtrack-pc-brush" />}
                <rect x={-10} width={20} y={PAD.t} height={h} fill="transparent" className="jp-xtrack-pc-hit"
                  aria-label={`brush ${a}`} onPointerDown={e => startBrush(a, e)} />
              </g>
            );
          })}
        </svg>
      </div>
      <div className="jp-xtrack-muted jp-xtrack-pc-key">
        Lines coloured by {props.colorBy}: <span className="jp-xtrack-pc-scale" /> lowest to highest ·
        drag along an axis to keep a range{kept ? ` (${kept.size} of ${props.rows.length} kept)` : ''}
        {kept && <button className="jp-xtrack-link" onClick={() => setBrushes({})}>clear brush</button>}
      </div>
    </div>
  );
}

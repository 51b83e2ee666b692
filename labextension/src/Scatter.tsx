/** Scatter of runs: any param or metric against any other (param vs metric, metric vs
 * metric), one dot per run in its run colour. Drag a rectangle to brush (the runs lists
 * narrow to the dots inside, through selection.ts); a click clears it. Log axes for params
 * sampled log-uniform or positive values spread over two decades, switchable. */
import * as React from 'react';
import { formatNumber, prefersLog, seriesColor, unitScale } from './chartcore';
import { IPlotRow } from './ParallelCoords';

const W = 340;
const H = 240;
const PAD = { l: 52, r: 12, t: 10, b: 36 };

type Box = { x0: number; x1: number; y0: number; y1: number };

export function Scatter(props: {
  rows: IPlotRow[];
  keys: string[];
  initialX: string;
  initialY: string;
  logKeys: ReadonlySet<string>;
  onBrush: (ids: string[] | null) => void;
}): JSX.Element {
  const [xKey, setXKey] = React.useState(props.initialX);
  const [yKey, setYKey] = React.useState(props.initialY);
  const auto = (k: string) => props.logKeys.has(k) || prefersLog(props.rows.map(r => r.values[k] ?? null));
  const [logX, setLogX] = React.useState(() => auto(props.initialX));
  const [logY, setLogY] = React.useState(() => auto(props.initialY));
  const [box, setBox] = React.useState<Box | null>(null);
  const svgRef = React.useRef<SVGSVGElement>(null);
  const pw = W - PAD.l - PAD.r;
  const ph = H - PAD.t - PAD.b;
  const sx = unitScale(props.rows.map(r => r.values[xKey] ?? null), logX);
  const sy = unitScale(props.rows.map(r => r.values[yKey] ?? null), logY);
  const px = (v: number) => PAD.l + sx.unit(v) * pw;
  const py = (v: number) => PAD.t + ph - sy.unit(v) * ph;
  const points = props.rows.map((r, i) => ({ r, i, x: r.values[xKey], y: r.values[yKey] }))
    .filter((p): p is { r: IPlotRow; i: number; x: number; y: number } =>
      p.x !== null && p.x !== undefined && Number.isFinite(p.x) && p.y !== null && p.y !== undefined && Number.isFinite(p.y) &&
      (!sx.log || p.x > 0) && (!sy.log || p.y > 0));

  const kept = React.useMemo(() => {
    if (!box) {
      return null;
    }
    return new Set(points.filter(p => {
      const X = px(p.x);
      const Y = py(p.y);
      return X >= box.x0 && X <= box.x1 && Y >= box.y0 && Y <= box.y1;
    }).map(p => p.r.id));
  }, [box, xKey, yKey, logX, logY, props.rows]);
  React.useEffect(() => props.onBrush(kept ? [...kept] : null), [kept]);

  const choose = (axis: 'x' | 'y', k: string) => {
    setBox(null);
    if (axis === 'x') {
      setXKey(k);
      setLogX(auto(k));
    } else {
      setYKey(k);
      setLogY(auto(k));
    }
  };
  const start = (e: React.PointerEvent) => {
    // In the plot's own units: a narrow sidebar draws it scaled down (viewBox).
    const rect = svgRef.current!.getBoundingClientRect();
    const k = W / (rect.width || W);
    const x0 = (e.clientX - rect.left) * k;
    const y0 = (e.clientY - rect.top) * k;
    let moved = false;
    const move = (ev: PointerEvent) => {
      const x1 = (ev.clientX - rect.left) * k;
      const y1 = (ev.clientY - rect.top) * k;
      if (Math.abs(x1 - x0) + Math.abs(y1 - y0) > 4) {
        moved = true;
        setBox({ x0: Math.min(x0, x1), x1: Math.max(x0, x1), y0: Math.min(y0, y1), y1: Math.max(y0, y1) });
      }
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      if (!moved) {
        setBox(null);
      }
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };
  const select = (axis: 'x' | 'y', value: string, log: boolean, setLog: (v: boolean) => void) => (
    <label>{axis} <select aria-label={`scatter ${axis}`} className="jp-mod-styled" value={value}
      onChange={e => choose(axis, e.target.value)}>
      {props.keys.map(k => <option key={k} value={k}>{k}</option>)}
    </select>
    <label className="jp-xtrack-muted"><input type="checkbox" aria-label={`log ${axis}`} checked={log}
      onChange={() => setLog(!log)} /> log</label></label>
  );
  return (
    <div className="jp-xtrack-scatter">
      <div className="jp-xtrack-chart-toolbar">
        {select('x', xKey, logX, setLogX)}
        {select('y', yKey, logY, setLogY)}
      </div>
      <svg ref={svgRef} width={W} height={H} viewBox={`0 0 ${W} ${H}`} className="jp-xtrack-scatterplot" role="img"
        aria-label="scatter" data-x={xKey} data-y={yKey} data-logx={String(sx.log)} data-logy={String(sy.log)}
        data-kept={kept ? kept.size : points.length} onPointerDown={start}>
        <rect x={PAD.l} y={PAD.t} width={pw} height={ph} className="jp-xtrack-chart-frame" />
        {sx.ticks.map((t, k) => (
          <text key={`x${k}`} x={px(t)} y={PAD.t + ph + 12} textAnchor="middle" className="jp-xtrack-axis">
            {formatNumber(Number(t.toPrecision(3)))}
          </text>
        ))}
        {sy.ticks.map((t, k) => (
          <text key={`y${k}`} x={PAD.l - 4} y={py(t) + 3} textAnchor="end" className="jp-xtrack-axis">
            {formatNumber(Number(t.toPrecision(3)))}
          </text>
        ))}
        <text x={PAD.l + pw / 2} y={H - 4} textAnchor="middle" className="jp-xtrack-axis-title">
          {xKey}{sx.log ? ' (log)' : ''}
        </text>
        <text transform={`translate(11,${PAD.t + ph / 2}) rotate(-90)`} textAnchor="middle" className="jp-xtrack-axis-title">
          {yKey}{sy.log ? ' (log)' : ''}
        </text>
        {points.map(p => {
          const on = !kept || kept.has(p.r.id);
          return (
            <circle key={p.r.id} cx={px(p.x)} cy={py(p.y)} r={4} data-run={p.r.id}
              className={on ? 'jp-xtrack-dot' : 'jp-xtrack-dot jp-xtrack-pc-out'}
              fill={on ? seriesColor(p.i, document.body.dataset.jpThemeLight === 'false') : undefined}>
              <title>{p.r.label}: {xKey} {formatNumber(p.x)}, {yKey} {formatNumber(p.y)}</title>
            </circle>
          );
        })}
        {box && <rect x={box.x0} y={box.y0} width={box.x1 - box.x0} height={box.y1 - box.y0} className="jp-xtrack-pc-brush" />}
      </svg>
      <div className="jp-xtrack-muted">
        {points.length} of {props.rows.length} runs have both · drag to keep a region
        {kept ? ` (${kept.size} kept) ` : ''}
        {kept && <button className="jp-xtrack-link" onClick={() => setBox(null)}>clear brush</button>}
      </div>
    </div>
  );
}

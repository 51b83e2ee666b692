/** Metric charts in the sidebar: React around the shared chart module (chartcore.ts, uPlot),
 * the chart toolbar (x axis, log y, smoothing, groups, reset zoom) and the panel list a user
 * picks metrics from. */
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import * as React from 'react';
import {
  createChart, fromHistory, IChartHandle, IChartOptions, IChartSeries, prefersLog, seriesColor, XMode
} from './chartcore';
import { IHistory } from './model';

export { seriesColor };

export interface ISeries {
  label: string;
  history: IHistory;
  group?: string;
  color?: string;
}

/** What the toolbar sets; `logY: 'auto'` is log when the values span two decades or more. */
export interface IChartSettings {
  xMode: XMode;
  logY: boolean | 'auto';
  smoothing: number;
  /** Group key (one of the choices given), '' for each run on its own. */
  groupBy: string;
}

export const DEFAULT_CHART: IChartSettings = { xMode: 'step', logY: 'auto', smoothing: 0, groupBy: '' };

function isDark(): boolean {
  return document.body.dataset.jpThemeLight === 'false';
}

/** A chartcore chart that follows its box's width and JupyterLab's theme. */
export function UChart(props: {
  series: IChartSeries[];
  options: IChartOptions;
  /** Bumped by the toolbar's reset button. */
  resetKey?: number;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const chart = React.useRef<IChartHandle | null>(null);
  const [dark, setDark] = React.useState(isDark);
  React.useEffect(() => {
    const watch = new MutationObserver(() => setDark(isDark()));
    watch.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light'] });
    const el = host.current!;
    const resize = new ResizeObserver(() => chart.current?.setWidth(el.clientWidth));
    resize.observe(el);
    return () => {
      watch.disconnect();
      resize.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);
  React.useEffect(() => {
    if (chart.current) {
      chart.current.update(props.series, props.options);
    } else {
      chart.current = createChart(host.current!, props.series, props.options);
    }
  }, [props.series, props.options, dark]);
  React.useEffect(() => {
    if (props.resetKey) {
      chart.current?.resetZoom();
    }
  }, [props.resetKey]);
  return <div ref={host} className="jp-xtrack-uchart" />;
}

/** The chart controls: x axis, log y, smoothing, grouping, and reset zoom. */
export function ChartToolbar(props: {
  value: IChartSettings;
  onChange: (value: IChartSettings) => void;
  onReset: () => void;
  /** Keys the runs can be grouped by (none: no grouping control). */
  groupChoices?: string[];
}): JSX.Element {
  const v = props.value;
  const set = (patch: Partial<IChartSettings>) => props.onChange({ ...v, ...patch });
  return (
    <div className="jp-xtrack-chart-toolbar">
      <label>x <select aria-label="x axis" className="jp-mod-styled" value={v.xMode}
        onChange={e => set({ xMode: e.target.value as XMode })}>
        <option value="step">step</option>
        <option value="relative">time since start</option>
        <option value="time">wall time</option>
      </select></label>
      <label title="auto: log when the values span two decades or more">log y <select aria-label="log y"
        className="jp-mod-styled" value={String(v.logY)}
        onChange={e => set({ logY: e.target.value === 'auto' ? 'auto' : e.target.value === 'true' })}>
        <option value="auto">auto</option>
        <option value="true">on</option>
        <option value="false">off</option>
      </select></label>
      <label title="exponential moving average">smooth <input type="range" aria-label="smoothing"
        min={0} max={0.99} step={0.01} value={v.smoothing}
        onChange={e => set({ smoothing: Number(e.target.value) })} />
        <span className="jp-xtrack-muted">{v.smoothing.toFixed(2)}</span></label>
      {props.groupChoices && props.groupChoices.length > 0 && (
        <label>group <select aria-label="group runs by" className="jp-mod-styled" value={v.groupBy}
          onChange={e => set({ groupBy: e.target.value })}>
          <option value="">each run</option>
          {props.groupChoices.map(g => <option key={g} value={g}>{g}</option>)}
        </select></label>
      )}
      <button className="jp-mod-styled" title="reset zoom (or double-click the chart)" onClick={props.onReset}>
        reset zoom
      </button>
    </div>
  );
}

/** The chart options for some series under the toolbar's settings. */
export function chartOptions(title: string, series: IChartSeries[], s: IChartSettings, height?: number): IChartOptions {
  const logY = s.logY === 'auto' ? series.some(x => x.value.length > 1) && prefersLog(series.flatMap(x => Array.from(x.value))) : s.logY;
  return { title, xMode: s.xMode, logY, smoothing: s.smoothing, grouped: s.groupBy !== '', height };
}

/** Histories as chart series (colours by position among all runs, so they match legends). */
export function toChartSeries(series: ISeries[]): IChartSeries[] {
  return series.map((s, i) =>
    fromHistory(s.label, s.history, { group: s.group, color: s.color ?? seriesColor(i, isDark()) }));
}

/** One metric's history (or several runs' overlaid), with its own toolbar. */
export function LineChart(props: {
  series: ISeries[];
  title?: string;
  height?: number;
}): JSX.Element {
  const [settings, setSettings] = React.useState<IChartSettings>(DEFAULT_CHART);
  const [reset, setReset] = React.useState(0);
  const title = props.title ?? 'metric';
  const series = React.useMemo(() => toChartSeries(props.series), [props.series]);
  const options = React.useMemo(() => chartOptions(title, series, settings, props.height), [title, series, settings, props.height]);
  return (
    <div className="jp-xtrack-linechart">
      <ChartToolbar value={settings} onChange={setSettings} onReset={() => setReset(r => r + 1)} />
      <UChart series={series} options={options} resetKey={reset} />
    </div>
  );
}

/** Which metrics are charted: a searchable list of every metric, chosen ones first. */
export function PanelChooser(props: {
  metrics: string[];
  chosen: string[];
  onChosen: (chosen: string[]) => void;
}): JSX.Element {
  const [query, setQuery] = React.useState('');
  const q = query.trim().toLowerCase();
  const shown = props.metrics.filter(m => !q || m.toLowerCase().includes(q));
  const toggle = (m: string) =>
    props.onChosen(props.chosen.includes(m) ? props.chosen.filter(c => c !== m) : [...props.chosen, m]);
  return (
    <details className="jp-xtrack-panels">
      <summary>Panels ({props.chosen.length} of {props.metrics.length} metrics)</summary>
      <input className="jp-mod-styled" type="search" placeholder="search metrics" aria-label="search metrics"
        value={query} onChange={e => setQuery(e.target.value)} />
      <div className="jp-xtrack-panel-list" role="group" aria-label="metrics to chart">
        {shown.map(m => (
          <label key={m} title={m}>
            <input type="checkbox" checked={props.chosen.includes(m)} onChange={() => toggle(m)} /> {m}
          </label>
        ))}
        {!shown.length && <span className="jp-xtrack-muted">no metric matches</span>}
      </div>
    </details>
  );
}

/** The chosen metrics' charts under one toolbar; `histories(name)` is null while loading. */
export function MetricPanels(props: {
  metrics: string[];
  chosen: string[];
  onChosen: (chosen: string[]) => void;
  histories: (name: string) => ISeries[] | null;
  groupChoices?: string[];
  groupOf?: (groupBy: string, label: string) => string;
}): JSX.Element {
  const [settings, setSettings] = React.useState<IChartSettings>(DEFAULT_CHART);
  const [reset, setReset] = React.useState(0);
  return (
    <div className="jp-xtrack-metric-panels">
      <PanelChooser metrics={props.metrics} chosen={props.chosen} onChosen={props.onChosen} />
      <ChartToolbar value={settings} onChange={setSettings} onReset={() => setReset(r => r + 1)}
        groupChoices={props.groupChoices} />
      <div className="jp-xtrack-panel-grid">
        {props.chosen.map(name => (
          <Panel key={name} name={name} series={props.histories(name)} settings={settings} reset={reset}
            groupOf={props.groupOf} />
        ))}
      </div>
    </div>
  );
}

function Panel(props: {
  name: string;
  series: ISeries[] | null;
  settings: IChartSettings;
  reset: number;
  groupOf?: (groupBy: string, label: string) => string;
}): JSX.Element {
  const { groupBy } = props.settings;
  const series = React.useMemo(
    () => toChartSeries((props.series ?? []).map(s =>
      ({ ...s, group: groupBy && props.groupOf ? props.groupOf(groupBy, s.label) : undefined }))),
    [props.series, groupBy]);
  const options = React.useMemo(() => chartOptions(props.name, series, props.settings), [props.name, series, props.settings]);
  return (
    <figure className="jp-xtrack-figure jp-xtrack-panel" data-metric={props.name}>
      <figcaption>{props.name}</figcaption>
      {props.series === null ? <div className="jp-xtrack-muted">loading…</div>
        : series.length ? <UChart series={series} options={options} resetKey={props.reset} />
          : <div className="jp-xtrack-muted">no values of {props.name}</div>}
    </figure>
  );
}

type Settings = ISettingRegistry.ISettings | null | undefined;

/** A map remembered in the settings registry under `key` (an object setting), and a setter
 * of one entry (null removes it). Shared by the panel lists and the metric directions. */
export function useSettingMap<T>(settings: Settings, key: string): [Record<string, T>, (entry: string, value: T | null) => void] {
  const read = (): Record<string, T> => ({ ...((settings?.composite[key] ?? {}) as Record<string, T>) });
  const [map, setMap] = React.useState<Record<string, T>>(read);
  React.useEffect(() => setMap(read()), [settings, key]);
  const set = (entry: string, value: T | null) => {
    // From what this view holds (read at mount): an entry removed a moment ago stays removed
    // while the registry's write is still on its way.
    const next = { ...map };
    if (value === null) {
      delete next[entry];
    } else {
      next[entry] = value;
    }
    setMap(next);
    void settings?.set(key, next as any);
  };
  return [map, set];
}

/** The metric panels chosen for an experiment (null until the user picks), remembered in
 * the settings registry (`chartPanels`): Compare and the run detail share them. */
export function usePanels(settings: Settings, experiment: string): [string[] | null, (chosen: string[]) => void] {
  const [all, set] = useSettingMap<string[]>(settings, 'chartPanels');
  const panels = Array.isArray(all[experiment]) ? all[experiment] : null;
  return [panels, chosen => set(experiment, chosen)];
}

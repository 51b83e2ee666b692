/** The jupyter_xtrack sidebar: a left-area panel (and a command palette entry) to browse,
 * compare and diff the runs in the store the server extension reads, follow and cancel
 * background jobs, and launch new ones in the current notebook's kernel. */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import iconSvg from '../style/icon.svg';
import { ApiError, requestAPI } from './api';
import { Compare } from './Compare';
import { IExpectedJob } from './jobsModel';
import { JobsView } from './Jobs';
import { LaunchView } from './Launch';
import { ModelsView } from './Models';
import { GroupBy, IEvents, INotebookDiff, notebookDiffTab } from './model';
import { createNbdimeDiffTab } from './nbdimeDiff';
import { RunDetail } from './RunDetail';
import { RunsTable } from './RunsTable';
import { brushFilter, setBrushed, useBrushedRuns } from './selection';

const PLUGIN_ID = 'jupyter-xtrack:plugin';
const COMMAND = 'xtrack:open-runs';
/** The window event a run card's "Open in sidebar" sends (jupyter_xtrack/views/static/views.js). */
const OPEN_RUN_EVENT = 'xtrack:open-run';

interface IOpenRunDetail {
  runId: string;
  number?: number;
  store?: string;
}

export const xtrackIcon = new LabIcon({ name: 'jupyter-xtrack:runs', svgstr: iconSvg });

type View = { kind: 'runs' } | { kind: 'run'; id: string } | { kind: 'compare'; ids: string[] };
type Tab = 'runs' | 'models' | 'jobs' | 'launch';
const TABS: { id: Tab; label: string }[] = [
  { id: 'runs', label: 'Runs' },
  { id: 'models', label: 'Models' },
  { id: 'jobs', label: 'Jobs' },
  { id: 'launch', label: 'Launch' }
];

interface ISettingsState {
  columns: string[];
  groupBy: GroupBy;
  pageSize: number;
}

/** The panel's React root: which view is shown, settings, and the change feed. */
function XTrackApp(props: {
  settings: ISettingRegistry.ISettings | null;
  openNotebook: (path: string, cellId: string | null) => void;
  openNotebookDiff: ((diff: INotebookDiff) => void) | null;
  tracker: INotebookTracker | null;
  /** Whether the panel is on screen (polling pauses while it is collapsed). */
  isShown: () => boolean;
}): JSX.Element {
  const read = (): ISettingsState => ({
    columns: (props.settings?.composite.columns as string[]) ?? [],
    groupBy: (props.settings?.composite.groupBy as GroupBy) ?? 'none',
    pageSize: (props.settings?.composite.pageSize as number) ?? 200
  });
  const [settings, setSettings] = React.useState<ISettingsState>(read);
  const [view, setView] = React.useState<View>({ kind: 'runs' });
  const [tab, setTab] = React.useState<Tab>('runs');
  // Tabs are mounted on first visit and then kept (hidden), so a half-filled form survives.
  const [visited, setVisited] = React.useState<Set<Tab>>(() => new Set<Tab>(['runs']));
  const [expected, setExpected] = React.useState<IExpectedJob | null>(null);
  const tabRefs = React.useRef<Record<Tab, HTMLButtonElement | null>>({ runs: null, models: null, jobs: null, launch: null });
  const [revision, setRevision] = React.useState(0);
  const [feedError, setFeedError] = React.useState<ApiError | null>(null);
  // A brush in Compare's parallel coordinates or scatter narrows the runs table too.
  const brush = useBrushedRuns();
  const brushed = React.useMemo(() => (brush ? brushFilter(brush) : null), [brush]);

  React.useEffect(() => {
    const changed = () => setSettings(read());
    props.settings?.changed.connect(changed);
    return () => {
      props.settings?.changed.disconnect(changed);
    };
  }, [props.settings]);

  // Long-poll the change feed while the panel exists; every answer with changes bumps
  // `revision`, which makes the views refetch what they show.
  React.useEffect(() => {
    let stopped = false;
    const loop = async () => {
      let cursor: number | null = null;
      let failed = false;
      while (!stopped) {
        try {
          const q = cursor === null ? '' : `?cursor=${cursor}&timeout=20`;
          const ev: IEvents = await requestAPI<IEvents>('events' + q);
          // After an outage the views may show stale data or an error: reload them.
          if (failed || (cursor !== null && (ev.changed.length || ev.reset))) {
            setRevision(r => r + 1);
          }
          failed = false;
          cursor = ev.cursor;
          setFeedError(null);
        } catch (e) {
          failed = true;
          setFeedError(e as ApiError);
          await new Promise(r => setTimeout(r, 5000));
        }
      }
    };
    void loop();
    return () => {
      stopped = true;
    };
  }, []);

  // "Open in sidebar" on a run card below a notebook cell (views.js) names its run.
  React.useEffect(() => {
    const open = (event: Event) => {
      const runId = (event as CustomEvent<IOpenRunDetail>).detail?.runId;
      if (runId) {
        setView({ kind: 'run', id: runId });
        show('runs');
      }
    };
    window.addEventListener(OPEN_RUN_EVENT, open);
    return () => window.removeEventListener(OPEN_RUN_EVENT, open);
  }, []);

  const save = (key: keyof ISettingsState, value: unknown) => {
    setSettings(s => ({ ...s, [key]: value }));
    void props.settings?.set(key, value as any);
  };

  const show = (next: Tab, focus = false) => {
    setTab(next);
    setVisited(v => (v.has(next) ? v : new Set([...v, next])));
    if (focus) {
      tabRefs.current[next]?.focus();
    }
  };
  // The tab list's keys (WAI-ARIA tabs pattern): arrows move between tabs, Home/End jump.
  const onTabKey = (event: React.KeyboardEvent) => {
    const i = TABS.findIndex(t => t.id === tab);
    const to =
      event.key === 'ArrowRight' ? (i + 1) % TABS.length
        : event.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length
          : event.key === 'Home' ? 0
            : event.key === 'End' ? TABS.length - 1
              : -1;
    if (to >= 0) {
      event.preventDefault();
      show(TABS[to].id, true);
    }
  };

  let body: JSX.Element;
  if (view.kind === 'run') {
    body = (
      <RunDetail id={view.id} revision={revision} settings={props.settings}
        onOpen={id => setView({ kind: 'run', id })}
        onOpenNotebook={props.openNotebook}
        onCompare={ids => setView({ kind: 'compare', ids })}
        onOpenNotebookDiff={props.openNotebookDiff}
        onBack={() => setView({ kind: 'runs' })} />
    );
  } else if (view.kind === 'compare') {
    body = (
      <Compare ids={view.ids} onOpenNotebookDiff={props.openNotebookDiff} onBack={() => setView({ kind: 'runs' })}
        settings={props.settings}
        onOpen={id => setView({ kind: 'run', id })} />
    );
  } else {
    body = <></>;
  }
  const panel = (id: Tab, children: React.ReactNode) => (
    <div
      className="jp-xtrack-tabpanel"
      role="tabpanel"
      id={`jp-xtrack-tabpanel-${id}`}
      aria-labelledby={`jp-xtrack-tab-${id}`}
      data-tab={id}
      style={{ display: tab === id ? 'flex' : 'none' }}
    >
      {visited.has(id) && children}
    </div>
  );
  return (
    <div className="jp-xtrack-app">
      <div className="jp-xtrack-tabs" role="tablist" aria-label="Experiment tracking" onKeyDown={onTabKey}>
        {TABS.map(t => (
          <button
            key={t.id}
            ref={el => {
              tabRefs.current[t.id] = el;
            }}
            role="tab"
            id={`jp-xtrack-tab-${t.id}`}
            className={`jp-xtrack-tab${tab === t.id ? ' jp-mod-current' : ''}`}
            aria-selected={tab === t.id}
            aria-controls={`jp-xtrack-tabpanel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            data-tab={t.id}
            onClick={() => show(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {feedError && (
        // One line: the views show the store's own error in full where it matters.
        <div className="jp-xtrack-error jp-xtrack-feed-error" title={feedError.message}>
          Live updates paused ({feedBrief(feedError)}); retrying every 5 s
        </div>
      )}
      {panel('runs', <>
      {/* The table stays mounted (hidden) so its scroll position and pages survive. */}
      <div className="jp-xtrack-view" style={{ display: view.kind === 'runs' ? 'flex' : 'none' }}>
        <RunsTable
          columns={settings.columns}
          groupBy={settings.groupBy}
          pageSize={settings.pageSize}
          revision={revision}
          onColumns={c => save('columns', c)}
          onGroupBy={g => save('groupBy', g)}
          onOpen={id => setView({ kind: 'run', id })}
          onCompare={ids => setView({ kind: 'compare', ids })}
          settings={props.settings}
          externalFilter={brushed}
          onClearExternalFilter={() => setBrushed(null)}
        />
      </div>
      {view.kind !== 'runs' && <div className="jp-xtrack-view">{body}</div>}
      </>)}
      {panel(
        'models',
        <ModelsView revision={revision} onOpenRun={id => {
          setView({ kind: 'run', id });
          show('runs');
        }} />
      )}
      {panel(
        'jobs',
        <JobsView
          revision={revision}
          active={tab === 'jobs'}
          isShown={props.isShown}
          expect={expected}
          onOpenRun={id => {
            setView({ kind: 'run', id });
            show('runs');
          }}
          onLaunch={() => show('launch')}
        />
      )}
      {panel(
        'launch',
        <LaunchView
          tracker={props.tracker}
          onStarted={job => {
            setExpected(job);
            show('jobs');
          }}
        />
      )}
    </div>
  );
}

/** A few words for the live-updates banner: what failed, not the full message. */
function feedBrief(error: ApiError): string {
  if (error.reason === 'store' || error.reason === 'no_store') {
    return 'the run store cannot be read';
  }
  if (error.reason === 'network') {
    return 'the Jupyter server cannot be reached';
  }
  const first = error.message.split(/[:\n]/)[0].trim();
  return first.length > 80 ? first.slice(0, 79) + '…' : first || `HTTP ${error.status}`;
}

/** Shows a notebook diff in its main-area tab: the open tab of the same pair and kind is
 * brought forward, otherwise a new one is added beside the notebooks. */
function notebookDiffOpener(
  app: JupyterFrontEnd,
  rendermime: IRenderMimeRegistry
): (diff: INotebookDiff) => void {
  const open = new Map<string, MainAreaWidget>();
  return diff => {
    const { id } = notebookDiffTab(diff);
    let tab = open.get(id);
    if (!tab || tab.isDisposed) {
      tab = createNbdimeDiffTab(diff, rendermime);
      tab.title.icon = xtrackIcon;
      open.set(id, tab);
      tab.disposed.connect(() => open.delete(id));
      app.shell.add(tab, 'main');
    }
    app.shell.activateById(tab.id);
  };
}

async function openNotebookAtCell(
  app: JupyterFrontEnd,
  path: string,
  cellId: string | null
): Promise<void> {
  const widget: any = await app.commands.execute('docmanager:open', { path });
  if (!cellId || !widget?.content) {
    return;
  }
  await widget.context?.ready;
  const notebook = widget.content;
  const index = notebook.widgets.findIndex((c: any) => c.model.id === cellId);
  if (index >= 0) {
    notebook.activeCellIndex = index;
    notebook.scrollToItem?.(index, 'center');
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Browse, compare and diff jupyter_xtrack runs in a sidebar.',
  autoStart: true,
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer, IRenderMimeRegistry, INotebookTracker],
  activate: async (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    rendermime: IRenderMimeRegistry | null,
    tracker: INotebookTracker | null
  ) => {
    let settings: ISettingRegistry.ISettings | null = null;
    if (registry) {
      try {
        settings = await registry.load(PLUGIN_ID);
      } catch (e) {
        console.warn('jupyter-xtrack: settings unavailable, columns will not be remembered', e);
      }
    }
    let shown: () => boolean = () => true;
    const widget = ReactWidget.create(
      <XTrackApp settings={settings}
        tracker={tracker}
        isShown={() => shown()}
        openNotebookDiff={rendermime ? notebookDiffOpener(app, rendermime) : null}
        openNotebook={(path, cell) => void openNotebookAtCell(app, path, cell)} />
    );
    shown = () => widget.isVisible;
    widget.id = 'jupyter-xtrack-sidebar';
    widget.title.icon = xtrackIcon;
    widget.title.caption = 'Experiment runs';
    widget.addClass('jp-xtrack-panel');
    app.shell.add(widget, 'left', { rank: 600 });
    restorer?.add(widget, widget.id);
    // Tells the run cards in notebooks that a sidebar can show their run (they then offer
    // "Open in sidebar"); the panel comes forward when one asks.
    document.body.dataset.xtrackSidebar = '1';
    window.addEventListener(OPEN_RUN_EVENT, () => app.shell.activateById(widget.id));

    app.commands.addCommand(COMMAND, {
      label: 'Show Experiment Runs',
      caption: 'Open the jupyter_xtrack runs sidebar',
      icon: xtrackIcon,
      execute: () => app.shell.activateById(widget.id)
    });
    palette?.addItem({ command: COMMAND, category: 'Experiment Tracking' });
    // Checked once so a missing server extension shows up in the browser console.
    requestAPI('status').catch(e => console.warn('jupyter-xtrack:', (e as Error).message));
  }
};

export default plugin;

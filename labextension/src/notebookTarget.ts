/**
 * The notebook the Launch tab targets and its kernel, kept current through the notebook
 * tracker's signals; and reading a cell's current source from that notebook.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import * as React from 'react';

/** The notebook the form targets and its kernel, kept current through the tracker's signals. */
export interface ITarget {
  panel: NotebookPanel | null;
  path: string | null;
  kernel: Kernel.IKernelConnection | null;
  kernelName: string;
  kernelStatus: string;
}

function readTarget(tracker: INotebookTracker | null): ITarget {
  const panel = tracker?.currentWidget ?? null;
  const session = panel?.sessionContext;
  const kernel = session?.session?.kernel ?? null;
  const status = kernel?.status ?? 'unknown';
  return {
    panel,
    path: panel?.context.path ?? null,
    kernel: kernel && status !== 'dead' ? kernel : null,
    kernelName: session?.kernelDisplayName ?? '',
    kernelStatus: status
  };
}

export function useTarget(tracker: INotebookTracker | null): ITarget {
  const [target, setTarget] = React.useState<ITarget>(() => readTarget(tracker));
  React.useEffect(() => {
    if (!tracker) {
      return;
    }
    let panel: NotebookPanel | null = null;
    const update = () => setTarget(readTarget(tracker));
    const watch = () => {
      if (panel) {
        panel.sessionContext.kernelChanged.disconnect(update);
        panel.sessionContext.statusChanged.disconnect(update);
        panel.context.pathChanged.disconnect(update);
      }
      panel = tracker.currentWidget;
      if (panel) {
        panel.sessionContext.kernelChanged.connect(update);
        panel.sessionContext.statusChanged.connect(update);
        panel.context.pathChanged.connect(update);
      }
      update();
    };
    watch();
    tracker.currentChanged.connect(watch);
    return () => {
      tracker.currentChanged.disconnect(watch);
      if (panel) {
        panel.sessionContext.kernelChanged.disconnect(update);
        panel.sessionContext.statusChanged.disconnect(update);
        panel.context.pathChanged.disconnect(update);
      }
    };
  }, [tracker]);
  return target;
}

/** The source of the cell with this id in the open notebook, or null when it has none. */
export function currentCellSource(panel: NotebookPanel | null, cellId: string): string | null {
  const cells = panel?.content.model?.cells;
  if (!cells) {
    return null;
  }
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.id === cellId) {
      return cell.sharedModel.getSource();
    }
  }
  return null;
}

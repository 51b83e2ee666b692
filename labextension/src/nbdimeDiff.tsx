/** The notebook diff drawn by nbdime's own JupyterLab widgets (cells, outputs and metadata
 * side by side, as nbdime's diff tool shows them), in a main-area tab: the ~250 px sidebar
 * is far too narrow for nbdime's two-column layout. */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import 'nbdime/lib/styles/variables.css';
import 'nbdime/lib/styles/common.css';
import 'nbdime/lib/styles/diff.css';
import { INotebookDiff, notebookDiffTab, notebookDiffSummary } from './model';

function message(text: string, className: string): Widget {
  const node = document.createElement('div');
  node.className = className;
  node.textContent = text;
  return new Widget({ node });
}

/** What the tab compares, in words (its tooltip and first line). */
function diffCaption(diff: INotebookDiff): string {
  if (diff.kind === 'git') {
    return `${diff.path}: HEAD → working tree when run #${diff.a.number} ${diff.a.name ?? ''} ran ` +
      '(sources and metadata; outputs are not stored)';
  }
  return `${diff.kind === 'lineage' ? 'Executed lineage' : 'Saved notebook'} of ` +
    `#${diff.a.number} ${diff.a.name ?? ''} → #${diff.b.number} ${diff.b.name ?? ''}`.trim();
}

/**
 * A closable main-area tab (not yet added to the shell) holding nbdime's diff of two runs'
 * notebooks, titled "Diff #a → #b" (or one notebook of a run's git diff, HEAD → working
 * tree, titled "#n name.ipynb (git diff)"). A diff nbdime cannot draw shows why in the tab instead
 * of throwing, so opening it never breaks the sidebar.
 */
export function createNbdimeDiffTab(
  diff: INotebookDiff,
  rendermime: IRenderMimeRegistry
): MainAreaWidget<Panel> {
  const content = new Panel();
  content.addClass('jp-xtrack-nbdime-tab');
  const { id, title } = notebookDiffTab(diff);
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = title;
  widget.title.caption = diffCaption(diff);
  widget.title.closable = true;
  widget.addClass('jp-xtrack-diff-tab');
  const head = diff.kind === 'git' ? diffCaption(diff) : title;
  content.addWidget(message(`${head}: ${notebookDiffSummary(diff)}`, 'jp-xtrack-muted jp-xtrack-diff-head'));
  const failed = (e: unknown) =>
    content.addWidget(message(`nbdime could not draw this diff: ${String(e)}`, 'jp-xtrack-error'));
  try {
    const model = new NotebookDiffModel(diff.base, diff.diff);
    const nbdime = new NotebookDiffWidget({ model, rendermime });
    nbdime.addClass('jp-xtrack-nbdime');
    content.addWidget(nbdime);
    nbdime.init().catch(failed);
  } catch (e) {
    failed(e);
  }
  return widget;
}

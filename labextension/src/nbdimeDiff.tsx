/** The notebook diff drawn by nbdime's own JupyterLab widgets (cells, outputs and metadata
 * side by side, as nbdime's diff tool shows them), embedded in the React compare view. */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import 'nbdime/lib/styles/variables.css';
import 'nbdime/lib/styles/common.css';
import 'nbdime/lib/styles/diff.css';
import * as React from 'react';
import { INotebookDiff } from './model';

export function NbdimeDiffView(props: {
  diff: INotebookDiff;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const [error, setError] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (!host.current) {
      return;
    }
    let widget: NotebookDiffWidget | null = null;
    try {
      const model = new NotebookDiffModel(props.diff.base, props.diff.diff);
      widget = new NotebookDiffWidget({ model, rendermime: props.rendermime });
      widget.addClass('jp-xtrack-nbdime');
      Widget.attach(widget, host.current);
      widget.init().catch(e => setError(String(e)));
    } catch (e) {
      setError(String(e));
    }
    return () => widget?.dispose();
  }, [props.diff, props.rendermime]);
  return (
    <div className="jp-xtrack-nbdiff">
      {error && <div className="jp-xtrack-error">nbdime could not draw this diff: {error}</div>}
      {!props.diff.changed && <div className="jp-xtrack-muted">The notebooks are the same.</div>}
      <div ref={host} />
    </div>
  );
}

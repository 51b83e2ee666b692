/** A run's git diff, one collapsible entry per file. A notebook's part of the diff was taken
 * between output-stripped versions (`GitFact.stripped_notebooks`), so it shows its cells'
 * sources, and "Open notebook diff" opens nbdime's view of its HEAD and working versions in a
 * main-area tab (the server's `runs/{id}/git/notebook-diff/{path}`). Used by the run detail
 * and by Compare's per-run git diffs. */
import * as React from 'react';
import { ApiError, quotePath, requestAPI } from './api';
import { IFileDiff, notebookSourceDiff, splitDiff } from './detailModel';
import { DiffText } from './highlight';
import { INotebookDiff, IRunDetail } from './model';

/** Opens nbdime's view of a notebook diff (a main-area tab); null where no renderers exist. */
export type NotebookDiffOpener = ((diff: INotebookDiff) => void) | null | undefined;

export interface IGitNotebook {
  path: string;
  base_hash: string | null;
  work_hash: string | null;
}

/** The notebooks of a run's git fact that nbdime can show (none in runs recorded before
 * notebooks were diffed stripped). */
export function gitNotebooks(git: IRunDetail['git']): Set<string> {
  const listed = (git?.stripped_notebooks ?? []) as unknown as IGitNotebook[];
  return new Set(Array.isArray(listed) ? listed.map(n => n.path) : []);
}

/** How many files a run's git diff changes ('' without a diff). */
export function gitFileCount(git: IRunDetail['git']): string | undefined {
  return git?.diff ? `${splitDiff(git.diff).length} files changed` : undefined;
}

/** The git diff of run `runId`, one collapsible entry per file. */
export function GitDiff(props: { runId: string; git: NonNullable<IRunDetail['git']>; onOpenNotebookDiff?: NotebookDiffOpener }): JSX.Element {
  const text = props.git.diff ?? '';
  const files = React.useMemo(() => splitDiff(text), [text]);
  const notebooks = React.useMemo(() => gitNotebooks(props.git), [props.git]);
  return (
    <div className="jp-xtrack-gitdiff">
      {files.map(f => (
        <FileDiff key={f.path} file={f} open={files.length === 1 || f.lines.length < 200} runId={props.runId}
          nbdime={notebooks.has(f.path) ? props.onOpenNotebookDiff : null} />
      ))}
    </div>
  );
}

function FileDiff(props: { file: IFileDiff; open: boolean; runId: string; nbdime: NotebookDiffOpener }): JSX.Element {
  const f = props.file;
  const [raw, setRaw] = React.useState(false);
  const source = React.useMemo(() => (f.notebook ? notebookSourceDiff(f.lines) : null), [f]);
  return (
    <details className="jp-xtrack-filediff" open={props.open} data-path={f.path}>
      <summary>
        {f.path} <span className="jp-xtrack-add-count">+{f.added}</span>{' '}
        <span className="jp-xtrack-del-count">−{f.removed}</span>
      </summary>
      {props.nbdime && <OpenNotebookDiff runId={props.runId} path={f.path} open={props.nbdime} />}
      {source && !raw ? (
        <>
          <div className="jp-xtrack-muted">
            cell sources{source.hidden ? `; ${source.hidden} changed lines of outputs and metadata hidden` : ''}{' '}
            <button className="jp-xtrack-link" onClick={() => setRaw(true)}>raw JSON diff</button>
          </div>
          <pre className="jp-xtrack-code jp-xtrack-nbsource">
            {source.lines.map((l, i) => (
              <div key={i} className={`jp-xtrack-${l.kind}`}>
                {l.kind === 'add' ? '+' : l.kind === 'del' ? '-' : l.kind === 'hunk' ? '' : ' '}
                {l.text || ' '}
              </div>
            ))}
          </pre>
        </>
      ) : (
        <DiffText text={f.lines.join('\n')} />
      )}
    </details>
  );
}

/** "Open notebook diff": asks the server for nbdime's diff of the notebook's HEAD and working
 * versions (outputs are not stored) and opens it; a refusal (too large, busy) shows why. */
function OpenNotebookDiff(props: { runId: string; path: string; open: (diff: INotebookDiff) => void }): JSX.Element {
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const onClick = () => {
    setBusy(true);
    setError(null);
    requestAPI<INotebookDiff>(`runs/${encodeURIComponent(props.runId)}/git/notebook-diff/${quotePath(props.path)}`).then(
      diff => {
        setBusy(false);
        props.open(diff);
      },
      e => {
        setBusy(false);
        setError((e as ApiError).message);
      }
    );
  };
  return (
    <div className="jp-xtrack-toolbar jp-xtrack-gitnb">
      <button className="jp-mod-styled" onClick={onClick} disabled={busy}
        title="nbdime's view of this notebook: HEAD → working tree, sources and metadata (outputs are not stored)">
        Open notebook diff
      </button>
      {busy && <span className="jp-xtrack-muted">diffing…</span>}
      {error && <span className="jp-xtrack-error">{error}</span>}
    </div>
  );
}

/** Compare's per-run git diffs: each dirty run's diff, fetched when its entry is opened. */
export function CompareGitDiffs(props: { runs: { id: string; label: string }[]; onOpenNotebookDiff?: NotebookDiffOpener }): JSX.Element | null {
  if (!props.runs.length) {
    return null;
  }
  return (
    <details className="jp-xtrack-section jp-xtrack-compare-gitdiffs">
      <summary>Git diffs ({props.runs.length} {props.runs.length === 1 ? 'run' : 'runs'} with uncommitted changes)</summary>
      {props.runs.map(r => <RunGitDiff key={r.id} id={r.id} label={r.label} onOpenNotebookDiff={props.onOpenNotebookDiff} />)}
    </details>
  );
}

function RunGitDiff(props: { id: string; label: string; onOpenNotebookDiff?: NotebookDiffOpener }): JSX.Element {
  const [run, setRun] = React.useState<IRunDetail | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const onToggle = (e: React.SyntheticEvent<HTMLDetailsElement>) => {
    if (e.currentTarget.open && !run && !error) {
      requestAPI<IRunDetail>(`runs/${encodeURIComponent(props.id)}`).then(setRun, e2 => setError((e2 as ApiError).message));
    }
  };
  return (
    <details className="jp-xtrack-filediff" data-run={props.id} onToggle={onToggle}>
      <summary>{props.label}{run?.git ? ` · ${gitFileCount(run.git) ?? 'no diff'}` : ''}</summary>
      {error && <div className="jp-xtrack-error">{error}</div>}
      {!run && !error && <div className="jp-xtrack-muted">loading…</div>}
      {run?.git?.diff ? <GitDiff runId={props.id} git={run.git} onOpenNotebookDiff={props.onOpenNotebookDiff} />
        : run && <div className="jp-xtrack-muted">no diff stored</div>}
    </details>
  );
}

/** The Models tab: registered models (searched by name part, k=v tag or @alias), and one
 * model's versions (each linked to the run that made it, with its metrics and data), its
 * aliases (moved or removed here, with a reason) and the append-only history of those moves.
 * Data: GET models, GET models/{name}, PUT and DELETE models/{name}/aliases/{alias}
 * (server/models.py). */
import * as React from 'react';
import { ApiError, requestAPI } from './api';
import { formatTime, formatValue, shortHash } from './format';
import { runLabel } from './model';
import {
  aliasMove,
  IModelDetail,
  IModelVersion,
  IRegisteredModel,
  jsonRequest,
  runSectionSelector
} from './registryModel';

export interface IModelsViewProps {
  /** Bumped by the change feed: reload what is shown. */
  revision: number;
  onOpenRun: (runId: string) => void;
}

export function ModelsView(props: IModelsViewProps): JSX.Element {
  const [query, setQuery] = React.useState('');
  const [models, setModels] = React.useState<IRegisteredModel[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [selected, setSelected] = React.useState<string | null>(null);

  React.useEffect(() => {
    let current = true;
    const q = query.trim() ? `?q=${encodeURIComponent(query.trim())}` : '';
    requestAPI<{ models: IRegisteredModel[] }>('models' + q).then(
      answer => current && (setModels(answer.models), setError(null)),
      e => current && setError((e as ApiError).message)
    );
    return () => {
      current = false;
    };
  }, [query, props.revision]);

  if (selected) {
    return (
      <ModelDetail name={selected} revision={props.revision} onOpenRun={props.onOpenRun}
        onBack={() => setSelected(null)} />
    );
  }
  return (
    <div className="jp-xtrack-models">
      <input className="jp-xtrack-models-search" type="search" value={query}
        placeholder="Search: name, team=risk, @champion" aria-label="Search models"
        onChange={e => setQuery(e.target.value)} />
      {error && <div className="jp-xtrack-error" role="alert">{error}</div>}
      {models !== null && models.length === 0 && !error && (
        <div className="jp-xtrack-muted jp-xtrack-models-empty">
          {query.trim() ? 'No model matches.' : <>No registered models yet: register one from a
            run's detail, or with <code>xt.register_model(run, "name")</code>.</>}
        </div>
      )}
      <ul className="jp-xtrack-model-list">
        {(models ?? []).map(m => (
          <li key={m.name} data-model={m.name}>
            <button className="jp-xtrack-link jp-xtrack-model-name" onClick={() => setSelected(m.name)}>
              {m.name}
            </button>
            <span className="jp-xtrack-muted">
              {m.versions} version{m.versions === 1 ? '' : 's'}
              {m.latest_version !== null && ` · latest v${m.latest_version}`}
            </span>
            <span className="jp-xtrack-model-aliases">
              {Object.entries(m.aliases).sort().map(([a, v]) => (
                <span key={a} className="jp-xtrack-badge jp-xtrack-alias">{a} v{v}</span>
              ))}
            </span>
            <Tags tags={m.tags} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function Tags(props: { tags: Record<string, string> }): JSX.Element | null {
  const entries = Object.entries(props.tags).sort();
  if (!entries.length) {
    return null;
  }
  return (
    <span className="jp-xtrack-model-tags">
      {entries.map(([k, v]) => <span key={k} className="jp-xtrack-tag">{k}={v}</span>)}
    </span>
  );
}

function ModelDetail(props: {
  name: string;
  revision: number;
  onOpenRun: (runId: string) => void;
  onBack: () => void;
}): JSX.Element {
  const [detail, setDetail] = React.useState<IModelDetail | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [reload, setReload] = React.useState(0);
  React.useEffect(() => {
    let current = true;
    requestAPI<IModelDetail>(`models/${encodeURIComponent(props.name)}`).then(
      answer => current && (setDetail(answer), setError(null)),
      e => current && setError((e as ApiError).message)
    );
    return () => {
      current = false;
    };
  }, [props.name, props.revision, reload]);

  return (
    <div className="jp-xtrack-models jp-xtrack-model-detail" data-model={props.name}>
      <div className="jp-xtrack-model-head">
        <button className="jp-xtrack-link" onClick={props.onBack}>← Models</button>
        <h3>{props.name}</h3>
      </div>
      {error && <div className="jp-xtrack-error" role="alert">{error}</div>}
      {detail && (
        <>
          {detail.model.description && <div className="jp-xtrack-muted">{detail.model.description}</div>}
          <Tags tags={detail.model.tags} />
          <AliasForm detail={detail} onMoved={() => setReload(r => r + 1)} />
          <h4>Versions</h4>
          <ul className="jp-xtrack-version-list">
            {detail.versions.map(v => <VersionRow key={v.version} version={v} onOpenRun={props.onOpenRun} />)}
          </ul>
          {detail.more_versions > 0 && (
            <div className="jp-xtrack-muted">and {detail.more_versions} older versions (xt.model_versions lists all)</div>
          )}
          <h4>Alias history</h4>
          {detail.history.length === 0 && <div className="jp-xtrack-muted">No alias was ever set.</div>}
          <ol className="jp-xtrack-alias-history">
            {[...detail.history].reverse().map((h, i) => (
              <li key={i} data-alias={h.alias}>
                <span className="jp-xtrack-badge jp-xtrack-alias">{h.alias}</span>
                <span className="jp-xtrack-alias-move">{aliasMove(h)}</span>
                <span className="jp-xtrack-muted">{h.user ?? '?'} · {formatTime(h.at)}</span>
                {h.reason && <span className="jp-xtrack-alias-reason">{h.reason}</span>}
                {h.evaluation && (
                  <button className="jp-xtrack-link" onClick={() => props.onOpenRun(h.evaluation!)}
                    title="Open the evaluation run behind this move">
                    evaluation {shortHash(h.evaluation)}
                  </button>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function VersionRow(props: { version: IModelVersion; onOpenRun: (runId: string) => void }): JSX.Element {
  const v = props.version;
  const run = v.run;
  const metrics = run ? Object.entries(run.metrics).filter(([k]) => !k.startsWith('system/')).slice(0, 6) : [];
  return (
    <li className="jp-xtrack-version" data-version={v.version}>
      <div className="jp-xtrack-version-head">
        <strong>v{v.version}</strong>
        {v.aliases.map(a => <span key={a} className="jp-xtrack-badge jp-xtrack-alias">{a}</span>)}
        {run ? (<>
          <button className="jp-xtrack-link jp-xtrack-version-run" onClick={() => props.onOpenRun(run.id)}
            title="Open the run that made this version">
            run {runLabel(run)}
          </button>
          {run.evaluated && (
            <button className="jp-xtrack-link jp-xtrack-version-evaluation-link"
              onClick={() => openRunAt(props.onOpenRun, run.id, 'evaluation')}
              title="Open the run's evaluation report">
              evaluation
            </button>
          )}
          <button className="jp-xtrack-link jp-xtrack-version-data-link"
            onClick={() => openRunAt(props.onOpenRun, run.id, 'data')}
            title="Open the data the run read">
            data
          </button>
        </>) : (
          <span className="jp-xtrack-muted">run {v.run_id ? 'deleted' : 'unknown'}</span>
        )}
        <span className="jp-xtrack-muted">{v.artifact} · {v.user ?? '?'} · {formatTime(v.created_at)}</span>
      </div>
      {metrics.length > 0 && (
        <div className="jp-xtrack-version-metrics">
          {metrics.map(([k, value]) => <span key={k}>{k} <strong>{formatValue(value)}</strong></span>)}
        </div>
      )}
      {run && (run.inputs.length > 0 || run.datasets.length > 0) && (
        <div className="jp-xtrack-version-data">
          {run.inputs.map(f => (
            <span key={f.path} title={f.hash ?? 'not hashed'}>{f.path} {shortHash(f.hash)}</span>
          ))}
          {run.datasets.map((d, i) => (
            <span key={`d${i}`} title={d.hash ?? ''}>{d.name} {shortHash(d.hash ?? null)}</span>
          ))}
        </div>
      )}
    </li>
  );
}

/** Open a run's detail and bring one of its sections (`data-section`) into view, open. The
 * detail renders after its fetch, and its charts above the section load later still and
 * push it down: so keep it in view while the page settles (watching DOM changes, at most
 * `SETTLE_MS`), then let the user scroll. */
const SETTLE_MS = 3000;

function openRunAt(onOpenRun: (runId: string) => void, runId: string, section: string): void {
  onOpenRun(runId);
  const selector = runSectionSelector(runId, section);
  let opened = false;
  const reveal = (): void => {
    const found = document.querySelector<HTMLDetailsElement>(selector);
    if (found) {
      if (!opened) {
        found.open = true;
        opened = true;
      }
      found.scrollIntoView({ block: 'start' });
    }
  };
  const observer = new MutationObserver(reveal);
  observer.observe(document.body, { childList: true, subtree: true });
  window.setTimeout(() => {
    observer.disconnect();
    reveal();
  }, SETTLE_MS);
  reveal();
}

/** Move (or set) an alias: version, reason, and the evaluation run behind it (optional). */
function AliasForm(props: { detail: IModelDetail; onMoved: () => void }): JSX.Element {
  const { detail } = props;
  const [alias, setAlias] = React.useState('champion');
  const [version, setVersion] = React.useState<number>(detail.model.latest_version ?? 1);
  const [reason, setReason] = React.useState('');
  const [message, setMessage] = React.useState<{ text: string; error: boolean } | null>(null);
  const move = async () => {
    try {
      await requestAPI(
        `models/${encodeURIComponent(detail.model.name)}/aliases/${encodeURIComponent(alias.trim())}`,
        jsonRequest('PUT', { version, ...(reason.trim() ? { reason: reason.trim() } : {}) })
      );
      setMessage({ text: `${alias.trim()} → v${version}`, error: false });
      setReason('');
      props.onMoved();
    } catch (e) {
      setMessage({ text: (e as ApiError).message, error: true });
    }
  };
  const remove = async () => {
    const name = alias.trim();
    const why = reason.trim() ? `?reason=${encodeURIComponent(reason.trim())}` : '';
    try {
      await requestAPI(
        `models/${encodeURIComponent(detail.model.name)}/aliases/${encodeURIComponent(name)}${why}`,
        { method: 'DELETE' }
      );
      setMessage({ text: `${name} removed`, error: false });
      setReason('');
      props.onMoved();
    } catch (e) {
      setMessage({ text: (e as ApiError).message, error: true });
    }
  };
  return (
    <div className="jp-xtrack-alias-form">
      <h4>Aliases</h4>
      <div className="jp-xtrack-model-aliases">
        {Object.entries(detail.model.aliases).sort().map(([a, v]) => (
          <span key={a} className="jp-xtrack-badge jp-xtrack-alias">{a} v{v}</span>
        ))}
        {Object.keys(detail.model.aliases).length === 0 && <span className="jp-xtrack-muted">none</span>}
      </div>
      <div className="jp-xtrack-alias-inputs">
        <input value={alias} aria-label="Alias" list="jp-xtrack-alias-names" size={10}
          onChange={e => setAlias(e.target.value)} />
        <datalist id="jp-xtrack-alias-names">
          {Object.keys(detail.model.aliases).map(a => <option key={a} value={a} />)}
        </datalist>
        <select value={version} aria-label="Version" onChange={e => setVersion(Number(e.target.value))}>
          {detail.versions.map(v => <option key={v.version} value={v.version}>v{v.version}</option>)}
        </select>
        <input value={reason} aria-label="Reason" placeholder="why (kept in the history)"
          onChange={e => setReason(e.target.value)} />
        <button className="jp-mod-styled jp-mod-accept" disabled={!alias.trim()} onClick={() => void move()}>
          Move alias
        </button>
        <button className="jp-mod-styled jp-mod-warn" disabled={!(alias.trim() in detail.model.aliases)}
          title="Remove this alias (the removal and the reason are kept in the history)"
          onClick={() => void remove()}>
          Delete alias
        </button>
      </div>
      {message && (
        <div className={message.error ? 'jp-xtrack-error' : 'jp-xtrack-muted'} role="status">{message.text}</div>
      )}
    </div>
  );
}

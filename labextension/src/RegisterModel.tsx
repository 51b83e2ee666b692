/** The run detail's "Register model" form: shown when the run has a model-like artifact
 * (or versions registered from it), it registers one as the next version of a model and
 * lists the versions the run already is. Data: GET runs/{id}/models, POST models. */
import * as React from 'react';
import { ApiError, requestAPI } from './api';
import { IModelVersion, IRunModels, jsonRequest } from './registryModel';

export function RegisterModel(props: { runId: string; revision: number }): JSX.Element | null {
  const [info, setInfo] = React.useState<IRunModels | null>(null);
  const [name, setName] = React.useState('');
  const [artifact, setArtifact] = React.useState('');
  const [alias, setAlias] = React.useState('');
  const [message, setMessage] = React.useState<{ text: string; error: boolean } | null>(null);
  const [reload, setReload] = React.useState(0);
  React.useEffect(() => {
    let current = true;
    requestAPI<IRunModels>(`runs/${encodeURIComponent(props.runId)}/models`).then(
      answer => {
        if (current) {
          setInfo(answer);
          setArtifact(a => a || answer.candidates[0] || '');
        }
      },
      () => current && setInfo(null)
    );
    return () => {
      current = false;
    };
  }, [props.runId, props.revision, reload]);
  if (!info || (info.candidates.length === 0 && info.versions.length === 0)) {
    return null;
  }
  const register = async () => {
    try {
      const v = await requestAPI<IModelVersion>('models', jsonRequest('POST', {
        run: props.runId,
        name: name.trim(),
        artifact,
        ...(alias.trim() ? { aliases: [alias.trim()] } : {})
      }));
      setMessage({ text: `Registered ${v.name} v${v.version}: see the Models tab.`, error: false });
      setReload(r => r + 1);
    } catch (e) {
      setMessage({ text: (e as ApiError).message, error: true });
    }
  };
  return (
    <details className="jp-xtrack-section" open data-section="register-model">
      <summary>Model registry</summary>
      <div className="jp-xtrack-section-body jp-xtrack-register">
        {info.versions.length > 0 && (
          <div className="jp-xtrack-register-versions">
            Registered as{' '}
            {info.versions.map(v => (
              <span key={`${v.name}/${v.version}`} className="jp-xtrack-badge jp-xtrack-alias">
                {v.name} v{v.version}{v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}
              </span>
            ))}
          </div>
        )}
        {info.candidates.length > 0 && (
          <div className="jp-xtrack-register-form">
            {info.candidates.length > 1 && (
              <select value={artifact} aria-label="Artifact" onChange={e => setArtifact(e.target.value)}>
                {info.candidates.map(c => <option key={c} value={c}>{c}</option>)}
              </select>
            )}
            <input value={name} aria-label="Model name" placeholder="model name" size={12}
              onChange={e => setName(e.target.value)} />
            <input value={alias} aria-label="Alias" placeholder="alias (optional)" size={10}
              onChange={e => setAlias(e.target.value)} />
            <button className="jp-mod-styled jp-mod-accept" disabled={!name.trim()}
              title={`Register ${artifact} as the next version of the model`}
              onClick={() => void register()}>
              Register model
            </button>
          </div>
        )}
        {message && (
          <div className={message.error ? 'jp-xtrack-error' : 'jp-xtrack-muted'} role="status">{message.text}</div>
        )}
      </div>
    </details>
  );
}

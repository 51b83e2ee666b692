/** A small Python highlighter that returns React text spans (never HTML strings), and the
 * inline mark a param carries when it is not a plain setting. */
import * as React from 'react';

const TOKEN =
  /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|\b(False|None|True|and|as|assert|async|await|break|class|continue|def|del|elif|else|except|finally|for|from|global|if|import|in|is|lambda|nonlocal|not|or|pass|raise|return|try|while|with|yield)\b|(\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)|(^%%?\w+)/gm;

/** `code` split into spans classed comment/string/keyword/number/magic. */
export function highlightPython(code: string): JSX.Element[] {
  const out: JSX.Element[] = [];
  let last = 0;
  let key = 0;
  for (const m of code.matchAll(TOKEN)) {
    const start = m.index ?? 0;
    if (start > last) {
      out.push(<React.Fragment key={key++}>{code.slice(last, start)}</React.Fragment>);
    }
    const cls = m[1] ? 'comment' : m[2] ? 'string' : m[3] ? 'keyword' : m[4] ? 'number' : 'magic';
    out.push(<span key={key++} className={`jp-xtrack-hl-${cls}`}>{m[0]}</span>);
    last = start + m[0].length;
  }
  if (last < code.length) {
    out.push(<React.Fragment key={key++}>{code.slice(last)}</React.Fragment>);
  }
  return out;
}

/** A unified diff with added/removed lines coloured. */
export function DiffText(props: { text: string }): JSX.Element {
  if (!props.text) {
    return <div className="jp-xtrack-muted">(identical)</div>;
  }
  return (
    <pre className="jp-xtrack-code">
      {props.text.split('\n').map((line, i) => (
        <div key={i} className={
          line.startsWith('+') ? 'jp-xtrack-add' : line.startsWith('-') ? 'jp-xtrack-del'
            : line.startsWith('@@') ? 'jp-xtrack-hunk' : ''}>
          {line || ' '}
        </div>
      ))}
    </pre>
  );
}

/** A param's marks after its value ("↻ varies", "(repr)"), what they mean on hover. */
export function ParamMarkTag(props: { mark?: { text: string; help: string } | null }): JSX.Element | null {
  return props.mark ? <span className="jp-xtrack-mark" title={props.mark.help}> {props.mark.text}</span> : null;
}

/**
 * The Launch forms' generic parts: a labelled field with its error, text and choice inputs,
 * a refresh button and the whole-form error.
 */
import * as React from 'react';

/** A labelled form field with its error (from the form's checks or the kernel's) below it. */
export function Field(props: {
  id: string;
  label: string;
  error?: string;
  hint?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div className={`jp-xtrack-field${props.error ? ' jp-mod-invalid' : ''}`} data-field={props.id}>
      <label htmlFor={`jp-xtrack-launch-${props.id}`}>{props.label}</label>
      {props.children}
      {props.hint && !props.error && <div className="jp-xtrack-field-hint">{props.hint}</div>}
      {props.error && (
        <div className="jp-xtrack-field-error" id={`jp-xtrack-launch-${props.id}-error`} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

/** A one-line text input in its Field. */
export function TextField(props: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  value: string;
  placeholder?: string;
  numeric?: boolean;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <Field id={props.id} label={props.label} error={props.error} hint={props.hint}>
      <input
        {...inputProps(props.id, props.error)}
        className="jp-mod-styled"
        inputMode={props.numeric ? 'numeric' : undefined}
        value={props.value}
        placeholder={props.placeholder}
        onChange={e => props.onChange(e.target.value)}
      />
    </Field>
  );
}

/** A select in its Field; `choices` are [value, label] pairs, `blank` an optional first one. */
export function ChoiceField(props: {
  id: string;
  label: string;
  error?: string;
  value: string;
  choices: [string, string][];
  blank?: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <Field id={props.id} label={props.label} error={props.error}>
      <select
        {...inputProps(props.id, props.error)}
        value={props.value}
        onChange={e => props.onChange(e.target.value)}
      >
        {props.blank !== undefined && <option value="">{props.blank}</option>}
        {props.choices.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** Asks the kernel for a list again. */
export function RefreshButton(props: {
  busy: boolean;
  title: string;
  onClick: () => Promise<void> | void;
}): JSX.Element {
  return (
    <button
      type="button"
      className="jp-mod-styled jp-xtrack-refresh"
      disabled={props.busy}
      onClick={() => void props.onClick()}
      title={props.title}
    >
      {props.busy ? 'Refreshing…' : 'Refresh'}
    </button>
  );
}

/** The errors that belong to no field, for the whole form. */
export function FormError(props: { text: string | null }): JSX.Element | null {
  return props.text ? (
    <div className="jp-xtrack-error jp-xtrack-form-error" role="alert">
      {props.text}
    </div>
  ) : null;
}

/** Props that tie an input to its Field: id, and the error's description when there is one. */
export function inputProps(id: string, error?: string) {
  return {
    id: `jp-xtrack-launch-${id}`,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? `jp-xtrack-launch-${id}-error` : undefined
  };
}

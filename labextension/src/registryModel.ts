/** The model registry's REST shapes (server/openapi.yaml: RegisteredModel, ModelVersion,
 * AliasChange, ModelDetail, RunModels) and the small pure helpers its views share. */

export interface IRegisteredModel {
  name: string;
  description: string | null;
  created_at: number;
  updated_at: number;
  user: string | null;
  latest_version: number | null;
  versions: number;
  tags: Record<string, string>;
  aliases: Record<string, number>;
}

export interface IVersionRun {
  id: string;
  number: number;
  name: string | null;
  experiment: string;
  status: string;
  metrics: Record<string, number | string | null>;
  inputs: { path: string; hash: string | null; size: number | null }[];
  datasets: { name?: string; kind?: string; shape?: unknown; hash?: string | null }[];
  /** The run carries an evaluation report (its detail has an Evaluation section). */
  evaluated: boolean;
}

export interface IModelVersion {
  name: string;
  version: number;
  run_id: string | null;
  artifact: string | null;
  blob: string;
  size: number | null;
  format: string | null;
  description: string | null;
  created_at: number;
  user: string | null;
  tags: Record<string, string>;
  aliases: string[];
  run?: IVersionRun | null;
}

export interface IAliasChange {
  name: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  user: string | null;
  at: number;
  reason: string | null;
  evaluation: string | null;
}

export interface IModelDetail {
  model: IRegisteredModel;
  versions: IModelVersion[];
  more_versions: number;
  history: IAliasChange[];
}

export interface IRunModels {
  candidates: string[];
  versions: IModelVersion[];
}

/** "2 → 3", "new → 1", "1 → removed": one alias change's move. */
export function aliasMove(change: IAliasChange): string {
  const from = change.from_version === null ? 'new' : `v${change.from_version}`;
  const to = change.to_version === null ? 'removed' : `v${change.to_version}`;
  return `${from} → ${to}`;
}

/** The JSON request init of a registry write. */
export function jsonRequest(method: 'POST' | 'PUT', body: unknown): RequestInit {
  return { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

/** The CSS selector of one section (`data-section`) of a run's open detail. */
export function runSectionSelector(runId: string, section: string): string {
  return `.jp-xtrack-detail[data-run-id="${quoted(runId)}"] [data-section="${quoted(section)}"]`;
}

/** `value` inside a double-quoted CSS string: its quotes and backslashes escaped. */
function quoted(value: string): string {
  return value.replace(/["\\]/g, '\\$&');
}

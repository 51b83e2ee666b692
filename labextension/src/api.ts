/** Typed access to the xtrack server extension's REST API (`server/openapi.yaml`). */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An error answer of the API: `message` names the problem and the fix. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly position?: number,
    readonly filter?: string
  ) {
    super(message);
  }
}

/** The URL of an API path (for <img src> and downloads, which send the login cookie). */
export function apiUrl(path: string, settings = ServerConnection.makeSettings()): string {
  return URLExt.join(settings.baseUrl, 'xtrack', 'api', path);
}

/** Call `path` of the API and return its JSON as T; ApiError on any failure. */
export async function requestAPI<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(path, settings), init, settings);
  } catch (error) {
    throw new ApiError(`cannot reach the Jupyter server (${String(error)})`, 0, 'network');
  }
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text.slice(0, 200) };
  }
  if (!response.ok) {
    if (response.status === 404 && !body?.reason) {
      throw new ApiError(
        'the xtrack server extension is not running: restart JupyterLab after installing jupyter_xtrack',
        404,
        'no_extension'
      );
    }
    throw new ApiError(
      body?.message ?? response.statusText,
      response.status,
      body?.reason ?? 'http',
      body?.position,
      body?.filter
    );
  }
  return body as T;
}

/** Path segments quoted for a URL (artifact names may hold slashes, kept as separators). */
export function quotePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

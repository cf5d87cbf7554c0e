/**
 * A small JSON client for the Fenxiao API: bearer token, one error type carrying the API's
 * `{"error":{"code","message"}}`, and a hook for 401 so an expired session goes back to login.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface ApiClient {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
  /** Sends a file as multipart/form-data (field "file"). */
  upload<T>(method: 'POST' | 'PUT', path: string, file: Blob, fields?: Record<string, string>): Promise<T>;
  /** Binary content (documents, posters) with the bearer token. */
  blob(path: string, query?: Query): Promise<Blob>;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json() as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}

export function createApiClient(options: { token: () => string | null; onUnauthorized: () => void }): ApiClient {
  async function send(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
    const token = options.token();
    const headers: Record<string, string> = { accept: 'application/json', ...(init.headers ?? {}) };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(path, { method, headers, body: init.body ?? null, credentials: 'same-origin' });
    if (!res.ok) {
      const err = await errorOf(res);
      if (res.status === 401 && token) options.onUnauthorized();
      throw err;
    }
    return res;
  }

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await send(method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (res.status === 204) return undefined as T;
    return await res.json() as T;
  }

  return {
    get: (path, query) => json('GET', withQuery(path, query)),
    post: (path, body) => json('POST', path, body),
    put: (path, body) => json('PUT', path, body),
    patch: (path, body) => json('PATCH', path, body),
    del: (path) => json('DELETE', path),
    async upload(method, path, file, fields) {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields ?? {})) form.append(k, v);
      form.append('file', file);
      const res = await send(method, path, { body: form });
      return await res.json();
    },
    async blob(path, query) {
      const res = await send('GET', withQuery(path, query));
      return await res.blob();
    },
  };
}

/** Saves a blob under a file name through a temporary link (works for images and documents). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

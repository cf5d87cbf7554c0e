/**
 * A small JSON client for the Fenxiao API: bearer token, one error type carrying the API's
 * `{"error":{"code","message"}}`, and a hook for 401 so an expired session goes back to login.
 */
import { readStoredLang } from './i18n.tsx';

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

/** A list is sent as the parameter repeated, once per value (`?id=a&id=b`). */
export type Query = Record<string, string | number | boolean | readonly string[] | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const x of v as readonly string[]) params.append(k, x);
    else if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface ApiClient {
  get<T>(path: string, query?: Query): Promise<T>;
  /** `headers` carries e.g. an Idempotency-Key. */
  post<T>(path: string, body?: unknown, options?: { headers?: Record<string, string> }): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
  /** Sends a file as multipart/form-data (field "file"). */
  upload<T>(method: 'POST' | 'PUT', path: string, file: Blob, fields?: Record<string, string>): Promise<T>;
  /** Binary content (documents, posters) with the bearer token. */
  blob(path: string, query?: Query): Promise<Blob>;
  /** A file download with the name the server gave it (Content-Disposition), else `fallback`. */
  file(path: string, fallback: string, query?: Query): Promise<{ blob: Blob; filename: string }>;
}

/** The file name of a Content-Disposition header: RFC 5987 `filename*` first, then `filename`. */
export function filenameOf(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)/.exec(disposition);
  return (plain?.[1] ?? plain?.[2]?.trim()) || fallback;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message);
}

export function createApiClient(options: { token: () => string | null; onUnauthorized: () => void }): ApiClient {
  async function send(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
    const token = options.token();
    // The API answers its error messages in the language the page shows (issue 16 item 8).
    const headers: Record<string, string> = { accept: 'application/json', 'accept-language': readStoredLang(), ...(init.headers ?? {}) };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(path, { method, headers, body: init.body ?? null, credentials: 'same-origin' });
    if (!res.ok) {
      const err = await errorOf(res);
      if (res.status === 401 && token) options.onUnauthorized();
      throw err;
    }
    return res;
  }

  async function json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await send(
      method,
      path,
      body === undefined ? { headers } : { body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } },
    );
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  return {
    get: (path, query) => json('GET', withQuery(path, query)),
    post: (path, body, options) => json('POST', path, body, options?.headers),
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
    async file(path, fallback, query) {
      const res = await send('GET', withQuery(path, query));
      return { blob: await res.blob(), filename: filenameOf(res.headers.get('content-disposition'), fallback) };
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

/**
 * A response with a non-2xx status, thrown by the default query and mutation functions of
 * `createAuthedQueryClient` (and by `readResponse`). Carries no request headers, so never a token.
 */
export class HttpError extends Error {
  /** The HTTP status, e.g. 404. */
  readonly status: number;
  /** The HTTP status text, e.g. 'Not Found' (often empty over HTTP/2). */
  readonly statusText: string;
  /** The URL that was requested. */
  readonly url: string;
  /** The response body: parsed JSON when the server sent JSON, else the text; null when empty. */
  readonly body: unknown;
  constructor(init: { status: number; statusText?: string; url: string; body?: unknown }) {
    super(`HTTP ${init.status}${init.statusText ? ` ${init.statusText}` : ''} for ${init.url}`);
    this.name = 'HttpError';
    this.status = init.status;
    this.statusText = init.statusText ?? '';
    this.url = init.url;
    this.body = init.body ?? null;
  }
}

/** True for an `HttpError` (a non-2xx response of the authed query client's default functions). */
export function isHttpError(value: unknown): value is HttpError {
  return value instanceof HttpError;
}

/**
 * Reads a response the way the default query functions do: throws `HttpError` for a non-2xx status; returns parsed
 * JSON for a JSON content type, the text for anything else, and null for an empty body (TanStack Query does not
 * accept `undefined` as data).
 */
export async function readResponse<T = unknown>(response: Response, url: string = response.url): Promise<T> {
  const text = response.status === 204 || response.status === 205 ? '' : await response.text();
  const isJson = /[/+]json\b/i.test(response.headers.get('content-type') ?? '');
  let body: unknown = text === '' ? null : text;
  if (isJson && text !== '') {
    try {
      body = JSON.parse(text);
    } catch (cause) {
      if (response.ok) throw new SyntaxError(`Invalid JSON in the response from ${url}`, { cause });
      // An error status with a broken body: the status is what matters, keep the raw text.
    }
  }
  if (!response.ok) throw new HttpError({ status: response.status, statusText: response.statusText, url, body });
  return body as T;
}

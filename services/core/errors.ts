/** The base error of the platform: every error says what it is and whether a retry can help. */
export class AppError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  /** HTTP status when this error leaves the API. */
  readonly status: number;
  /** Per-field problems for validation errors. */
  readonly errors?: { field: string; message: string }[];
  readonly headers?: Record<string, string>;
  /** Extra members of the problem body (RFC 9457 extensions), e.g. the `missing` parts of an upload. */
  readonly extensions?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    opts: {
      retriable?: boolean;
      status?: number;
      cause?: unknown;
      errors?: { field: string; message: string }[];
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.status = opts.status ?? 500;
    this.errors = opts.errors;
    this.headers = opts.headers;
    this.extensions = opts.extensions;
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`, { status: 404 });
export const conflict = (message: string) => new AppError('conflict', message, { status: 409 });
export const unauthorized = (message = 'a valid bearer token is required') =>
  new AppError('unauthorized', message, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });
export const forbidden = (message: string) => new AppError('forbidden', message, { status: 403 });
export const badRequest = (message: string, errors?: { field: string; message: string }[]) =>
  new AppError('validation_failed', message, { status: 400, errors });
export const unavailable = (message: string, cause?: unknown) =>
  new AppError('unavailable', message, { status: 503, retriable: true, cause, headers: { 'Retry-After': '1' } });

/** Whether an unknown error is worth retrying. Unknown errors are assumed transient. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof AppError) return err.retriable;
  return true;
}

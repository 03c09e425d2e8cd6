import type { Problem } from '../core/problem.ts';
import { CliError, EXIT, type ExitCode } from './cli-error.ts';
import { describeProblem, parseProblem } from './problem-detail.ts';

/** What an answer's status means for the person at the terminal. */
function exitFor(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 502 || status === 503 || status === 504) return EXIT.unavailable;
  return EXIT.error;
}

function hintFor(status: number, headers: Headers): string | undefined {
  if (status === 401) return "log in again: 'chat4all login'";
  if (status === 429) return `the API is rate limiting: try again${headers.get('retry-after') ? ` in ${headers.get('retry-after')} s` : ' later'}`;
  if (status === 503) return "the platform is not ready: 'chat4all status' shows what is down";
  return undefined;
}

/**
 * The one HTTP client of the CLI's commands for people: JSON in and out, the bearer token, and
 * every failure turned into a `CliError` with the problem's detail and the right exit code.
 */
export class HttpClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
    private readonly timeoutMs = 15_000,
  ) {}

  /** Sends one request; resolves with the parsed body (undefined for 204), throws `CliError` otherwise. `timeoutMs` overrides the client's for a slow call. */
  async request<T>(method: string, path: string, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    const res = await this.send(method, path, body, opts);
    const text = await res.text();
    if (!res.ok) throw this.failure(method, path, res.status, res.headers, text);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`${method} ${path}: the API answered ${res.status} with a body that is not JSON`, EXIT.error);
    }
  }

  /** The raw answer, for callers that look at the status themselves (health checks); never throws on a status. */
  async send(method: string, path: string, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<Response> {
    const url = `${this.baseUrl.replace(/\/$/, '')}${path}`;
    try {
      return await fetch(url, {
        method,
        headers: {
          accept: 'application/json, application/problem+json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new CliError(`cannot reach the API at ${this.baseUrl} (${cause})`, EXIT.unavailable, {
        hint: "is the platform running ('make up')? Point the CLI elsewhere with --api URL or CHAT4ALL_API",
      });
    }
  }

  private failure(method: string, path: string, status: number, headers: Headers, text: string): CliError {
    const problem = parseProblem(text);
    const message = problem ? describeProblem(problem, `${status}`) : text.trim() || `answered ${status}`;
    return new CliError(message, exitFor(status), {
      hint: hintFor(status, headers),
      problem: { type: 'about:blank', title: '', detail: message, ...(problem ?? {}), status } as Problem,
    });
  }
}

/** Whether a failed request met a route the API does not have yet (its 404 names no route). */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof CliError && err.exitCode === EXIT.notFound && /^no route for /.test(err.extra.problem?.detail ?? '');
}

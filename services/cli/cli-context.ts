import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, EXIT, usageError } from './cli-error.ts';
import { configDir, readSession, type Session } from './config-dir.ts';
import { HttpClient } from './http-client.ts';
import type { ProgressSink } from './progress-bar.ts';

export const DEFAULT_API = 'http://127.0.0.1:8080';
export const DEFAULT_GATEWAY = 'ws://127.0.0.1:8081/v1/stream';

/** The outside world of a command: injected, so tests run commands in-process. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout(line: string): void;
  stderr(line: string): void;
  /** All of standard input (for `--password-stdin`). */
  readStdin(): Promise<string>;
  /** Asks a question on the terminal; `hidden` does not echo what is typed. Absent when not interactive. */
  prompt?(question: string, hidden: boolean): Promise<string>;
  /** Registers what a long-running command does on Ctrl-C (stop cleanly); without one, Ctrl-C exits. */
  onInterrupt?(stop: () => void): void;
  /** Where progress bars draw (standard error: redrawn in place on a terminal). Absent: plain lines through `stderr`. */
  progress?: ProgressSink;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command for people takes. */
export const GLOBAL_OPTIONS = {
  api: { type: 'string' },
  gateway: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** Parses a command's flags (strictly: an unknown flag is a usage error, exit 2). */
export function parseFlags<O extends Options>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError((err as Error).message, usage);
  }
}

/** Where a command talks to, who it is, and how it prints. */
export class CliContext {
  /** The config dir (session, cursors). */
  readonly dir: string;
  readonly json: boolean;
  /** The API's base URL, without a trailing slash. */
  readonly api: string;
  /** The gateway's WebSocket URL. */
  readonly gateway: string;
  private readonly saved: Session | null;

  constructor(
    readonly io: CliIo,
    flags: { api?: string; gateway?: string; json?: boolean },
  ) {
    this.dir = configDir(io.env);
    this.json = flags.json === true;
    this.saved = readSession(this.dir);
    this.api = (flags.api ?? io.env.CHAT4ALL_API ?? this.saved?.api ?? DEFAULT_API).replace(/\/$/, '');
    this.gateway = flags.gateway ?? io.env.CHAT4ALL_GATEWAY ?? DEFAULT_GATEWAY;
    for (const [name, url, schemes] of [
      ['--api', this.api, ['http:', 'https:']],
      ['--gateway', this.gateway, ['ws:', 'wss:']],
    ] as const) {
      let ok = false;
      try {
        ok = (schemes as readonly string[]).includes(new URL(url).protocol);
      } catch {
        ok = false;
      }
      if (!ok) throw usageError(`${name} ${url} is not a ${schemes.join(' or ')} URL`);
    }
  }

  /** The logged-in session (CHAT4ALL_TOKEN wins, for scripts); exit 3 when there is none or it expired. */
  session(): Session {
    const token = this.io.env.CHAT4ALL_TOKEN;
    if (token) {
      const claims = decodeClaims(token);
      return { api: this.api, username: '', user_id: claims.sub ?? '', access_token: token, expires_at: new Date((claims.exp ?? 0) * 1000).toISOString() };
    }
    const s = this.saved;
    if (!s) throw new CliError('you are not logged in', EXIT.auth, { hint: "run 'chat4all login' (or set CHAT4ALL_TOKEN)" });
    if (Date.parse(s.expires_at) <= Date.now()) {
      throw new CliError(`your session as ${s.username} expired at ${s.expires_at}`, EXIT.auth, { hint: "log in again: 'chat4all login'" });
    }
    return s;
  }

  /** An HTTP client for the API; with the session's token unless `anonymous`. */
  client(anonymous = false): HttpClient {
    return new HttpClient(this.api, anonymous ? undefined : this.session().access_token);
  }

  /** Prints `data` as one JSON line with `--json`, else the human lines. */
  print(data: unknown, human: string | string[]): void {
    if (this.json) this.io.stdout(JSON.stringify(data));
    else for (const line of Array.isArray(human) ? human : [human]) this.io.stdout(line);
  }
}

/** The claims of a JWT, read without verifying it (the API verifies; the CLI only wants `sub` and `exp`). */
export function decodeClaims(token: string): { sub?: string; exp?: number } {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string; exp?: number };
  } catch {
    return {};
  }
}

import type { Problem } from '../core/problem.ts';

/**
 * The exit codes of the `chat4all` commands for people, documented in docs/cli.md. Scripts can
 * rely on them: they never change meaning.
 */
export const EXIT = {
  ok: 0,
  /** The request was refused or failed (bad input, conflict, rate limit, an unexpected answer). */
  error: 1,
  /** The command line is wrong: unknown command or flag, a missing argument. */
  usage: 2,
  /** Not logged in, the session expired, bad credentials or not allowed (401, 403). */
  auth: 3,
  /** What was named does not exist or is not yours (404). */
  notFound: 4,
  /** The API or the gateway cannot be reached or is not ready (connection refused, 503). */
  unavailable: 5,
  /** The command needs an API that does not exist yet (it names the issue that brings it). */
  notYet: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI explains to its user: a message, what to do about it, and the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly extra: { hint?: string; problem?: Problem } = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A wrong command line: exits 2 and shows the usage given. */
export const usageError = (message: string, usage?: string) => new CliError(message, EXIT.usage, { hint: usage });

/** A command whose API comes with a later issue. */
export const notYet = (what: string, issue: number) =>
  new CliError(`${what} is not available yet (issue #${issue})`, EXIT.notYet, {
    hint: `this API arrives with issue #${issue}; nothing was changed`,
  });

import { CliError, EXIT } from './cli-error.ts';

/** What a retried API call needs: how long to wait between tries, when to stop, where to say so. */
export interface ApiRetryOptions {
  /** Waits between tries while the API does not answer (a restart, a deploy), so a transfer rides it out instead of stopping. @default 0.5, 1, 2, 4, 8, 8 s */
  apiRetryWaitsMs?: number[];
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Resolves after `ms`, or rejects with the signal's reason when it is aborted first. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), rej(signal.reason)), { once: true });
  });

const API_RETRY_WAITS_MS = [500, 1000, 2000, 4000, 8000, 8000];

/**
 * Runs an idempotent API call, trying again while the API is unavailable (exit 5: connection
 * refused, 502/503/504); anything else, or the last failure, is thrown.
 */
export async function withApi<T>(o: ApiRetryOptions, call: () => Promise<T>): Promise<T> {
  const waits = o.apiRetryWaitsMs ?? API_RETRY_WAITS_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof CliError && err.exitCode === EXIT.unavailable) || attempt >= waits.length || o.signal?.aborted) throw err;
      if (attempt === 0) o.log?.(`${err.message.split('\n')[0]}: trying again for a while`);
      await sleep(waits[attempt]!, o.signal);
    }
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerResponse } from 'node:http';

/** Holds provider answers back (latency, timeouts) in a way `close()` can cut short. */
export class ResponseHolds {
  private readonly controller = new AbortController();

  /** Waits `ms` before answering `res`; false if the client went away or the simulator closed meanwhile. */
  async wait(res: ServerResponse, ms: number): Promise<boolean> {
    if (this.controller.signal.aborted) return false;
    const clientGone = new AbortController();
    const onClose = (): void => clientGone.abort();
    res.on('close', onClose);
    try {
      await sleep(ms, undefined, { signal: AbortSignal.any([this.controller.signal, clientGone.signal]) });
      return true;
    } catch {
      return false;
    } finally {
      res.off('close', onClose);
    }
  }

  /** Ends every hold at once. */
  close(): void {
    this.controller.abort();
  }
}

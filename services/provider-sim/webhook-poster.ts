import http from 'node:http';
import https from 'node:https';

/** A webhook POST that got no answer: the socket failed, the timeout passed, or it was cancelled. */
export class WebhookPostError extends Error {
  constructor(
    message: string,
    readonly code: 'timeout' | 'aborted' | 'network',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WebhookPostError';
  }
}

/** What a receiver answered a webhook POST. */
export interface WebhookAnswer {
  status: number;
  ok: boolean;
}

/**
 * POSTs webhook bodies over keep-alive sockets (node:http / node:https agents). It does only what a
 * webhook needs, every POST: no `Request`/`Response`/`Headers` objects, no URL parsed again, one
 * timer for the timeout, the answer's body drained and dropped. Cheaper per POST than a
 * fetch-shaped client, and the simulator's own (it shares no code with the platform).
 */
export class WebhookPoster {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };
  private readonly targets = new Map<string, URL>();

  /** POSTs `body` to `url`; resolves with the answer's status, rejects with a {@link WebhookPostError}. */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, signal: AbortSignal): Promise<WebhookAnswer> {
    return new Promise<WebhookAnswer>((resolve, reject) => {
      if (signal.aborted) return reject(new WebhookPostError('cancelled', 'aborted', { cause: signal.reason }));
      let target = this.targets.get(url);
      if (!target) {
        target = new URL(url);
        if (target.protocol !== 'http:' && target.protocol !== 'https:') return reject(new WebhookPostError(`unsupported protocol ${target.protocol} in ${url}`, 'network'));
        // A handful of URLs at most (one per channel, changed through the admin API now and then).
        if (this.targets.size > 100) this.targets.clear();
        this.targets.set(url, target);
      }
      const secure = target.protocol === 'https:';
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const req = (secure ? https : http).request(
        {
          protocol: target.protocol,
          hostname: target.hostname.replace(/^\[|\]$/g, ''),
          port: target.port || (secure ? 443 : 80),
          path: target.pathname + target.search,
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          agent: this.agents[target.protocol as 'http:' | 'https:'],
        },
        (res) => {
          const status = res.statusCode ?? 0;
          res.on('error', (err) => settle(() => reject(new WebhookPostError(err.message, 'network', { cause: err }))));
          res.on('end', () => settle(() => resolve({ status, ok: status >= 200 && status < 300 })));
          res.resume();
        },
      );
      const onAbort = () => {
        settle(() => reject(new WebhookPostError('cancelled', 'aborted', { cause: signal.reason })));
        req.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(timeoutMs, () => {
        settle(() => reject(new WebhookPostError(`no answer within ${timeoutMs} ms`, 'timeout')));
        req.destroy();
      });
      req.on('error', (err) => settle(() => reject(new WebhookPostError(err.message, 'network', { cause: err }))));
      req.end(body);
    });
  }

  /** Closes the idle sockets (for a clean exit). */
  close(): void {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}

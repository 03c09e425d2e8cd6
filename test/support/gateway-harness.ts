import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { createLogger } from '../../services/core/logger.ts';
import { createRegistry } from '../../services/core/metrics.ts';
import { createDeadLetterMetrics } from '../../services/core/dead-letters.ts';
import { createRouterMetrics } from '../../services/router/metrics.ts';
import { startRouter } from '../../services/router/router-service.ts';
import { startTestApi } from '../../services/api/test-api.ts';
import { createGateway, type Gateway, type GatewaySettings } from '../../services/gateway/gateway.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- frames are whatever JSON the server sent */

/**
 * For component tests: the real API, a router and push gateways over one in-memory store and bus,
 * each on 127.0.0.1:0. Every gateway has its own registry; the clock is real time plus an offset
 * the test moves (presence TTLs, token expiry).
 */
export async function startTestGateways(settings: Partial<GatewaySettings> = {}, count = 1) {
  const api = await startTestApi();
  let offsetMs = 0;
  const clock = { now: () => Date.now() + offsetMs };
  const logger = createLogger('gateway-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const routerRegistry = createRegistry('router');
  const router = await startRouter(
    { ...api.stores, bus: api.bus, clock, logger, metrics: createRouterMetrics(routerRegistry), deadLetterMetrics: createDeadLetterMetrics(routerRegistry), maxBatchBytes: 512 * 1024 },
    { relay: { intervalMs: 3_600_000, ageMs: 60_000 } },
  );
  const gateways: (Gateway & { url: string; registry: ReturnType<typeof createRegistry> })[] = [];
  for (let i = 1; i <= count; i++) {
    const registry = createRegistry('gateway');
    const gw = createGateway(
      { ...api.stores, store: api.stores, bus: api.bus, clock, logger, registry },
      {
        instanceId: `gateway-${i}`,
        jwtSecret: api.config.jwtSecret,
        replayLimit: 1000,
        sendQueueBytes: 1 << 20,
        authTimeoutMs: 5000,
        presenceHeartbeatMs: 3_600_000,
        presenceTtlMs: 15_000,
        resumeWindowMs: 200,
        ...settings,
      },
    );
    await gw.start();
    gw.server.listen(0, '127.0.0.1');
    await once(gw.server, 'listening');
    gateways.push(Object.assign(gw, { url: `ws://127.0.0.1:${(gw.server.address() as AddressInfo).port}/v1/stream`, registry }));
  }

  /** Creates a conversation of `owner` with `others` over the API; returns its id. */
  async function conversation(owner: { token: string }, others: { user_id: string }[]) {
    const c = await api.request('POST', '/v1/conversations', { token: owner.token, body: { type: others.length > 1 ? 'group' : 'private', members: others.map((o) => o.user_id), ...(others.length > 1 ? { name: 'g' } : {}) } });
    if (c.status !== 201) throw new Error(`conversation: ${c.status} ${c.text}`);
    return c.body.conversation_id as string;
  }
  /** Sends a text message over the API (in-app only). */
  async function send(from: { token: string }, conversationId: string, text: string) {
    const r = await api.request('POST', '/v1/messages', { token: from.token, body: { conversation_id: conversationId, channels: ['internal'], payload: { type: 'text', text } } });
    if (r.status !== 202) throw new Error(`send: ${r.status} ${r.text}`);
    return r.body.message_id as string;
  }

  return {
    api,
    gateways,
    gateway: gateways[0]!,
    conversation,
    send,
    advanceClock: (ms: number) => {
      offsetMs += ms;
    },
    async close() {
      for (const g of gateways) await g.stop();
      await router.stop();
      await api.close();
    },
  };
}

/** A `ws` client that records every frame and its close. */
export class TestClient {
  readonly frames: any[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(
    url: string,
    opts: { token?: string; authFrame?: string; then?: object[] } = {},
    readonly ws = new WebSocket(url, { headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {} }),
  ) {
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.once('open', () => {
      if (opts.authFrame) this.send({ type: 'auth', token: opts.authFrame });
      for (const f of opts.then ?? []) this.send(f);
    });
  }

  send(frame: object | string) {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (from `from` on) that matches; fails after `timeoutMs`. */
  async next(match: (f: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The `message.created` frames of a conversation, in arrival order. */
  messages(conversationId: string) {
    return this.frames.filter((f) => f.type === 'message.created' && f.conversation_id === conversationId);
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

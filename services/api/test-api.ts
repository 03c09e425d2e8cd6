import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { InMemoryBus } from '../core/adapters/in-memory-bus.ts';
import { openSqliteStores } from '../core/adapters/sqlite/open-sqlite-stores.ts';
import { loadConfig } from '../core/config.ts';
import { createLimitedServer, httpLimits } from '../core/http-limits.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { createApi } from './app.ts';
import type { Stores } from '../core/ports/stores.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import { buildObjectStore } from '../core/build-adapters.ts';

/** The answer of one test request, with the body already read. */
export interface TestResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is, instead of JSON-encoding `body`. */
  raw?: string;
  headers?: Record<string, string>;
}

/**
 * Starts the real API on 127.0.0.1:0 over an in-memory SQLite store (or the `stores` given, which
 * the caller closes: two APIs on one store are two replicas) and an in-memory bus, for component
 * tests. The clock is real time plus an offset tests can move.
 */
export async function startTestApi(overrides: Record<string, unknown> = {}, given: { stores?: Stores; objects?: ObjectStore } = {}) {
  // Component tests link identities and expect them active at once; the verification tests turn it on.
  const config = loadConfig({}, { scryptCost: 1024, identityVerification: 'off', ...overrides });
  const stores = given.stores ?? openSqliteStores(':memory:');
  const bus = new InMemoryBus(4, 10);
  let offsetMs = 0;
  const clock = { now: () => Date.now() + offsetMs };
  const registry = createRegistry('api-test');
  // The object store the config names unless one is given (file tests start a local S3 and set S3_*).
  const objects = given.objects ?? buildObjectStore(config);
  const api = createApi({ config, ...stores, store: stores, bus, objects, clock, logger: createLogger('api', 'silent'), registry });
  const app = api.app;
  // Started only by the file tests (`fileJob()`), so no other test runs its timer.
  let fileJob: ReturnType<typeof api.startFileJob> | null = null;
  // The server main.ts runs: the same timeouts and connection limits.
  const server = createLimitedServer(app, httpLimits(config)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function request(method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (body === undefined && opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  let n = 0;
  /** Registers a fresh user and logs it in. */
  async function user(prefix = 'user') {
    const username = `${prefix}${++n}_${Math.random().toString(36).slice(2, 8)}`;
    const password = 'correct horse battery';
    const reg = await request('POST', '/auth/register', { body: { username, password } });
    if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${reg.text}`);
    const tok = await request('POST', '/auth/token', { body: { username, password } });
    if (tok.status !== 200) throw new Error(`token ${username}: ${tok.status} ${tok.text}`);
    return { user_id: reg.body.user_id as string, username, password, token: tok.body.access_token as string };
  }

  /** Registers a fresh user, makes it an admin in the store (as `chat4all admin grant` does) and logs it in. */
  async function admin(prefix = 'admin') {
    const u = await user(prefix);
    await stores.users.setRole(u.user_id, 'admin');
    return u;
  }

  return {
    url,
    app,
    config,
    /** The API's stores, for tests to set up and inspect data (and to fake an outage: `healthy`). */
    stores,
    bus,
    registry,
    objects,
    request,
    /** The file job of this API, started on first call; tests `tick()` it instead of waiting. */
    fileJob: () => (fileJob ??= api.startFileJob()),
    user,
    admin,
    advanceClock: (ms: number) => {
      offsetMs += ms;
    },
    async close() {
      await fileJob?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bus.close();
      if (!given.stores) await stores.close();
    },
  };
}

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;

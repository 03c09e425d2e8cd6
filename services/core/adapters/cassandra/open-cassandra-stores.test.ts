import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { conversation, emulatedStores, emulatorWithSchema } from '../../../../test/contracts/cql-emulator/fixtures.ts';
import { buildAdapters } from '../../build-adapters.ts';
import { loadConfig } from '../../config.ts';
import { CassandraUnreachableError } from './errors.ts';
import { openCassandraStores } from './open-cassandra-stores.ts';

describe('openCassandraStores', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** A TCP server on 127.0.0.1 that does `onSocket` with each connection; returns its port. */
  async function server(onSocket: (s: Socket) => void): Promise<number> {
    const srv = createServer((s) => {
      sockets.push(s);
      onSocket(s);
    });
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return (srv.address() as { port: number }).port;
  }

  async function closedPort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as { port: number };
    await new Promise((resolve) => srv.close(resolve));
    return port;
  }

  const options = (port: number) => ({ contactPoints: [`127.0.0.1:${port}`], localDataCenter: 'datacenter1', keyspace: 'chat4all', connectTimeoutMs: 1500 });
  const namesContactPoints = (port: number) => (e: unknown) =>
    e instanceof CassandraUnreachableError && e.retriable && e.message.includes(`CASSANDRA_CONTACT_POINTS=127.0.0.1:${port}`);

  it('names the contact points when nothing listens there', { timeout: 30_000 }, async () => {
    const port = await closedPort();
    await assert.rejects(openCassandraStores(options(port)), namesContactPoints(port));
  });

  it('gives up after the connect timeout when the other end never answers', { timeout: 30_000 }, async () => {
    const port = await server(() => undefined);
    await assert.rejects(openCassandraStores(options(port)), (e: unknown) => namesContactPoints(port)(e) && /1500 ms/.test((e as Error).message));
  });

  it('names the contact points when the other end hangs up', { timeout: 30_000 }, async () => {
    const port = await server((s) => s.destroy());
    await assert.rejects(openCassandraStores(options(port)), namesContactPoints(port));
  });

  it('makes buildAdapters fail with that message for STORE_DRIVER=cassandra', { timeout: 30_000 }, async () => {
    const port = await server(() => undefined);
    const config = loadConfig({
      STORE_DRIVER: 'cassandra',
      CASSANDRA_CONTACT_POINTS: `127.0.0.1:${port}`,
      CASSANDRA_LOCAL_DATA_CENTER: 'datacenter1',
      CASSANDRA_KEYSPACE: 'chat4all',
      CASSANDRA_CONNECT_TIMEOUT_MS: '1500',
    });
    await assert.rejects(buildAdapters(config), (e: unknown) =>
      namesContactPoints(port)(e) && /^could not connect to Cassandra at CASSANDRA_CONTACT_POINTS=.*1500 ms/.test((e as Error).message),
    );
  });
});

describe('cassandraStores', () => {
  it('gives the stores of one session one id source, so a webhook sees what happens after it within one millisecond', async () => {
    // Ids are the clock's millisecond plus a random start; only one source per process keeps the
    // routing's history, the webhook's start and the status change in order when the clock stands
    // still. Separate sources would put the status change before the webhook about half the time.
    const now = () => Date.UTC(2030, 0, 1);
    const at = new Date(now()).toISOString();
    for (let round = 0; round < 20; round++) {
      const stores = emulatedStores(await emulatorWithSchema(now), { now });
      const { members, accept } = await conversation(stores, 2, { at: now() });
      const m = await accept(now());
      const { deliveries } = await stores.messages.routeMessage(m, [{ recipient_id: members[1]!, channel: 'internal', address: null }], at);
      const hook = await stores.webhooks.createWebhook({
        webhook_id: randomUUID(), owner_id: members[0]!, url: 'https://example.test/hook', events: ['message.delivered'], secret: 's', created_at: at,
      });
      await stores.deliveries.applyStatus({ delivery_id: deliveries[0]!.delivery_id, status: 'DELIVERED', at, source: 'api' });
      const { entries } = await stores.webhooks.historyForWebhooks(hook.start_after, 100);
      assert.deepEqual(entries.map((e) => e.status), ['DELIVERED'], `round ${round}: only the change after the webhook`);
    }
  });
});

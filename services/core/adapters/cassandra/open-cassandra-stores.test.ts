import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
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

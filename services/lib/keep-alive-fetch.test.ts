import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepAliveFetch } from './keep-alive-fetch.ts';

describe('keepAliveFetch', () => {
  const seen: { method: string; body: string; headers: http.IncomingHttpHeaders; socket: number }[] = [];
  const sockets = new WeakMap<object, number>();
  let nextSocket = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, ++nextSocket);
      seen.push({ method: req.method!, body, headers: req.headers, socket: sockets.get(req.socket)! });
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
      if (req.url === '/empty') return void res.writeHead(204).end();
      res.writeHead(req.url === '/teapot' ? 418 : 200, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ echo: body }));
    });
  });
  let base = '';
  const fetchLike = keepAliveFetch();
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    fetchLike.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('posts a body with its headers and answers a Response with status, headers and body; reuses the connection', async () => {
    const a = await fetchLike(`${base}/x`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"a":1}' });
    assert.equal(a.status, 200);
    assert.equal(a.ok, true);
    assert.equal(a.headers.get('retry-after'), '7');
    assert.deepEqual(await a.json(), { echo: '{"a":1}' });
    const b = await fetchLike(`${base}/teapot`, { method: 'POST', body: 'x', headers: new Headers({ 'x-from-headers': 'yes' }) });
    assert.equal(b.status, 418);
    assert.equal(b.ok, false);
    assert.equal((await fetchLike(`${base}/empty`, {})).status, 204);
    assert.equal(seen[0]!.headers.authorization, 'Bearer t');
    assert.equal(seen[0]!.headers['content-length'], '7');
    assert.equal(seen[1]!.headers['x-from-headers'], 'yes', 'a Headers object is taken as fetch takes it');
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[2]!.method, 'GET');
    assert.equal(new Set(seen.map((s) => s.socket)).size, 1, 'one keep-alive connection for requests one after the other');
  });

  it('fails like fetch: the signal’s TimeoutError, or the socket error with its code', async () => {
    await assert.rejects(fetchLike(`${base}/slow`, { signal: AbortSignal.timeout(100) }), (err: Error) => err.name === 'TimeoutError');
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(fetchLike(`http://127.0.0.1:${port}/`, {}), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    await assert.rejects(fetchLike('ftp://127.0.0.1/', {}), /unsupported protocol/);
  });
});

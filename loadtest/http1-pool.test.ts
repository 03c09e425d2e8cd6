import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Http1Pool } from './http1-pool.ts';

describe('Http1Pool', () => {
  let server: Server;
  let port: number;
  let sockets = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  before(async () => {
    server = createServer((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('finish', () => inFlight--);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const echo = JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization ?? null, type: req.headers['content-type'] ?? null, body });
        if (req.url === '/chunked') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('Olá, ');
          setTimeout(() => res.end('mundo 👋'), 5);
        } else if (req.url === '/slow-split') {
          // The head and the body in separate packets: the answer is put together across reads.
          res.writeHead(201, { 'content-length': Buffer.byteLength(echo) });
          res.flushHeaders();
          setTimeout(() => res.end(echo), 5);
        } else if (req.url === '/close') {
          res.writeHead(200, { connection: 'close', 'content-length': 2 }).end('ok');
        } else if (req.url === '/never') {
          // no answer
        } else if (req.url === '/wait') {
          setTimeout(() => res.writeHead(204).end(), 20);
        } else res.writeHead(202, { 'content-length': Buffer.byteLength(echo) }).end(echo);
      });
    });
    server.on('connection', () => sockets++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('sends method, path, headers and a JSON body, and reads status and body', async () => {
    const pool = new Http1Pool('127.0.0.1', port, 2);
    const res = await pool.request('POST', '/v1/messages', { authorization: 'Bearer t' }, '{"a":"é"}', 5000);
    assert.equal(res.status, 202);
    assert.deepEqual(JSON.parse(res.text), { method: 'POST', url: '/v1/messages', auth: 'Bearer t', type: 'application/json', body: '{"a":"é"}' });
    pool.close();
  });

  it('reads chunked answers and answers split across reads', async () => {
    const pool = new Http1Pool('127.0.0.1', port, 1);
    assert.deepEqual(await pool.request('GET', '/chunked', {}, undefined, 5000), { status: 200, text: 'Olá, mundo 👋' });
    const split = await pool.request('GET', '/slow-split', {}, undefined, 5000);
    assert.equal(split.status, 201);
    assert.equal(JSON.parse(split.text).url, '/slow-split');
    pool.close();
  });

  it('keeps at most `connections` requests in flight, reusing its sockets', async () => {
    const pool = new Http1Pool('127.0.0.1', port, 3);
    const before = sockets;
    maxInFlight = 0;
    const answers = await Promise.all(Array.from({ length: 12 }, () => pool.request('GET', '/wait', {}, undefined, 5000)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([204]));
    assert.equal(maxInFlight, 3);
    assert.equal(sockets - before, 3, 'three sockets for twelve requests');
    pool.close();
  });

  it('opens a new socket after the server closed one', async () => {
    const pool = new Http1Pool('127.0.0.1', port, 1);
    assert.deepEqual(await pool.request('GET', '/close', {}, undefined, 5000), { status: 200, text: 'ok' });
    assert.equal((await pool.request('GET', '/after', {}, undefined, 5000)).status, 202);
    pool.close();
  });

  it('does not reuse a socket the server is about to close for idleness', async () => {
    // Node announces `Keep-Alive: timeout=1` for 1.5 s: less the pool's 1 s margin, no idle socket is reused.
    const short = createServer((_req, res) => void res.writeHead(200, { 'content-length': 2 }).end('ok'));
    short.keepAliveTimeout = 1500;
    let opened = 0;
    short.on('connection', () => opened++);
    short.listen(0, '127.0.0.1');
    await once(short, 'listening');
    const pool = new Http1Pool('127.0.0.1', (short.address() as AddressInfo).port, 1);
    for (let i = 0; i < 3; i++) assert.equal((await pool.request('GET', '/', {}, undefined, 5000)).status, 200);
    assert.equal(opened, 3);
    pool.close();
    short.closeAllConnections();
    short.close();
  });

  it('fails a request with no answer within its timeout, and one sent to nobody', async () => {
    const pool = new Http1Pool('127.0.0.1', port, 1);
    await assert.rejects(pool.request('GET', '/never', {}, undefined, 50), /no answer within 50 ms/);
    assert.equal((await pool.request('GET', '/next', {}, undefined, 5000)).status, 202, 'the pool goes on');
    pool.close();
    await assert.rejects(pool.request('GET', '/', {}, undefined, 50), /closed/);
    const nobody = new Http1Pool('127.0.0.1', 1, 1);
    await assert.rejects(nobody.request('GET', '/', {}, undefined, 5000));
    nobody.close();
  });
});

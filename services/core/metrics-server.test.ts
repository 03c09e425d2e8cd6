import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter } from 'prom-client';
import { createRouterApp } from '../router/app.ts';
import { createRegistry } from './metrics.ts';
import { listenService } from './metrics-server.ts';

describe('listenService: /metrics on its own port', () => {
  const healthy = { healthy: async () => true };
  const registry = createRegistry('router');
  new Counter({ name: 'test_marker_total', help: 'marker', registers: [registry] }).inc();
  const app = () => createRouterApp({ store: healthy as never, bus: healthy as never, registry });

  it('with a metrics port, the service port answers 404 for /metrics and the metrics port serves it', async () => {
    const served = await listenService(app(), { host: '127.0.0.1', port: 0, metricsPort: 0, registry });
    try {
      assert.ok(served.metrics && served.metrics.port !== served.http.port);
      const hidden = await fetch(`${served.http.url}/metrics`);
      assert.equal(hidden.status, 404);
      assert.match(hidden.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.doesNotMatch(await hidden.text(), /test_marker_total/);
      assert.equal((await fetch(`${served.http.url}/readyz`)).status, 200, 'the rest of the app is unchanged');
      const shown = await fetch(`${served.metrics.url}/metrics`);
      assert.equal(shown.status, 200);
      assert.match(await shown.text(), /test_marker_total\{service="router"\} 1/);
      assert.equal((await fetch(`${served.metrics.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${served.metrics.url}/readyz`)).status, 404, 'nothing else on the metrics port');
    } finally {
      await served.close();
    }
  });

  it('without one, /metrics stays on the service port (the local platform)', async () => {
    const served = await listenService(app(), { host: '127.0.0.1', port: 0, registry });
    try {
      assert.equal(served.metrics, null);
      assert.match(await (await fetch(`${served.http.url}/metrics`)).text(), /test_marker_total/);
    } finally {
      await served.close();
    }
  });

  it('hands every request to `first` before the app: what it takes never reaches Express', async () => {
    for (const metricsPort of [0, undefined]) {
      const express = app();
      let reachedApp = 0;
      express.use((_req, _res, next) => {
        reachedApp++;
        next();
      });
      const first = (req: { url?: string }, res: { end(text: string): void }, next: () => void) => (req.url === '/fast' ? res.end('fast') : next());
      const served = await listenService(express, { host: '127.0.0.1', port: 0, registry, ...(metricsPort === undefined ? {} : { metricsPort }), first });
      try {
        assert.equal(await (await fetch(`${served.http.url}/fast`)).text(), 'fast');
        assert.equal((await fetch(`${served.http.url}/readyz`)).status, 200, 'the rest goes on to the app');
        assert.equal((await fetch(`${served.http.url}/elsewhere`)).status, 404);
        assert.equal(reachedApp, 1, 'only the request the app has no route for went through the added middleware');
      } finally {
        await served.close();
      }
    }
  });
});

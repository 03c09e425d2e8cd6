import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../core/config.ts';
import { startTestApi, type TestApi } from '../test-api.ts';

describe('the web client at /app', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ gatewayPublicUrl: 'wss://push.example.test/v1/stream' });
  });
  after(() => api.close());

  it('serves the page with a strict CSP that allows only its own files and the configured gateway', async () => {
    const res = await api.request('GET', '/app');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.text, /<script type="module" src="\/app\/app.js"><\/script>/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline scripts, no eval');
    assert.match(csp, /connect-src 'self' wss:\/\/push\.example\.test(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(res.text, /<script>|\son\w+="/, 'no inline script or handler the CSP would block');
    assert.equal((await api.request('GET', '/app/')).status, 200);
  });

  it('serves its script, its style and the gateway URL from config', async () => {
    const js = await api.request('GET', '/app/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.text, /type: 'auth', token/, 'authenticates with the first frame');
    const css = await api.request('GET', '/app/app.css');
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    const cfg = await api.request('GET', '/app/config.json');
    assert.deepEqual(cfg.body, { gateway_url: 'wss://push.example.test/v1/stream' });
    assert.match(cfg.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });

  it('defaults to the local gateway and refuses a gateway URL that is not a WebSocket', () => {
    assert.equal(loadConfig({}).gatewayPublicUrl, 'ws://127.0.0.1:8081/v1/stream');
    assert.throws(() => loadConfig({ GATEWAY_PUBLIC_URL: 'http://127.0.0.1:8081/v1/stream' }), /GATEWAY_PUBLIC_URL: must be a ws:\/\/ or wss:\/\/ URL/);
  });

  it('answers 404 for an unknown file under /app', async () => {
    const res = await api.request('GET', '/app/secret.txt');
    assert.equal(res.status, 404);
  });
});

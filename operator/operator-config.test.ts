import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../services/core/config.ts';
import { loadOperatorConfig } from './operator-config.ts';

describe('loadOperatorConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'operator-config-'));
  const none = join(dir, 'absent');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the chart's environment: WATCH_NAMESPACE, the ConfigMap's DATA_DIR and bind address, the pod name as identity", () => {
    const c = loadOperatorConfig({ WATCH_NAMESPACE: 'chat4all', SERVICE_NAME: 'chat4all-operator-7d9c-abcde', DATA_DIR: '/tmp/chat4all', OPERATOR_HOST: '0.0.0.0', OPERATOR_PORT: '8092', CHAT4ALL_INSTANCE: 'c4a' }, none);
    assert.equal(c.namespace, 'chat4all');
    assert.equal(c.identity, 'chat4all-operator-7d9c-abcde');
    assert.equal(c.evidenceDir, '/tmp/chat4all/experiments');
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.port, 8092);
    assert.equal(c.apiUrl, 'http://c4a-api:8080');
    assert.equal(c.simUrl, 'http://c4a-provider-sim:9300');
    assert.equal(c.leaseName, 'c4a-operator');
  });

  test('the namespace falls back to POD_NAMESPACE, then to the service account file', () => {
    assert.equal(loadOperatorConfig({ POD_NAMESPACE: 'from-env' }, none).namespace, 'from-env');
    const file = join(dir, 'namespace');
    writeFileSync(file, 'from-file\n');
    assert.equal(loadOperatorConfig({}, file).namespace, 'from-file');
  });

  test('every problem at once, naming the variable and how to fix it', () => {
    assert.throws(
      () => loadOperatorConfig({ OPERATOR_PORT: 'x', TARGET_API_URL: 'not a url' }, none),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        assert.match(text, /WATCH_NAMESPACE: no namespace: set WATCH_NAMESPACE or POD_NAMESPACE/);
        assert.match(text, /OPERATOR_PORT:/);
        assert.match(text, /TARGET_API_URL:/);
        return true;
      },
    );
    assert.throws(() => loadOperatorConfig({ WATCH_NAMESPACE: 'ns', LEASE_DURATION_SECONDS: '2', LEASE_RETRY_MS: '1500' }, none), /LEASE_RETRY_MS \(1500\) must be at most half of LEASE_DURATION_SECONDS \(2 s\)/);
  });
});

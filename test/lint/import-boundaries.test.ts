import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The import layers are enforced by ESLint (eslint.boundaries.js): these lint a one-line file at a
 * given place in the tree, exactly as `npx eslint .` would, and read which rules complain.
 */
describe('import boundaries (eslint.boundaries.js)', () => {
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: REPO, overrideConfigFile: join(REPO, 'eslint.config.js') });
  });

  /** The boundary rules a file at `path` (relative to the repository) holding `code` breaks. */
  async function broken(path: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: join(REPO, path) });
    assert.ok(result, 'ESLint linted nothing');
    return result.messages.filter((m) => m.ruleId?.startsWith('import-x/')).map((m) => `${m.ruleId}: ${m.message}`);
  }
  const importing = (from: string) => `import * as m from '${from}';\nexport const used = m;\n`;

  it('refuses a service importing another service', async () => {
    const problems = await broken('services/connectors/probe.ts', importing('../router/metrics.ts'));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /no-restricted-paths.*services never import each other: connectors may use services\/core and services\/lib/);
  });

  it('refuses the client-webhook module importing the API (the cycle there was)', async () => {
    assert.match((await broken('services/webhooks/probe.ts', importing('../api/auth.ts'))).join(), /no-restricted-paths/);
  });

  it('allows the documented exceptions: the router hosts the webhook dispatcher, the platform starts services', async () => {
    assert.deepEqual(await broken('services/router/probe.ts', importing('../webhooks/dispatcher.ts')), []);
    assert.deepEqual(await broken('services/platform/probe.ts', importing('../connectors/compose.ts')), []);
    assert.deepEqual(await broken('services/api/probe.ts', importing('../core/records.ts')), []);
  });

  it('lets test support (test-*.ts) start services to set a test up', async () => {
    assert.deepEqual(await broken('services/connectors/test-probe.ts', importing('../router/router-service.ts')), []);
  });

  it('keeps core free of services (the dev broker launcher stays out of core)', async () => {
    assert.match((await broken('services/core/probe.ts', importing('../devbroker/dev-broker.ts'))).join(), /core imports no service/);
  });

  it('keeps the domain free of everything of ours, and ports to the domain', async () => {
    assert.match((await broken('services/core/domain/probe.ts', importing('../topics.ts'))).join(), /the domain is plain TypeScript/);
    assert.match((await broken('services/core/ports/probe.ts', importing('../config.ts'))).join(), /ports import only the domain/);
    assert.deepEqual(await broken('services/core/ports/probe.ts', importing('../domain/types.ts')), []);
  });

  it('keeps the provider simulator away from services/core', async () => {
    assert.match((await broken('services/provider-sim/probe.ts', importing('../core/errors.ts'))).join(), /stands for the outside world/);
    assert.deepEqual(await broken('services/provider-sim/probe.ts', importing('../lib/keep-alive-fetch.ts')), []);
  });

  it('lets the operator see the platform only through its drivers', async () => {
    assert.match((await broken('operator/probe.ts', importing('../services/platform/supervisor.ts'))).join(), /only through its drivers/);
    assert.deepEqual(await broken('operator/probe-driver.ts', importing('../services/platform/supervisor.ts')), []);
  });

  describe('import cycles', () => {
    // Two real files (a cycle is between files on disk), in a folder of their own, removed after.
    const dir = join(REPO, 'services', 'api', `lint-probe-${randomBytes(4).toString('hex')}`);
    before(() => {
      mkdirSync(dir);
      writeFileSync(join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = () => b;\n");
      writeFileSync(join(dir, 'b.ts'), "import { a } from './a.ts';\nexport const b = () => a;\n");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses two modules importing each other', async () => {
      const [result] = await eslint.lintFiles([join(dir, 'a.ts')]);
      assert.deepEqual(result?.messages.map((m) => m.ruleId), ['import-x/no-cycle']);
    });
  });
});

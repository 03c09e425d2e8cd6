import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { manifestErrors } from '../../cdk8s/testing/k8s-validate.ts';

/**
 * The build fails when a runtime dependency does not support the Node we ship (#16): `npm ci`
 * only warns about `engines`, and a package that needs a newer Node can use an API ours lacks.
 * The Node we ship is the Dockerfile's image (`node:20-…`); package.json's `engines` must admit it.
 */
// npm's own range rules (`semver`, a dev dependency; no types installed).
const semver = createRequire(import.meta.url)('semver') as { intersects(a: string, b: string): boolean; major(version: string): number };

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const imageMajor = Number(/ARG NODE_IMAGE=node:(\d+)/.exec(read('Dockerfile'))?.[1]);
const shipped = `>=${imageMajor}.0.0 <${imageMajor + 1}.0.0`;

type LockEntry = { dev?: boolean; optional?: boolean; engines?: { node?: string } | string[] };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockEntry> };
const manifest = JSON.parse(read('package.json')) as { engines: { node: string } };

/** Which packages' `engines.node` excludes the shipped Node, with that range. */
function excluding(filter: (entry: LockEntry) => boolean): Map<string, string> {
  const found = new Map<string, string>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = !path || Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (range && filter(entry) && !semver.intersects(range, shipped)) found.set(path.replace(/^.*node_modules\//, ''), range);
  }
  return found;
}

/**
 * Development packages that declare a newer Node than we ship, and the test that runs the code we
 * use of them (offline manifest validation) on the Node we ship. Remove an entry when the package
 * admits our Node again; a new one needs its own proof here.
 */
const DEV_EXCEPTIONS: Record<string, string> = {
  'kubernetes-models': 'cdk8s/testing/k8s-validate.test.ts',
  '@kubernetes-models/apimachinery': 'cdk8s/testing/k8s-validate.test.ts',
  '@kubernetes-models/base': 'cdk8s/testing/k8s-validate.test.ts',
  '@kubernetes-models/keda': 'cdk8s/testing/k8s-validate.test.ts',
  '@kubernetes-models/validate': 'cdk8s/testing/k8s-validate.test.ts',
};

describe('dependency engines', () => {
  it('knows the Node we ship, and package.json admits it', () => {
    assert.ok(imageMajor >= 20, 'the Dockerfile names its Node image as ARG NODE_IMAGE=node:<major>…');
    assert.ok(semver.intersects(manifest.engines.node, shipped), `package.json engines.node (${manifest.engines.node}) excludes Node ${imageMajor}`);
  });

  it('every runtime dependency (direct or not) admits the Node we ship', () => {
    const bad = excluding((e) => !e.dev);
    assert.deepEqual(
      [...bad].map(([name, range]) => `${name} requires node ${range}`),
      [],
      `runtime dependencies that exclude Node ${imageMajor}: pin a release whose engines include it (npm view NAME versions engines)`,
    );
  });

  it('development packages that exclude it are known exceptions, proven by a test', () => {
    const bad = excluding((e) => e.dev === true);
    for (const [name, range] of bad) {
      assert.ok(DEV_EXCEPTIONS[name], `${name} (dev) requires node ${range}: pin a release that admits Node ${imageMajor}, or prove the code we use and list it here`);
      assert.doesNotThrow(() => read(DEV_EXCEPTIONS[name]!), `${DEV_EXCEPTIONS[name]} exists`);
    }
  });

  it('the kubernetes-models code we use works on this Node', async () => {
    assert.equal(semver.major(process.version), imageMajor, `tests run on the Node we ship (${imageMajor}), not ${process.version}`);
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'x', image: 'y' }] } } } };
    assert.match((await manifestErrors(deployment)).join('\n'), /replicas/);
    const scaled = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'x' }, spec: { scaleTargetRef: { name: 'x' }, triggers: [{ type: 'cpu', metadata: { value: '70' } }] } };
    assert.deepEqual(await manifestErrors(scaled), []);
  });
});

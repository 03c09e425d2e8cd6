import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from './testing/render.ts';

/**
 * What only development and tests use: the dev Kafka broker, the local platform supervisor, the
 * people's CLI, test support and the operator's fakes. None of it may reach the image.
 */
const DEV_ONLY = [/^services\/devbroker\//, /^services\/platform\//, /^services\/cli\//, /^test\//, /^bench\//, /^operator\/testing\//, /\.test\.ts$/, /(^|\/)test-[^/]*\.ts$/];

/**
 * The files `tsc -p tsconfig.build.json` compiles into the image. tsc also compiles every file an
 * included file imports, whatever `exclude` says, so this is the program's file list, not the
 * config's include list.
 */
function imageSources(): string[] {
  const configPath = join(REPO_ROOT, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  assert.equal(error, undefined);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT, undefined, configPath);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noResolve: false, types: [] } });
  return program
    .getSourceFiles()
    .map((f) => relative(REPO_ROOT, f.fileName))
    .filter((f) => !f.startsWith('node_modules/') && !f.startsWith('..'));
}

test('the production image compiles no dev-only code (not even through an import)', () => {
  const files = imageSources();
  assert.ok(files.includes('services/api/main.ts') && files.includes('services/core/adapters/kafka/kafka-bus.ts'), 'the image program looks empty');
  const devOnly = files.filter((f) => DEV_ONLY.some((re) => re.test(f)));
  assert.deepEqual(devOnly, [], 'these reach the image: move what production needs out of them, or stop importing them');
});

test('the Dockerfile copies only the production sources into the build', () => {
  const copied = [...readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').matchAll(/^COPY (?!--from)(\S+) /gm)].map((m) => m[1]);
  assert.deepEqual(copied.filter((c) => !['package.json', 'tsconfig.json', 'services', 'operator', 'loadtest'].includes(c!)), []);
});

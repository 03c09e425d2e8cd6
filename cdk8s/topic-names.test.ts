import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectorGroup, deliveryTopic, GROUPS, TOPICS } from '../services/core/topics.ts';
import { ROUTER_GROUP, connectorGroup as cdk8sConnectorGroup } from './workloads.ts';
import { defaultLagTopic } from './chart-props.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

// A topic or consumer-group name written out by hand: `chat4all.messages.…`, `chat4all.deliveries.…`,
// `chat4all.status…`, `chat4all.deadletter`, `chat4all-router`, `chat4all-status`, `chat4all-connector-…`.
const HAND_SPELLED = /chat4all\.(messages|deliveries|status|deadletter)|chat4all-(router|status|connector-)['"`$]/;

/** The cdk8s sources (tests excluded: they assert the rendered names on purpose). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(path));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

test('cdk8s takes every topic and consumer-group name from services/core/topics.ts', () => {
  const offenders: string[] = [];
  for (const file of sources(HERE)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (HAND_SPELLED.test(line)) offenders.push(`${file.slice(HERE.length + 1)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, [], 'import the name from services/core/topics.ts instead');
});

test('the names cdk8s scales on are the ones the services consume', () => {
  assert.equal(ROUTER_GROUP, GROUPS.router);
  assert.equal(cdk8sConnectorGroup('whatsapp'), connectorGroup('whatsapp'));
  assert.equal(defaultLagTopic('router'), TOPICS.accepted);
  assert.equal(defaultLagTopic('connector-instagram'), deliveryTopic('instagram'));
});

test('the check sees a hand-spelled name', () => {
  assert.match("topic: 'chat4all.messages.accepted'", HAND_SPELLED);
  assert.match("group: 'chat4all-router'", HAND_SPELLED);
  assert.match('`chat4all-connector-${channel}`', HAND_SPELLED);
  assert.doesNotMatch("name: 'chat4all-router-metrics'", HAND_SPELLED);
});

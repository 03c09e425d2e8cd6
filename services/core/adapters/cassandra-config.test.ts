import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configFields, loadConfig } from '../config.ts';
import { parseChat4AllProps } from '../../../cdk8s/chart-props.ts';
import { cassandraSchemaJob, sharedConfig, workloads } from '../../../cdk8s/workloads.ts';

/** The environment of a pod the chart makes with its defaults (every secret present). */
function chartEnv(): Record<string, string> {
  const props = parseChat4AllProps({});
  const env: Record<string, string> = { ...sharedConfig(props) };
  for (const w of workloads(props)) {
    for (const e of w.env) {
      if ('value' in e) env[e.name] = e.value;
      // AUTH_CLIENTS holds id:secret pairs; every other secret is one value.
      else if ('secretKeyRef' in e.valueFrom) env[e.name] = e.name === 'AUTH_CLIENTS' ? `ops:${'x'.repeat(32)}` : `${e.name.toLowerCase()}-${'x'.repeat(32)}`;
    }
  }
  return env;
}

const configErrors = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('Cassandra settings', () => {
  it("accepts a pod made with the chart's defaults, which select Cassandra", () => {
    const config = loadConfig(chartEnv());
    assert.equal(config.store, 'cassandra');
    assert.deepEqual(config.cassandraContactPoints, ['cassandra.cassandra:9042']);
    assert.equal(config.cassandraLocalDataCenter, 'datacenter1');
    assert.equal(config.cassandraKeyspace, 'chat4all');
    assert.match(config.cassandraUsername ?? '', /^cassandra_username-/);
    assert.match(config.cassandraPassword ?? '', /^cassandra_password-/);
    assert.deepEqual(config.cassandraReplication, { class: 'SimpleStrategy', replicationFactor: 1 });
  });

  it('reads every CASSANDRA_* variable the chart sets', () => {
    const read = new Set(Object.values(configFields.shape).map((f) => f.description));
    const set = Object.keys(chartEnv()).filter((k) => k.startsWith('CASSANDRA_'));
    assert.ok(set.length >= 5);
    for (const name of set) assert.ok(read.has(name), `${name} is set by the chart but read by no config field`);
  });

  it('names what is missing or inconsistent, all at once', () => {
    const problems = configErrors({ STORE_DRIVER: 'cassandra', CASSANDRA_USERNAME: 'app', CASSANDRA_KEYSPACE: 'Chat4All' });
    assert.ok(problems.some((p) => p.startsWith('CASSANDRA_CONTACT_POINTS:') && p.includes('STORE_DRIVER=cassandra')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('CASSANDRA_PASSWORD:') && p.includes('go together')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('CASSANDRA_KEYSPACE:')), problems.join('\n'));
  });

  it('reads the replication of a keyspace it creates', () => {
    const base = { STORE_DRIVER: 'cassandra', CASSANDRA_CONTACT_POINTS: 'a:9042, b:9042' };
    const nts = loadConfig({ ...base, CASSANDRA_REPLICATION: 'datacenter1:3,dc2:2' });
    assert.deepEqual(nts.cassandraContactPoints, ['a:9042', 'b:9042']);
    assert.deepEqual(nts.cassandraReplication, { class: 'NetworkTopologyStrategy', dataCenters: { datacenter1: 3, dc2: 2 } });
    assert.deepEqual(loadConfig({ ...base, CASSANDRA_REPLICATION: 'SimpleStrategy:3' }).cassandraReplication, { class: 'SimpleStrategy', replicationFactor: 3 });
    assert.ok(configErrors({ ...base, CASSANDRA_REPLICATION: 'three' }).some((p) => p.startsWith('CASSANDRA_REPLICATION:')));
    const elsewhere = configErrors({ ...base, CASSANDRA_REPLICATION: 'dc2:3' });
    assert.ok(elsewhere.some((p) => p.includes('dc2') && p.includes('datacenter1') && p.includes('LOCAL_QUORUM')), elsewhere.join('\n'));
  });

  it("makes the chart's workloads wait for the schema and its Job create it; elsewhere the store creates it", () => {
    assert.equal(loadConfig(chartEnv()).cassandraSchema, 'wait');
    assert.equal(loadConfig(chartEnv()).cassandraSchemaWaitMs, 300_000);
    const job = cassandraSchemaJob(parseChat4AllProps({}))!;
    const jobEnv = Object.fromEntries(job.env.flatMap((e) => ('value' in e ? [[e.name, e.value]] : [])));
    const jobConfig = loadConfig(jobEnv);
    assert.equal(jobConfig.cassandraSchema, 'create');
    assert.equal(jobConfig.store, 'cassandra');
    assert.equal(jobConfig.cassandraKeyspace, loadConfig(chartEnv()).cassandraKeyspace, 'the Job creates the keyspace the workloads wait for');
    assert.equal(loadConfig({}).cassandraSchema, 'create');
    assert.ok(configErrors({ CASSANDRA_SCHEMA: 'later' }).some((p) => p.startsWith('CASSANDRA_SCHEMA:')));
    assert.ok(configErrors({ CASSANDRA_SCHEMA_WAIT_MS: '-1' }).some((p) => p.startsWith('CASSANDRA_SCHEMA_WAIT_MS:')));
  });

  it('keeps the embedded store the default outside the chart', () => {
    assert.equal(loadConfig({}).store, 'sqlite');
  });
});

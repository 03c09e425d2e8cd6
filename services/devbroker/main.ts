/**
 * CLI: start one dev broker and keep it up until SIGINT/SIGTERM (used by `make up`).
 *
 *   tsx services/devbroker/main.ts [--brokers N] [--topic name:partitions]...
 *       [--partitions N] [--port P]... [--bootstrap-file path] [--debug contexts]
 *
 * Environment (arguments win): DEV_BROKER_BROKERS, DEV_BROKER_TOPICS ("a:6,b:1"),
 * DEV_BROKER_PARTITIONS, DEV_BROKER_PORTS ("9092,9093"), DEV_BROKER_BOOTSTRAP_FILE.
 * Without topics it creates the platform's topic layout (services/core/topics.ts).
 * Prints "BOOTSTRAP host:port,..." on stdout once ready.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXTERNAL_CHANNELS } from '../core/domain/types.ts';
import { topicLayout } from '../core/topics.ts';
import { startDevBroker, type DevBrokerTopic } from './dev-broker.ts';

function parseTopic(spec: string): DevBrokerTopic {
  const i = spec.lastIndexOf(':');
  const name = i < 0 ? spec : spec.slice(0, i);
  const partitions = i < 0 ? 1 : Number(spec.slice(i + 1));
  if (!name || !Number.isInteger(partitions) || partitions < 1) throw new Error(`bad topic spec ${JSON.stringify(spec)}`);
  return { name, partitions };
}

function positiveInt(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string' },
      topic: { type: 'string', multiple: true },
      partitions: { type: 'string' },
      port: { type: 'string', multiple: true },
      'bootstrap-file': { type: 'string' },
      debug: { type: 'string' },
    },
    strict: true,
  });
  const env = process.env;
  const portSpecs = values.port?.length ? values.port : (env.DEV_BROKER_PORTS ?? '').split(',').filter((s) => s.trim());
  const ports = portSpecs.length ? portSpecs.map((p) => positiveInt(p.trim(), 'port', 0)) : undefined;
  const brokers = positiveInt(values.brokers ?? env.DEV_BROKER_BROKERS, 'brokers', ports?.length ?? 1);
  const partitions = positiveInt(values.partitions ?? env.DEV_BROKER_PARTITIONS, 'partitions', 6);
  const specs = values.topic?.length ? values.topic : (env.DEV_BROKER_TOPICS ?? '').split(',').filter((s) => s.trim());
  const topics = specs.length ? specs.map((s) => parseTopic(s.trim())) : topicLayout(partitions, EXTERNAL_CHANNELS);
  const bootstrapFile = values['bootstrap-file'] ?? env.DEV_BROKER_BOOTSTRAP_FILE;

  const logger = {
    info: (m: string) => console.error(m),
    warn: (m: string) => console.error(m),
    debug: values.debug ? (m: string) => console.error(m) : undefined,
  };
  const broker = await startDevBroker({ topics, brokers, ports, logger, debug: values.debug });
  const bootstrap = broker.bootstrap.join(',');
  if (bootstrapFile) writeFileSync(bootstrapFile, `${bootstrap}\n`);
  console.log(`BOOTSTRAP ${bootstrap}`);
  console.error(`dev broker pid ${broker.pid}, topics: ${topics.map((t) => `${t.name}:${t.partitions}`).join(' ')}`);

  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`dev broker: ${sig}, stopping`);
    broker
      .stop()
      .then(() => {
        if (bootstrapFile) rmSync(bootstrapFile, { force: true });
        process.exit(0);
      })
      .catch((err: Error) => {
        console.error(err.message);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  void broker.exited.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`dev broker exited unexpectedly (code ${code}, signal ${signal})`);
    if (bootstrapFile) rmSync(bootstrapFile, { force: true });
    process.exit(1);
  });
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});

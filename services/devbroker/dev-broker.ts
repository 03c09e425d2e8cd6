/**
 * A handle on the project's dev Kafka broker: librdkafka's mock cluster wrapped in a
 * small C program (devbroker.c). In-memory, loopback only, a test double of Kafka —
 * never something whose data must survive its own restart. See docs/dev-broker.md.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root (this file lives in services/devbroker/). */
export const REPO_ROOT = resolve(HERE, '..', '..');
export const DEVBROKER_SOURCE = join(HERE, 'devbroker.c');
/** Every source of the binary: the program, its Kafka relay, the relay's port mapping and protocol reading. */
export const DEVBROKER_SOURCES = ['devbroker.c', 'relay.c', 'relay-fetch.c', 'relay-append.c', 'relay-log.c', 'relay-learn.c', 'relay-buf.c', 'relay-ports.c', 'kafka-frames.c', 'relay.h', 'relay-conn.h'].map((f) => join(HERE, f));
export const DEVBROKER_BINARY = join(REPO_ROOT, '.build', 'devbroker');

export interface DevBrokerLogger {
  info(msg: string): void;
  warn(msg: string): void;
  debug?(msg: string): void;
}

export interface DevBrokerTopic {
  name: string;
  partitions: number;
}

export interface StartDevBrokerOptions {
  topics: DevBrokerTopic[];
  /** Number of mock brokers (ids 1..brokers). Default: ports.length, else 1. */
  brokers?: number;
  /**
   * Fixed loopback ports, one per broker in id order (default: ephemeral). A broker
   * restarted on the same ports keeps its bootstrap address (its data is gone).
   */
  ports?: number[];
  /** Path of a prebuilt devbroker binary; default: build .build/devbroker if stale. */
  binary?: string;
  logger?: DevBrokerLogger;
  /** Bound on start (build excluded). Default 10 s. */
  startTimeoutMs?: number;
  /** Bound on each command's answer. Default 5 s. */
  commandTimeoutMs?: number;
  /** librdkafka debug contexts for the broker's stderr, e.g. "mock". */
  debug?: string;
}

export type BrokerSelector = number | 'all';

export interface DevBroker {
  /** e.g. ["127.0.0.1:40123"], one entry per mock broker. */
  readonly bootstrap: string[];
  readonly pid: number;
  /** Disconnects the broker(s) and refuses new connections (no leader change). */
  down(broker?: BrokerSelector): Promise<void>;
  up(broker?: BrokerSelector): Promise<void>;
  /** Adds a round-trip delay to every response of the broker(s). */
  rtt(broker: BrokerSelector, ms: number): Promise<void>;
  createTopic(name: string, partitions: number): Promise<void>;
  ping(): Promise<void>;
  /** Resolves once the process is gone (quit, then SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
  /** Resolves when the process exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

let building: Promise<string> | undefined;

/**
 * Builds .build/devbroker from its C sources when it is missing or older than any of them.
 * Returns the binary path. Concurrent callers share one build.
 */
export function ensureDevBrokerBinary(logger?: DevBrokerLogger): Promise<string> {
  const bin = mtimeMs(DEVBROKER_BINARY);
  let src = 0;
  for (const path of DEVBROKER_SOURCES) {
    const m = mtimeMs(path);
    if (m === undefined) return Promise.reject(new Error(`dev broker source missing: ${path}`));
    src = Math.max(src, m);
  }
  if (bin !== undefined && bin >= src) return Promise.resolve(DEVBROKER_BINARY);
  building ??= buildBinary(logger).finally(() => {
    building = undefined;
  });
  return building;
}

async function buildBinary(logger?: DevBrokerLogger): Promise<string> {
  let flags: string[];
  try {
    const { stdout } = await execFileAsync('pkg-config', ['--cflags', '--libs', 'rdkafka'], { timeout: 10_000 });
    flags = stdout.trim().split(/\s+/).filter(Boolean);
  } catch (err) {
    throw new Error(
      'dev broker: pkg-config cannot find librdkafka (rdkafka.pc). ' +
        'Install it with `apt-get install -y librdkafka-dev` (and pkg-config, gcc). ' +
        `Cause: ${(err as Error).message.trim()}`,
    );
  }
  mkdirSync(dirname(DEVBROKER_BINARY), { recursive: true });
  // Build next to the target and rename, so a concurrent reader never sees half a file.
  const tmp = `${DEVBROKER_BINARY}.${process.pid}.tmp`;
  logger?.info(`dev broker: building ${DEVBROKER_BINARY}`);
  try {
    const units = DEVBROKER_SOURCES.filter((path) => path.endsWith('.c'));
    await execFileAsync('gcc', ['-O2', '-Wall', '-o', tmp, ...units, ...flags, '-lpthread', '-ldl'], { timeout: 120_000 });
    renameSync(tmp, DEVBROKER_BINARY);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as Error & { stderr?: string };
    throw new Error(
      `dev broker: compiling ${DEVBROKER_SOURCES.join(' ')} failed (needs gcc and \`apt-get install -y librdkafka-dev\`): ` +
        `${(e.stderr ?? e.message).trim()}`,
    );
  }
  return DEVBROKER_BINARY;
}

function selector(broker: BrokerSelector | undefined): string {
  if (broker === undefined || broker === 'all') return 'all';
  if (!Number.isInteger(broker) || broker < 1) throw new Error(`dev broker: bad broker id ${broker}`);
  return String(broker);
}

interface Pending {
  line: string;
  resolve: (answer: string) => void;
  reject: (err: Error) => void;
}

/** Starts a dev broker with the given topics; bounded in time, cleaned up on failure. */
export async function startDevBroker(opts: StartDevBrokerOptions): Promise<DevBroker> {
  const log = opts.logger;
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 5_000;
  const brokers = opts.brokers ?? (opts.ports?.length || 1);
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 32) throw new Error(`dev broker: brokers must be 1..32`);
  const args = ['--brokers', String(brokers)];
  if (opts.ports) {
    if (opts.ports.length !== brokers) throw new Error(`dev broker: ${opts.ports.length} ports given for ${brokers} broker(s)`);
    for (const p of opts.ports) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`dev broker: bad port ${p}`);
      args.push('--port', String(p));
    }
  }
  for (const t of opts.topics) {
    if (!TOPIC_NAME.test(t.name)) throw new Error(`dev broker: bad topic name ${JSON.stringify(t.name)}`);
    if (!Number.isInteger(t.partitions) || t.partitions < 1) throw new Error(`dev broker: bad partitions for ${t.name}`);
    args.push('--topic', `${t.name}:${t.partitions}`);
  }
  if (opts.debug) args.push('--debug', opts.debug);

  const binary = opts.binary ?? (await ensureDevBrokerBinary(log));
  // Own process group: a terminal's Ctrl-C reaches only the parent, which then stops the
  // broker in order. If the parent dies anyway, the broker sees stdin EOF and exits.
  const child: ChildProcess = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const pid = child.pid;

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      res(exitInfo);
    });
  });

  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderrTail.push(l);
    if (stderrTail.length > 20) stderrTail.shift();
    log?.debug?.(`dev broker[${pid}]: ${l}`);
  });
  // Writing to a dead child's stdin must not crash the test process.
  child.stdin!.on('error', () => {});

  let stopping: Promise<void> | undefined;
  const queue: Pending[] = [];
  let inflight: (Pending & { timer: NodeJS.Timeout }) | undefined;
  let lateAnswers = 0; // answers still owed to timed-out commands, dropped when they come
  let bootstrap: string[] | undefined;
  let readyResolve: (() => void) | undefined;
  const ready = new Promise<void>((res) => (readyResolve = res));

  const pump = () => {
    if (inflight || queue.length === 0) return;
    const next = queue.shift()!;
    if (exitInfo || !child.stdin!.writable) {
      next.reject(new Error(`dev broker: process ${pid} is not running (command: ${next.line})`));
      pump();
      return;
    }
    const timer = setTimeout(() => {
      const p = inflight;
      inflight = undefined;
      lateAnswers++;
      p?.reject(new Error(`dev broker: no answer to "${next.line}" within ${commandTimeoutMs} ms`));
      pump();
    }, commandTimeoutMs);
    inflight = { ...next, timer };
    child.stdin!.write(`${next.line}\n`);
  };

  createInterface({ input: child.stdout! }).on('line', (l) => {
    if (!bootstrap && l.startsWith('BOOTSTRAP ')) {
      bootstrap = l.slice('BOOTSTRAP '.length).trim().split(',').filter(Boolean);
      return;
    }
    if (l === 'READY') {
      readyResolve?.();
      return;
    }
    const isAnswer = l.startsWith('OK') || l.startsWith('ERR');
    if (isAnswer && lateAnswers > 0) {
      lateAnswers--;
      return;
    }
    if (inflight && isAnswer) {
      const p = inflight;
      inflight = undefined;
      clearTimeout(p.timer);
      if (l.startsWith('OK')) p.resolve(l);
      else p.reject(new Error(`dev broker: "${p.line}" failed: ${l.slice(3).trim()}`));
      pump();
      return;
    }
    if (stopping && l === 'OK bye') return; // answer to stop()'s quit
    log?.warn(`dev broker[${pid}]: unexpected output: ${l}`);
  });

  void exited.then(({ code, signal }) => {
    const err = new Error(`dev broker: process ${pid} exited (code ${code}, signal ${signal})`);
    if (inflight) {
      clearTimeout(inflight.timer);
      inflight.reject(err);
      inflight = undefined;
    }
    for (const p of queue.splice(0)) p.reject(err);
  });

  const command = (line: string): Promise<string> =>
    new Promise<string>((res, rej) => {
      queue.push({ line, resolve: res, reject: rej });
      pump();
    });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo || pid === undefined) return;
      const waitExit = (ms: number) =>
        Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(r, ms, false).unref())]);
      try {
        child.stdin!.write('quit\n');
        child.stdin!.end();
      } catch {
        /* stdin already gone */
      }
      if (await waitExit(2_000)) return;
      log?.warn(`dev broker[${pid}]: no exit after quit, sending SIGTERM`);
      child.kill('SIGTERM');
      if (await waitExit(2_000)) return;
      log?.warn(`dev broker[${pid}]: no exit after SIGTERM, sending SIGKILL`);
      child.kill('SIGKILL');
      if (!(await waitExit(2_000))) throw new Error(`dev broker: process ${pid} survived SIGKILL`);
    })();
    return stopping;
  };

  const spawnError = new Promise<never>((_, rej) => child.once('error', (e) => rej(new Error(`dev broker: cannot start ${binary}: ${e.message}`))));
  spawnError.catch(() => {});
  let startTimer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      spawnError,
      exited.then(({ code, signal }) => {
        throw new Error(
          `dev broker: exited during start (code ${code}, signal ${signal}): ${stderrTail.join(' | ') || 'no stderr'}`,
        );
      }),
      new Promise<never>((_, rej) => {
        startTimer = setTimeout(
          () => rej(new Error(`dev broker: not ready within ${startTimeoutMs} ms: ${stderrTail.join(' | ') || 'no stderr'}`)),
          startTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  } finally {
    clearTimeout(startTimer);
  }
  if (!bootstrap || bootstrap.length === 0 || pid === undefined) {
    await stop().catch(() => {});
    throw new Error('dev broker: READY without a BOOTSTRAP line');
  }
  log?.info(`dev broker[${pid}] ready: ${bootstrap.join(',')}`);

  return {
    bootstrap,
    pid,
    exited,
    async down(broker) {
      await command(`down ${selector(broker)}`);
    },
    async up(broker) {
      await command(`up ${selector(broker)}`);
    },
    async rtt(broker, ms) {
      if (!Number.isInteger(ms) || ms < 0) throw new Error(`dev broker: bad rtt ${ms}`);
      await command(`rtt ${selector(broker)} ${ms}`);
    },
    async createTopic(name, partitions) {
      if (!TOPIC_NAME.test(name)) throw new Error(`dev broker: bad topic name ${JSON.stringify(name)}`);
      if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`dev broker: bad partitions ${partitions}`);
      await command(`topic ${name} ${partitions}`);
    },
    async ping() {
      await command('ping');
    },
    stop,
  };
}

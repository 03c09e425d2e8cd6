import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { parsePromText, sumOf } from '../services/core/prom-text.ts';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.ts';

/** What `loadtest realtime` does: its size, its rate, and where the platform is. */
export interface RealtimePlan {
  /** WebSocket connections held open during the run. @default 200 */
  clients: number;
  /** Recipients the connections belong to (each has clients ÷ users devices). @default min(clients, 50) */
  users: number;
  /** Messages per second into the recipients' conversations (round robin). @default 20 */
  rate: number;
  /** Seconds of sending. @default 20 */
  durationS: number;
  /** Seconds after the last send before a missing frame counts as lost. @default 10 */
  deadlineS: number;
  apiUrl: string;
  /** The gateways' `ws://…/v1/stream` URLs; connections are spread over them. */
  streamUrls: string[];
  /** Connections opened at once while connecting. @default 200 */
  connectConcurrency?: number;
}

/** The numbers of one run. */
export interface RealtimeResult {
  clients: number;
  users: number;
  gateways: number;
  connect_s: number;
  sent: number;
  accepted: number;
  /** Frames each connection should have received (accepted × devices of the recipient). */
  expected: number;
  received: number;
  lost: number;
  duplicated: number;
  out_of_order: number;
  /** Accept (the 202's `accepted_at`) → the frame received by the client, in ms. */
  push_ms: LatencySummary;
  /** Per gateway: resident memory and heap growth per connection, in KiB. */
  memory: { url: string; connections: number; rss_kib_per_connection: number; heap_kib_per_connection: number }[];
  closes: Record<string, number>;
}

interface Conn {
  ws: WebSocket;
  conversation: string;
  seen: Set<string>;
  lastSeq: number;
  outOfOrder: number;
  duplicated: number;
}

const PASSWORD = 'correct horse battery';

async function call<T>(apiUrl: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

async function newUser(apiUrl: string, prefix: string) {
  const username = `${prefix}-${randomBytes(5).toString('hex')}`;
  const reg = await call<{ user_id: string }>(apiUrl, 'POST', '/auth/register', { username, password: PASSWORD });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const tok = await call<{ access_token: string }>(apiUrl, 'POST', '/auth/token', { username, password: PASSWORD });
  if (tok.status !== 200) throw new Error(`token: ${tok.status}`);
  return { userId: reg.body.user_id, token: tok.body.access_token };
}

async function gatewayMemory(streamUrl: string) {
  const http = streamUrl.replace(/^ws/, 'http').replace(/\/v1\/stream$/, '');
  const samples = parsePromText(await (await fetch(`${http}/metrics`, { signal: AbortSignal.timeout(5000) })).text());
  return {
    rss: sumOf(samples, 'process_resident_memory_bytes', {}) ?? 0,
    heap: sumOf(samples, 'nodejs_heap_size_used_bytes', {}) ?? 0,
    connections: sumOf(samples, 'gateway_connected_clients', {}) ?? 0,
  };
}

/** Runs pool-limited tasks. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>) {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/**
 * `loadtest realtime`: `clients` WebSockets (several devices per recipient, spread over the
 * gateways), one sender posting `rate` messages a second into the recipients' conversations.
 * Measures accept → frame received, and checks every connection got every message of its
 * conversation once and in seq order. Bounded: `durationS` of sending, then `deadlineS`.
 */
export async function runRealtime(plan: RealtimePlan, log: (line: string) => void = () => undefined): Promise<RealtimeResult> {
  const users = Math.max(1, Math.min(plan.users, plan.clients));
  log(`setting up ${users} recipients and a sender …`);
  const sender = await newUser(plan.apiUrl, 'rt-sender');
  const recipients: { userId: string; token: string; conversation: string }[] = [];
  for (let i = 0; i < users; i++) {
    const u = await newUser(plan.apiUrl, 'rt-user');
    const c = await call<{ conversation_id: string }>(plan.apiUrl, 'POST', '/v1/conversations', { type: 'private', members: [u.userId] }, sender.token);
    if (c.status !== 201) throw new Error(`conversation: ${c.status}`);
    recipients.push({ ...u, conversation: c.body.conversation_id });
  }

  const before = await Promise.all(plan.streamUrls.map(gatewayMemory));
  const conns: Conn[] = [];
  const histogram = new LatencyHistogram();
  const acceptedAt = new Map<string, number>();
  const closes: Record<string, number> = {};
  let received = 0;
  log(`connecting ${plan.clients} clients to ${plan.streamUrls.length} gateway(s) …`);
  const connectStarted = Date.now();
  await pool(
    Array.from({ length: plan.clients }, (_, i) => i),
    plan.connectConcurrency ?? 200,
    (i) =>
      new Promise<void>((resolve, reject) => {
        const r = recipients[i % users]!;
        const ws = new WebSocket(plan.streamUrls[i % plan.streamUrls.length]!, { headers: { authorization: `Bearer ${r.token}` } });
        const conn: Conn = { ws, conversation: r.conversation, seen: new Set(), lastSeq: 0, outOfOrder: 0, duplicated: 0 };
        ws.once('open', () => ws.send(JSON.stringify({ type: 'resume', cursors: { [r.conversation]: 0 } })));
        ws.once('error', reject);
        ws.on('close', (code) => (closes[code] = (closes[code] ?? 0) + 1));
        ws.on('message', (data) => {
          const f = JSON.parse(data.toString()) as { type: string; message_id?: string; seq?: number };
          if (f.type === 'resumed') return resolve();
          if (f.type !== 'message.created') return;
          const now = Date.now();
          if (conn.seen.has(f.message_id!)) {
            conn.duplicated++;
            return;
          }
          conn.seen.add(f.message_id!);
          received++;
          if (f.seq! < conn.lastSeq) conn.outOfOrder++;
          conn.lastSeq = Math.max(conn.lastSeq, f.seq!);
          const at = acceptedAt.get(f.message_id!);
          if (at !== undefined) histogram.record(now - at);
        });
        conns.push(conn);
      }),
  );
  const connectS = (Date.now() - connectStarted) / 1000;
  await new Promise((r) => setTimeout(r, 2000)); // settle before reading memory
  const during = await Promise.all(plan.streamUrls.map(gatewayMemory));
  log(`connected in ${connectS.toFixed(1)} s; sending ${plan.rate} msg/s for ${plan.durationS} s …`);

  // Open model: a message every 1/rate s whether or not the earlier ones were answered.
  const total = Math.round(plan.rate * plan.durationS);
  const accepted: { id: string; conversation: string }[] = [];
  let sent = 0;
  const started = Date.now();
  const inflight: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / plan.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const r = recipients[n % users]!;
    sent++;
    inflight.push(
      call<{ message_id: string; accepted_at: string }>(plan.apiUrl, 'POST', '/v1/messages', { conversation_id: r.conversation, channels: ['internal'], payload: { type: 'text', text: `rt:${n}` } }, sender.token)
        .then((res) => {
          if (res.status !== 202) return;
          acceptedAt.set(res.body.message_id, Date.parse(res.body.accepted_at));
          accepted.push({ id: res.body.message_id, conversation: r.conversation });
        })
        .catch(() => undefined),
    );
  }
  await Promise.all(inflight);
  const devices = new Map<string, Conn[]>();
  for (const c of conns) devices.set(c.conversation, [...(devices.get(c.conversation) ?? []), c]);
  const expected = accepted.reduce((n, m) => n + (devices.get(m.conversation)?.length ?? 0), 0);
  const deadline = Date.now() + plan.deadlineS * 1000;
  while (Date.now() < deadline && received < expected) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500)); // a late duplicate shows up now

  let lost = 0;
  for (const m of accepted) for (const c of devices.get(m.conversation) ?? []) if (!c.seen.has(m.id)) lost++;
  for (const c of conns) c.ws.close();
  const push = histogram.summary();
  histogram.destroy();
  return {
    clients: plan.clients,
    users,
    gateways: plan.streamUrls.length,
    connect_s: Math.round(connectS * 10) / 10,
    sent,
    accepted: accepted.length,
    expected,
    received,
    lost,
    duplicated: conns.reduce((n, c) => n + c.duplicated, 0),
    out_of_order: conns.reduce((n, c) => n + c.outOfOrder, 0),
    push_ms: push,
    memory: plan.streamUrls.map((url, i) => {
      const n = Math.max(1, during[i]!.connections - before[i]!.connections);
      return {
        url,
        connections: during[i]!.connections,
        rss_kib_per_connection: Math.round(((during[i]!.rss - before[i]!.rss) / n / 1024) * 10) / 10,
        heap_kib_per_connection: Math.round(((during[i]!.heap - before[i]!.heap) / n / 1024) * 10) / 10,
      };
    }),
    closes,
  };
}

/** Writes `result.json` and `summary.md` of a run into `dir`; returns their paths. */
export function writeRealtimeReport(dir: string, plan: RealtimePlan, result: RealtimeResult) {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'result.json');
  const md = join(dir, 'summary.md');
  writeFileSync(json, `${JSON.stringify({ scenario: 'realtime', plan, result }, null, 2)}\n`);
  writeFileSync(md, `${realtimeSummary(result).join('\n')}\n`);
  return { json, markdown: md };
}

/** The report's lines, as the CLI prints them. */
export function realtimeSummary(r: RealtimeResult): string[] {
  return [
    `realtime: ${r.clients} clients (${r.users} users) on ${r.gateways} gateway(s), connected in ${r.connect_s} s`,
    `  sent ${r.sent}, accepted ${r.accepted}; frames expected ${r.expected}, received ${r.received}, lost ${r.lost}, duplicated ${r.duplicated}, out of order ${r.out_of_order}`,
    `  push latency accept → frame received: p50 ${r.push_ms.p50} ms, p95 ${r.push_ms.p95} ms, p99 ${r.push_ms.p99} ms, max ${r.push_ms.max} ms`,
    ...r.memory.map((m) => `  ${m.url}: ${m.connections} connections, ${m.rss_kib_per_connection} KiB RSS and ${m.heap_kib_per_connection} KiB heap per connection`),
    `  closes: ${JSON.stringify(r.closes)}`,
  ];
}

/**
 * CPU per routed message in one process: accepted messages in a real SQLite file routed with
 * `routeMessages` in batches (what a router's turn holds), the bus a no-op. Not part of the suite.
 *
 *   npx tsx bench/route-cpu.ts [--messages 6000] [--batch 20] [--conversations 500] [--profile out.cpuprofile]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { openSqliteStores } from '../services/core/adapters/sqlite/open-sqlite-stores.ts';
import { createDeadLetterMetrics } from '../services/core/dead-letters.ts';
import { createLogger } from '../services/core/logger.ts';
import type { Bus } from '../services/core/ports/bus.ts';
import { createRouterMetrics } from '../services/router/metrics.ts';
import { routeMessages } from '../services/router/route-message.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '6000' }, batch: { type: 'string', default: '20' }, conversations: { type: 'string', default: '500' }, profile: { type: 'string' } } });
const total = Number(values.messages);
const batchSize = Number(values.batch);
const convCount = Number(values.conversations);

const dir = mkdtempSync(join(tmpdir(), 'route-cpu-'));
const stores = openSqliteStores(join(dir, 'chat4all.db'));
const bus = { publish: async () => {} } as unknown as Bus;
const registry = new Registry();
const deps = {
  ...stores, bus, clock: { now: () => Date.now() }, logger: createLogger('bench', 'silent'),
  metrics: createRouterMetrics(registry), deadLetterMetrics: createDeadLetterMetrics(registry), maxBatchBytes: 512 * 1024,
};
const at = new Date().toISOString();
const convs: { conversation_id: string; sender: string }[] = [];
for (let i = 0; i < convCount; i++) {
  const [a, b] = [randomUUID(), randomUUID()];
  await stores.users.linkIdentity({ user_id: b, channel: 'whatsapp', address: `+55${1e9 + i}`, linked_at: at });
  const conversation_id = randomUUID();
  await stores.conversations.createConversation({ conversation_id, type: 'private', members: [a, b], name: null, metadata: null, created_at: at });
  convs.push({ conversation_id, sender: a });
}
const ids = Array.from({ length: total }, () => randomUUID());
// Accepted in order, many per group commit (as the API does under load).
await Promise.all(ids.map((message_id, i) => {
  const c = convs[i % convs.length]!;
  return stores.messages.acceptMessage({
    message_id, conversation_id: c.conversation_id, sender_id: c.sender, payload: { type: 'text', text: `lt:${i}` }, channels: ['whatsapp'],
    metadata: null, body_hash: 'h', trace_id: randomUUID(), created_at: at,
  });
}));
// Warm-up: the first tenth, not measured.
const warm = Math.floor(total / 10);
for (let i = 0; i < warm; i += batchSize) await routeMessages(deps, ids.slice(i, Math.min(i + batchSize, warm)));
// `--profile FILE`: a CPU profile of the measured part alone.
const session = values.profile ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
// Five rounds; the least CPU per message of them is the figure least disturbed by other processes
// sharing the cores (the median is printed beside it).
const rounds: { cpu: number; user: number; system: number }[] = [];
const per = Math.ceil((total - warm) / 5 / batchSize) * batchSize;
for (let start = warm; start < total; start += per) {
  const end = Math.min(start + per, total);
  const cpu = process.cpuUsage();
  for (let i = start; i < end; i += batchSize) await routeMessages(deps, ids.slice(i, Math.min(i + batchSize, end)));
  const used = process.cpuUsage(cpu);
  const n = end - start;
  rounds.push({ cpu: (used.user + used.system) / n, user: used.user / n, system: used.system / n });
}
if (session) writeFileSync(values.profile!, JSON.stringify((await session.post('Profiler.stop')).profile));
const sorted = [...rounds].sort((a, b) => a.cpu - b.cpu);
const best = sorted[0]!;
console.log(
  `batch ${batchSize}: ${best.cpu.toFixed(1)} us CPU per message at best (user ${best.user.toFixed(1)}, system ${best.system.toFixed(1)}), ` +
    `median ${sorted[Math.floor(sorted.length / 2)]!.cpu.toFixed(1)} over ${rounds.length} rounds`,
);
await stores.close();
rmSync(dir, { recursive: true, force: true });

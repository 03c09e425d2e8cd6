import { randomUUID } from 'node:crypto';
import { ApiClient, eventually } from './api-client.ts';

export interface LoadConversation {
  conversationId: string;
  sender: ApiClient;
  /** The recipient's WhatsApp address, where the simulator files what it receives. */
  to: string;
}

/** Registers one sender and `n` recipients with WhatsApp numbers, one private conversation each. */
export async function makeConversations(apiUrl: string, n: number): Promise<LoadConversation[]> {
  const anon = new ApiClient(apiUrl);
  const sender = await anon.newUser('sender');
  const out: LoadConversation[] = [];
  for (let i = 0; i < n; i++) {
    const r = await anon.newUser('rcpt');
    const to = `+5521${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    const link = await r.client.call('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: to });
    if (link.status !== 201) throw new Error(`link: ${link.status}`);
    const c = await sender.client.call<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [r.userId] });
    if (c.status !== 201) throw new Error(`conversation: ${c.status}`);
    out.push({ conversationId: c.body.conversation_id, sender: sender.client, to });
  }
  return out;
}

export interface SentRecord {
  message_id: string;
  conversation: number;
  n: number;
  text: string;
  to: string;
}

export interface LoadResult {
  accepted: SentRecord[];
  /** Requests that got an answer other than 202, or no answer. */
  failed: { record: SentRecord; status: number | 'network' }[];
  answers: Record<string, number>;
}

/**
 * An open-model load: `rate` messages per second spread round-robin over the conversations,
 * each message numbered per conversation so order and duplicates can be checked at the provider.
 * Bounded by `durationMs`, or by `stop()`.
 */
export function startSteadyLoad(conversations: LoadConversation[], rate: number, durationMs: number) {
  const run = randomUUID().slice(0, 6);
  const counters = conversations.map(() => 0);
  const accepted: SentRecord[] = [];
  const failed: LoadResult['failed'] = [];
  const answers: Record<string, number> = {};
  const inflight = new Set<Promise<void>>();
  let stopped = false;
  let i = 0;
  const started = Date.now();
  const send = (idx: number) => {
    const c = conversations[idx]!;
    const n = ++counters[idx]!;
    const record: SentRecord = { message_id: randomUUID(), conversation: idx, n, text: `L${run}.${idx}-${n}`, to: c.to };
    const p = c.sender
      .call('POST', '/v1/messages', {
        message_id: record.message_id,
        conversation_id: c.conversationId,
        channels: ['whatsapp'],
        payload: { type: 'text', text: record.text },
      })
      .then(
        (r) => {
          answers[r.status] = (answers[r.status] ?? 0) + 1;
          if (r.status === 202) accepted.push(record);
          else failed.push({ record, status: r.status });
        },
        () => {
          answers.network = (answers.network ?? 0) + 1;
          failed.push({ record, status: 'network' });
        },
      )
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  // Per-conversation sends are serial in issue order only as far as the API sees them: to keep
  // "n" meaningful for ordering, a conversation's next message waits for its previous answer.
  const busy = new Set<number>();
  const sendSerial = (idx: number) => {
    if (busy.has(idx)) return false;
    busy.add(idx);
    send(idx);
    const last = [...inflight].pop()!;
    void last.finally(() => busy.delete(idx));
    return true;
  };
  const tick = setInterval(() => {
    if (stopped) return;
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    let guard = conversations.length;
    while (i < due && guard > 0) {
      if (sendSerial(i % conversations.length)) i++;
      else guard--;
    }
    if (Date.now() - started >= durationMs) stopped = true;
  }, 5);
  return {
    get sent() {
      return i;
    },
    /** Stops issuing, waits for the answers in flight. */
    async stop(): Promise<LoadResult> {
      stopped = true;
      clearInterval(tick);
      await Promise.all([...inflight]);
      return { accepted, failed, answers };
    },
    /** Resolves when the duration is over and every answer is in. */
    async done(): Promise<LoadResult> {
      while (!stopped) await new Promise((r) => setTimeout(r, 20));
      return this.stop();
    },
  };
}

interface Received {
  to: string;
  text?: string;
  provider_message_id: string;
}

/**
 * Waits until the simulator received every accepted message, then reports what was lost,
 * duplicated or out of order (per recipient, by the per-conversation number).
 */
export async function verifyAtProvider(simUrl: string, accepted: SentRecord[], timeoutMs = 60000) {
  const sim = new ApiClient(simUrl);
  const want = new Set(accepted.map((a) => a.text));
  let received: Received[] = [];
  try {
    await eventually(async () => {
      received = (await sim.call<{ received: Received[] }>('GET', '/_sim/received?channel=whatsapp')).body.received;
      const got = new Set(received.map((r) => r.text));
      for (const t of want) if (!got.has(t)) return false;
      return true;
    }, 'every accepted message at the provider', timeoutMs);
  } catch {
    // fall through: report what is missing
  }
  const counts = new Map<string, number>();
  for (const r of received) counts.set(r.text ?? '', (counts.get(r.text ?? '') ?? 0) + 1);
  const lost = accepted.filter((a) => !counts.has(a.text)).map((a) => a.text);
  const duplicates = [...counts].filter(([t, c]) => c > 1 && want.has(t)).map(([t, c]) => `${t}×${c}`);
  const outOfOrder: string[] = [];
  const lastByTo = new Map<string, number>();
  for (const r of received) {
    const m = /^L\w+\.(\d+)-(\d+)$/.exec(r.text ?? '');
    if (!m || !want.has(r.text!)) continue;
    const n = Number(m[2]);
    const prev = lastByTo.get(r.to) ?? 0;
    if (n < prev) outOfOrder.push(`${r.text} after n=${prev}`);
    lastByTo.set(r.to, Math.max(prev, n));
  }
  return { lost, duplicates, outOfOrder, received: received.length };
}

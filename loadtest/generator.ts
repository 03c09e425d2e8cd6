import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { HttpClient, HttpStatusError } from './http-client.ts';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.ts';
import { ReceivedPoller, type SimReceipt } from './received-poller.ts';
import { Timeline, type TimelinePoint } from './timeline.ts';

export type { TimelinePoint } from './timeline.ts';
export type { LatencySummary } from './latency-histogram.ts';

/** Where the load goes: the public API, and the provider simulator that shows what was delivered. */
export interface LoadTarget {
  apiUrl: string;
  simUrl: string;
}

export interface PreparedConversation {
  conversationId: string;
  /** The sender's bearer token. */
  token: string;
  /** The recipient's WhatsApp number (E.164), where the simulator files what it receives. */
  to: string;
  channel: 'whatsapp';
}

export interface PreparedConversations {
  conversations: PreparedConversation[];
}

export interface PrepareOptions {
  /** Conversations sharing one sender. @default 50 */
  conversationsPerSender?: number;
  /** Set-up requests in flight at once. @default 8 */
  concurrency?: number;
}

const PASSWORD = 'loadtest-password';

/**
 * Registers users (one sender per up to 50 conversations), links a WhatsApp identity per
 * recipient, creates private conversations. Every name and number is fresh, so runs against the
 * same platform never collide.
 */
export async function prepareConversations(target: LoadTarget, count: number, options: PrepareOptions = {}): Promise<PreparedConversations> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`conversations must be a positive integer, got ${count}`);
  const perSender = options.conversationsPerSender ?? 50;
  const api = new HttpClient(target.apiUrl, { connections: options.concurrency ?? 8, timeoutMs: 30_000 });
  const run = randomBytes(3).toString('hex');
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const newUser = async (username: string) => {
    const reg = await api.json<{ user_id: string }>('POST', '/auth/register', { username, password: PASSWORD });
    const tok = await api.json<{ access_token: string }>('POST', '/auth/token', { username, password: PASSWORD });
    return { id: reg.user_id, token: tok.access_token };
  };
  const linkNumber = async (token: string) => {
    for (let attempt = 1; ; attempt++) {
      const to = `+55${String(randomBytes(5).readUIntBE(0, 5) % 1e11).padStart(11, '0')}`;
      try {
        await api.json('POST', '/v1/users/me/identities', { channel: 'whatsapp', address: to }, bearer(token), [201]);
        return to;
      } catch (err) {
        // 409: the random number belongs to someone else already; draw another.
        if (!(err instanceof HttpStatusError && err.answer.status === 409) || attempt >= 5) throw err;
      }
    }
  };
  try {
    const senders = await inPool(Math.ceil(count / perSender), options.concurrency ?? 8, (k) => newUser(`lt-s-${run}-${k}`));
    const conversations = await inPool(count, options.concurrency ?? 8, async (i): Promise<PreparedConversation> => {
      const recipient = await newUser(`lt-r-${run}-${i}`);
      const to = await linkNumber(recipient.token);
      const sender = senders[Math.floor(i / perSender)]!;
      const c = await api.json<{ conversation_id: string }>('POST', '/v1/conversations', { type: 'private', members: [recipient.id] }, bearer(sender.token), [201]);
      return { conversationId: c.conversation_id, token: sender.token, to, channel: 'whatsapp' };
    });
    return { conversations };
  } catch (err) {
    throw new Error(`preparing ${count} conversations at ${target.apiUrl} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    api.close();
  }
}

/** Runs `fn(0..n-1)` with at most `concurrency` at once; results in index order. */
async function inPool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

export interface LoadProgress {
  elapsed_ms: number;
  offered: number;
  accepted: number;
  failed: number;
  delivered: number;
  in_flight: number;
}

export interface OpenLoadOptions {
  target: LoadTarget;
  prepared: PreparedConversations;
  /** Arrival rate in messages/s: constant, or a function of elapsed ms (for spike profiles). */
  rate: number | ((elapsedMs: number) => number);
  durationMs: number;
  /** After the last send, how long to wait for deliveries before counting a message lost. @default 30000 */
  deliveryDeadlineMs?: number;
  /** Cap on requests in flight (an open model still needs a bound): excess arrivals are counted as `dropped_by_client`. @default 2000 */
  maxInFlight?: number;
  signal?: AbortSignal;
  /** Called about once per second. */
  onProgress?: (p: LoadProgress) => void;
  /** Keep-alive sockets to the API; requests beyond wait for a free one (and that wait counts in their latency). @default 64 */
  connections?: number;
  /** A request with no answer after this long counts as failed ("network"). @default 30000 */
  requestTimeoutMs?: number;
  /**
   * Follow deliveries at the simulator. Off only to drive something that is not Chat4All (the
   * bare HTTP server of the benchmark): then `delivered`, `lost` and `e2e_ms` stay 0.
   * @default true
   */
  trackDelivery?: boolean;
  /** How often the simulator is polled. @default 100 */
  pollIntervalMs?: number;
  /**
   * Where a delivery counts: by default when the simulator received the call; with this, only
   * when the message's DELIVERED (or READ) status is in the store, at the time it was stored
   * (the benchmark tails the store's status history). The simulator's receipts still count
   * duplicates and order.
   */
  deliveredIn?: DeliveredSource;
}

/** A message whose DELIVERED status was stored, at `at` (epoch ms). */
export interface StoredDelivery {
  message_id: string;
  at: number;
}

/** Starts following stored deliveries from now on; `stop` ends it. */
export type DeliveredSource = (onDelivered: (entries: StoredDelivery[]) => void) => Promise<{ stop(): Promise<void> }>;

export interface LoadResult {
  offered: number;
  accepted: number;
  failed: number;
  dropped_by_client: number;
  /** Accepted messages the simulator received (each counted once); with `deliveredIn`, whose DELIVERED is in the store. */
  delivered: number;
  /** Accepted, and not delivered (as above) within the deadline after the last send. */
  lost: number;
  /** Extra copies the simulator received of our messages. */
  duplicates: number;
  /**
   * Messages received after a message of the same conversation that was sent only after their
   * own 202 arrived (pairs in flight together have no order to keep).
   */
  out_of_order: number;
  /** HTTP status → count ("network" for no answer). */
  answers: Record<string, number>;
  /** From the request leaving the client (or waiting for a socket) to its answer. */
  http_ms: LatencySummary;
  /** Simulator receipt time (with `deliveredIn`: the stored DELIVERED's time) − the 202's `accepted_at`, for accepted messages. */
  e2e_ms: LatencySummary;
  /** accepted ÷ the time until the last 202 (at least the duration). */
  accepted_per_s: number;
  /** delivered ÷ the time until the last delivery (at least the duration). */
  delivered_per_s: number;
  timeline: TimelinePoint[];
  /** Message ids that got 202. */
  accepted_ids: string[];
  started_at: string;
  ended_at: string;
  // Fields beyond the agreed interface:
  run_id: string;
  duration_ms: number;
  /** The mean offered rate (offered ÷ duration). */
  offered_rate: number;
  /** Messages the simulator received whose request failed at the client (e.g. timed out). */
  delivered_not_accepted: number;
  /** Up to 20 lost messages, to look up in the logs. */
  lost_sample: { message_id: string; text: string }[];
  /** The longest the generator's clock tick was late: a busy generator shows here, not as server latency. */
  max_schedule_lag_ms: number;
  /** Polls of the simulator that failed. */
  poll_errors: number;
  aborted: boolean;
  connections: number;
  max_in_flight: number;
}

interface Sent {
  conv: number;
  text: string;
  messageId: string;
  /** performance.now() at send and at the 202. */
  sentMono: number;
  ackMono: number;
  /** `accepted_at` of the 202, and the simulator's `at`, in epoch ms. */
  acceptedAt: number;
  deliveredAt: number;
  receipts: number;
  /** With `deliveredIn`: its DELIVERED is in the store. */
  stored: boolean;
  state: 'pending' | 'accepted' | 'failed';
}

const TICK_MS = 2;

/**
 * An open-model load: arrivals at the target rate whether or not earlier requests were answered,
 * round-robin over the conversations, each text unique (`lt:<run>:<conv>:<n>`). Deliveries are
 * followed at the simulator and matched by text. Bounded by `durationMs`, then by the delivery
 * deadline; `signal` stops it early (no waiting for deliveries).
 */
export async function runOpenLoad(options: OpenLoadOptions): Promise<LoadResult> {
  const convs = options.prepared.conversations;
  if (convs.length === 0) throw new Error('runOpenLoad needs at least one prepared conversation');
  if (!(options.durationMs > 0)) throw new Error(`durationMs must be positive, got ${options.durationMs}`);
  const rateAt = typeof options.rate === 'number' ? ((r: number) => () => r)(options.rate) : options.rate;
  const deadlineMs = options.deliveryDeadlineMs ?? 30_000;
  const maxInFlight = options.maxInFlight ?? 2000;
  const connections = options.connections ?? 64;
  const track = options.trackDelivery ?? true;
  const run = randomBytes(3).toString('hex');

  const api = new HttpClient(options.target.apiUrl, { connections, timeoutMs: options.requestTimeoutMs ?? 30_000 });
  const headers = convs.map((c) => ({ authorization: `Bearer ${c.token}` }));
  const conversationJson = convs.map((c) => JSON.stringify(c.conversationId));
  const numbers = convs.map(() => 0);
  const receiptsByConv: Sent[][] = convs.map(() => []);
  const byText = new Map<string, Sent>();
  const byId = new Map<string, Sent>();
  const fromStore = track && options.deliveredIn !== undefined;
  const isDelivered = (s: Sent) => (fromStore ? s.stored : s.receipts > 0);
  const answers: Record<string, number> = {};
  const acceptedIds: string[] = [];
  const http = new LatencyHistogram();
  const e2e = new LatencyHistogram();
  const timeline = new Timeline();
  let offered = 0;
  let accepted = 0;
  let failed = 0;
  let dropped = 0;
  let deliveredAccepted = 0;
  let deliveredNotAccepted = 0;
  let duplicates = 0;
  let inFlight = 0;
  let lastAckMono = 0;
  let lastDeliveredAt = 0;
  let maxLag = 0;

  let startEpoch = 0;
  let t0 = 0;
  const secOfMono = (mono: number) => (mono - t0) / 1000;
  const secOfEpoch = (epoch: number) => (epoch - startEpoch) / 1000;

  const completeDelivery = (s: Sent) => {
    deliveredAccepted++;
    const ms = s.deliveredAt - s.acceptedAt;
    if (Number.isFinite(ms)) {
      e2e.record(ms);
      timeline.latency('e2e', secOfEpoch(s.deliveredAt), ms);
    }
  };

  const onReceived = (entries: SimReceipt[]) => {
    for (const r of entries) {
      const s = r.text === undefined ? undefined : byText.get(r.text);
      if (!s) continue; // someone else's message
      if (++s.receipts > 1) {
        duplicates++;
        continue;
      }
      receiptsByConv[s.conv]!.push(s);
      if (!fromStore) delivered(s, Date.parse(r.at));
    }
  };
  const delivered = (s: Sent, at: number) => {
    s.deliveredAt = at;
    lastDeliveredAt = Math.max(lastDeliveredAt, at);
    timeline.count('delivered', secOfEpoch(at));
    if (s.state === 'accepted') completeDelivery(s);
    else if (s.state === 'failed') deliveredNotAccepted++;
  };
  const onStored = (entries: StoredDelivery[]) => {
    for (const e of entries) {
      const s = byId.get(e.message_id);
      if (!s || s.stored) continue; // someone else's, or READ after DELIVERED
      s.stored = true;
      delivered(s, e.at);
    }
  };

  const poller = track ? await ReceivedPoller.start(options.target.simUrl, 'whatsapp', onReceived, options.pollIntervalMs ?? 100) : null;
  const storeTail = fromStore ? await options.deliveredIn!(onStored) : null;

  const send = (conv: number) => {
    const n = ++numbers[conv]!;
    const s: Sent = {
      conv,
      text: `lt:${run}:${conv}:${n}`,
      messageId: randomUUID(),
      sentMono: performance.now(),
      ackMono: NaN,
      acceptedAt: NaN,
      deliveredAt: NaN,
      receipts: 0,
      stored: false,
      state: 'pending',
    };
    if (track) byText.set(s.text, s);
    if (fromStore) byId.set(s.messageId, s);
    // What JSON.stringify of { message_id, conversation_id, channels, payload } gives, put together
    // from the parts that change (the generator's CPU is taken from the platform it measures).
    const body = `{"message_id":"${s.messageId}","conversation_id":${conversationJson[conv]},"channels":["whatsapp"],"payload":{"type":"text","text":${JSON.stringify(s.text)}}}`;
    inFlight++;
    api.request('POST', '/v1/messages', body, headers[conv]).then(
      (res) => {
        const now = performance.now();
        inFlight--;
        answers[res.status] = (answers[res.status] ?? 0) + 1;
        http.record(now - s.sentMono);
        timeline.latency('http', secOfMono(now), now - s.sentMono);
        if (res.status !== 202) {
          failed++;
          timeline.count('failed', secOfMono(s.sentMono));
          s.state = 'failed';
          if (isDelivered(s)) deliveredNotAccepted++;
          return;
        }
        accepted++;
        acceptedIds.push(s.messageId);
        timeline.count('accepted', secOfMono(now));
        s.state = 'accepted';
        s.ackMono = now;
        lastAckMono = now;
        s.acceptedAt = acceptedAtOf(res.text);
        if (isDelivered(s)) completeDelivery(s);
      },
      () => {
        const now = performance.now();
        inFlight--;
        answers.network = (answers.network ?? 0) + 1;
        http.record(now - s.sentMono);
        timeline.latency('http', secOfMono(now), now - s.sentMono);
        failed++;
        timeline.count('failed', secOfMono(s.sentMono));
        s.state = 'failed';
        if (isDelivered(s)) deliveredNotAccepted++;
      },
    );
  };

  startEpoch = Date.now();
  t0 = performance.now();
  let due = 0;
  let integrated = 0;
  let lastTick = t0;
  let aborted = options.signal?.aborted ?? false;
  const sending = new Promise<void>((resolve) => {
    const onAbort = () => {
      aborted = true;
      clearInterval(timer);
      resolve();
    };
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - lastTick - TICK_MS);
      lastTick = now;
      const until = Math.min(now - t0, options.durationMs);
      if (until > integrated) {
        // Midpoint rule: exact for constant rates, close enough for ramps at 2 ms steps.
        due += (Math.max(0, rateAt(integrated + (until - integrated) / 2)) * (until - integrated)) / 1000;
        integrated = until;
      }
      while (offered < Math.floor(due + 1e-9)) {
        const conv = offered % convs.length;
        offered++;
        timeline.count('offered', secOfMono(now));
        if (inFlight >= maxInFlight) {
          dropped++;
          timeline.count('failed', secOfMono(now));
        } else send(conv);
      }
      if (now - t0 >= options.durationMs) {
        clearInterval(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      }
    }, TICK_MS);
    if (aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });

  const progress = () => {
    const now = performance.now();
    timeline.closeBefore(secOfMono(now) - 5);
    options.onProgress?.({ elapsed_ms: Math.round(now - t0), offered, accepted, failed, delivered: deliveredAccepted, in_flight: inFlight });
  };
  const progressTimer = setInterval(progress, 1000);

  try {
    await sending;
    const lastSend = performance.now();
    // Every request ends: answered, or failed by the request timeout.
    while (inFlight > 0) await sleep(10);
    if (poller) {
      while (!aborted && deliveredAccepted < accepted && performance.now() < lastSend + deadlineMs) {
        await sleep(50);
        if (options.signal?.aborted) aborted = true;
      }
      await poller.stop();
    }
  } finally {
    clearInterval(progressTimer);
    api.close();
    await storeTail?.stop();
  }
  progress();
  const endedAt = Date.now();

  // Out of order: b counts when something delivered before it was sent after b's 202.
  let outOfOrder = 0;
  for (const list of receiptsByConv) {
    let latestSend = -Infinity;
    for (const s of list) {
      if (s.state === 'accepted' && latestSend > s.ackMono) outOfOrder++;
      latestSend = Math.max(latestSend, s.sentMono);
    }
  }
  const lostSample: LoadResult['lost_sample'] = [];
  if (track) {
    for (const s of byText.values()) {
      if (lostSample.length >= 20) break;
      if (s.state === 'accepted' && !isDelivered(s)) lostSample.push({ message_id: s.messageId, text: s.text });
    }
  }
  const durationS = options.durationMs / 1000;
  const result: LoadResult = {
    offered,
    accepted,
    failed,
    dropped_by_client: dropped,
    delivered: deliveredAccepted,
    lost: track ? accepted - deliveredAccepted : 0,
    duplicates,
    out_of_order: outOfOrder,
    answers,
    http_ms: http.summary(),
    e2e_ms: e2e.summary(),
    accepted_per_s: round1(accepted / Math.max(durationS, (lastAckMono - t0) / 1000)),
    delivered_per_s: round1(deliveredAccepted / Math.max(durationS, (lastDeliveredAt - startEpoch) / 1000)),
    timeline: timeline.points(),
    accepted_ids: acceptedIds,
    started_at: new Date(startEpoch).toISOString(),
    ended_at: new Date(endedAt).toISOString(),
    run_id: run,
    duration_ms: options.durationMs,
    offered_rate: round1(offered / durationS),
    delivered_not_accepted: deliveredNotAccepted,
    lost_sample: lostSample,
    max_schedule_lag_ms: Math.round(maxLag),
    poll_errors: poller?.errors ?? 0,
    aborted,
    connections,
    max_in_flight: maxInFlight,
  };
  http.destroy();
  e2e.destroy();
  timeline.destroy();
  return result;
}

// The one field the generator reads of a 202, found without parsing the whole answer.
const ACCEPTED_AT = /"accepted_at"\s*:\s*"([^"]+)"/;

function acceptedAtOf(text: string): number {
  const m = ACCEPTED_AT.exec(text);
  return m ? Date.parse(m[1]!) : NaN;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

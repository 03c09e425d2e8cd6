import type { Bus, OutgoingRecord } from '../core/ports/bus.ts';
import type { UserStore } from '../core/ports/user-store.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { MessageStore } from '../core/ports/message-store.ts';
import type { DeliveryStore } from '../core/ports/delivery-store.ts';
import type { DeadLetterStore } from '../core/ports/dead-letter-store.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import { planDeliveries } from '../core/domain/routing.ts';
import { awaitsProvider } from '../core/domain/delivery.ts';
import type { Delivery, ExternalChannel, Message } from '../core/domain/types.ts';
import { EXTERNAL_CHANNELS } from '../core/domain/types.ts';
import { deliveryTopic } from '../core/topics.ts';
import type { DeliveryJob } from '../core/records.ts';
import type { Logger } from '../core/logger.ts';
import { messageLogger } from '../core/logger.ts';
import type { RouterMetrics } from './metrics.ts';
import type { DeadLetterMetrics } from '../core/dead-letters.ts';
import type { RouterTestOnly } from './experiment-switches.ts';
import { splitBySize } from '../core/record-batches.ts';
import { publishMessageCreated } from '../core/publish-realtime.ts';
import { inboundOrigin } from '../core/inbound/inbound-origin.ts';

/** What a router is built from: the store ports it touches, the bus, the clock, its metrics. */
export interface RouterDeps {
  users: UserStore;
  conversations: ConversationStore;
  messages: MessageStore;
  deliveries: DeliveryStore;
  deadLetters: DeadLetterStore;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  metrics: RouterMetrics;
  deadLetterMetrics: DeadLetterMetrics;
  /** Most bytes of records one publish may carry (`BUS_MAX_BATCH_BYTES`): a big group's jobs are split. */
  maxBatchBytes: number;
  /** Test- and experiment-only behaviour (`routerTestOnly(config)`); absent means all off. */
  testOnly?: RouterTestOnly;
  /**
   * `INBOUND_REORDER_WINDOW_MS`: how long an inbound message waits before taking its seq, so that
   * an earlier-sent one arriving late goes first (docs/adr/0002-inbound-conversation-rule.md).
   * @default 0 (arrival order)
   */
  inboundReorderWindowMs?: number;
  /** Waits (tests pass one that moves their clock). @default a timer */
  sleep?: (ms: number) => Promise<void>;
}

/** What routing one message touches: identities, the conversation, the message. */
export type RouteDeps = Pick<
  RouterDeps,
  'users' | 'conversations' | 'messages' | 'bus' | 'clock' | 'logger' | 'metrics' | 'maxBatchBytes' | 'testOnly' | 'inboundReorderWindowMs' | 'sleep'
>;

/**
 * Routes one accepted message: gives it the conversation's next sequence number, expands it
 * into deliveries (recipient × channel) and hands the external ones to their connectors.
 * Safe to run twice for one message: the store keeps the first routing, and deliveries not yet
 * accepted by a provider are handed over again (connectors skip what they already sent).
 */
export async function routeMessage(deps: RouteDeps, messageId: string): Promise<'routed' | 'duplicate' | 'missing'> {
  const started = performance.now();
  const message = await deps.messages.getMessage(messageId);
  if (!message) {
    deps.logger.warn({ message_id: messageId }, 'accepted record names a message the store does not have');
    deps.metrics.processed.inc({ status: 'missing' });
    return 'missing';
  }
  let outcome: 'routed' | 'duplicate';
  const window = deps.inboundReorderWindowMs ?? 0;
  const recovery = !deps.testOnly?.disableRecovery;
  if (window > 0 && recovery && inboundOrigin(message) !== null) {
    outcome = await routeInProviderOrder(deps, message, () => deps.messages.listUnroutedIn(message.conversation_id), window);
  } else {
    // Messages of this conversation accepted earlier but not yet ordered (their record was lost or
    // is late) take their seq first, so seq order is acceptance order. Off only under the
    // experiments' sabotage (CHAOS_DISABLE_RECOVERY).
    const older = recovery ? await deps.messages.listUnroutedBefore(message.message_id) : [];
    if (window > 0 && older.some((m) => inboundOrigin(m) !== null)) {
      // An inbound message waits before it: this one waits behind it, in the order they were sent.
      const pending = async () => [...(await deps.messages.listUnroutedBefore(message.message_id)), message];
      outcome = await routeInProviderOrder(deps, message, pending, window);
    } else {
      for (const m of older) await routeOne(deps, m);
      outcome = await routeOne(deps, message);
    }
  }
  deps.metrics.processed.inc({ status: outcome });
  deps.metrics.processingDuration.observe((performance.now() - started) / 1000);
  return outcome;
}

/**
 * When inbound messages wait in the conversation (for an inbound message: all the conversation's
 * unrouted messages; for another: those accepted before it): they take their seqs in the
 * order of when they were sent (an inbound message's provider time, another message's acceptance
 * time), from the first, as long as each is ready; an inbound message is ready `window` ms after
 * it was accepted. The first one not ready holds those behind it, and this waits for it (at most
 * `window`). So two inbound messages accepted less than `window` apart get their seqs in provider
 * order, whatever order their webhooks came in (docs/adr/0002-inbound-conversation-rule.md).
 */
async function routeInProviderOrder(deps: RouteDeps, message: Message, list: () => Promise<Message[]>, window: number): Promise<'routed' | 'duplicate'> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let held = 0;
  for (;;) {
    const pending = await list();
    let outcome: 'routed' | 'duplicate' | null = null;
    let holdUntil: number | null = null;
    for (const m of [...pending].sort((a, b) => sentAt(a) - sentAt(b))) {
      const readyAt = inboundOrigin(m) ? Date.parse(m.created_at) + window : 0;
      if (deps.clock.now() < readyAt) {
        holdUntil = readyAt;
        break;
      }
      const routed = await routeOne(deps, m);
      if (m.message_id === message.message_id) outcome = routed;
    }
    // Not in the list: another router ordered it meanwhile (routing again is harmless).
    if (outcome === null && !pending.some((m) => m.message_id === message.message_id)) outcome = await routeOne(deps, message);
    if (outcome !== null) {
      if (held > 0) deps.metrics.inboundHold.observe(held / 1000);
      return outcome;
    }
    const wait = Math.max(1, holdUntil! - deps.clock.now());
    held += wait;
    await sleep(wait);
  }
}

/** When a message was sent: the provider's time for an inbound one, else when the API accepted it. */
function sentAt(m: Message): number {
  const t = Date.parse(inboundOrigin(m)?.provider_timestamp ?? m.created_at);
  return Number.isNaN(t) ? Date.parse(m.created_at) : t;
}

async function routeOne(deps: RouteDeps, message: Message): Promise<'routed' | 'duplicate'> {
  const log = messageLogger(deps.logger, message);
  const conversation = await deps.conversations.getConversation(message.conversation_id);
  const members = conversation?.members ?? [];
  const identities = await deps.users.listIdentities(members.filter((m) => m !== message.sender_id));
  const plan = planDeliveries({ senderId: message.sender_id, members, requested: message.channels, identities });

  const writeStarted = performance.now();
  await deps.testOnly?.storeRoundTrip();
  const routed = await deps.messages.routeMessage(message.message_id, plan, isoAt(deps.clock.now()));
  deps.metrics.storeWriteDuration.observe({ operation: 'route' }, (performance.now() - writeStarted) / 1000);

  // The push gateways need not wait behind the connectors' records: one bus round trip for both.
  await Promise.all([dispatch(deps, { ...message, seq: routed.seq }, routed.deliveries), publishMessageCreated(deps, { ...message, seq: routed.seq }, members, routed.deliveries)]);
  const outcome = routed.routedNow ? 'routed' : 'duplicate';
  log.debug({ seq: routed.seq, deliveries: routed.deliveries.length, outcome }, 'message routed');
  return outcome;
}

/**
 * Routes a router's fetched batch of accepted messages (record order) in one store call and one
 * publish per topic. Per conversation, what was accepted before a batch message and is still
 * unrouted goes first (as in `routeMessage`), with one look-up per conversation, not one per
 * message; a message seen twice is routed once. Throws (before routing anything) when a message
 * is missing, so the caller can fall back to `routeMessage` record by record and dead-letter it.
 */
export async function routeMessages(deps: RouteDeps, messageIds: string[]): Promise<void> {
  const started = performance.now();
  const ids = [...new Set(messageIds)];
  const loaded = await Promise.all(ids.map((id) => deps.messages.getMessage(id)));
  const missing = ids.filter((_, i) => !loaded[i]);
  if (missing.length > 0) throw new Error(`batch names messages the store does not have: ${missing.join(', ')}`);
  const byConversation = new Map<string, Message[]>();
  for (const m of loaded as Message[]) {
    const list = byConversation.get(m.conversation_id) ?? [];
    list.push(m);
    byConversation.set(m.conversation_id, list);
  }

  const order: Message[] = [];
  const members = new Map<string, string[]>();
  const identities = new Map<string, Awaited<ReturnType<UserStore['listIdentities']>>>();
  // A conversation where an inbound message waits for its reorder window is routed message by
  // message after the batch (`routeMessage` holds and orders it; docs/adr/0002).
  const window = deps.inboundReorderWindowMs ?? 0;
  const oneByOne: Message[] = [];
  for (const [conversationId, batch] of byConversation) {
    const ordered = await inAcceptanceOrder(deps, batch);
    if (window > 0 && !deps.testOnly?.disableRecovery && ordered.some((m) => m.seq === null && inboundOrigin(m) !== null)) {
      oneByOne.push(...batch);
      continue;
    }
    order.push(...ordered);
    const conversation = await deps.conversations.getConversation(conversationId);
    const all = conversation?.members ?? [];
    members.set(conversationId, all);
    identities.set(conversationId, await deps.users.listIdentities(all));
  }
  const requests = order.map((m) => ({
    messageId: m.message_id,
    plan: planDeliveries({ senderId: m.sender_id, members: members.get(m.conversation_id)!, requested: m.channels, identities: identities.get(m.conversation_id)! }),
  }));

  const writeStarted = performance.now();
  // The emulated remote store (experiments) costs a round trip per message, as Cassandra's
  // per-message lightweight transactions do, batch or not: the router stays the bound it emulates.
  if (deps.testOnly) await Promise.all(requests.map(() => deps.testOnly!.storeRoundTrip()));
  const routed = await deps.messages.routeMessages(requests, isoAt(deps.clock.now()));
  deps.metrics.storeWriteDuration.observe({ operation: 'route' }, (performance.now() - writeStarted) / 1000);

  const done = order.map((m, i) => ({ message: { ...m, seq: routed[i]!.seq }, deliveries: routed[i]!.deliveries }));
  await Promise.all([
    dispatchAll(deps, done),
    // Each publish joins the realtime topic's queue at once, in this order: one request for all.
    ...done.map((r) => publishMessageCreated(deps, r.message, members.get(r.message.conversation_id)!, r.deliveries)),
  ]);
  const seconds = (performance.now() - started) / 1000;
  // One increment per outcome for the batch: a labelled inc per message showed in the profile.
  const routedNow = routed.filter((r) => r.routedNow).length;
  if (routedNow > 0) deps.metrics.processed.inc({ status: 'routed' }, routedNow);
  if (routed.length > routedNow) deps.metrics.processed.inc({ status: 'duplicate' }, routed.length - routedNow);
  for (let i = 0; i < routed.length; i++) deps.metrics.processingDuration.observe(seconds);
  deps.logger.debug({ records: messageIds.length, routed: routedNow }, 'batch routed');
  for (const m of oneByOne) await routeMessage(deps, m.message_id);
}

/**
 * A conversation's batch messages in the order their seqs must follow: each unrouted one after
 * everything accepted before it that is still unrouted (fetched once per run of the batch, which
 * is once unless records arrived out of acceptance order). Routed ones (repeats) come last.
 */
async function inAcceptanceOrder(deps: RouteDeps, batch: Message[]): Promise<Message[]> {
  const repeats = batch.filter((m) => m.seq !== null);
  const todo = batch.filter((m) => m.seq === null);
  if (deps.testOnly?.disableRecovery) return [...todo, ...repeats];
  const out: Message[] = [];
  const planned = new Set<string>();
  while (todo.length > 0) {
    // The batch's last record: everything unrouted accepted before it comes first.
    const last = todo[todo.length - 1]!;
    for (const m of [...(await deps.messages.listUnroutedBefore(last.message_id)), last]) {
      if (planned.has(m.message_id)) continue;
      planned.add(m.message_id);
      out.push(m);
    }
    // What is left was accepted after `last` (records out of acceptance order): another run.
    for (let i = todo.length - 1; i >= 0; i--) if (planned.has(todo[i]!.message_id)) todo.splice(i, 1);
  }
  return [...out, ...repeats];
}

/**
 * `dispatch` for many routed messages: every topic's jobs in message order, cut into runs of at
 * most `maxBatchBytes` published one after another (so a conversation's jobs keep their order),
 * the topics side by side.
 */
export async function dispatchAll(deps: Pick<RouterDeps, 'bus' | 'metrics' | 'maxBatchBytes'>, routed: { message: Message; deliveries: Delivery[] }[]) {
  const byChannel = new Map<ExternalChannel, OutgoingRecord[]>();
  for (const { message, deliveries } of routed) {
    for (const job of deliveryJobs(message, deliveries)) {
      const list = byChannel.get(job.channel) ?? [];
      list.push({ key: job.conversation_id, value: JSON.stringify(job), headers: { trace_id: job.trace_id } });
      byChannel.set(job.channel, list);
    }
  }
  await Promise.all(
    [...byChannel].map(async ([channel, records]) => {
      for (const run of splitBySize(records, deps.maxBatchBytes)) {
        await deps.bus.publish(deliveryTopic(channel), run);
        deps.metrics.dispatched.inc({ channel }, run.length);
      }
    }),
  );
}

/** The delivery jobs of a routed message: one per external delivery no provider has accepted yet. */
function deliveryJobs(message: Message, deliveries: Delivery[]): DeliveryJob[] {
  const jobs: DeliveryJob[] = [];
  for (const d of deliveries) {
    if (!isExternal(d.channel) || !awaitsProvider(d) || !d.address) continue;
    jobs.push({
      delivery_id: d.delivery_id,
      message_id: message.message_id,
      conversation_id: message.conversation_id,
      seq: message.seq ?? 0,
      channel: d.channel,
      recipient_id: d.recipient_id,
      to: d.address,
      payload: message.payload,
      accepted_at: message.created_at,
      trace_id: message.trace_id,
    });
  }
  return jobs;
}

/**
 * Publishes a delivery job for every external delivery no provider has accepted yet. A group's
 * jobs all carry the conversation as key, so they land on one partition: they are published in
 * runs of at most `maxBatchBytes`, one after another, so no record set exceeds the broker's max
 * message size (256 members × a 4 KB text is over 1 MiB, which a broker refuses every time and the
 * partition would retry forever) and the jobs keep their order.
 */
export async function dispatch(deps: Pick<RouterDeps, 'bus' | 'metrics' | 'maxBatchBytes'>, message: Message, deliveries: Delivery[]) {
  await dispatchAll(deps, [{ message, deliveries }]);
}

export function isExternal(channel: string): channel is ExternalChannel {
  return (EXTERNAL_CHANNELS as readonly string[]).includes(channel);
}

import { tooManyWebhooks } from '../../cap-reached.ts';
import { unavailable } from '../../errors.ts';
import type { ClaimFairness,
  HistoryRecord,
  NewWebhook,
  NewWebhookEvent,
  Webhook,
  WebhookAttempt,
  WebhookAttemptRecord,
  WebhookEvent,
  WebhookEventStatus,
  WebhookStore,
} from '../../ports/webhook-store.ts';
import type { CapScope } from './cap-slots.ts';
import type { CassandraContext } from './context.ts';
import { PARALLEL, eachLimited } from './each-limited.ts';
import { CAS_ATTEMPTS, RETIRE_MARGIN_MS, isoKey, msKey } from './keys.ts';
import { publicEvent, toAttemptRecord, toWebhook, toWebhookEvent, webhookRow } from './rows.ts';
import { CQL } from './statements.ts';
import { num } from './values.ts';

/**
 * Client webhooks on Cassandra: subscriptions (by id and by owner), the cursor over the history
 * feed, events (leased and settled with lightweight transactions, due and done in the time-bucketed
 * queues, ordered per webhook and message by `webhook_event_order`) and their attempts.
 */
export class CassandraWebhookStore implements WebhookStore {
  constructor(private readonly ctx: CassandraContext) {}

  async createWebhook(webhook: NewWebhook, cap?: { max: number }): Promise<Webhook> {
    const { db, ids, caps } = this.ctx;
    // The webhook takes one of its owner's slots first: with the cap reached, nothing is written.
    const scope = cap ? this.webhookScope(webhook.owner_id) : null;
    if (scope) await caps.claim(scope, webhook.webhook_id, cap!.max);
    const w: Webhook = { ...webhook, start_after: ids.next() };
    const r = webhookRow(w);
    try {
      await db.batch([
        { query: CQL.insertWebhook, params: [r.webhook_id, r.owner_id, r.url, r.events, r.secret, r.created_at, r.start_after] },
        { query: CQL.insertWebhookByOwner, params: [r.owner_id, r.created_at, r.webhook_id, r.url, r.events, r.secret, r.start_after] },
      ]);
    } catch (err) {
      if (scope) await caps.release(scope, webhook.webhook_id).catch(() => undefined);
      throw err;
    }
    // The feed starts at the first webhook, not at the feed's retention horizon.
    await db.run(CQL.firstCursor, [w.start_after]);
    return toWebhook(r);
  }

  /** The slots of a user's webhooks (item: the webhook id). */
  private webhookScope(ownerId: string): CapScope {
    return {
      scope: 'webhooks',
      owner: ownerId,
      live: async () => (await this.listWebhooks(ownerId)).map((w) => w.webhook_id),
      refuse: (count, max) => tooManyWebhooks(ownerId, count, max),
    };
  }

  async listWebhooks(ownerId: string): Promise<Webhook[]> {
    return (await this.ctx.db.rows(CQL.webhooksOf, [ownerId])).map(toWebhook);
  }

  async getWebhook(webhookId: string): Promise<Webhook | null> {
    const r = (await this.ctx.db.run(CQL.webhook, [webhookId])).rows[0];
    return r ? toWebhook(r) : null;
  }

  async deleteWebhook(ownerId: string, webhookId: string): Promise<boolean> {
    const { db, queues } = this.ctx;
    const w = await this.getWebhook(webhookId);
    if (!w || w.owner_id !== ownerId) return false;
    await db.run(CQL.deleteWebhook, [webhookId]);
    await db.run(CQL.deleteWebhookByOwner, [ownerId, w.created_at, webhookId]);
    // After the rows: a slot without its webhook is taken back later anyway, never the reverse.
    await this.ctx.caps.release({ scope: 'webhooks', owner: ownerId }, webhookId);
    const events = (await db.rows(CQL.eventsOfWebhook, [webhookId])).map((r) => String(r.event_id));
    await eachLimited(events, PARALLEL, async (id) => {
      const e = await this.readEvent(id);
      if (e) {
        await Promise.all([
          db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
          e.status === 'pending' ? queues.remove('webhook-due', msKey(e.next_attempt_at), id) : queues.remove('webhook-done', isoKey(e.created_at), id),
        ]);
      }
      await db.run(CQL.deleteEvent, [id]);
    });
    await Promise.all([db.run(CQL.deleteEventsOfWebhook, [webhookId]), db.run(CQL.deleteAttemptsOfWebhook, [webhookId])]);
    return true;
  }

  async webhookCursor(): Promise<number> {
    return num((await this.ctx.db.run(CQL.cursor, [], { serial: true })).rows[0]?.position) ?? 0;
  }

  /** The settled history feed (see `HistoryFeed.read`), keeping the entries of senders with a webhook. */
  async historyForWebhooks(afterId: number, limit: number): Promise<{ entries: HistoryRecord[]; lastId: number }> {
    const { entries, lastId } = await this.ctx.feed.read(afterId, limit);
    const owners = [...new Set(entries.flatMap((e) => (e.recipient_id === null ? [e.sender_id] : [e.sender_id, e.recipient_id])))];
    const withWebhook = new Set<string>();
    await eachLimited(owners, PARALLEL, async (s) => {
      if ((await this.ctx.db.run(CQL.anyWebhookOf, [s])).rows.length > 0) withWebhook.add(s);
    });
    return { entries: entries.filter((e) => withWebhook.has(e.sender_id) || (e.recipient_id !== null && withWebhook.has(e.recipient_id))), lastId };
  }

  async enqueueWebhookEvents(events: NewWebhookEvent[], cursor: number): Promise<void> {
    const { db, queues } = this.ctx;
    // Order rows first, for all events: an event never becomes claimable before an earlier one is known.
    await eachLimited(events, PARALLEL, (e) =>
      Promise.all([
        db.run(CQL.insertEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
        db.run(CQL.insertEventOfWebhook, [e.webhook_id, e.event_id]),
        queues.add('webhook-due', msKey(e.next_attempt_at), e.event_id),
      ]),
    );
    // IF NOT EXISTS: an event stored before (a repeated pass) keeps its state.
    await eachLimited(events, PARALLEL, (e) =>
      db.run(CQL.insertEvent, [e.event_id, e.webhook_id, e.type, e.message_id, e.seq, e.body, e.created_at, e.next_attempt_at, e.deadline]),
    );
    await this.moveCursor(cursor);
  }

  private async moveCursor(to: number) {
    const { db } = this.ctx;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      if ((await db.run(CQL.moveCursor, [to, to])).wasApplied()) return;
      const current = (await db.run(CQL.cursor, [], { serial: true })).rows[0];
      if (current && (num(current.position) ?? 0) >= to) return;
      if (!current && (await db.run(CQL.firstCursor, [to])).wasApplied()) return;
    }
    throw unavailable('webhook cursor is contended; retry');
  }

  private async readEvent(eventId: string, serial = false) {
    const r = (await this.ctx.db.run(CQL.event, [eventId], { serial })).rows[0];
    return r ? toWebhookEvent(r) : null;
  }

  /** Whether an event of the same webhook and message with a lower seq is still pending (or not stored yet). */
  private async earlierPending(e: WebhookEvent): Promise<boolean> {
    for (const r of await this.ctx.db.rows(CQL.earlierEvents, [e.webhook_id, e.message_id, e.seq])) {
      const other = await this.readEvent(String(r.event_id));
      if (!other || other.status === 'pending') return true;
      await this.ctx.db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, r.seq, r.event_id]);
    }
    return false;
  }

  async claimWebhookEvents(now: number, leaseUntil: number, limit: number, fairness: ClaimFairness = {}): Promise<WebhookEvent[]> {
    const { db, queues } = this.ctx;
    const skip = new Set(fairness.skipWebhooks ?? []);
    const perWebhook = fairness.perWebhook ?? limit;
    const taken = new Map<string, number>();
    // Skipped webhooks' events are read and passed over: scan further so the claim can still fill.
    const items = await queues.scan('webhook-due', msKey(now), true, limit * 4 + (skip.size > 0 || fairness.perWebhook !== undefined ? limit * 4 : 0));
    const events = await eachLimited(items, PARALLEL, (item) => this.readEvent(item.itemId));
    const claimed: WebhookEvent[] = [];
    for (const [i, item] of items.entries()) {
      if (claimed.length >= limit) break;
      const e = events[i];
      if (!e) {
        // Not stored yet (an enqueue in progress) or deleted with its webhook; old ones are the latter.
        if (item.sort.ms + RETIRE_MARGIN_MS < this.ctx.now()) await queues.remove(item.kind, item.sort, item.itemId);
        continue;
      }
      if (e.status !== 'pending' || e.next_attempt_at > item.sort.ms) {
        await queues.remove(item.kind, item.sort, item.itemId);
        continue;
      }
      // An entry newer than the event's own time is a retry being recorded: leave it.
      if (e.next_attempt_at < item.sort.ms || (e.lease_until !== null && e.lease_until >= now)) continue;
      if (skip.has(e.webhook_id) || (taken.get(e.webhook_id) ?? 0) >= perWebhook) continue;
      if (await this.earlierPending(e)) continue;
      if ((await db.run(CQL.leaseEvent, [leaseUntil, e.event_id, now])).wasApplied()) {
        claimed.push({ ...publicEvent(e), lease_until: leaseUntil });
        taken.set(e.webhook_id, (taken.get(e.webhook_id) ?? 0) + 1);
      }
    }
    return claimed.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.seq - b.seq);
  }

  async recordWebhookAttempt(attempt: WebhookAttempt, next: { status: WebhookEventStatus; next_attempt_at: number }): Promise<void> {
    const { db, queues } = this.ctx;
    const attemptId = this.ctx.ids.next();
    for (let round = 0; round < CAS_ATTEMPTS; round++) {
      const e = await this.readEvent(attempt.event_id, round > 0);
      if (!e) return;
      const wasPending = e.status === 'pending';
      const status = wasPending ? next.status : e.status;
      const nextAt = wasPending ? next.next_attempt_at : e.next_attempt_at;
      if (wasPending && status === 'pending' && nextAt !== e.next_attempt_at) await queues.add('webhook-due', msKey(nextAt), e.event_id);
      if (wasPending && status !== 'pending') await queues.add('webhook-done', isoKey(e.created_at), e.event_id);
      const ids = JSON.stringify([...e.attempt_ids, attemptId]);
      if (!(await db.run(CQL.settleEvent, [e.attempts + 1, status, nextAt, ids, e.event_id, e.attempts])).wasApplied()) continue;
      await db.run(CQL.insertAttempt, [
        attempt.webhook_id, attemptId, attempt.event_id, e.attempts + 1, attempt.at, attempt.status_code, attempt.error, attempt.duration_ms,
        attempt.result, e.type, e.message_id,
      ]);
      if (wasPending && status === 'pending' && nextAt !== e.next_attempt_at) await queues.remove('webhook-due', msKey(e.next_attempt_at), e.event_id);
      if (wasPending && status !== 'pending') {
        await Promise.all([
          queues.remove('webhook-due', msKey(e.next_attempt_at), e.event_id),
          db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
        ]);
      }
      return;
    }
    throw unavailable(`webhook event ${attempt.event_id} is contended; retry`);
  }

  async listWebhookAttempts(webhookId: string, limit: number): Promise<WebhookAttemptRecord[]> {
    return (await this.ctx.db.rows(CQL.attempts, [webhookId, limit])).map(toAttemptRecord);
  }

  async countPendingWebhookEvents(): Promise<number> {
    return this.ctx.queues.count('webhook-due');
  }

  async pruneWebhookEvents(before: string): Promise<number> {
    const { db, queues } = this.ctx;
    let pruned = 0;
    for (;;) {
      const items = await queues.scan('webhook-done', isoKey(before), false, 500);
      // Per item: 1 pruned, 0 a stale entry removed, -1 left (its event is being settled).
      const done = await eachLimited(items, PARALLEL, async (item) => {
        const e = await this.readEvent(item.itemId);
        if (e && e.status === 'pending') return -1;
        if (e) {
          await Promise.all([
            ...e.attempt_ids.map((id) => db.run(CQL.deleteAttempt, [e.webhook_id, id, e.event_id])),
            db.run(CQL.deleteEventOrder, [e.webhook_id, e.message_id, e.seq, e.event_id]),
            db.run(CQL.deleteEventOfWebhook, [e.webhook_id, e.event_id]),
          ]);
          await db.run(CQL.deleteEvent, [e.event_id]);
        }
        await queues.remove(item.kind, item.sort, item.itemId);
        return e ? 1 : 0;
      });
      pruned += done.filter((n) => n === 1).length;
      if (items.length < 500 || done.every((n) => n === -1)) return pruned;
    }
  }
}

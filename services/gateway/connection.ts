import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Logger } from '../core/logger.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { GatewayStore } from './gateway-store.ts';
import { CLOSE } from './frames.ts';
import { errorFrame, resumedFrame, storedMessageFrame, type Outgoing } from './server-frames.ts';

/** What every connection of one gateway shares. */
export interface ConnectionContext {
  store: GatewayStore;
  clock: Clock;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Most messages replayed per conversation; beyond it the client is told `recovered: false`. */
  replayLimit: number;
  /** Bytes of unsent frames a connection may hold (socket buffer plus frames held at a seam). */
  sendQueueBytes: number;
  /** How long a closing slow client gets to read its close frame before it is cut. @default 5000 */
  closeGraceMs?: number;
}

/** One conversation as this connection sees it. */
interface Stream {
  /** The highest seq pushed (or the resume cursor); null until the first. */
  lastSeq: number | null;
  /** The first seq this connection received of it: anything older was before it joined. */
  firstSeq: number | null;
  /** Live frames held while a replay runs (or until the client says where it resumes); null when live. */
  held: Outgoing[] | null;
  replaying: boolean;
}

/** How many message → delivery pairs a connection remembers for `ack`s without a store read. */
const REMEMBERED_DELIVERIES = 2000;

/**
 * One authenticated WebSocket: the conversations of its user, and per conversation the seam
 * between replay (from the store) and live (from the bus). Live frames of a conversation whose
 * replay runs are held and sent after it; a `message.created` with a seq already pushed is
 * dropped, one with a seq beyond the next makes it fill the gap from the store first. So each
 * message reaches the connection once, in seq order. Frames wait in a bounded queue: when the
 * client reads too slowly it is closed with 4429 and catches up on reconnect.
 */
export class Connection {
  readonly id = randomUUID();
  private readonly streams = new Map<string, Stream>();
  private heldBytes = 0;
  private started = false;
  private startTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly deliveries = new Map<string, { delivery_id: string; conversation_id: string }>();
  private readonly typingAt = new Map<string, number>();

  constructor(
    private readonly ws: WebSocket,
    readonly userId: string,
    /** Conversation id → its members, as far as this connection knows. */
    readonly conversations: Map<string, string[]>,
    private readonly ctx: ConnectionContext,
  ) {}

  /** Everyone sharing a conversation with this user (whose presence it may see). */
  contacts(): Set<string> {
    const out = new Set<string>();
    for (const members of this.conversations.values()) for (const m of members) if (m !== this.userId) out.add(m);
    return out;
  }

  /** Notes a conversation learned from a live event; returns true when it was new to this connection. */
  learn(conversationId: string, members: string[]): boolean {
    const known = this.conversations.has(conversationId);
    this.conversations.set(conversationId, members);
    return !known;
  }

  /** Whether the user is a member of the conversation (asking the store about one it does not know yet). */
  /** Whether the user belongs to the conversation now (a store read; replays read the store anyway). */
  async isMemberNow(conversationId: string): Promise<boolean> {
    const c = await this.ctx.store.getConversation(conversationId);
    if (!c || !c.members.includes(this.userId)) {
      this.conversations.delete(conversationId);
      return false;
    }
    this.conversations.set(conversationId, c.members);
    return true;
  }

  async isMember(conversationId: string): Promise<boolean> {
    if (this.conversations.has(conversationId)) return true;
    const c = await this.ctx.store.getConversation(conversationId);
    if (!c || !c.members.includes(this.userId)) return false;
    this.conversations.set(conversationId, c.members);
    return true;
  }

  /**
   * Live frames are held until the client says where it resumes (its first frame) or `windowMs`
   * after `ready`, whichever is first; then conversations it did not name start from "now".
   */
  holdUntilResume(windowMs: number): void {
    this.startTimer = setTimeout(() => this.startLive(), windowMs);
    this.startTimer.unref();
  }

  /** Ends the initial hold: every conversation not being replayed goes live. */
  startLive(except: ReadonlySet<string> = new Set()): void {
    if (this.started) return;
    this.started = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    for (const [conversationId, s] of this.streams) if (!except.has(conversationId) && !s.replaying) this.release(conversationId, s);
  }

  /** A conversation-scoped frame from the bus (message, status, typing). */
  offer(conversationId: string, frame: Outgoing): void {
    if (this.closed) return;
    const s = this.stream(conversationId);
    if (s.held) this.hold(s, frame);
    else this.deliver(conversationId, s, frame);
  }

  /** A frame outside any conversation (ready, presence, pong, error, resumed), written now. */
  send(frame: Outgoing): void {
    this.write(frame);
  }

  /** The in-app delivery of a message pushed to this connection, if it remembers one. */
  deliveryOf(messageId: string) {
    return this.deliveries.get(messageId) ?? null;
  }

  /** Whether a typing notice for this conversation may go out now (one a second at most). */
  mayType(conversationId: string): boolean {
    const now = this.ctx.clock.now();
    if (now - (this.typingAt.get(conversationId) ?? -Infinity) < 1000) return false;
    this.typingAt.set(conversationId, now);
    return true;
  }

  /**
   * Replays each named conversation after its cursor, then lets it go live; the others start from
   * "now". Answers with `resumed`. A conversation the user is not in gets an `error` frame.
   */
  async resume(cursors: Record<string, number>): Promise<void> {
    const named: [string, number][] = [];
    for (const [conversationId, cursor] of Object.entries(cursors)) {
      // Asked of the store, not the list taken at connection: a member removed since reads no more.
      if (await this.isMemberNow(conversationId)) named.push([conversationId, cursor]);
      else this.send(errorFrame('not_found', `conversation ${conversationId} not found`));
    }
    for (const [conversationId] of named) this.stream(conversationId).held ??= [];
    this.startLive(new Set(named.map(([c]) => c)));
    const result: Record<string, { seq: number; recovered: boolean }> = {};
    for (const [conversationId, cursor] of named) {
      if (this.closed) return;
      const s = this.stream(conversationId);
      if (s.replaying) {
        result[conversationId] = { seq: s.lastSeq ?? cursor, recovered: true };
        continue;
      }
      s.held ??= [];
      s.replaying = true;
      try {
        // Already live on this connection (a late resume): only what came before its first frame is missing.
        const below = s.firstSeq !== null && s.lastSeq !== null ? s.firstSeq : null;
        result[conversationId] = await this.replay(conversationId, s, cursor, below, 'recovered');
      } finally {
        s.replaying = false;
        this.release(conversationId, s);
      }
    }
    this.send(resumedFrame(result));
  }

  /** Closes the connection (no more frames are sent). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.streams.clear();
    this.heldBytes = 0;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    // A client that does not read will not read the close frame either: cut it after a grace.
    setTimeout(() => this.ws.terminate(), this.ctx.closeGraceMs ?? 5000).unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private stream(conversationId: string): Stream {
    let s = this.streams.get(conversationId);
    if (!s) {
      s = { lastSeq: null, firstSeq: null, held: this.started ? null : [], replaying: false };
      this.streams.set(conversationId, s);
    }
    return s;
  }

  private hold(s: Stream, frame: Outgoing) {
    if (this.ws.bufferedAmount + this.heldBytes + frame.data.length > this.ctx.sendQueueBytes) return this.tooSlow();
    s.held!.push(frame);
    this.heldBytes += frame.data.length;
  }

  private deliver(conversationId: string, s: Stream, frame: Outgoing) {
    if (frame.seq !== undefined) {
      if (s.lastSeq !== null && frame.seq <= s.lastSeq) return; // pushed already (replayed, or a repeated record)
      if (s.lastSeq !== null && frame.seq > s.lastSeq + 1) {
        // A message's live record is missing or late: fill in from the store, then go on.
        s.held = [];
        this.hold(s, frame);
        void this.fillGap(conversationId, s, s.lastSeq);
        return;
      }
      s.lastSeq = frame.seq;
      s.firstSeq ??= frame.seq;
    }
    this.write(frame);
  }

  /** Sends what was held, in order, through the dedup and gap rules. */
  private release(conversationId: string, s: Stream) {
    const held = s.held ?? [];
    s.held = null;
    for (const frame of held) {
      this.heldBytes -= frame.data.length;
      if (this.closed) return;
      if (s.held) this.hold(s, frame); // a gap fill started meanwhile: keep holding behind it
      else this.deliver(conversationId, s, frame);
    }
  }

  private async fillGap(conversationId: string, s: Stream, after: number) {
    s.replaying = true;
    try {
      const r = await this.replay(conversationId, s, after, null, 'gap');
      if (!r.recovered) this.send(resumedFrame({ [conversationId]: r }));
    } catch (err) {
      this.ctx.logger.warn({ err, conversation_id: conversationId }, 'could not fill a gap from the store; closing so the client resumes');
      this.close(1011, 'internal error: reconnect and resume');
    } finally {
      s.replaying = false;
      this.release(conversationId, s);
    }
  }

  /**
   * Pushes the stored messages after `after` (below `below`, when given, without moving the
   * cursor). More than the replay limit: nothing is pushed and the client hears `recovered: false`.
   */
  private async replay(conversationId: string, s: Stream, after: number, below: number | null, result: 'recovered' | 'gap') {
    const { store, metrics, replayLimit } = this.ctx;
    const rows = await store.listMessages(conversationId, after, replayLimit + 1);
    if (rows.length > replayLimit) {
      metrics.replays.inc({ result: 'too_old' });
      if (below === null) {
        s.lastSeq = null;
        s.firstSeq = null;
      }
      return { seq: after, recovered: false };
    }
    const todo = below === null ? rows : rows.filter((m) => (m.seq ?? 0) < below);
    const mine = await store.deliveriesFor(this.userId, todo.map((m) => m.message_id));
    const inApp = new Map(mine.filter((d) => d.channel === 'internal').map((d) => [d.message_id, d.delivery_id]));
    if (below === null) {
      s.lastSeq = Math.max(s.lastSeq ?? after, after);
      s.firstSeq ??= after + 1;
    }
    for (const m of todo) {
      if (this.closed) break;
      await this.drain();
      if (below === null) s.lastSeq = m.seq!;
      this.write(storedMessageFrame(m, inApp.get(m.message_id) ?? null));
    }
    metrics.replays.inc({ result });
    metrics.replayedMessages.inc(todo.length);
    return { seq: below === null ? s.lastSeq! : after, recovered: true };
  }

  /** Waits while the socket holds more than half the queue (a replay may wait; live frames cannot). */
  private async drain() {
    const deadline = this.ctx.clock.now() + 10_000;
    while (!this.closed && this.ws.bufferedAmount > this.ctx.sendQueueBytes / 2) {
      if (this.ctx.clock.now() > deadline) return this.tooSlow();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private write(frame: Outgoing) {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount + this.heldBytes + frame.data.length > this.ctx.sendQueueBytes) return this.tooSlow();
    if (frame.delivery) {
      this.deliveries.set(frame.delivery.message_id, frame.delivery);
      if (this.deliveries.size > REMEMBERED_DELIVERIES) this.deliveries.delete(this.deliveries.keys().next().value!);
    }
    this.ws.send(frame.data, (err) => {
      if (err) return;
      this.ctx.metrics.eventsPushed.inc({ type: frame.type });
      if (frame.routedAt !== undefined) this.ctx.metrics.pushLatency.observe({ type: frame.type }, Math.max(0, this.ctx.clock.now() - frame.routedAt) / 1000);
    });
  }

  private tooSlow() {
    if (this.closed) return;
    this.ctx.metrics.slowClientDisconnects.inc();
    this.ctx.logger.info({ connection_id: this.id, user_id: this.userId, buffered: this.ws.bufferedAmount }, 'client too slow; closing with 4429');
    this.close(CLOSE.tooSlow, 'too slow: reconnect and resume');
  }
}

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import express from 'express';
import type { Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Bus, BusMessage, Subscription } from '../core/ports/bus.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { StatusEvent } from '../core/domain/types.ts';
import { accessTokenKey, verifyAccessToken } from '../core/access-tokens.ts';
import { opsRoutes } from '../core/ops-routes.ts';
import { closeServer } from '../core/listen.ts';
import { startPeriodic } from '../core/periodic.ts';
import { PROBLEM_CONTENT_TYPE } from '../core/problem.ts';
import { decodeRecord } from '../core/records.ts';
import { gatewayGroup, TOPICS } from '../core/topics.ts';
import { presenceRecordSchema, realtimeEventSchema, type PresenceRecord, type RealtimeEvent, type TypingEvent } from '../core/realtime-events.ts';
import { CLOSE, parseClientFrame, type ClientFrame } from './frames.ts';
import { Connection } from './connection.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { PresenceView, type PresenceState } from './presence-view.ts';
import { gatewayStore, type GatewayPorts } from './gateway-store.ts';
import { metricsElsewhere } from '../core/metrics-server.ts';
import { realtimeRecord } from '../core/publish-realtime.ts';
import { mayConcern } from './realtime-filter.ts';
import { RealtimeFeed } from './realtime-feed.ts';
import { errorFrame, messageCreatedFrame, messageStatusFrame, pongFrame, presenceFrame, readyFrame, typingFrame } from './server-frames.ts';

/** Everything the gateway needs from outside; `main.ts` builds it, tests pass their own. */
export interface GatewayDeps extends GatewayPorts {
  bus: Bus;
  clock: Clock;
  logger: Logger;
  registry: Registry;
}

/** How one gateway behaves (from the config: `gatewaySettings`). */
export interface GatewaySettings {
  /** This process's name, unique per start: its presence records and its own consumer group carry it. */
  instanceId: string;
  /** The HMAC secret of the API's access tokens. */
  jwtSecret: string;
  /** When a metrics port (METRICS_PORT) serves `/metrics`, the gateway's own port answers 404 for it. @default false */
  metricsElsewhere?: boolean;
  /** @see Config.gatewayReplayLimit */
  replayLimit: number;
  /** @see Config.gatewaySendQueueBytes */
  sendQueueBytes: number;
  /** @see Config.gatewayAuthTimeoutMs */
  authTimeoutMs: number;
  /** @see Config.gatewayPresenceHeartbeatMs */
  presenceHeartbeatMs: number;
  /** @see Config.gatewayPresenceTtlMs */
  presenceTtlMs: number;
  /** How long after `ready` live frames wait for the client's `resume`. @default 300 */
  resumeWindowMs?: number;
  /** WebSocket ping interval; a connection that missed the previous pong is cut. @default 30000 */
  pingIntervalMs?: number;
  /** Largest client frame accepted (bytes); bigger closes with 1009. @default 65536 */
  maxFrameBytes?: number;
  /** How long the realtime topic is still fetched after the last connection closed (`RealtimeFeed`). @default 5000 */
  idlePauseMs?: number;
}

/** The gateway's settings from the config. */
export function gatewaySettings(config: Config): GatewaySettings {
  return {
    // Unique per process start: a restarted gateway's old presence entries expire on their own.
    instanceId: `${config.serviceName}-${randomUUID().slice(0, 8)}`,
    jwtSecret: config.jwtSecret,
    replayLimit: config.gatewayReplayLimit,
    sendQueueBytes: config.gatewaySendQueueBytes,
    authTimeoutMs: config.gatewayAuthTimeoutMs,
    presenceHeartbeatMs: config.gatewayPresenceHeartbeatMs,
    presenceTtlMs: config.gatewayPresenceTtlMs,
    metricsElsewhere: config.metricsPort !== undefined,
  };
}

export interface Gateway {
  /** The HTTP server: `/v1/stream` (WebSocket), `/healthz`, `/readyz`, `/metrics`. Listen on it after `start`. */
  server: Server;
  metrics: GatewayMetrics;
  presence: PresenceView;
  /** Subscribes to the realtime and presence topics and starts the heartbeats. */
  start(): Promise<void>;
  /** Publishes a heartbeat and expires silent presence entries now (tests call it instead of waiting). */
  presenceTick(): Promise<void>;
  /** Closes every connection with 1001, leaves the topics, closes the server. */
  stop(): Promise<void>;
}

const PRESENCE_CHUNK = 500;
/** The longest delay setTimeout honours (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;
/** Client frames a connection may send per second before it is closed with 1008. */
const FRAMES_PER_SECOND = 100;

/**
 * The push gateway (docs/realtime.md): WebSocket connections of people, authenticated with the
 * API's access tokens; every realtime record routers publish, pushed to the connections of the
 * conversation's members held here; `resume` replayed from the store; `ack`/`read` turned into
 * status events for the routers; presence merged from every gateway's heartbeats.
 */
export function createGateway(deps: GatewayDeps, settings: GatewaySettings): Gateway {
  const { bus, clock, logger } = deps;
  const store = gatewayStore(deps);
  const metrics = createGatewayMetrics(deps.registry);
  const key = accessTokenKey(settings.jwtSecret);
  const ctx = { store, clock, metrics, logger, replayLimit: settings.replayLimit, sendQueueBytes: settings.sendQueueBytes };
  /** The open connections of each user on this gateway. */
  const byUser = new Map<string, Set<Connection>>();
  /** Who may see whose presence: user → connections of the people sharing a conversation with them. */
  const watchers = new Map<string, Set<Connection>>();
  const sockets = new Set<WebSocket>();
  let subscription: Subscription | null = null;
  let assigned = false;
  let stopping = false;
  // With nobody connected here, the realtime topic is not even fetched.
  const feed = new RealtimeFeed(TOPICS.realtime, settings.idlePauseMs ?? 5000, () => byUser.size, (paused) => metrics.realtimePaused.set(paused ? 1 : 0));

  const addTo = <K, V>(map: Map<K, Set<V>>, k: K, v: V) => {
    let set = map.get(k);
    if (!set) map.set(k, (set = new Set()));
    set.add(v);
    return set.size;
  };
  const removeFrom = <K, V>(map: Map<K, Set<V>>, k: K, v: V) => {
    const set = map.get(k);
    set?.delete(v);
    if (set?.size === 0) map.delete(k);
    return set?.size ?? 0;
  };

  // ---- presence: this gateway's users out, everyone's users in
  const view = new PresenceView((state: PresenceState) => {
    metrics.presenceOnline.set(view.size);
    for (const c of watchers.get(state.user_id) ?? []) c.send(presenceFrame(state));
  });
  const publishPresence = async (users: PresenceRecord['users']) => {
    for (let i = 0; i < users.length; i += PRESENCE_CHUNK) {
      const record: PresenceRecord = { gateway_id: settings.instanceId, at: clock.now(), ttl_ms: settings.presenceTtlMs, users: users.slice(i, i + PRESENCE_CHUNK) };
      await bus.publish(TOPICS.presence, [{ key: settings.instanceId, value: JSON.stringify(record) }]);
    }
  };
  const announce = (userId: string, online: boolean) =>
    void publishPresence([{ user_id: userId, online, last_seen: isoAt(clock.now()) }]).catch((err) => logger.warn({ err }, 'could not publish presence'));
  const presenceLoop = { current: null as ReturnType<typeof startPeriodic> | null };
  const presencePass = async () => {
    const now = isoAt(clock.now());
    await publishPresence([...byUser.keys()].map((user_id) => ({ user_id, online: true, last_seen: now })));
    view.sweep(clock.now());
    metrics.presenceOnline.set(view.size);
  };

  // ---- connections
  const register = (conn: Connection) => {
    if (addTo(byUser, conn.userId, conn) === 1) announce(conn.userId, true);
    for (const contact of conn.contacts()) addTo(watchers, contact, conn);
    metrics.connectedClients.inc();
  };
  const unregister = (conn: Connection) => {
    if (removeFrom(byUser, conn.userId, conn) === 0 && !stopping) announce(conn.userId, false);
    for (const contact of conn.contacts()) removeFrom(watchers, contact, conn);
    metrics.connectedClients.dec();
    feed.left();
  };

  const reportStatus = async (conn: Connection, messageId: string, status: 'DELIVERED' | 'READ') => {
    let targets: { delivery_id: string; conversation_id: string }[];
    const known = status === 'DELIVERED' ? conn.deliveryOf(messageId) : null;
    if (known) targets = [known];
    else {
      const mine = await store.deliveriesFor(conn.userId, [messageId]);
      // `ack` is about the in-app delivery; `read` about every delivery to the reader, as the API's read does.
      targets = mine.filter((d) => (status === 'DELIVERED' ? d.channel === 'internal' : d.status !== 'READ' && d.status !== 'FAILED'));
      if (mine.length === 0) return conn.send(errorFrame('not_found', `no delivery of message ${messageId} to you`));
    }
    if (targets.length === 0) return;
    const at = isoAt(clock.now());
    await bus.publish(
      TOPICS.status,
      targets.map((d) => {
        const event: StatusEvent = { delivery_id: d.delivery_id, status, at, source: 'gateway' };
        return { key: d.conversation_id, value: JSON.stringify(event) };
      }),
    );
  };

  const typing = async (conn: Connection, conversationId: string) => {
    if (!(await conn.isMember(conversationId))) return conn.send(errorFrame('not_found', `conversation ${conversationId} not found`));
    if (!conn.mayType(conversationId)) return;
    const event: TypingEvent = { type: 'typing', conversation_id: conversationId, user_id: conn.userId, routed_at: clock.now(), members: conn.conversations.get(conversationId) ?? [] };
    await bus.publish(TOPICS.realtime, [realtimeRecord(event)]);
  };

  const handle = async (conn: Connection, frame: ClientFrame) => {
    if (frame.type !== 'resume') conn.startLive();
    try {
      switch (frame.type) {
        case 'auth':
          return conn.send(errorFrame('already_authenticated', 'this connection is authenticated already'));
        case 'resume':
          return await conn.resume(frame.cursors);
        case 'ack':
          return await reportStatus(conn, frame.message_id, 'DELIVERED');
        case 'read':
          return await reportStatus(conn, frame.message_id, 'READ');
        case 'typing':
          return await typing(conn, frame.conversation_id);
        case 'ping':
          return conn.send(pongFrame());
      }
    } catch (err) {
      logger.warn({ err, type: frame.type, connection_id: conn.id }, 'client frame failed');
      conn.send(errorFrame('unavailable', `could not handle ${frame.type} now; try again`));
    }
  };

  const accept = (ws: WebSocket, req: IncomingMessage) => {
    sockets.add(ws);
    let conn: Connection | null = null;
    let authStarted = false;
    let expiryTimer: NodeJS.Timeout | null = null;
    let chain: Promise<void> = Promise.resolve();
    const early: ClientFrame[] = [];
    const refuse = (code: number, reason: string) => {
      if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
      setTimeout(() => ws.terminate(), 2000).unref();
    };
    const authTimer = setTimeout(() => {
      if (!authStarted) refuse(CLOSE.authTimeout, `no auth frame within ${settings.authTimeoutMs} ms`);
    }, settings.authTimeoutMs);

    // A connection lives no longer than its token: at `exp` (by the injected clock) it closes 4401.
    const closeAtExpiry = (expMs: number) => {
      const left = expMs - clock.now();
      if (left <= 0) return refuse(CLOSE.unauthorized, 'the access token has expired');
      // setTimeout holds at most ~24.8 days: a longer token re-arms on the way.
      expiryTimer = setTimeout(() => closeAtExpiry(expMs), Math.min(left, MAX_TIMER_MS));
      expiryTimer.unref();
    };

    const authenticate = async (token: string) => {
      authStarted = true;
      clearTimeout(authTimer);
      let principal;
      try {
        principal = await verifyAccessToken(await key, token, clock);
      } catch (err) {
        return refuse(CLOSE.unauthorized, (err as Error).message);
      }
      if (principal.role === 'service') return refuse(CLOSE.forbidden, 'service tokens cannot stream: log in as a user');
      if (principal.exp !== undefined) closeAtExpiry(principal.exp * 1000);
      const conversations = await store.listConversations(principal.sub);
      // Registered only once the realtime topic is fetched (resumed from its end if it was paused).
      const release = await feed.hold();
      if (ws.readyState !== WebSocket.OPEN || stopping) return release();
      const c = new Connection(ws, principal.sub, new Map(conversations.map((x) => [x.conversation_id, x.members])), ctx);
      conn = c;
      register(c);
      release();
      c.send(readyFrame(c.userId, c.id));
      for (const contact of c.contacts()) {
        const state = view.state(contact);
        if (state.online || state.last_seen) c.send(presenceFrame(state));
      }
      c.holdUntilResume(settings.resumeWindowMs ?? 300);
      for (const frame of early.splice(0)) chain = chain.then(() => handle(c, frame));
    };

    let windowStart = 0;
    let inWindow = 0;
    ws.on('message', (data, isBinary) => {
      // Each ack, read or resume may cost a store read: a client gets a bounded share.
      const now = Date.now();
      if (now - windowStart >= 1000) [windowStart, inWindow] = [now, 0];
      if (++inWindow > FRAMES_PER_SECOND) return refuse(CLOSE.policy, `too many frames: at most ${FRAMES_PER_SECOND} a second`);
      if (isBinary) return refuse(CLOSE.malformed, 'frames are JSON text');
      const frame = parseClientFrame(data.toString());
      if (typeof frame === 'string') return refuse(CLOSE.malformed, frame);
      if (conn) {
        const c = conn;
        chain = chain.then(() => handle(c, frame));
        return;
      }
      if (!authStarted) {
        if (frame.type !== 'auth') return refuse(CLOSE.malformed, 'the first frame must be {"type":"auth","token":…} (or send Authorization: Bearer on the upgrade)');
        void authenticate(frame.token).catch((err) => {
          logger.warn({ err }, 'could not authenticate a connection');
          refuse(1011, 'internal error: try again');
        });
        return;
      }
      // Frames sent right behind the token (a resume) wait for the authentication.
      if (early.length >= 100) return refuse(CLOSE.malformed, 'too many frames before ready');
      early.push(frame);
    });
    let alive = true;
    ws.on('pong', () => (alive = true));
    const pinger = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, settings.pingIntervalMs ?? 30_000);
    pinger.unref();
    ws.on('close', (code) => {
      clearTimeout(authTimer);
      if (expiryTimer) clearTimeout(expiryTimer);
      clearInterval(pinger);
      sockets.delete(ws);
      metrics.closes.inc({ code: String(code) });
      const c = conn as Connection | null;
      if (c) {
        c.close(code, '');
        unregister(c);
      }
    });
    ws.on('error', (err) => logger.debug({ err }, 'websocket error'));

    const header = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (req.headers.authorization !== undefined) {
      if (!header) return refuse(CLOSE.unauthorized, 'the Authorization header is not "Bearer <token>"');
      void authenticate(header[1]!).catch((err) => {
        logger.warn({ err }, 'could not authenticate a connection');
        refuse(1011, 'internal error: try again');
      });
    }
  };

  // ---- bus → connections
  const onRealtime = (event: RealtimeEvent) => {
    switch (event.type) {
      case 'message.created': {
        const memberIds = event.members.map((m) => m.user_id);
        for (const m of event.members) {
          const conns = byUser.get(m.user_id);
          if (!conns) continue;
          const frame = messageCreatedFrame(event, m.delivery_id, event.routed_at);
          for (const c of conns) {
            if (c.learn(event.conversation_id, memberIds)) {
              // A conversation new to this connection: its members' presence becomes visible to it.
              for (const contact of memberIds) {
                if (contact === c.userId || watchers.get(contact)?.has(c)) continue;
                addTo(watchers, contact, c);
                const state = view.state(contact);
                if (state.online || state.last_seen) c.send(presenceFrame(state));
              }
            }
            c.offer(event.conversation_id, frame);
          }
        }
        return;
      }
      case 'message.status': {
        const frame = messageStatusFrame(event);
        for (const userId of event.members) for (const c of byUser.get(userId) ?? []) c.offer(event.conversation_id, frame);
        return;
      }
      case 'typing': {
        const frame = typingFrame(event);
        for (const userId of event.members) if (userId !== event.user_id) for (const c of byUser.get(userId) ?? []) c.offer(event.conversation_id, frame);
        return;
      }
    }
  };
  /** Handles one record; returns 1 when it was skipped undecoded (naming nobody connected here), else 0. */
  const onRecord = (msg: BusMessage): number => {
    // A record the gateway cannot read is skipped, never retried: it must not hold up the others.
    try {
      if (msg.topic === TOPICS.realtime) {
        // Most records name nobody connected here: they are not decoded at all.
        if (!mayConcern(msg, byUser.size, (userId) => byUser.has(userId))) return 1;
        onRealtime(decodeRecord(realtimeEventSchema, msg.value, 'realtime event'));
      } else if (msg.topic === TOPICS.presence) {
        view.apply(decodeRecord(presenceRecordSchema, msg.value, 'presence record'), clock.now());
        metrics.presenceOnline.set(view.size);
      }
    } catch (err) {
      logger.warn({ err, topic: msg.topic, offset: msg.offset }, 'skipped a record the gateway cannot read');
    }
    return 0;
  };

  // ---- HTTP
  const app = express();
  app.disable('x-powered-by');
  // With a metrics port (METRICS_PORT), the public port does not show the metrics.
  if (settings.metricsElsewhere) app.all('/metrics', metricsElsewhere);
  app.use(opsRoutes(deps.registry, async () => ({ bus: assigned && (await bus.healthy()), store: await store.healthy() })));
  app.get('/v1/stream', (_req, res) => {
    res.status(426).set('Upgrade', 'websocket').type(PROBLEM_CONTENT_TYPE).send(
      JSON.stringify({ type: 'https://chat4all.dev/problems/upgrade-required', title: 'Upgrade Required', status: 426, detail: 'GET /v1/stream is a WebSocket endpoint (see docs/realtime.md)' }),
    );
  });
  const server = createServer(app);
  const wss = new WebSocketServer({ noServer: true, maxPayload: settings.maxFrameBytes ?? 64 * 1024 });
  const reject = (socket: Duplex, status: number, title: string, detail: string) => {
    const body = JSON.stringify({ type: 'about:blank', title, status, detail });
    socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== '/v1/stream') return reject(socket, 404, 'Not Found', `no WebSocket endpoint at ${url.pathname}; use /v1/stream`);
    if (['token', 'access_token', 'jwt'].some((p) => url.searchParams.has(p))) {
      return reject(socket, 400, 'Bad Request', 'never put a token in the URL: send Authorization: Bearer on the upgrade, or an auth frame first');
    }
    if (stopping) return reject(socket, 503, 'Service Unavailable', 'the gateway is shutting down');
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req));
  });

  return {
    server,
    metrics,
    presence: view,
    async start() {
      subscription = await bus.subscribe({
        group: gatewayGroup(settings.instanceId),
        topics: [TOPICS.realtime, TOPICS.presence],
        fromBeginning: false,
        concurrency: 16,
        // The group is this process's own and a repeated record is dropped (a seq already pushed)
        // or harmless (a status, typing): an offset commit a second, not one per fetched batch.
        commitIntervalMs: 1000,
        // A fetched batch in one call: no promise, retry loop or offset mark per record.
        batchHandler: async (msgs) => {
          let skipped = 0;
          for (const msg of msgs) skipped += onRecord(msg);
          if (skipped > 0) metrics.realtimeSkipped.inc(skipped);
        },
        handler: async (msg) => {
          if (onRecord(msg) > 0) metrics.realtimeSkipped.inc();
        },
        onAssignment: () => (assigned = true),
      });
      feed.attach(subscription);
      presenceLoop.current = startPeriodic({ intervalMs: settings.presenceHeartbeatMs, pass: presencePass, onError: (err) => logger.warn({ err }, 'presence heartbeat failed') });
    },
    presenceTick: () => presenceLoop.current?.tick() ?? presencePass(),
    async stop() {
      stopping = true;
      feed.stop();
      await presenceLoop.current?.stop();
      const closed = [...sockets].map((ws) => new Promise((r) => ws.once('close', r)));
      for (const ws of sockets) ws.close(CLOSE.goingAway, 'server going away: reconnect');
      await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 1000).unref())]);
      for (const ws of sockets) ws.terminate();
      wss.close();
      await closeServer(server);
      await subscription?.stop();
    },
  };
}

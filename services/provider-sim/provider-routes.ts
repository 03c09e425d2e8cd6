import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Channel } from './channel.ts';
import { newMid, parseInstagramSend, type InstagramSend } from './instagram-api.ts';
import { isRecord, parseJsonBody, type JsonBody } from './json-body.ts';
import { checkMediaLink } from './media-check.ts';
import { metaError } from './meta-error.ts';
import type { SimContext } from './sim-context.ts';
import type { RequestOutcome } from './sim-metrics.ts';
import { emitInstagramEvents, emitWhatsAppStatuses } from './webhook-events.ts';
import { newWamid, parseWhatsAppSend, type WhatsAppSend, type WhatsAppStatusError } from './whatsapp-api.ts';

const VERSION = /^v\d+\.\d+$/;

/**
 * Graph API dispatches by node type; the simulator has no node registry, so: `me` and the
 * configured IG account id are Instagram, the configured phone number id is WhatsApp, and any
 * other id goes by the body's shape (a `recipient` without `messaging_product` is Instagram).
 */
function channelOf(ctx: SimContext, nodeId: string, body: JsonBody): Channel {
  if (nodeId === 'me' || nodeId === ctx.instagram.accountId) return 'instagram';
  if (nodeId === ctx.whatsapp.phoneNumberId) return 'whatsapp';
  if (body.ok && isRecord(body.value) && body.value.messaging_product === undefined && isRecord(body.value.recipient)) return 'instagram';
  return 'whatsapp';
}

/** The expected token's bytes, made once per token rather than once per call. */
const tokenBytes = new Map<string, Buffer>();

function hasBearer(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  let expected = tokenBytes.get(token);
  if (!expected) tokenBytes.set(token, (expected = Buffer.from(token)));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Largest provider request body, as Graph API's own limit makes it irrelevant for messages. */
const MAX_BODY_BYTES = 1024 * 1024;
const SEND_PATH = /^\/([^/?]+)\/([^/?]+)\/messages\/?(?:\?.*)?$/i;

/**
 * `{version, nodeId}` when `POST url` is a provider send (`/{version}/{node}/messages`), the hot
 * path that {@link createSendHandler} serves without express; otherwise undefined.
 */
export function matchSendPath(method: string | undefined, url: string | undefined): { version: string; nodeId: string } | undefined {
  if (method !== 'POST' || url === undefined) return undefined;
  const m = SEND_PATH.exec(url);
  if (!m) return undefined;
  try {
    return { version: decodeURIComponent(m[1]!), nodeId: decodeURIComponent(m[2]!) };
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  // Headers as a flat list: node takes them as they are, without an object to walk.
  const list: string[] = [];
  if (headers) for (const name in headers) list.push(name, headers[name]!);
  list.push('content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(text)));
  res.writeHead(status, list);
  res.end(text);
}

/** Reads the whole body, or undefined (after answering 413 or losing the client) when it cannot. */
function readBody(req: IncomingMessage, res: ServerResponse, tooLarge: () => void): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: Buffer | undefined): void => {
      if (done) return;
      done = true;
      resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge();
        // Stop reading what is left; the connection closes after the answer.
        res.once('finish', () => req.destroy());
        return finish(undefined);
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish(Buffer.concat(chunks, size)));
    req.on('error', () => finish(undefined));
    req.on('aborted', () => finish(undefined));
  });
}

/**
 * The provider send endpoints: WhatsApp `/{version}/{phone_number_id}/messages`, Instagram
 * `/{version}/me|{ig_id}/messages`, on `node:http` without express: this is the path every
 * message takes, and express's routing and response helpers cost more than the rest of it.
 */
export function createSendHandler(ctx: SimContext): (req: IncomingMessage, res: ServerResponse, path: { version: string; nodeId: string }) => Promise<void> {
  const roll = (rate: number): boolean => rate > 0 && ctx.random() < rate;

  return async (req, res, { version, nodeId }) => {
    const raw = await readBody(req, res, () => {
      const channel: Channel = nodeId === 'me' || nodeId === ctx.instagram.accountId ? 'instagram' : 'whatsapp';
      const answer = metaError(channel, 100, `request entity too large (over ${MAX_BODY_BYTES} bytes)`);
      ctx.logger.warn({ url: req.url }, 'provider request body too large');
      sendJson(res, 413, answer.body);
    });
    if (raw === undefined) return;
    const body = parseJsonBody(raw);
    const channel = channelOf(ctx, nodeId, body);
    const { stats, faults: allFaults } = ctx.state;
    const faults = allFaults[channel];
    stats.request(channel);
    const reject = (code: number, outcome: RequestOutcome, details?: string, subcode?: number): void => {
      const answer = metaError(channel, code, details, subcode);
      stats.outcome(channel, outcome, code);
      sendJson(res, answer.status, answer.body, answer.headers);
    };
    const hang = async (): Promise<void> => {
      await ctx.holds.wait(res, ctx.timeoutHoldMs);
      res.destroy();
    };

    const latency = faults.latency_ms + (faults.latency_jitter_ms > 0 ? Math.round(ctx.random() * faults.latency_jitter_ms) : 0);
    if (latency > 0) {
      stats.fault(channel, 'latency');
      if (!(await ctx.holds.wait(res, latency))) return void res.destroy();
    }
    if (faults.down) {
      stats.fault(channel, 'down');
      return reject(2, 'fault_down');
    }
    if (!hasBearer(req.headers.authorization, ctx.accessToken)) {
      return reject(190, 'rejected', 'Invalid OAuth access token - Cannot parse access token');
    }
    if (!VERSION.test(version)) return reject(100, 'rejected', `Unknown path components: /${version}/${nodeId}/messages`);
    if (!body.ok) return reject(100, 'rejected', body.details);
    const parsed = channel === 'whatsapp' ? parseWhatsAppSend(body.value) : parseInstagramSend(body.value);
    if (!parsed.ok) return reject(100, 'rejected', parsed.details);
    // Injected faults hit only calls that would otherwise succeed, so a rate means what it says.
    if (roll(faults.timeout_rate)) {
      stats.fault(channel, 'timeout');
      stats.outcome(channel, 'fault_timeout');
      return hang();
    }
    if (roll(faults.error_rate)) {
      stats.fault(channel, 'error');
      return reject(faults.error_code, 'fault_error');
    }

    const answer =
      channel === 'whatsapp'
        ? await acceptWhatsApp(ctx, nodeId, parsed.value as WhatsAppSend)
        : await acceptInstagram(ctx, nodeId, parsed.value as InstagramSend);
    if ('code' in answer) return reject(answer.code, 'rejected', answer.details, answer.subcode);
    stats.outcome(channel, 'accepted');
    if (answer.logged && roll(faults.lost_response_rate)) {
      stats.fault(channel, 'lost_response');
      return hang();
    }
    sendJson(res, 200, answer.body);
  };
}

type Acceptance = { code: number; subcode?: number; details?: string } | { logged: boolean; body: unknown };

/** Meta's code for a WhatsApp media it could not fetch or would not take, reported in a `failed` status. */
const WHATSAPP_MEDIA_ERROR = 131053;

/** Instagram's code 100 subcodes for an attachment, answered at once by the Send API. */
const INSTAGRAM_MEDIA_SUBCODES = { fetch: 2018008, size: 2018109, type: 2018047 } as const;

async function acceptWhatsApp(ctx: SimContext, phoneNumberId: string, send: WhatsAppSend): Promise<Acceptance> {
  if (send.kind === 'mark_read') return { logged: false, body: { success: true } };
  if (ctx.state.config.undeliverable.whatsapp.has(send.waId)) return { code: 131026 };
  // The Cloud API takes a media message at once and fetches the link afterwards; a media it cannot
  // fetch or will not take comes back as a `failed` status webhook (131053), never as an answer.
  let media = send.media;
  let failed: WhatsAppStatusError | undefined;
  if (media?.link !== undefined) {
    const check = await checkMediaLink('whatsapp', send.type, media.link, ctx.mediaFetchTimeoutMs);
    if (check.ok) media = { ...media, fetched: check.fetched };
    else {
      failed = { code: WHATSAPP_MEDIA_ERROR, title: 'Media upload error', details: check.refusal.details };
      media = { ...media, fetch_error: { code: WHATSAPP_MEDIA_ERROR, ...check.refusal } };
    }
  }
  const id = newWamid();
  const now = ctx.clock.now();
  ctx.state.received.record({
    channel: 'whatsapp',
    to: send.waId,
    type: send.type,
    ...(send.text !== undefined ? { text: send.text } : {}),
    ...(media !== undefined ? { media } : {}),
    provider_message_id: id,
    ...(send.callbackData !== undefined ? { reference: send.callbackData } : {}),
    at: new Date(now).toISOString(),
  });
  emitWhatsAppStatuses(ctx, {
    phoneNumberId,
    messageId: id,
    recipientId: send.waId,
    sentAtMs: now,
    ...(send.callbackData !== undefined ? { callbackData: send.callbackData } : {}),
    ...(failed !== undefined ? { failed } : {}),
  });
  return {
    logged: true,
    body: { messaging_product: 'whatsapp', contacts: [{ input: send.input, wa_id: send.waId }], messages: [{ id }] },
  };
}

async function acceptInstagram(ctx: SimContext, nodeId: string, send: InstagramSend): Promise<Acceptance> {
  if (send.kind === 'sender_action') return { logged: false, body: { recipient_id: send.recipientId } };
  if (ctx.state.config.undeliverable.instagram.has(send.recipientId)) return { code: 551 };
  // The Send API fetches an attachment's URL during the call and refuses the call when it cannot.
  let media = send.media;
  if (media?.link !== undefined) {
    const check = await checkMediaLink('instagram', send.type, media.link, ctx.mediaFetchTimeoutMs);
    if (!check.ok) {
      const { reason, details } = check.refusal;
      const subcode =
        reason === 'too_large' ? INSTAGRAM_MEDIA_SUBCODES.size : reason === 'unsupported_type' ? INSTAGRAM_MEDIA_SUBCODES.type : INSTAGRAM_MEDIA_SUBCODES.fetch;
      return { code: 100, subcode, details };
    }
    media = { ...media, fetched: check.fetched };
  }
  const mid = newMid();
  const now = ctx.clock.now();
  ctx.state.received.record({
    channel: 'instagram',
    to: send.recipientId,
    type: send.type,
    ...(send.text !== undefined ? { text: send.text } : {}),
    ...(media !== undefined ? { media } : {}),
    provider_message_id: mid,
    ...(send.metadata !== undefined ? { reference: send.metadata } : {}),
    at: new Date(now).toISOString(),
  });
  const accountId = nodeId === 'me' ? ctx.instagram.accountId : nodeId;
  emitInstagramEvents(ctx, {
    accountId,
    mid,
    recipientId: send.recipientId,
    sentAtMs: now,
    ...(send.text !== undefined ? { text: send.text } : {}),
    ...(send.media?.link !== undefined ? { attachment: { type: send.type, url: send.media.link } } : {}),
    ...(send.metadata !== undefined ? { metadata: send.metadata } : {}),
  });
  return { logged: true, body: { recipient_id: send.recipientId, message_id: mid } };
}

import { z } from 'zod';
import type {
  ChannelConnector,
  OutgoingFile,
  SendOptions,
  SendResult,
  WebhookRequest,
  WebhookResult,
} from './channel-connector.ts';
import { instagramMediaKind } from './channel-media.ts';
import { badResponse, defaultFetch, graphEndpoint, graphUrl, items, postGraph, type FetchLike } from './meta-graph-client.ts';
import type { GraphEndpoint } from './graph-http.ts';
import { readSignedWebhook, verifySubscription } from './meta-signature.ts';
import { rejectedLocally } from './provider-error.ts';
import { instagramInbound } from './instagram-inbound.ts';
import type { MediaPayload } from '../core/domain/inbound-payload.ts';
import { fetchMediaBytes, MediaFetchError, type FetchedMedia, type MediaFetchLimits } from './media-download.ts';

export interface InstagramConnectorOptions {
  /** Origin of the Instagram Messaging API (`https://graph.instagram.com`, `https://graph.facebook.com`), or the simulator. */
  baseUrl: string;
  /** Graph API version. @default 'v21.0' */
  apiVersion?: string;
  /** Instagram professional account id; sends go to `/{accountId}/messages`. @default sends go to `/me/messages` */
  accountId?: string;
  /** Access token, sent as a bearer token. */
  accessToken: string;
  /** App secret: webhooks are signed with it. */
  appSecret: string;
  /** Token the provider echoes in the subscription handshake. */
  verifyToken: string;
  /** How long one provider call may take, body included. @default 10000 */
  timeoutMs?: number;
  /** Calls the provider through this instead of the plug-ins' own HTTP client (tests, proxies). */
  fetch?: FetchLike;
}

/** Bytes of UTF-8, per Meta's documentation. */
export const INSTAGRAM_MAX_TEXT_BYTES = 1000;
/** Characters of `message.metadata`, where a send's reference goes. */
export const INSTAGRAM_MAX_REFERENCE = 1000;

/** Instagram Messaging API plug-in. */
export class InstagramConnector implements ChannelConnector {
  readonly channel = 'instagram' as const;
  private readonly opts: Required<Omit<InstagramConnectorOptions, 'accountId'>> & { accountId?: string };
  private readonly names = new Map<string, { name: string | undefined; until: number }>();
  private readonly endpoint: GraphEndpoint;

  constructor(options: InstagramConnectorOptions) {
    this.opts = {
      ...options,
      apiVersion: options.apiVersion ?? 'v21.0',
      timeoutMs: options.timeoutMs ?? 10_000,
      fetch: options.fetch ?? defaultFetch,
    };
    if (!(this.opts.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${this.opts.timeoutMs}`);
    const url = graphUrl(this.opts.baseUrl, this.opts.apiVersion, this.opts.accountId ?? 'me', 'messages');
    this.endpoint = graphEndpoint(url, this.opts.accessToken, options.fetch);
  }

  /** Sends a text; `options.reference` goes into `message.metadata`, echoed in the message echo webhook. */
  async sendText(to: string, text: string, options?: SendOptions): Promise<SendResult> {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > INSTAGRAM_MAX_TEXT_BYTES) {
      throw rejectedLocally(this.channel, 'text_too_long', `text is ${bytes} bytes of UTF-8; Instagram allows ${INSTAGRAM_MAX_TEXT_BYTES}`);
    }
    return this.send({ recipient: { id: to }, message: { text, ...this.metadata(options) } });
  }

  /**
   * Sends a file by URL as an image, video, audio or (otherwise) file attachment. Instagram
   * attachments have no caption, and `file.caption` is not sent: a caller that wants it
   * delivered sends it with `sendText`, so each call stays one provider message with one id.
   * `options.reference` goes into `message.metadata`, as for a text.
   */
  async sendFile(to: string, file: OutgoingFile, options?: SendOptions): Promise<SendResult> {
    return this.send({
      recipient: { id: to },
      message: { attachment: { type: instagramMediaKind(file.mime_type), payload: { url: file.url } }, ...this.metadata(options) },
    });
  }

  verifySubscription(query: Record<string, unknown>): { status: number; body: string } {
    return verifySubscription(query, this.opts.verifyToken);
  }

  /**
   * Reads `entry[].messaging[]`: a `read` event becomes READ for its `mid` (Instagram sends no
   * DELIVERED). The echo of our own send (`is_echo`) becomes SENT with its `metadata` as
   * `reference` when it carries metadata (the only way to match a send whose answer was lost);
   * an echo without metadata was sent from our account by someone else and is refused
   * (`not_ours`, counted in `inbound_refused_total`). Every other event is an
   * inbound message of a typed payload or a refusal with its reason (`instagram-inbound.ts`):
   * text, attachments, unsends, edits, reactions. Items it cannot read are refused, not thrown.
   */
  parseWebhook(request: WebhookRequest): WebhookResult {
    const parsed = Envelope.safeParse(readSignedWebhook(request, this.opts.appSecret));
    const result: WebhookResult = { statuses: [], inbound: [], refused: [] };
    if (!parsed.success || parsed.data.object !== 'instagram') return result;
    for (const entry of items(Entry, parsed.data.entry)) {
      for (const raw of Array.isArray(entry.messaging) ? entry.messaging : []) {
        const event = Event.safeParse(raw);
        if (event.success && event.data.read) {
          result.statuses.push({ provider_message_id: event.data.read.mid, status: 'READ', at: event.data.timestamp });
        } else if (event.success && event.data.message?.is_echo) {
          const { mid, metadata, is_deleted } = event.data.message;
          if (metadata && !is_deleted) result.statuses.push({ provider_message_id: mid, status: 'SENT', reference: metadata, at: event.data.timestamp });
          // Every send of ours carries metadata: this one was sent from our account by someone else
          // (the Instagram app, another tool on a shared account). Counted, never a message of ours.
          else if (!metadata) result.refused.push({ channel: 'instagram', type: 'echo', reason: 'not_ours', provider_message_id: mid });
        } else {
          for (const m of instagramInbound(raw, entry.id ?? this.opts.accountId)) {
            if ('payload' in m) result.inbound.push(m);
            else result.refused.push(m);
          }
        }
      }
    }
    return result;
  }

  /**
   * The name of an Instagram user (`GET /{igsid}?fields=name,username`, the User Profile API):
   * webhooks carry only the IGSID. Remembered for an hour (a contact follows renames after
   * that), at most 5000 names; a provider that fails or takes over 2 s gives no name.
   */
  async profileName(igsid: string): Promise<string | undefined> {
    const cached = this.names.get(igsid);
    if (cached && cached.until > performance.now()) return cached.name;
    try {
      const url = `${graphUrl(this.opts.baseUrl, this.opts.apiVersion, igsid)}?fields=name,username`;
      const res = await this.opts.fetch(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.opts.accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(Math.min(this.opts.timeoutMs, 2000)),
      });
      const body = Profile.safeParse(await res.json());
      if (!res.ok || !body.success) return undefined;
      const name = body.data.name || body.data.username || undefined;
      this.names.delete(igsid);
      this.names.set(igsid, { name, until: performance.now() + 3_600_000 });
      if (this.names.size > 5000) this.names.delete(this.names.keys().next().value!);
      return name;
    } catch {
      return undefined;
    }
  }

  /**
   * An inbound attachment's bytes: Instagram webhooks carry the CDN URL (`payload.url`), fetched
   * as is. A shared post (`share`) is a link to show, not a file: refused as `not_found`.
   */
  async fetchMedia(media: MediaPayload['media'], limits: MediaFetchLimits): Promise<FetchedMedia> {
    if (!media.url || media.kind === 'share') throw new MediaFetchError(this.channel, 'not_found', 'the payload has no attachment URL');
    const fetched = await fetchMediaBytes(this.channel, media.url, undefined, limits, AbortSignal.timeout(limits.timeoutMs));
    if (media.mime_type) fetched.content_type = media.mime_type;
    return fetched;
  }

  // Checked before anything is sent: the API would refuse the whole message.
  private metadata(options: SendOptions | undefined): { metadata?: string } {
    const reference = options?.reference;
    if (reference === undefined || reference === '') return {};
    if ([...reference].length > INSTAGRAM_MAX_REFERENCE) {
      throw rejectedLocally(
        this.channel,
        'reference_too_long',
        `reference has ${[...reference].length} characters; message.metadata allows ${INSTAGRAM_MAX_REFERENCE}`,
      );
    }
    return { metadata: reference };
  }

  private async send(body: Record<string, unknown>): Promise<SendResult> {
    const json = await postGraph({ channel: this.channel, endpoint: this.endpoint, body, timeoutMs: this.opts.timeoutMs });
    if (typeof json.message_id !== 'string' || json.message_id === '') {
      throw badResponse(this.channel, 200, 'no message_id');
    }
    return { provider_message_id: json.message_id };
  }
}


const unixMillis = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
  .transform((ms) => new Date(Number(ms)).toISOString());
const id = z.object({ id: z.string().min(1) });

const Envelope = z.object({ object: z.string(), entry: z.unknown().optional() });
const Profile = z.object({ name: z.string().optional(), username: z.string().optional() });
const Entry = z.object({ id: z.string().optional().catch(undefined), messaging: z.unknown().optional() });
const Event = z.object({
  sender: id.optional(),
  recipient: id.optional(),
  timestamp: unixMillis,
  read: z.object({ mid: z.string().min(1) }).optional(),
  message: z
    .object({
      mid: z.string().min(1),
      is_echo: z.boolean().optional(),
      is_deleted: z.boolean().optional(),
      // An unreadable metadata only loses the crash-recovery hint, not the event.
      metadata: z.string().optional().catch(undefined),
    })
    .optional(),
});

import { z } from 'zod';
import type { DeliveryStatus } from '../core/domain/types.ts';
import type {
  ChannelConnector,
  OutgoingFile,
  ProviderStatusUpdate,
  SendOptions,
  SendResult,
  WebhookRequest,
  WebhookResult,
} from './channel-connector.ts';
import { whatsAppMediaKind } from './channel-media.ts';
import { badResponse, graphEndpoint, graphUrl, items, postGraph, type FetchLike } from './meta-graph-client.ts';
import type { GraphEndpoint } from './graph-http.ts';
import { readSignedWebhook, verifySubscription } from './meta-signature.ts';
import { rejectedLocally } from './provider-error.ts';
import { profileNames, whatsAppInbound } from './whatsapp-inbound.ts';
import type { MediaPayload } from '../core/domain/inbound-payload.ts';
import { fetchMediaBytes, getOrThrow, MediaFetchError, type FetchedMedia, type MediaFetchLimits } from './media-download.ts';

/** What `GET /{version}/{media_id}` answers: a short-lived URL of the bytes and what they are. */
const MediaInfo = z.object({
  url: z.string().url(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  file_size: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
});

export interface WhatsAppConnectorOptions {
  /** Origin of the Cloud API: `https://graph.facebook.com`, or the provider simulator. */
  baseUrl: string;
  /** Graph API version. @default 'v21.0' */
  apiVersion?: string;
  /** The business phone number we send from. */
  phoneNumberId: string;
  /** System-user access token, sent as a bearer token. */
  accessToken: string;
  /** Meta app secret: webhooks are signed with it. */
  appSecret: string;
  /** Token the provider echoes in the subscription handshake. */
  verifyToken: string;
  /** How long one provider call may take, body included. @default 10000 */
  timeoutMs?: number;
  /** Calls the provider through this instead of the plug-ins' own HTTP client (tests, proxies). */
  fetch?: FetchLike;
}

/** Characters, per Meta's documentation. */
export const WHATSAPP_MAX_TEXT = 4096;
export const WHATSAPP_MAX_CAPTION = 1024;
/** Characters of `biz_opaque_callback_data`, where a send's reference goes. */
export const WHATSAPP_MAX_REFERENCE = 512;

const STATUSES = new Map<string, DeliveryStatus>([
  ['sent', 'SENT'],
  ['delivered', 'DELIVERED'],
  ['read', 'READ'],
  ['failed', 'FAILED'],
]);

/** WhatsApp Business Cloud API plug-in. */
export class WhatsAppConnector implements ChannelConnector {
  readonly channel = 'whatsapp' as const;
  private readonly opts: Required<Omit<WhatsAppConnectorOptions, 'fetch'>>;
  private readonly endpoint: GraphEndpoint;

  constructor(options: WhatsAppConnectorOptions) {
    this.opts = {
      ...options,
      apiVersion: options.apiVersion ?? 'v21.0',
      timeoutMs: options.timeoutMs ?? 10_000,
    };
    if (!(this.opts.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${this.opts.timeoutMs}`);
    const url = graphUrl(this.opts.baseUrl, this.opts.apiVersion, this.opts.phoneNumberId, 'messages');
    this.endpoint = graphEndpoint(url, this.opts.accessToken, options.fetch);
  }

  /**
   * An inbound media's bytes as Meta serves them: `GET /{version}/{media_id}` with the token
   * answers a short-lived URL (and the size, type and sha256), then that URL with the token
   * answers the bytes. A `file_size` over the limit is refused before the download.
   */
  async fetchMedia(media: MediaPayload['media'], limits: MediaFetchLimits): Promise<FetchedMedia> {
    if (!media.provider_media_id) throw new MediaFetchError(this.channel, 'not_found', 'the payload names no media id');
    const signal = AbortSignal.timeout(limits.timeoutMs);
    const infoRes = await getOrThrow(this.channel, graphUrl(this.opts.baseUrl, this.opts.apiVersion, media.provider_media_id), this.opts.accessToken, signal);
    let info;
    try {
      info = MediaInfo.parse(await infoRes.json());
    } catch (err) {
      throw new MediaFetchError(this.channel, 'bad_response', `media ${media.provider_media_id}: an answer without a url`, { cause: err });
    }
    if (info.file_size !== undefined && info.file_size > limits.maxBytes) {
      throw new MediaFetchError(this.channel, 'too_large', `media ${media.provider_media_id} has ${info.file_size} bytes, over the ${limits.maxBytes}-byte limit`);
    }
    const fetched = await fetchMediaBytes(this.channel, info.url, this.opts.accessToken, limits, signal);
    if (info.file_size !== undefined) fetched.size ??= info.file_size;
    const type = info.mime_type ?? media.mime_type;
    if (type) fetched.content_type = type;
    const sha256 = info.sha256 ?? media.sha256;
    if (sha256) fetched.sha256 = sha256;
    return fetched;
  }

  /** Sends a text; `options.reference` goes into `biz_opaque_callback_data`, echoed in every status webhook. */
  async sendText(to: string, text: string, options?: SendOptions): Promise<SendResult> {
    // No more code points than UTF-16 units: only a long text is counted (the spread allocates).
    if (text.length > WHATSAPP_MAX_TEXT && [...text].length > WHATSAPP_MAX_TEXT) {
      throw rejectedLocally(this.channel, 'text_too_long', `text has ${[...text].length} characters; WhatsApp allows ${WHATSAPP_MAX_TEXT}`);
    }
    return this.send({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: this.recipient(to),
      type: 'text',
      text: { preview_url: false, body: text },
      ...this.callbackData(options),
    });
  }

  /**
   * Sends a file by link. The media type follows `mime_type` (unknown or absent: document).
   * WhatsApp audio messages carry no caption, so an audio file's caption is not sent.
   * `options.reference` goes into `biz_opaque_callback_data`, as for a text.
   */
  async sendFile(to: string, file: OutgoingFile, options?: SendOptions): Promise<SendResult> {
    const caption = file.caption || undefined;
    if (caption !== undefined && [...caption].length > WHATSAPP_MAX_CAPTION) {
      throw rejectedLocally(
        this.channel,
        'caption_too_long',
        `caption has ${[...caption].length} characters; WhatsApp allows ${WHATSAPP_MAX_CAPTION}`,
      );
    }
    const type = whatsAppMediaKind(file.mime_type);
    const media: Record<string, string> = { link: file.url };
    if (caption !== undefined && type !== 'audio') media.caption = caption;
    if (type === 'document' && file.filename) media.filename = file.filename;
    return this.send({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: this.recipient(to),
      type,
      [type]: media,
      ...this.callbackData(options),
    });
  }

  verifySubscription(query: Record<string, unknown>): { status: number; body: string } {
    return verifySubscription(query, this.opts.verifyToken);
  }

  /**
   * Reads `entry[].changes[]` of field `messages`: `statuses[]` become status updates, `messages[]`
   * inbound messages of every type (`whatsapp-inbound.ts`: a typed payload, or a refusal with its
   * reason), named from the change's `contacts[]`; a status's `biz_opaque_callback_data` becomes its
   * `reference`. Items it cannot read and unknown fields or statuses are counted and skipped, not
   * rejected: a 400 would make Meta redeliver the whole batch, and every good item with it.
   */
  parseWebhook(request: WebhookRequest): WebhookResult {
    const parsed = Envelope.safeParse(readSignedWebhook(request, this.opts.appSecret));
    const result: WebhookResult = { statuses: [], inbound: [], refused: [] };
    if (!parsed.success || parsed.data.object !== 'whatsapp_business_account') return result;
    for (const entry of items(Entry, parsed.data.entry)) {
      for (const change of items(Change, entry.changes)) {
        if (change.field !== 'messages') continue;
        const value = Value.safeParse(change.value);
        if (!value.success) continue;
        for (const s of items(Status, value.data.statuses)) {
          const update = toStatusUpdate(s);
          if (update) result.statuses.push(update);
          else result.unrecognized = (result.unrecognized ?? 0) + 1;
        }
        const meta = value.data.metadata;
        const ctx = { to: meta?.phone_number_id ?? meta?.display_phone_number, profileNames: profileNames(value.data.contacts) };
        for (const raw of Array.isArray(value.data.messages) ? value.data.messages : []) {
          const m = whatsAppInbound(raw, ctx);
          if ('payload' in m) result.inbound.push(m);
          else result.refused.push(m);
        }
      }
    }
    return result;
  }

  private async send(body: Record<string, unknown>): Promise<SendResult> {
    const json = await postGraph({ channel: this.channel, endpoint: this.endpoint, body, timeoutMs: this.opts.timeoutMs });
    const id = messageId(json);
    if (id === null) throw badResponse(this.channel, 200, 'no messages[0].id');
    return { provider_message_id: id };
  }

  // Checked before anything is sent: the Cloud API would refuse the whole message with code 100.
  private callbackData(options: SendOptions | undefined): { biz_opaque_callback_data?: string } {
    const reference = options?.reference;
    if (reference === undefined || reference === '') return {};
    if (reference.length > WHATSAPP_MAX_REFERENCE && [...reference].length > WHATSAPP_MAX_REFERENCE) {
      throw rejectedLocally(
        this.channel,
        'reference_too_long',
        `reference has ${[...reference].length} characters; biz_opaque_callback_data allows ${WHATSAPP_MAX_REFERENCE}`,
      );
    }
    return { biz_opaque_callback_data: reference };
  }

  // The Cloud API wants the number in international format, digits only.
  private recipient(to: string): string {
    const digits = to.replace(/\D/g, '');
    if (!digits) throw rejectedLocally(this.channel, 'invalid_recipient', `"${to}" is not a phone number`);
    return digits;
  }
}


const unixSeconds = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((s) => new Date(Number(s) * 1000).toISOString());

const Envelope = z.object({ object: z.string(), entry: z.unknown().optional() });
const Entry = z.object({ changes: z.unknown().optional() });
const Change = z.object({ field: z.string(), value: z.unknown().optional() });
const Value = z.object({
  metadata: z.object({ display_phone_number: z.string().optional(), phone_number_id: z.string().optional() }).optional().catch(undefined),
  statuses: z.unknown().optional(),
  messages: z.unknown().optional(),
  contacts: z.unknown().optional(),
});
const Status = z.object({
  id: z.string().min(1),
  status: z.string(),
  timestamp: unixSeconds,
  // An unreadable reference only loses the crash-recovery hint, not the status.
  biz_opaque_callback_data: z.string().optional().catch(undefined),
  errors: z
    .array(
      z.object({
        code: z.union([z.number(), z.string()]),
        title: z.string().optional(),
        message: z.string().optional(),
        error_data: z.object({ details: z.string().optional() }).optional(),
      }),
    )
    .optional()
    // A FAILED status with an unreadable reason is still a FAILED status.
    .catch(undefined),
});

/** `messages[0].id` of a send's answer, or null when it has none. */
function messageId(json: Record<string, unknown>): string | null {
  const first: unknown = Array.isArray(json.messages) ? json.messages[0] : undefined;
  if (typeof first !== 'object' || first === null || Array.isArray(first)) return null;
  const id = (first as { id?: unknown }).id;
  return typeof id === 'string' && id !== '' ? id : null;
}

function toStatusUpdate(s: z.output<typeof Status>): ProviderStatusUpdate | null {
  const status = STATUSES.get(s.status);
  if (!status) return null;
  const update: ProviderStatusUpdate = { provider_message_id: s.id, status, at: s.timestamp };
  if (s.biz_opaque_callback_data) update.reference = s.biz_opaque_callback_data;
  if (status === 'FAILED') {
    const e = s.errors?.[0];
    const reason = [e?.title ?? e?.message, e?.error_data?.details].filter(Boolean).join(': ');
    update.error = e
      ? { code: String(e.code), message: reason || 'no reason given' }
      : { code: 'unknown', message: 'WhatsApp reported the message failed without a reason' };
  }
  return update;
}

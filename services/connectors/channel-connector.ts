import type { InboundMessage } from '../core/inbound/accept-inbound.ts';
import type { MediaPayload } from '../core/domain/inbound-payload.ts';
import type { FetchedMedia, MediaFetchLimits } from './media-download.ts';
import type { DeliveryError, DeliveryStatus, ExternalChannel } from '../core/domain/types.ts';

/** What the provider answered to an accepted send. */
export interface SendResult {
  provider_message_id: string;
}

/** A file to send, by a URL the provider can fetch. */
export interface OutgoingFile {
  url: string;
  filename?: string;
  caption?: string;
  /** MIME type when known; chooses the provider's media type (image, video, audio, document). */
  mime_type?: string;
}

/** A webhook request exactly as it reached us: the signature is computed over the raw bytes. */
export interface WebhookRequest {
  rawBody: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** Options of one send. */
export interface SendOptions {
  /**
   * Our reference for this send (the delivery id). The provider echoes it back in its webhooks
   * (WhatsApp `biz_opaque_callback_data`, Instagram `message.metadata` in the echo), so a send
   * whose answer was lost in a crash can still be matched to its delivery.
   */
  reference?: string;
}

/** A provider's report about one of our sends. */
export interface ProviderStatusUpdate {
  provider_message_id: string;
  /** Our reference for the send, when the provider echoed it. */
  reference?: string;
  status: DeliveryStatus;
  /** RFC 3339 time the provider gives for the event. */
  at: string;
  error?: DeliveryError;
}

/**
 * A message an external user wrote to us on a channel, exactly as the core's `acceptInbound`
 * takes it: the message id is derived from (`channel`, `provider_message_id`), so a provider's
 * retry makes no second message.
 */
export type { InboundMessage };

/**
 * An inbound event the connector will not turn into a message, and why (counted in
 * `inbound_refused_total{reason}`, logged, then acknowledged: a retry would not change it).
 */
export interface RefusedInbound {
  channel: ExternalChannel;
  /** The provider's type name for it (`system`, `order`, `postback`, …). */
  type: string;
  /** A stable reason: `unknown_type`, `system_event`, `malformed`, `echo`, … */
  reason: string;
  provider_message_id?: string;
  from?: string;
}

export interface WebhookResult {
  statuses: ProviderStatusUpdate[];
  inbound: InboundMessage[];
  /** Inbound events left out, each with its reason (see {@link RefusedInbound}). */
  refused: RefusedInbound[];
  /** Statuses left out because the connector does not know their status name (counted, then acknowledged). */
  unrecognized?: number;
}

/**
 * One channel plug-in. Adding a channel means writing one of these and registering it in
 * `connectors/registry.ts`; the core does not change.
 */
export interface ChannelConnector {
  readonly channel: ExternalChannel;
  /** Sends a text; rejects with a `ProviderError` that says whether a retry can help. */
  sendText(to: string, text: string, options?: SendOptions): Promise<SendResult>;
  /** Sends a file by URL; rejects with a `ProviderError`. */
  sendFile(to: string, file: OutgoingFile, options?: SendOptions): Promise<SendResult>;
  /** Answers the provider's subscription handshake (`hub.mode`, `hub.verify_token`, `hub.challenge`). */
  verifySubscription(query: Record<string, unknown>): { status: number; body: string };
  /**
   * Verifies the signature over the raw body and parses a webhook. Rejects with an AppError of
   * status 401 on a missing or bad signature and 400 on a body it cannot read.
   */
  parseWebhook(request: WebhookRequest): WebhookResult;
  /**
   * The sender's name in their provider profile, for a channel whose webhooks do not carry it
   * (Instagram: the User Profile API). Best effort and quick: resolves undefined when the
   * provider does not answer in time or at all; never rejects. Optional.
   */
  profileName?(address: string): Promise<string | undefined>;
  /**
   * Fetches the bytes of an inbound media the way the provider serves them (WhatsApp: the media
   * API with the token; Instagram: the attachment's URL), as a stream bounded by `limits`.
   * Rejects with a `MediaFetchError` that says whether a later try may help. Optional: a channel
   * without it keeps its inbound media as provider references.
   */
  fetchMedia?(media: MediaPayload['media'], limits: MediaFetchLimits): Promise<FetchedMedia>;
}

import { instagramEchoWebhook, instagramReadWebhook } from './instagram-api.ts';
import type { SimContext } from './sim-context.ts';
import { planStatuses } from './status-plan.ts';
import { whatsAppStatusWebhook, type WhatsAppStatus, type WhatsAppStatusError } from './whatsapp-api.ts';

/**
 * Emits `sent`, `delivered` and (with auto-read) `read` for an accepted WhatsApp send; each
 * carries the send's `biz_opaque_callback_data` when it had one. A send that `failed` (its media
 * could not be fetched or was refused) gets one `failed` status with the error, at the `sent`
 * delay, and nothing else: the Cloud API accepts a media message before it fetches the media.
 */
export function emitWhatsAppStatuses(
  ctx: SimContext,
  message: { phoneNumberId: string; messageId: string; recipientId: string; sentAtMs: number; callbackData?: string; failed?: WhatsAppStatusError },
): void {
  const { config } = ctx.state;
  const delays = config.webhookDelaysMs;
  const statuses: Array<{ status: WhatsAppStatus; delayMs: number }> = message.failed
    ? [{ status: 'failed', delayMs: delays.sent }]
    : [
        { status: 'sent', delayMs: delays.sent },
        { status: 'delivered', delayMs: delays.delivered },
      ];
  if (config.autoRead && !message.failed) statuses.push({ status: 'read', delayMs: delays.read });
  const plan = planStatuses(statuses, config, ctx.random);
  ctx.dispatcher.dispatch(
    'whatsapp',
    plan.map((p) => ({
      delayMs: p.delayMs,
      payload: whatsAppStatusWebhook(ctx.whatsapp, {
        phoneNumberId: message.phoneNumberId,
        messageId: message.messageId,
        status: p.status,
        timestampMs: message.sentAtMs + p.nominalDelayMs,
        recipientId: message.recipientId,
        ...(message.callbackData !== undefined ? { callbackData: message.callbackData } : {}),
        ...(message.failed !== undefined ? { error: message.failed } : {}),
      }),
    })),
    config.order === 'in_order',
  );
}

/** An accepted Instagram send, as its webhooks need it. */
export interface InstagramSent {
  accountId: string;
  mid: string;
  recipientId: string;
  sentAtMs: number;
  text?: string;
  attachment?: { type: string; url: string };
  /** The send's `message.metadata`. */
  metadata?: string;
}

/**
 * Emits the message echo at the `sent` delay and, with auto-read, the `messaging_seen` read
 * event at the `read` delay (Instagram has no sent or delivered statuses). Both follow the
 * order and duplicate settings like WhatsApp statuses.
 */
export function emitInstagramEvents(ctx: SimContext, message: InstagramSent): void {
  const { config } = ctx.state;
  const delays = config.webhookDelaysMs;
  const events: Array<{ status: 'echo' | 'read'; delayMs: number }> = [{ status: 'echo', delayMs: delays.sent }];
  if (config.autoRead) events.push({ status: 'read', delayMs: delays.read });
  const plan = planStatuses(events, config, ctx.random);
  ctx.dispatcher.dispatch(
    'instagram',
    plan.map((p) => {
      const timestampMs = message.sentAtMs + p.nominalDelayMs;
      const payload =
        p.status === 'echo'
          ? instagramEchoWebhook({
              accountId: message.accountId,
              recipientId: message.recipientId,
              mid: message.mid,
              timestampMs,
              ...(message.text !== undefined ? { text: message.text } : {}),
              ...(message.attachment !== undefined ? { attachment: message.attachment } : {}),
              ...(message.metadata !== undefined ? { metadata: message.metadata } : {}),
            })
          : instagramReadWebhook({ accountId: message.accountId, recipientId: message.recipientId, mid: message.mid, timestampMs });
      return { delayMs: p.delayMs, payload };
    }),
    config.order === 'in_order',
  );
}

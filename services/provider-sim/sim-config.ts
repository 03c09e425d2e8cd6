import { CHANNELS, type Channel } from './channel.ts';

/** Delays, after an accepted send, at which each status webhook is emitted. */
export interface WebhookDelays {
  /** @default 20 */
  sent: number;
  /** @default 60 */
  delivered: number;
  /** @default 120 */
  read: number;
}

/** `in_order`: each status after the previous one was delivered; `shuffled`: random order. */
export type StatusOrder = 'in_order' | 'shuffled';

/** Runtime configuration of the simulator, changed through `POST /_sim/config`. */
export interface SimConfig {
  /** Where webhooks are POSTed, per channel; none means events are dropped (counted as skipped). */
  webhookUrls: Partial<Record<Channel, string>>;
  webhookDelaysMs: WebhookDelays;
  /** @default "in_order" */
  order: StatusOrder;
  /** Send every webhook twice. @default false */
  duplicate: boolean;
  /** In `shuffled` order, each inbound webhook waits a random 0..this many ms, so messages overtake each other. @default 200 */
  inboundShuffleMs: number;
  /** Emit `read` (WhatsApp) and `messaging_seen` (Instagram). @default true */
  autoRead: boolean;
  /** Recipients that are answered 131026 (WhatsApp, as digits without `+`) or 551 (Instagram). */
  undeliverable: Record<Channel, Set<string>>;
}

/** The configuration as the admin API shows it (snake_case, sets as sorted arrays). */
export interface SimConfigView {
  webhook_urls: Partial<Record<Channel, string>>;
  webhook_delays_ms: WebhookDelays;
  order: StatusOrder;
  duplicate: boolean;
  inbound_shuffle_ms: number;
  auto_read: boolean;
  undeliverable: Record<Channel, string[]>;
}

/** A partial update, as `POST /_sim/config` takes it; `null` removes a webhook URL. */
export interface SimConfigPatch {
  webhook_urls?: Partial<Record<Channel, string | null>>;
  webhook_delays_ms?: Partial<WebhookDelays>;
  order?: StatusOrder;
  duplicate?: boolean;
  inbound_shuffle_ms?: number;
  auto_read?: boolean;
  undeliverable?: Partial<Record<Channel, string[]>>;
}

/** Recipients are compared as WhatsApp `wa_id`s (no `+`) or Instagram ids as given. */
export function normaliseRecipient(channel: Channel, recipient: string): string {
  return channel === 'whatsapp' ? recipient.trim().replace(/^\+/, '') : recipient.trim();
}

/** A deep copy of `config`, so the start configuration survives runtime changes. */
export function copyConfig(config: SimConfig): SimConfig {
  return {
    webhookUrls: { ...config.webhookUrls },
    webhookDelaysMs: { ...config.webhookDelaysMs },
    order: config.order,
    duplicate: config.duplicate,
    inboundShuffleMs: config.inboundShuffleMs,
    autoRead: config.autoRead,
    undeliverable: { whatsapp: new Set(config.undeliverable.whatsapp), instagram: new Set(config.undeliverable.instagram) },
  };
}

/** Applies a validated patch in place: given fields replace, absent fields stay. */
export function applyConfigPatch(config: SimConfig, patch: SimConfigPatch): void {
  for (const channel of CHANNELS) {
    const url = patch.webhook_urls?.[channel];
    if (url === null) delete config.webhookUrls[channel];
    else if (url !== undefined) config.webhookUrls[channel] = url;
    const list = patch.undeliverable?.[channel];
    if (list !== undefined) config.undeliverable[channel] = new Set(list.map((r) => normaliseRecipient(channel, r)));
  }
  Object.assign(config.webhookDelaysMs, Object.fromEntries(Object.entries(patch.webhook_delays_ms ?? {}).filter(([, v]) => v !== undefined)));
  if (patch.order !== undefined) config.order = patch.order;
  if (patch.duplicate !== undefined) config.duplicate = patch.duplicate;
  if (patch.inbound_shuffle_ms !== undefined) config.inboundShuffleMs = patch.inbound_shuffle_ms;
  if (patch.auto_read !== undefined) config.autoRead = patch.auto_read;
}

/** The admin API view of `config`. */
export function viewConfig(config: SimConfig): SimConfigView {
  return {
    webhook_urls: { ...config.webhookUrls },
    webhook_delays_ms: { ...config.webhookDelaysMs },
    order: config.order,
    duplicate: config.duplicate,
    inbound_shuffle_ms: config.inboundShuffleMs,
    auto_read: config.autoRead,
    undeliverable: { whatsapp: [...config.undeliverable.whatsapp].sort(), instagram: [...config.undeliverable.instagram].sort() },
  };
}

import type { Channel } from './channel.ts';
import { isRecord } from './json-body.ts';

/**
 * One webhook body carrying the events of several: what Meta posts when updates pile up (an
 * `entry[]` per account, WhatsApp `changes[].value.statuses[]` / `messages[]` and Instagram
 * `messaging[]` holding several events). Events keep the order they were given in, so the
 * statuses of one message stay in order inside the body. One payload comes back as it is.
 */
export function mergeWebhooks(channel: Channel, payloads: readonly unknown[]): unknown {
  if (payloads.length === 1) return payloads[0];
  return channel === 'whatsapp' ? mergeWhatsApp(payloads) : mergeInstagram(payloads);
}

type Entry = Record<string, unknown> & { id?: unknown };

function entriesOf(payload: unknown): Entry[] {
  return isRecord(payload) && Array.isArray(payload.entry) ? (payload.entry.filter(isRecord) as Entry[]) : [];
}

/** The lists of a WhatsApp change whose items add up when changes merge. */
const LISTS = ['statuses', 'messages', 'contacts'] as const;

/** WhatsApp: one entry per WABA, one `messages` change per phone number id, its arrays concatenated. */
function mergeWhatsApp(payloads: readonly unknown[]): unknown {
  const entries = new Map<unknown, { id: unknown; changes: Map<string, { field: unknown; value: Record<string, unknown> }> }>();
  for (const payload of payloads) {
    for (const entry of entriesOf(payload)) {
      let merged = entries.get(entry.id);
      if (!merged) entries.set(entry.id, (merged = { id: entry.id, changes: new Map() }));
      for (const change of Array.isArray(entry.changes) ? entry.changes.filter(isRecord) : []) {
        const value = isRecord(change.value) ? change.value : {};
        const metadata = isRecord(value.metadata) ? value.metadata : {};
        const key = JSON.stringify([change.field, metadata.phone_number_id]);
        let into = merged.changes.get(key);
        if (!into) {
          // The lists are copied once and appended to after: the events' own payloads stay as they were.
          merged.changes.set(key, (into = { field: change.field, value: { ...value } }));
          for (const list of LISTS) if (Array.isArray(value[list])) into.value[list] = [...value[list]];
          continue;
        }
        for (const list of LISTS) {
          if (!Array.isArray(value[list])) continue;
          const target = (into.value[list] ??= []) as unknown[];
          for (const item of value[list]) target.push(item);
        }
      }
    }
  }
  return {
    object: 'whatsapp_business_account',
    entry: [...entries.values()].map((e) => ({ id: e.id, changes: [...e.changes.values()] })),
  };
}

/** Instagram: one entry per account, its `messaging[]` events concatenated, `time` the latest. */
function mergeInstagram(payloads: readonly unknown[]): unknown {
  const entries = new Map<unknown, { id: unknown; time: number; messaging: unknown[] }>();
  for (const payload of payloads) {
    for (const entry of entriesOf(payload)) {
      let merged = entries.get(entry.id);
      if (!merged) entries.set(entry.id, (merged = { id: entry.id, time: 0, messaging: [] }));
      if (typeof entry.time === 'number') merged.time = Math.max(merged.time, entry.time);
      if (Array.isArray(entry.messaging)) merged.messaging.push(...entry.messaging);
    }
  }
  return { object: 'instagram', entry: [...entries.values()] };
}

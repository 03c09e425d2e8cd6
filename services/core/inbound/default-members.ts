import { EXTERNAL_CHANNELS, type ExternalChannel } from '../domain/types.ts';

/** The owners an inbound message goes to when no recent conversation claims it: usernames per channel. */
export type InboundDefaultMembers = Partial<Record<ExternalChannel, string[]>>;

const USERNAME = /^[a-z0-9_.-]{3,32}$/;

/**
 * Reads `INBOUND_DEFAULT_MEMBERS`: `channel=user,user;channel=user` (spaces ignored), e.g.
 * `whatsapp=alice,bob;instagram=bob`. Throws an error naming the part to fix: an unknown channel, a
 * channel named twice, a channel with no one, or a name that is no valid username.
 */
export function parseInboundDefaultMembers(spec: string): InboundDefaultMembers {
  const out: InboundDefaultMembers = {};
  for (const part of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const channel = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (!(EXTERNAL_CHANNELS as readonly string[]).includes(channel)) {
      throw new Error(`"${part}": the channel must be one of ${EXTERNAL_CHANNELS.join(', ')} (write whatsapp=alice,bob;instagram=bob)`);
    }
    const ch = channel as ExternalChannel;
    if (out[ch]) throw new Error(`"${part}": ${ch} is named twice; list its users once, separated by commas`);
    const users = eq < 0 ? [] : part.slice(eq + 1).split(',').map((u) => u.trim()).filter(Boolean);
    if (users.length === 0) throw new Error(`"${part}": name at least one username after ${ch}=`);
    const bad = users.find((u) => !USERNAME.test(u));
    if (bad !== undefined) throw new Error(`"${part}": ${JSON.stringify(bad)} is not a username (3–32 characters of a-z 0-9 _ . -)`);
    out[ch] = [...new Set(users)];
  }
  return out;
}

import { z } from 'zod';
import { hasLoneSurrogate } from '../core/lone-surrogates.ts';
import { MAX_TEXT_CHARS, REQUESTED_CHANNELS, type SendMessageRequest } from './schemas.ts';

const UUID = z.regexes.uuid();
const CHANNELS = new Set<string>(REQUESTED_CHANNELS);
const DEFAULT_CHANNELS = ['all'] as const;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The common send (a text payload, no metadata, nothing unknown), checked without zod: the
 * request every message takes, where `sendMessageRequest.safeParse` cost about a fifth of the
 * send's own JavaScript. It answers exactly what the schema would give, or undefined for anything
 * it does not vouch for, which then goes through the schema (and its error messages): it never
 * refuses, so a 400 always comes from the schema. Tested against the schema in plain-send.test.ts.
 */
export function plainTextSend(body: unknown): SendMessageRequest | undefined {
  if (!isPlainObject(body)) return undefined;
  let keys = 0;
  for (const key in body) {
    if (key !== 'conversation_id' && key !== 'channels' && key !== 'payload' && key !== 'message_id') return undefined;
    keys++;
  }
  if (keys !== Object.keys(body).length) return undefined; // inherited enumerable keys: leave it to the schema
  const { message_id, conversation_id, channels, payload } = body;
  if ('message_id' in body && !(typeof message_id === 'string' && UUID.test(message_id))) return undefined;
  if (typeof conversation_id !== 'string' || conversation_id.length < 1 || conversation_id.length > 128 || hasLoneSurrogate(conversation_id)) return undefined;
  const chosen = 'channels' in body ? plainChannels(channels) : [...DEFAULT_CHANNELS];
  if (!chosen) return undefined;
  if (!isPlainObject(payload) || payload.type !== 'text' || Object.keys(payload).length !== 2) return undefined;
  const text = payload.text;
  if (typeof text !== 'string' || text.length < 1 || hasLoneSurrogate(text)) return undefined;
  // Code points never outnumber UTF-16 units, so only a long text needs counting.
  if (text.length > MAX_TEXT_CHARS && Array.from(text).length > MAX_TEXT_CHARS) return undefined;
  return {
    ...(typeof message_id === 'string' ? { message_id } : {}),
    conversation_id,
    channels: chosen,
    payload: { type: 'text', text },
  };
}

/** A copy of a valid `channels`, or undefined. */
function plainChannels(channels: unknown): SendMessageRequest['channels'] | undefined {
  if (!Array.isArray(channels) || channels.length < 1 || channels.length > REQUESTED_CHANNELS.length) return undefined;
  const seen = new Set<string>();
  for (const c of channels) {
    if (typeof c !== 'string' || !CHANNELS.has(c) || seen.has(c)) return undefined;
    seen.add(c);
  }
  if (seen.has('all') && channels.length > 1) return undefined;
  return [...channels] as SendMessageRequest['channels'];
}

import { z } from 'zod';

/** Close codes of `/v1/stream` (docs/realtime.md). */
export const CLOSE = {
  /** Bad or expired token. */
  unauthorized: 4401,
  /** A valid token that may not stream (a service client's). */
  forbidden: 4403,
  /** No `auth` frame in time. */
  authTimeout: 4408,
  /** A frame that is not JSON, not a known type, or not valid for its type. */
  malformed: 4400,
  /** The send queue overflowed: reconnect and resume. */
  tooSlow: 4429,
  /** More client frames than allowed (100 a second). */
  policy: 1008,
  /** The gateway is shutting down: reconnect (to another one). */
  goingAway: 1001,
} as const;

const id = z.string().min(1).max(200);

/** Every frame a client may send. */
export const clientFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth'), token: z.string().min(1).max(8192) }),
  z.object({ type: z.literal('resume'), cursors: z.record(id, z.number().int().min(0)).refine((c) => Object.keys(c).length <= 1000, 'at most 1000 conversations') }),
  z.object({ type: z.literal('ack'), message_id: id }),
  z.object({ type: z.literal('read'), message_id: id }),
  z.object({ type: z.literal('typing'), conversation_id: id }),
  z.object({ type: z.literal('ping') }),
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;

/** Parses a client frame; a string saying what is wrong when it is not one. */
export function parseClientFrame(data: string): ClientFrame | string {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return 'the frame is not JSON';
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return `invalid frame: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'does not match'}`;
}

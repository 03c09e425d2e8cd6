import { z } from 'zod';
import { inboundPayloadSchema } from './inbound-payload-schema.ts';
import { DELIVERY_STATUSES, EXTERNAL_CHANNELS, type StatusEvent } from './domain/types.ts';
import { PoisonRecord } from './dead-letters.ts';
import { FILE_STATES, MAX_FILE_SIZE, type FilePart, type FileRecord } from './domain/file.ts';

/** The record on the accepted-messages topic. */
export const acceptedRecordSchema = z.object({
  message_id: z.string().min(1),
  conversation_id: z.string().min(1),
  trace_id: z.string(),
  accepted_at: z.string(),
});

/** The prefix of the provider reference of a one-time identity code's send (never a delivery id). */
export const IDENTITY_CODE_REFERENCE = 'identity-code:';

/**
 * A one-time identity code to send as a text to an address that is being linked, on that
 * channel's delivery topic (keyed by address). It is not a message: no conversation, delivery or
 * status; the connector sends it once, unless it expired on the way.
 */
export const identityCodeJobSchema = z.object({
  kind: z.literal('identity-code'),
  channel: z.enum(EXTERNAL_CHANNELS),
  to: z.string().min(1),
  text: z.string().min(1),
  /** The provider reference: `IDENTITY_CODE_REFERENCE` and a random id. */
  reference: z.string().startsWith(IDENTITY_CODE_REFERENCE),
  expires_at: z.string(),
});
export type IdentityCodeJob = z.infer<typeof identityCodeJobSchema>;

/** The record on a delivery topic. */
export const deliveryJobSchema = z.object({
  delivery_id: z.string().min(1),
  message_id: z.string().min(1),
  conversation_id: z.string().min(1),
  seq: z.number().int().min(0),
  channel: z.enum(EXTERNAL_CHANNELS),
  recipient_id: z.string(),
  to: z.string().min(1),
  payload: z.union([
    z.object({ type: z.literal('text'), text: z.string() }),
    z.object({ type: z.literal('file'), file_id: z.string(), caption: z.string().optional() }),
    // A message an external user wrote: the connector sends its text rendering.
    inboundPayloadSchema,
  ]),
  accepted_at: z.string(),
  trace_id: z.string(),
});

/** The record on the status topic. */
export const statusEventSchema = z.object({
  delivery_id: z.string().min(1),
  status: z.enum(DELIVERY_STATUSES),
  at: z.string(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  source: z.string(),
});

/** A reference to an accepted message (the store holds the message itself). */
export type AcceptedRecord = z.infer<typeof acceptedRecordSchema>;
/** What the router hands a connector for one external delivery. */
export type DeliveryJob = z.infer<typeof deliveryJobSchema>;
/** A status event as it travels on the status topic. */
export type StatusRecord = z.infer<typeof statusEventSchema>;

// The domain's `StatusEvent` (which the store ports take) is the status record: the two must stay
// one shape, so a field added to either one fails the type check here.
const sameShape = <A, B>(_proof: [A] extends [B] ? ([B] extends [A] ? true : never) : never) => undefined;
sameShape<StatusRecord, StatusEvent>(true);

/** Decodes a record's JSON value; anything that does not fit is a poison record. */
export function decodeRecord<T>(schema: z.ZodType<T>, value: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (err) {
    throw new PoisonRecord(`undecodable ${what}: not JSON`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PoisonRecord(`invalid ${what}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'does not match'}`);
  }
  return parsed.data;
}

/** A file and its upload session, as the `FileStore` keeps it (the domain's `FileRecord`). */
export const fileRecordSchema = z.object({
  file_id: z.string().startsWith('fil_'),
  uploader_id: z.string().min(1),
  conversation_id: z.string().min(1),
  filename: z.string().min(1),
  content_type: z.string().min(1),
  size: z.number().int().min(0).max(MAX_FILE_SIZE),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  part_size: z.number().int().min(1),
  part_count: z.number().int().min(1).max(10_000),
  object_key: z.string().min(1),
  upload_id: z.string().min(1),
  state: z.enum(FILE_STATES),
  created_at: z.string(),
  expires_at: z.string(),
  completed_at: z.string().optional(),
  verified_at: z.string().optional(),
});

/** A part of a file's multipart upload (the domain's `FilePart`). */
export const filePartSchema = z.object({
  part_number: z.number().int().min(1).max(10_000),
  etag: z.string().min(1),
  size: z.number().int().min(0).optional(),
});

sameShape<z.infer<typeof fileRecordSchema>, FileRecord>(true);
sameShape<z.infer<typeof filePartSchema>, FilePart>(true);

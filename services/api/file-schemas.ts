import { z } from 'zod';
import { FILE_STATES } from '../core/domain/file.ts';
import { apiSchemas, text } from './schemas.ts';

/** Request and response shapes of `/v1/files`, registered with the API's schemas for the OpenAPI document. */

const timestamp = z.string().describe('RFC 3339 time in UTC.');
const partNumber = z.number().int().min(1).max(10_000);

export const createFileRequest = z
  .object({
    filename: text()
      .min(1)
      .max(255)
      .refine((s) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u007f' || ch === '/' || ch === '\\'), 'must not contain control characters or slashes')
      .describe('The name members download it as.'),
    size: z
      .number()
      .int()
      .min(1)
      .describe('Bytes of the whole file: at most 2 GiB (2,147,483,648); more answers 413 before anything is created.'),
    content_type: z
      .string()
      .max(255)
      .regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must be a media type, e.g. application/pdf')
      .describe('Its media type; one outside FILE_CONTENT_TYPES answers 415.'),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
      .describe('Hex sha256 of the whole file: checked against the stored object before the file is ready.'),
    conversation_id: text().min(1).max(128).describe('The conversation it is for: you must be a member.'),
  })
  .register(apiSchemas, { id: 'CreateFileRequest' });
export type CreateFileRequest = z.infer<typeof createFileRequest>;

export const fileCreated = z
  .object({
    file_id: z.string(),
    state: z.literal('uploading'),
    part_size: z.number().int().describe('Bytes of each part; the last may be shorter.'),
    part_count: z.number().int(),
    expires_at: timestamp.describe('When the session expires if not completed (its parts are then removed).'),
  })
  .register(apiSchemas, { id: 'FileCreated' });

export const partUrlsRequest = z
  .object({
    part_numbers: z
      .array(partNumber)
      .min(1)
      .max(1000)
      .optional()
      .describe('The parts to get URLs for; default: every part not yet recorded (at most 1,000).'),
  })
  .register(apiSchemas, { id: 'PartUrlsRequest' });

export const partUrls = z
  .object({
    urls: z.array(
      z.object({
        part_number: z.number().int(),
        url: z.string().describe('PUT the part\'s bytes here; S3 answers its ETag in the `ETag` header.'),
        expires_at: timestamp,
      }),
    ),
  })
  .register(apiSchemas, { id: 'PartUrls' });

export const recordPartRequest = z
  .object({ etag: z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be the ETag S3 answered').describe('The ETag S3 answered for the part, quoted or not.') })
  .register(apiSchemas, { id: 'RecordPartRequest' });

export const partRecorded = z.object({ part_number: z.number().int(), etag: z.string() }).register(apiSchemas, { id: 'PartRecorded' });

export const fileView = z
  .object({
    file_id: z.string(),
    uploader_id: z.string(),
    conversation_id: z.string(),
    filename: z.string(),
    content_type: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    state: z.enum(FILE_STATES),
    part_size: z.number().int(),
    part_count: z.number().int(),
    created_at: timestamp,
    expires_at: timestamp,
    completed_at: timestamp.optional(),
    verified_at: timestamp.optional(),
    parts: z.array(z.object({ part_number: z.number().int(), etag: z.string() })).describe('The parts recorded (uploader only).'),
    missing: z.array(z.number().int()).describe('The parts not recorded yet (uploader only): send these.'),
  })
  .register(apiSchemas, { id: 'File' });

export const fileState = z
  .object({ file_id: z.string(), state: z.enum(FILE_STATES) })
  .register(apiSchemas, { id: 'FileState' });

export const downloadQuery = z
  .object({ redirect: z.enum(['true', 'false']).default('true').describe('`false`: answer the URL as JSON instead of a 302.') })
  .register(apiSchemas, { id: 'DownloadQuery' });

export const downloadUrl = z.object({ url: z.string(), expires_at: timestamp }).register(apiSchemas, { id: 'DownloadUrl' });

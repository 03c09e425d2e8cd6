import { z } from 'zod';
import { MAX_PRESIGN_SECONDS } from './ports/object-store.ts';

/** The content types a file may have unless `FILE_CONTENT_TYPES` says otherwise. */
export const DEFAULT_FILE_CONTENT_TYPES = [
  'image/*',
  'audio/*',
  'video/*',
  'application/pdf',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/zip',
  'text/plain',
  'application/octet-stream',
];

/**
 * The settings of files (issue #15): the object store (MinIO in a cluster, s3rver on one machine),
 * the upload limits and the lifetimes of presigned URLs. Part of `configFields` in config.ts.
 */
export const fileConfigFields = {
  /**
   * The S3 endpoint the platform's processes reach the object store at: MinIO in a cluster,
   * s3rver on one machine (`make up` runs it on port 9000). @default http://127.0.0.1:9000
   */
  s3Endpoint: z.string().url().default('http://127.0.0.1:9000').describe('S3_ENDPOINT'),
  /**
   * The S3 endpoint as clients outside the cluster reach it: presigned URLs (part uploads,
   * downloads, the providers' media links) carry this host. Unset: `S3_ENDPOINT`.
   */
  s3PublicEndpoint: z.string().url().optional().describe('S3_PUBLIC_ENDPOINT'),
  /** The bucket of every file's bytes, created at start when missing. @default chat4all-files */
  s3Bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens')
    .default('chat4all-files')
    .describe('S3_BUCKET'),
  /** The region presigned URLs are signed for (MinIO and s3rver take us-east-1). @default us-east-1 */
  s3Region: z.string().min(1).default('us-east-1').describe('S3_REGION'),
  /** Object store access key. @default dev profile: s3rver's `S3RVER` */
  s3AccessKey: z.string().optional().describe('S3_ACCESS_KEY_ID'),
  /** Object store secret key. @default dev profile: s3rver's `S3RVER` */
  s3SecretKey: z.string().optional().describe('S3_SECRET_ACCESS_KEY'),
  /**
   * Content types a file may have, comma separated; `type/*` allows a whole family. Anything else
   * is refused with 415 when the upload starts. @default images, audio, video, PDF, office
   * documents, zip, text/plain and application/octet-stream
   */
  fileContentTypes: z
    .string()
    .default(DEFAULT_FILE_CONTENT_TYPES.join(','))
    .transform((s) => s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/, 'a content type (type/subtype or type/*)')).min(1))
    .describe('FILE_CONTENT_TYPES'),
  /** Open upload sessions one user may have at once; one more answers 429. @default 10 */
  fileMaxOpenUploads: z.coerce.number().int().min(1).max(10_000).default(10).describe('FILE_MAX_OPEN_UPLOADS'),
  /** How long an upload session stays open (seconds from its start); then it expires and its parts are removed. @default 86400 (24 h) */
  fileUploadTtlSeconds: z.coerce.number().int().min(1).max(30 * 86_400).default(86_400).describe('FILE_UPLOAD_TTL'),
  /** How long a presigned part upload URL is valid (seconds); ask for fresh ones after. @default 3600 */
  filePartUrlTtlSeconds: z.coerce.number().int().min(1).max(MAX_PRESIGN_SECONDS).default(3600).describe('FILE_PART_URL_TTL'),
  /** How long a member's download URL is valid (seconds). @default 300 */
  fileDownloadUrlTtlSeconds: z.coerce.number().int().min(1).max(MAX_PRESIGN_SECONDS).default(300).describe('FILE_DOWNLOAD_URL_TTL'),
  /** How long the media link a connector gives a provider is valid (seconds). @default 3600 */
  fileProviderUrlTtlSeconds: z.coerce.number().int().min(1).max(MAX_PRESIGN_SECONDS).default(3600).describe('FILE_PROVIDER_URL_TTL'),
  /** How long the download link sent as text instead of an over-limit media is valid (seconds; S3 allows 7 days at most). @default 604800 */
  fileLinkFallbackTtlSeconds: z.coerce.number().int().min(1).max(MAX_PRESIGN_SECONDS).default(MAX_PRESIGN_SECONDS).describe('FILE_LINK_FALLBACK_TTL'),
  /**
   * How long `POST /v1/files/{id}/complete` waits for the verification before it answers 202
   * (the verification goes on; clients poll `GET /v1/files/{id}`). @default 5000
   */
  fileVerifyWaitMs: z.coerce.number().int().min(0).max(60_000).default(5000).describe('FILE_VERIFY_WAIT_MS'),
  /** How often the API's file job expires abandoned sessions and resumes verifications left by a restart. @default 60000 */
  fileCleanupIntervalMs: z.coerce.number().int().min(50).max(3_600_000).default(60_000).describe('FILE_CLEANUP_INTERVAL_MS'),
};

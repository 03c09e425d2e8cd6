import type { Readable } from 'node:stream';

/**
 * Object storage over the S3 protocol: the bytes of files. One implementation
 * (`S3ObjectStore`, on the `minio` client) serves MinIO in a cluster and s3rver on one machine,
 * so the same code path runs everywhere. Every key lives in the one bucket of the config.
 *
 * File bytes never pass through the platform's processes on the way in: clients PUT parts to
 * presigned URLs. The API reads an object only to verify it, as a stream.
 */
export interface ObjectStore {
  /** Creates the bucket when it is missing (at start); an existing bucket is left as it is. */
  ensureBucket(): Promise<void>;
  /** Starts a multipart upload of `key`; returns the S3 upload id. */
  createMultipartUpload(key: string, contentType: string): Promise<string>;
  /**
   * A presigned URL the client PUTs part `partNumber` (1-based, at most 10,000) of the upload to,
   * valid for `expirySeconds`. S3 answers the part's ETag in the response header.
   */
  presignUploadPart(key: string, uploadId: string, partNumber: number, expirySeconds: number): Promise<string>;
  /**
   * Completes the upload from its parts (ascending `part_number`, each with the ETag S3 answered
   * for it, quoted or not). Throws `ObjectStoreError` with code `part_invalid` when S3 refuses a
   * part (unknown ETag, missing part, a part but the last smaller than 5 MiB), `upload_not_found`
   * when the upload id is unknown (already completed or aborted).
   */
  completeMultipartUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<{ etag: string }>;
  /**
   * Aborts an upload and frees the storage of its parts. Where the S3 server lacks
   * AbortMultipartUpload (s3rver), the adapter removes the parts another way; an unknown upload
   * is not an error.
   */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  /**
   * Writes `key` from a stream, never holding it whole (inbound media fetched from a provider).
   * With a known `size` at most the client's part size (64 MiB for `minio`) it is one PUT; a
   * larger or unknown size goes as a multipart upload the client runs itself. Resolves once the
   * object is stored; rejects with `ObjectStoreError` (`unavailable`) or with the stream's own
   * error when the stream fails; nothing is then left under `key` (so give each attempt a key of
   * its own: a failed one removes what it wrote).
   */
  putObject(key: string, body: Readable, size: number | undefined, contentType: string): Promise<{ etag: string }>;
  /** The object's size and ETag; undefined when there is none. */
  statObject(key: string): Promise<ObjectStat | undefined>;
  /** The object's bytes as a stream (never buffered whole). Throws when there is no object. */
  getObject(key: string): Promise<Readable>;
  /**
   * A presigned GET URL valid for `expirySeconds` (S3 allows at most 7 days). `filename` sets the
   * response's Content-Disposition (attachment), `contentType` its Content-Type. Range requests
   * work on it, since S3 serves it.
   */
  presignGet(key: string, expirySeconds: number, options?: { filename?: string; contentType?: string }): Promise<string>;
  /** Removes the object; a missing object is not an error. */
  removeObject(key: string): Promise<void>;
}

/** One part of a multipart upload as the client reported it. */
export interface CompletedPart {
  part_number: number;
  etag: string;
}

export interface ObjectStat {
  size: number;
  /** The object's ETag, without quotes. */
  etag: string;
}

/** The longest a presigned URL may be valid (S3's limit, SigV4): 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Strips the quotes an ETag may come with (S3 answers `"abc"`, clients may pass `abc`). */
export const normalizeEtag = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"+|"+$/g, '');

/** Why an object store call failed, as the callers act on it. */
export type ObjectStoreErrorCode = 'part_invalid' | 'upload_not_found' | 'not_found' | 'unavailable';

/**
 * An object store failure translated at the adapter's boundary: `part_invalid` (S3 refused a
 * part: unknown ETag, missing, too small), `upload_not_found` (no such multipart upload),
 * `not_found` (no such object), `unavailable` (unreachable, 5xx: retriable).
 */
export class ObjectStoreError extends Error {
  readonly code: ObjectStoreErrorCode;
  readonly retriable: boolean;

  constructor(code: ObjectStoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ObjectStoreError';
    this.code = code;
    this.retriable = code === 'unavailable';
  }
}

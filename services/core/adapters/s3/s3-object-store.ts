import type { Readable } from 'node:stream';
import { Client } from 'minio';
import {
  ObjectStoreError,
  normalizeEtag,
  type CompletedPart,
  type ObjectStat,
  type ObjectStore,
} from '../../ports/object-store.ts';

/** Where and how to reach the object store. */
export interface S3Options {
  /** `http(s)://host:port` the process reaches S3 at. */
  endpoint: string;
  /** `http(s)://host:port` presigned URLs carry (clients outside the cluster). @default endpoint */
  publicEndpoint?: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/**
 * The `ObjectStore` on the `minio` client: MinIO in a cluster, s3rver on one machine. Path-style
 * addressing (neither MinIO behind a Service nor s3rver has bucket host names), one region given
 * up front so that presigning never asks the server for it.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly client: Client;
  /** Signs URLs for the public endpoint (presigning is local: this client never connects). */
  private readonly signer: Client;
  private readonly bucket: string;

  constructor(private readonly options: S3Options) {
    this.client = newClient(options.endpoint, options);
    this.signer = options.publicEndpoint && options.publicEndpoint !== options.endpoint ? newClient(options.publicEndpoint, options) : this.client;
    this.bucket = options.bucket;
  }

  async ensureBucket(): Promise<void> {
    await translate(async () => {
      if (await this.client.bucketExists(this.bucket)) return;
      try {
        await this.client.makeBucket(this.bucket, this.options.region);
      } catch (err) {
        // Another replica made it between the look and the make.
        if (codeOf(err) !== 'BucketAlreadyOwnedByYou' && codeOf(err) !== 'BucketAlreadyExists') throw err;
      }
    });
  }

  async createMultipartUpload(key: string, contentType: string): Promise<string> {
    return translate(() => this.client.initiateNewMultipartUpload(this.bucket, key, { 'Content-Type': contentType }));
  }

  async presignUploadPart(key: string, uploadId: string, partNumber: number, expirySeconds: number): Promise<string> {
    return this.signer.presignedUrl('PUT', this.bucket, key, expirySeconds, { partNumber: String(partNumber), uploadId });
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<{ etag: string }> {
    const etags = [...parts].sort((a, b) => a.part_number - b.part_number).map((p) => ({ part: p.part_number, etag: normalizeEtag(p.etag) }));
    const result = await translate(() => this.client.completeMultipartUpload(this.bucket, key, uploadId, etags));
    return { etag: normalizeEtag(result.etag ?? '') };
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await translate(() => this.client.abortMultipartUpload(this.bucket, key, uploadId));
    } catch (err) {
      if (err instanceof ObjectStoreError && err.code === 'upload_not_found') return;
      throw err;
    }
  }

  async statObject(key: string): Promise<ObjectStat | undefined> {
    try {
      const stat = await translate(() => this.client.statObject(this.bucket, key));
      return { size: stat.size, etag: normalizeEtag(stat.etag) };
    } catch (err) {
      if (err instanceof ObjectStoreError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  async getObject(key: string): Promise<Readable> {
    return translate(() => this.client.getObject(this.bucket, key));
  }

  async presignGet(key: string, expirySeconds: number, options: { filename?: string; contentType?: string } = {}): Promise<string> {
    const headers: Record<string, string> = {};
    if (options.filename) headers['response-content-disposition'] = contentDisposition(options.filename);
    if (options.contentType) headers['response-content-type'] = options.contentType;
    return this.signer.presignedGetObject(this.bucket, key, expirySeconds, headers);
  }

  async removeObject(key: string): Promise<void> {
    try {
      await translate(() => this.client.removeObject(this.bucket, key));
    } catch (err) {
      if (err instanceof ObjectStoreError && err.code === 'not_found') return;
      throw err;
    }
  }
}

function newClient(endpoint: string, o: S3Options): Client {
  const url = new URL(endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    pathStyle: true,
    region: o.region,
    accessKey: o.accessKey,
    secretKey: o.secretKey,
  });
}

/** `attachment` with the name as ASCII fallback and RFC 5987 UTF-8. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const codeOf = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

/**
 * S3's error codes, translated once: a part S3 refuses is the client's to fix (`part_invalid`),
 * an unknown upload or object is gone, anything else is the store's trouble (retriable).
 */
const CODES: Record<string, ObjectStoreError['code']> = {
  InvalidPart: 'part_invalid',
  InvalidPartOrder: 'part_invalid',
  EntityTooSmall: 'part_invalid',
  NoSuchUpload: 'upload_not_found',
  NoSuchKey: 'not_found',
  NotFound: 'not_found',
};

async function translate<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const code = codeOf(err);
    const mapped = code ? CODES[code] : undefined;
    throw new ObjectStoreError(mapped ?? 'unavailable', `object store: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
}

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

  /**
   * Streams through presigned PUTs (signed locally, unsigned payload), never the `minio` client's
   * `putObject`: that one reads an object up to its 64 MiB part size into memory, and above it
   * first calls ListMultipartUploads, which s3rver lacks. A known size is one PUT with that
   * `Content-Length`; an unknown one is a multipart upload of {@link STREAM_PART_SIZE} parts,
   * one part in memory at a time, aborted when anything fails.
   */
  async putObject(key: string, body: Readable, size: number | undefined, contentType: string): Promise<{ etag: string }> {
    if (size !== undefined) {
      const url = await this.client.presignedPutObject(this.bucket, key, PUT_URL_SECONDS);
      try {
        return { etag: await putStream(url, body, size, contentType) };
      } catch (err) {
        // S3 refuses a PUT cut short of its Content-Length; s3rver stores what came. Leave nothing.
        await this.removeObject(key).catch(() => undefined);
        throw err;
      }
    }
    const uploadId = await this.createMultipartUpload(key, contentType);
    try {
      const parts: CompletedPart[] = [];
      for await (const chunk of partsOf(body, STREAM_PART_SIZE)) {
        const url = await this.presignUploadPart(key, uploadId, parts.length + 1, PUT_URL_SECONDS);
        parts.push({ part_number: parts.length + 1, etag: await putStream(url, Readable.from([chunk]), chunk.length, contentType) });
      }
      // An empty stream is an empty object: S3 wants at least one part.
      if (parts.length === 0) {
        const url = await this.presignUploadPart(key, uploadId, 1, PUT_URL_SECONDS);
        parts.push({ part_number: 1, etag: await putStream(url, Readable.from([]), 0, contentType) });
      }
      return await this.completeMultipartUpload(key, uploadId, parts);
    } catch (err) {
      await this.abortMultipartUpload(key, uploadId).catch(() => undefined);
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

/** Part size of a streamed upload of unknown size: S3's 5 MiB minimum is too small for 100 MB media in few requests. */
export const STREAM_PART_SIZE = 8 * 1024 * 1024;
/** Validity of the URLs a streamed put signs for itself (used at once). */
const PUT_URL_SECONDS = 15 * 60;

/**
 * PUTs exactly `size` bytes of `body` to a presigned URL and answers the ETag. A body that fails
 * aborts the request and rejects with the body's error; an S3 refusal rejects `unavailable`.
 */
async function putStream(url: string, body: Readable, size: number, contentType: string): Promise<string> {
  const send = new URL(url).protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(url, { method: 'PUT', headers: { 'content-length': String(size), 'content-type': contentType } });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  // The request's own error (refused connection) also surfaces through `answered`.
  answered.catch(() => undefined);
  await pipeline(body, req);
  const res = await answered.catch((err: unknown) => {
    throw new ObjectStoreError('unavailable', `object store: ${(err as Error).message}`, { cause: err });
  });
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString();
  if (res.statusCode !== 200) throw new ObjectStoreError('unavailable', `object store: PUT answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return normalizeEtag(String(res.headers.etag ?? ''));
}

/** The stream cut into buffers of `partSize` bytes (the last one shorter). */
async function* partsOf(body: Readable, partSize: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of body) {
    let buf = chunk as Buffer;
    while (heldBytes + buf.length >= partSize) {
      const take = partSize - heldBytes;
      yield Buffer.concat([...held, buf.subarray(0, take)]);
      buf = buf.subarray(take);
      held = [];
      heldBytes = 0;
    }
    if (buf.length > 0) {
      held.push(buf);
      heldBytes += buf.length;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held);
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

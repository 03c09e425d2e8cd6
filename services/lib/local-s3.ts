import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';

/** Where a local S3 keeps its data and where it listens. */
export interface LocalS3Options {
  /** Folder of the buckets (created when missing). */
  directory: string;
  /** @default 127.0.0.1 */
  host?: string;
  /** 0 for a free port. */
  port: number;
  /** Buckets made at start when missing. @default [] */
  buckets?: string[];
  /**
   * Extra GET paths served before S3 (e.g. `/healthz`, `/metrics` for a supervisor), each
   * answering a content type and a body. They shadow buckets of the same name. @default {}
   */
  routes?: Record<string, () => Promise<{ type: string; body: string }>>;
}

/** A running local S3. */
export interface LocalS3 {
  /** `http://host:port`. */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** The keys s3rver accepts (its own, fixed). */
export const LOCAL_S3_KEYS = { accessKey: 'S3RVER', secretKey: 'S3RVER' } as const;

/**
 * s3rver (an S3 server on a folder) with the two multipart calls it lacks or gets wrong, so that
 * the code that talks to MinIO in a cluster runs unchanged on one machine:
 *
 * - AbortMultipartUpload (`DELETE /bucket/key?uploadId=…`): s3rver answers 405. s3rver keeps an
 *   upload's parts in `<directory>/<bucket>/._S3rver_uploads/<uploadId>/` (one file per part
 *   number, with a `.md5` beside it); aborting removes that folder.
 * - CompleteMultipartUpload: s3rver joins whatever part files exist and never compares the
 *   ETags it is given, so a wrong ETag would pass and a missing part crash it. Here each part's
 *   ETag is checked against the stored `.md5` first and refused with `InvalidPart` (400), as S3
 *   and MinIO do.
 *
 * Both run before s3rver's signature check: the upload id is 128 random bits that only the
 * uploader's session knows, and the server is for one machine (it binds loopback by default).
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1';
  const server = new S3rver({
    address: host,
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  let endpoint = '';
  const uploadDir = (bucket: string, uploadId: string) => join(options.directory, bucket, '._S3rver_uploads', uploadId);

  server.middleware.unshift(async (ctx, next) => {
    const route = ctx.method === 'GET' ? options.routes?.[ctx.path] : undefined;
    if (route) {
      const { type, body } = await route();
      ctx.status = 200;
      ctx.type = type;
      ctx.body = body;
      return;
    }
    const uploadId = ctx.query.uploadId;
    const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    if (!uploadId || !m || !/^[0-9a-f]{32}$/.test(uploadId) || (ctx.method !== 'DELETE' && ctx.method !== 'POST')) return next();
    const [, bucket, key] = m as unknown as [string, string, string];
    const dir = uploadDir(bucket, uploadId);
    if (!(await exists(dir))) return s3Error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    if (ctx.method === 'DELETE') {
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    const parts = parseCompleteBody(await readBody(ctx.req));
    if (parts.length === 0) return s3Error(ctx, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i > 0 && part.number <= parts[i - 1]!.number) return s3Error(ctx, 400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
      const md5 = await readFile(join(dir, `${part.number}.md5`), 'utf8').catch(() => null);
      if (md5 === null || md5.trim() !== part.etag) {
        return s3Error(ctx, 400, 'InvalidPart', `One or more of the specified parts could not be found or its entity tag did not match: part ${part.number}.`);
      }
    }
    const { md5 } = await server.store.putObjectMultipart(bucket, uploadId, parts);
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Location>${xml(`${endpoint}/${bucket}/${key}`)}</Location><Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key><ETag>&quot;${md5}&quot;</ETag></CompleteMultipartUploadResult>`;
  });

  const { port } = await server.run();
  endpoint = `http://${host}:${port}`;
  return {
    endpoint,
    port,
    close: async () => {
      server.httpServer.closeAllConnections();
      await server.close();
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readBody(req: NodeJS.ReadableStream): Promise<string> {
  let body = '';
  // A complete request lists at most 10,000 parts: well under 1 MiB.
  for await (const chunk of req) {
    body += chunk.toString();
    if (body.length > 2 * 1024 * 1024) break;
  }
  return body;
}

/** The parts of a CompleteMultipartUpload body, ETags without quotes. */
function parseCompleteBody(body: string): { number: number; etag: string }[] {
  const parts: { number: number; etag: string }[] = [];
  for (const [, inner] of body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const n = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(inner!);
    const e = /<ETag>([\s\S]*?)<\/ETag>/.exec(inner!);
    if (!n || !e) return [];
    parts.push({ number: Number(n[1]), etag: e[1]!.replace(/&quot;|"/g, '').trim() });
  }
  return parts;
}

function s3Error(ctx: { status: number; type: string; body: unknown }, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml(message)}</Message></Error>`;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

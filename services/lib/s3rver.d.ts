// s3rver 3.7 ships no types: the part of its API the local object store uses.
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    resetOnClose?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
    allowMismatchedSignatures?: boolean;
  }

  interface KoaContext {
    method: string;
    path: string;
    query: Record<string, string | undefined>;
    req: NodeJS.ReadableStream;
    status: number;
    body: unknown;
    type: string;
    set(field: string, value: string): void;
  }

  type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void> | void;

  class S3rver {
    constructor(options: S3rverOptions);
    /** Koa's middleware list: composed when the server starts listening. */
    middleware: Middleware[];
    store: {
      putObjectMultipart(bucket: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<{ md5: string; size: number }>;
    };
    /** Starts listening; answers the server's address. */
    run(): Promise<AddressInfo>;
    httpServer: Server;
    close(): Promise<void>;
  }
  export default S3rver;
}

import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface FakeFile {
  file_id: string;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  conversation_id: string;
  part_size: number;
  part_count: number;
  state: 'uploading' | 'verifying' | 'ready' | 'corrupt' | 'expired';
  /** Parts as object storage holds them. */
  stored: Map<number, { etag: string; bytes: Buffer }>;
  /** Parts as the client reported them. */
  recorded: Map<number, string>;
}

/**
 * The files protocol of docs/files.md in one small loopback server, object storage included, for
 * the CLI's unit tests: it makes the failures the real API and S3 make (an expired part URL, a
 * part missing at complete, a corrupt upload) happen on demand. The CLI's component tests run
 * against the real API and s3rver.
 */
export async function startFakeFileApi(opts: { partSize: number; urlTtlMs?: number }) {
  const files = new Map<string, FakeFile>();
  const counts = { part_puts: 0, url_requests: 0, completes: 0, expired_refusals: 0 };
  /** Test levers. */
  const faults = { refuseNextPuts: 0, forgetRecordedPart: 0, storedSuffix: '', unavailableNextApiCalls: 0 };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const json = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const url = new URL(req.url!, 'http://x');
    const m = /^\/v1\/files(?:\/([^/]+)(?:\/(parts|complete|download)(?:\/(\d+))?)?)?$/.exec(url.pathname);
    const s3 = /^\/s3\/([^/]+)\/(\d+)$/.exec(url.pathname);
    if (s3 && req.method === 'PUT') {
      counts.part_puts++;
      if (Number(url.searchParams.get('exp')) < Date.now() || faults.refuseNextPuts > 0) {
        faults.refuseNextPuts = Math.max(0, faults.refuseNextPuts - 1);
        counts.expired_refusals++;
        res.writeHead(403, { 'content-type': 'application/xml' });
        return res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      }
      const f = files.get(s3[1]!)!;
      const etag = `"${createHash('md5').update(raw).digest('hex')}"`;
      f.stored.set(Number(s3[2]), { etag, bytes: raw });
      res.writeHead(200, { etag });
      return res.end();
    }
    if (s3 && req.method === 'GET') {
      const f = files.get(s3[1]!)!;
      const whole = Buffer.concat([...f.stored.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p.bytes));
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        if (start >= whole.length) return json(416);
        res.writeHead(206, { 'content-range': `bytes ${start}-${whole.length - 1}/${whole.length}`, 'content-length': whole.length - start });
        return res.end(whole.subarray(start));
      }
      res.writeHead(200, { 'content-length': whole.length });
      return res.end(whole);
    }
    if (!m) return json(404, { detail: `no route for ${req.method} ${url.pathname}` });
    // An API restarting: the next calls answer 503.
    if (faults.unavailableNextApiCalls > 0) {
      faults.unavailableNextApiCalls--;
      return json(503, { status: 503, detail: 'restarting' });
    }
    const [, id, sub, n] = m;
    const f = id ? files.get(id) : undefined;
    if (id && !f) return json(404, { status: 404, detail: `no file ${id}` });
    const view = (x: FakeFile) => {
      const parts = [...x.recorded.entries()].sort((a, b) => a[0] - b[0]).map(([part_number, etag]) => ({ part_number, etag }));
      const missing = Array.from({ length: x.part_count }, (_, i) => i + 1).filter((p) => !x.recorded.has(p));
      const { stored: _s, recorded: _r, ...rest } = x;
      return { ...rest, parts, missing };
    };
    if (!id && req.method === 'POST') {
      const b = JSON.parse(raw.toString()) as { filename: string; size: number; content_type: string; sha256: string; conversation_id: string };
      if (b.size > 2 ** 31) return json(413, { status: 413, type: 'file_too_large', detail: `${b.size} bytes is over the 2 GiB limit` });
      const file: FakeFile = {
        ...b,
        file_id: `fil_${randomBytes(6).toString('hex')}`,
        part_size: opts.partSize,
        part_count: Math.max(1, Math.ceil(b.size / opts.partSize)),
        state: 'uploading',
        stored: new Map(),
        recorded: new Map(),
      };
      files.set(file.file_id, file);
      return json(201, { file_id: file.file_id, state: file.state, part_size: file.part_size, part_count: file.part_count, expires_at: new Date(Date.now() + 86_400_000).toISOString() });
    }
    if (f && !sub && req.method === 'GET') return json(200, view(f));
    if (f && sub === 'parts' && !n && req.method === 'POST') {
      counts.url_requests++;
      const body = raw.length ? (JSON.parse(raw.toString()) as { part_numbers?: number[] }) : {};
      const wanted = body.part_numbers ?? view(f).missing;
      const exp = Date.now() + (opts.urlTtlMs ?? 600_000);
      const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return json(200, { urls: wanted.map((p) => ({ part_number: p, url: `${host}/s3/${f.file_id}/${p}?exp=${exp}`, expires_at: new Date(exp).toISOString() })) });
    }
    if (f && sub === 'parts' && n && req.method === 'PUT') {
      f.recorded.set(Number(n), String((JSON.parse(raw.toString()) as { etag: string }).etag).replace(/"/g, ''));
      return json(200, { part_number: Number(n), etag: f.recorded.get(Number(n)) });
    }
    if (f && sub === 'complete' && req.method === 'POST') {
      counts.completes++;
      if (faults.forgetRecordedPart) {
        f.recorded.delete(faults.forgetRecordedPart);
        faults.forgetRecordedPart = 0;
      }
      const missing = view(f).missing;
      if (missing.length) return json(409, { status: 409, type: 'parts_missing', detail: `${missing.length} parts are missing`, missing });
      const whole = Buffer.concat([...f.stored.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p.bytes));
      const sha = createHash('sha256').update(whole).update(faults.storedSuffix).digest('hex');
      f.state = sha === f.sha256 && whole.length === f.size ? 'ready' : 'corrupt';
      return json(200, { file_id: f.file_id, state: f.state });
    }
    if (f && sub === 'download' && req.method === 'GET') {
      if (f.state !== 'ready') return json(404, { status: 404, detail: 'not ready' });
      const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return json(200, { url: `${host}/s3/${f.file_id}/0`, expires_at: new Date(Date.now() + 300_000).toISOString() });
    }
    return json(404, { detail: `no route for ${req.method} ${url.pathname}` });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    files,
    counts,
    faults,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

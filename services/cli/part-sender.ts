import { CliError, EXIT } from './cli-error.ts';
import { sleep, withApi } from './api-retry.ts';
import type { FileView, Progress, UploadOptions } from './file-upload.ts';
import { PartPutError, partAgents, putPart } from './part-put.ts';
import { batches, bytesOf, partRange } from './upload-plan.ts';

/** Tries a part again after these waits when the network or object storage failed. */
const RETRY_WAITS_MS = [250, 1000, 3000];
/** A URL this close to its expiry is renewed before use rather than sent and refused. */
const URL_MARGIN_MS = 30_000;

/** Sends parts on presigned URLs with a bounded pool, renewing URLs that expired, retrying what can be retried. */
export class PartSender {
  private readonly urls = new Map<number, { url: string; expires: number }>();
  private readonly agents;
  private pendingUrls: Promise<void> | null = null;

  constructor(
    private readonly o: UploadOptions,
    private readonly path: string,
    private readonly file: FileView,
    private readonly counted: () => void,
  ) {
    this.agents = partAgents(o.concurrency ?? 4);
  }

  close() {
    this.agents.destroy();
  }

  async send(parts: number[]): Promise<void> {
    const { size, part_size, part_count } = this.file;
    const bar = this.o.progress?.('sending', size);
    bar?.start(size - bytesOf(size, part_size, part_count, parts));
    const queue = [...parts].sort((a, b) => a - b);
    let next = 0;
    const worker = async () => {
      while (next < queue.length) {
        const n = queue[next++]!;
        await this.sendOne(n, queue.slice(next - 1, next + 999), bar);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 4, queue.length) }, worker));
    } catch (err) {
      bar?.interrupt();
      throw err;
    }
    bar?.finish();
  }

  private async sendOne(n: number, upcoming: number[], bar: Progress | undefined): Promise<void> {
    const range = partRange(this.file.size, this.file.part_size, this.file.part_count, n);
    for (let attempt = 0; ; attempt++) {
      const url = await this.urlFor(n, upcoming);
      try {
        const etag = await putPart(url, this.path, range, { agents: this.agents, signal: this.o.signal, onBytes: (b) => bar?.add(b) });
        this.counted();
        this.o.onPartSent?.(n);
        await withApi(this.o, () => this.o.api.request('PUT', `/v1/files/${encodeURIComponent(this.file.file_id)}/parts/${n}`, { etag }));
        return;
      } catch (err) {
        if (this.o.signal?.aborted) throw this.o.signal.reason ?? err;
        if (!(err instanceof PartPutError) || err.kind === 'permanent' || attempt >= RETRY_WAITS_MS.length) {
          throw err instanceof PartPutError ? new CliError(err.message, EXIT.error, { hint: 'run the same command again to resume' }) : err;
        }
        if (err.kind === 'expired') {
          this.o.log?.(`${err.message}: asking for a fresh URL`);
          this.urls.delete(n);
        } else {
          await sleep(RETRY_WAITS_MS[attempt]!, this.o.signal);
        }
      }
    }
  }

  /** A URL for part `n` that is not about to expire; asks for the next batch of parts at once (one call per 1,000 parts). */
  private async urlFor(n: number, upcoming: number[]): Promise<string> {
    for (;;) {
      const known = this.urls.get(n);
      if (known && known.expires - Date.now() > URL_MARGIN_MS) return known.url;
      if (this.pendingUrls) {
        await this.pendingUrls;
        const again = this.urls.get(n);
        if (again && again.expires - Date.now() > URL_MARGIN_MS) return again.url;
      }
      const wanted = upcoming.filter((p) => {
        const u = this.urls.get(p);
        return !u || u.expires - Date.now() <= URL_MARGIN_MS;
      });
      if (!wanted.includes(n)) wanted.unshift(n);
      this.pendingUrls = this.fetchUrls(batches(wanted, 1000)[0]!).finally(() => (this.pendingUrls = null));
      await this.pendingUrls;
      const fresh = this.urls.get(n);
      if (!fresh) throw new CliError(`the API gave no URL for part ${n} of ${this.file.file_id}`, EXIT.error);
      return fresh.url;
    }
  }

  private async fetchUrls(parts: number[]): Promise<void> {
    const res = await withApi(this.o, () =>
      this.o.api.request<{ urls: { part_number: number; url: string; expires_at: string }[] }>('POST', `/v1/files/${encodeURIComponent(this.file.file_id)}/parts`, { part_numbers: parts }),
    );
    for (const u of res.urls) this.urls.set(u.part_number, { url: u.url, expires: Date.parse(u.expires_at) });
  }
}

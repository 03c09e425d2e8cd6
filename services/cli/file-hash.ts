import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * The sha256 (hex) of a file or of its first `end` bytes, read as a stream (memory stays flat
 * whatever the size); `onBytes` hears each chunk's length, for a progress bar.
 */
export async function sha256File(path: string, opts: { end?: number; onBytes?: (n: number) => void; signal?: AbortSignal } = {}): Promise<string> {
  const hash = createHash('sha256');
  if (opts.end === 0) return hash.digest('hex');
  const stream = createReadStream(path, { end: opts.end === undefined ? undefined : opts.end - 1, highWaterMark: 1 << 20, signal: opts.signal });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    opts.onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

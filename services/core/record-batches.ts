import type { OutgoingRecord } from './ports/bus.ts';

/**
 * Bytes a record takes in a Kafka record batch, near enough: key, value and headers, plus a
 * per-record allowance for lengths, offsets and timestamps (Kafka's own is about 20 bytes).
 */
export function recordBytes(r: OutgoingRecord): number {
  let n = 64 + Buffer.byteLength(r.key) + Buffer.byteLength(r.value);
  for (const [k, v] of Object.entries(r.headers ?? {})) n += 8 + Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/**
 * Cuts `records` into consecutive runs of at most `maxBytes` each (a record bigger than that
 * alone is a run of its own, for the broker to judge). Order is kept, so publishing the runs one
 * after another keeps every key's order.
 */
export function splitBySize(records: OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const runs: OutgoingRecord[][] = [];
  let run: OutgoingRecord[] = [];
  let size = 0;
  for (const r of records) {
    const n = recordBytes(r);
    if (run.length > 0 && size + n > maxBytes) {
      runs.push(run);
      run = [];
      size = 0;
    }
    run.push(r);
    size += n;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

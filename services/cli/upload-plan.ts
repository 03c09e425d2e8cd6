/** One part of a multipart upload: which bytes of the file it carries (`end` inclusive, as `createReadStream` takes it). */
export interface PartRange {
  part_number: number;
  start: number;
  end: number;
  size: number;
}

/**
 * The byte ranges of the parts the API asked for (`part_size`, `part_count` from
 * `POST /v1/files`): part n (1-based) starts at (n − 1) × part_size, the last part may be
 * shorter. An empty file is one empty part. Throws when the API's numbers cannot describe the
 * file (a session made for another file), so nothing is sent to the wrong place.
 */
export function partRange(size: number, partSize: number, partCount: number, partNumber: number): PartRange {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > partCount) {
    throw new RangeError(`part ${partNumber} is outside 1…${partCount}`);
  }
  const start = (partNumber - 1) * partSize;
  const stop = Math.min(size, start + partSize);
  return { part_number: partNumber, start, end: stop - 1, size: stop - start };
}

/** Whether `part_size` × `part_count` covers `size` exactly (every part full but the last, none empty but a lone one). */
export function planFits(size: number, partSize: number, partCount: number): boolean {
  if (!Number.isInteger(partSize) || partSize <= 0 || !Number.isInteger(partCount) || partCount < 1) return false;
  return partCount === Math.max(1, Math.ceil(size / partSize));
}

/** The bytes of the parts given, for progress: what is left to send. */
export function bytesOf(size: number, partSize: number, partCount: number, parts: readonly number[]): number {
  return parts.reduce((sum, n) => sum + partRange(size, partSize, partCount, n).size, 0);
}

/** `items` in slices of at most `width` (the API presigns at most 1,000 part URLs per call). */
export function batches<T>(items: readonly T[], width: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += width) out.push(items.slice(i, i + width));
  return out;
}

import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

const BLOCK = 1024 * 1024;

/**
 * Writes a file of `size` bytes whose content never repeats block to block (one random MiB,
 * each copy stamped with its offset), so a part sent to the wrong place or twice changes the
 * sha256; generated in about the time the disk takes, with 1 MiB of memory.
 */
export async function writeTestFile(path: string, size: number): Promise<void> {
  const base = randomBytes(BLOCK);
  const fh = await open(path, 'w');
  try {
    for (let offset = 0; offset < size; offset += BLOCK) {
      const n = Math.min(BLOCK, size - offset);
      const block = Buffer.from(base.subarray(0, n));
      // The offset at every 4 KiB: each block (and each part) differs from every other.
      for (let i = 0; i + 8 <= n; i += 4096) block.writeDoubleLE(offset + i, i);
      await fh.write(block, 0, n, offset);
    }
  } finally {
    await fh.close();
  }
}

/** "100KB", "1.5M", "1G", "2GiB", "12345" → bytes (K/M/G are binary: 1K = 1024). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a size (e.g. 500M, 1G, 100KB)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

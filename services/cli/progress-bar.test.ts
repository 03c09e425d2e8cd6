import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar, formatBytes, formatDuration } from './progress-bar.ts';

describe('progress bar', () => {
  it('formats bytes and durations for people', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(2 ** 30), '1.0 GiB');
    assert.equal(formatDuration(75), '1m15s');
    assert.equal(formatDuration(3 * 3600 + 120), '3h02m');
    assert.equal(formatDuration(Infinity), '?');
  });

  it('prints plain lines at most every few seconds off a terminal, with rate and ETA', () => {
    let t = 0;
    const lines: string[] = [];
    const bar = new ProgressBar({ label: 'upload a.bin', total: 100 * 2 ** 20, sink: { write: (s) => lines.push(s) }, now: () => t, plainEveryMs: 5000 });
    bar.start(0);
    for (let i = 1; i <= 10; i++) {
      t = i * 1000;
      bar.add(2 ** 20 * 5); // 5 MiB/s
    }
    // Drawn at t=1 s and t=6 s only: a log gets a line every 5 s, not one per chunk.
    assert.equal(lines.length, 2, lines.join(''));
    assert.match(lines[1]!, /^upload a\.bin\s+30% 30\.0 MiB \/ 100\.0 MiB {2}5\.0 MiB\/s {2}ETA 14s\n$/);
    bar.finish();
    assert.match(lines.at(-1)!, /50% 50\.0 MiB \/ 100\.0 MiB .*\(10s\)\n$/);
  });

  it('redraws one line in place on a terminal, and a resume does not count skipped bytes as speed', () => {
    let t = 0;
    const out: string[] = [];
    const bar = new ProgressBar({ label: 'up', total: 1000, sink: { isTTY: true, write: (s) => out.push(s) }, now: () => t });
    bar.start(400); // 40 % already there
    t = 1000;
    bar.add(100);
    assert.ok(out[0]!.startsWith('\r\u001b[2K'), 'clears the line first');
    assert.match(out[0]!.slice(5), /^up\s+50% 500 B \/ 1000 B {2}100 B\/s {2}ETA 5s$/);
    bar.interrupt();
    assert.equal(out.at(-1), '\n');
  });
});

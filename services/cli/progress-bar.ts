/** Where a progress bar draws: standard error, or a test's recorder. */
export interface ProgressSink {
  /** True on a terminal: one line redrawn in place. Otherwise a plain line every `plainEveryMs`. */
  isTTY?: boolean;
  write(text: string): unknown;
}

/** What a progress bar shows: bytes done of total, the rate, the time left. */
export interface ProgressOptions {
  label: string;
  total: number;
  sink: ProgressSink;
  /** Injected for tests. @default Date.now */
  now?: () => number;
  /** Redraws on a terminal at most this often. @default 100 */
  ttyEveryMs?: number;
  /** A plain line (logs, pipes) at most this often. @default 5000 */
  plainEveryMs?: number;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** 75 → "1m15s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A byte progress bar: "label  45% 450.0 MiB / 1.0 GiB  38.2 MiB/s  ETA 14s". The rate is over
 * the last ~5 s (so a resume that starts at 40 % does not claim the skipped bytes as speed).
 */
export class ProgressBar {
  private done = 0;
  private lastDraw = -Infinity;
  private open = false;
  private readonly now: () => number;
  private readonly window: { t: number; bytes: number }[] = [];
  private readonly startedAt: number;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Sets where it starts (bytes already there: a resume), without counting them in the rate. */
  start(bytes: number): void {
    this.done = bytes;
    this.window.length = 0;
    this.window.push({ t: this.now(), bytes });
  }

  /** Adds bytes (negative when a part failed and will be sent again) and redraws when due. */
  add(bytes: number): void {
    this.done = Math.max(0, this.done + bytes);
    const t = this.now();
    this.window.push({ t, bytes: this.done });
    while (this.window.length > 2 && t - this.window[0]!.t > 5000) this.window.shift();
    const every = this.o.sink.isTTY ? (this.o.ttyEveryMs ?? 100) : (this.o.plainEveryMs ?? 5000);
    if (t - this.lastDraw >= every) this.draw(t);
  }

  /** Bytes per second over the recent window. */
  rate(t = this.now()): number {
    const first = this.window[0];
    // Under a second of history says nothing yet (the first chunk after a resume would claim MiB/s or KiB/s at random).
    if (!first || t - first.t < 1000) return 0;
    return (this.done - first.bytes) / ((t - first.t) / 1000);
  }

  /** The line as it is drawn now. */
  line(t = this.now()): string {
    const { label, total } = this.o;
    const pct = total === 0 ? 100 : Math.floor((this.done / total) * 100);
    const rate = this.rate(t);
    const eta = rate > 0 ? formatDuration((total - this.done) / rate) : '?';
    return `${label}  ${String(pct).padStart(3)}% ${formatBytes(this.done)} / ${formatBytes(total)}  ${formatBytes(Math.round(rate))}/s  ETA ${eta}`;
  }

  private draw(t: number): void {
    this.lastDraw = t;
    if (this.o.sink.isTTY) {
      this.o.sink.write(`\r\x1b[2K${this.line(t)}`);
      this.open = true;
    } else {
      this.o.sink.write(`${this.line(t)}\n`);
    }
  }

  /** Draws the last state and ends the line; `summary` replaces the bar's text (e.g. "uploaded in 12s"). */
  finish(summary?: string): void {
    const t = this.now();
    const text = summary ?? `${this.line(t)}  (${formatDuration((t - this.startedAt) / 1000)})`;
    this.o.sink.write(this.o.sink.isTTY ? `\r\x1b[2K${text}\n` : `${text}\n`);
    this.open = false;
  }

  /** Ends a redrawn line without a summary (an error follows). */
  interrupt(): void {
    if (this.open) this.o.sink.write('\n');
    this.open = false;
  }
}

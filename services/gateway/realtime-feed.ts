import type { Subscription } from '../core/ports/bus.ts';

/**
 * A gateway's realtime topic, fetched only while someone is connected to it. With nobody here,
 * every record would be fetched, decoded by kafkajs and skipped: the topic is paused instead
 * (`idleMs` after the last connection closed; at once on start), and the first connection resumes
 * it from the topic's end before it is registered.
 *
 * Why skipping the records published while paused loses nothing: a connection is registered only
 * after `hold()` resolved, so after the end was read; a message stored after its replay read the
 * store (itself after the registration) is published after that, at or above the end, and is
 * pushed live; one stored before is in the replay (docs/realtime.md, "the resume seam"). What is
 * skipped was published before anyone here could have been owed it.
 */
export class RealtimeFeed {
  private sub: Pick<Subscription, 'pause' | 'resumeAtEnd'> | null = null;
  private paused = false;
  private resuming: Promise<void> | null = null;
  /** Connections between `hold()` and their release: the topic stays fetched for them. */
  private joining = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly topic: string,
    /** How long the topic stays fetched after the last connection closed (a reconnect often follows). */
    private readonly idleMs: number,
    /** How many users are connected to this gateway now. */
    private readonly connected: () => number,
    /** Hears every switch (true: paused). */
    private readonly onChange: (paused: boolean) => void = () => undefined,
  ) {}

  /** Takes the subscription of the topic; nobody is connected yet, so it is paused at once. */
  attach(sub: Pick<Subscription, 'pause' | 'resumeAtEnd'>): void {
    this.sub = sub;
    this.pauseIfIdle();
  }

  /**
   * Resolves once the topic is fetched (resumed from its end when it was paused); it stays fetched
   * until the returned release is called, and after that while anyone is connected. A connection is
   * registered between the two.
   */
  async hold(): Promise<() => void> {
    this.joining++;
    this.clearTimer();
    try {
      while (this.paused) {
        this.resuming ??= this.sub!.resumeAtEnd(this.topic)
          .then(() => {
            this.paused = false;
            this.onChange(false);
          })
          .finally(() => (this.resuming = null));
        await this.resuming;
      }
    } catch (err) {
      this.release();
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  /** Tells that a connection closed: with nobody left, the topic is paused `idleMs` later. */
  left(): void {
    if (this.connected() > 0 || this.joining > 0 || this.paused) return;
    this.clearTimer();
    this.idleTimer = setTimeout(() => this.pauseIfIdle(), this.idleMs);
    this.idleTimer.unref();
  }

  /** Stops the idle timer (the subscription is the caller's to stop). */
  stop(): void {
    this.clearTimer();
  }

  private release(): void {
    this.joining--;
    this.left();
  }

  private pauseIfIdle(): void {
    this.idleTimer = null;
    if (!this.sub || this.paused || this.resuming || this.joining > 0 || this.connected() > 0) return;
    this.sub.pause(this.topic);
    this.paused = true;
    this.onChange(true);
  }

  private clearTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** Where time comes from, so tests can control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC string for a clock reading. */
export const isoAt = (ms: number) => new Date(ms).toISOString();

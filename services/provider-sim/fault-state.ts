import type { Channel } from './channel.ts';

/** Faults injected into one channel's provider endpoints (admin API field names). */
export interface ChannelFaults {
  /** Every call answers HTTP 503 with Meta code 2. @default false */
  down: boolean;
  /** Fraction (0..1) of valid calls that fail with `error_code`. @default 0 */
  error_rate: number;
  /** Meta error code for `error_rate` failures. @default 130429 (whatsapp), 4 (instagram) */
  error_code: number;
  /** Delay added before every answer. @default 0 */
  latency_ms: number;
  /** Extra uniform random delay in [0, latency_jitter_ms] added to `latency_ms`. @default 0 */
  latency_jitter_ms: number;
  /** Fraction (0..1) of valid calls that are never answered (held, then the socket is destroyed). @default 0 */
  timeout_rate: number;
  /**
   * Fraction (0..1) of calls that are ACCEPTED (logged, webhooks emitted) but whose answer
   * is never sent: the ambiguous failure that makes clients send twice. @default 0
   */
  lost_response_rate: number;
}

/** Fault state of every channel. */
export type FaultState = Record<Channel, ChannelFaults>;

/** The error code a channel's `error_rate` failures use unless told otherwise. */
export const DEFAULT_ERROR_CODE: Record<Channel, number> = { whatsapp: 130429, instagram: 4 };

/** A channel with no faults. */
export function noFaults(channel: Channel): ChannelFaults {
  return {
    down: false,
    error_rate: 0,
    error_code: DEFAULT_ERROR_CODE[channel],
    latency_ms: 0,
    latency_jitter_ms: 0,
    timeout_rate: 0,
    lost_response_rate: 0,
  };
}

/** Fault state with no faults on any channel. */
export function noFaultState(): FaultState {
  return { whatsapp: noFaults('whatsapp'), instagram: noFaults('instagram') };
}

import type { Config } from '../core/config.ts';

/**
 * A router's test- and experiment-only behaviour, chosen once from `Config` by its composition
 * root; production leaves every switch off. Nothing in the router reads the environment.
 */
export interface RouterTestOnly {
  /**
   * The experiments' sabotage (`CHAOS_DISABLE_RECOVERY`): the outbox relay does nothing and
   * routing a message no longer routes the older unrouted ones of its conversation first.
   */
  disableRecovery: boolean;
  /**
   * Waits one emulated remote-store round trip before each message's routing write, a batch one
   * per message, `connections` at a time (resolves at once when off).
   */
  storeRoundTrip: () => Promise<void>;
}

/** The router's test-only switches from the config (`CHAOS_DISABLE_RECOVERY`, `ROUTER_EMULATED_STORE_*`). */
export function routerTestOnly(
  config: Pick<Config, 'chaosDisableRecovery' | 'routerEmulatedStoreLatencyMs' | 'routerEmulatedStoreConnections'>,
): RouterTestOnly {
  return {
    disableRecovery: config.chaosDisableRecovery,
    storeRoundTrip: emulatedStoreRoundTrip(config.routerEmulatedStoreLatencyMs, config.routerEmulatedStoreConnections),
  };
}

/**
 * Test and experiment only (ROUTER_EMULATED_STORE_LATENCY_MS, ROUTER_EMULATED_STORE_CONNECTIONS):
 * each call waits one emulated remote-store round trip, at most `connections` at once per router,
 * so a router's throughput is bounded (connections ÷ latency) the way a networked store bounds it.
 * With `latencyMs` 0 (the default) it does not wait at all.
 */
export function emulatedStoreRoundTrip(latencyMs: number, connections: number): () => Promise<void> {
  let busy = 0;
  const waiting: (() => void)[] = [];
  return async () => {
    if (latencyMs <= 0) return;
    while (busy >= connections) await new Promise<void>((r) => waiting.push(r));
    busy++;
    try {
      await new Promise((r) => setTimeout(r, latencyMs));
    } finally {
      busy--;
      waiting.shift()?.();
    }
  };
}

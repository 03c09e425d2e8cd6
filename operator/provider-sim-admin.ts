import type { ProviderFault } from './driver.ts';

/**
 * The provider simulator's admin endpoints (`services/provider-sim/admin-routes.ts`), as every
 * driver calls them: the local driver on loopback, the Kubernetes driver through its Service.
 */

/** Sets (or with `null` clears) one channel's faults; the proof is the simulator's fault state afterwards. */
export async function setSimFault(simUrl: string, channel: 'whatsapp' | 'instagram', fault: ProviderFault | null, timeoutMs = 5000): Promise<{ at: number; proof: string }> {
  const at = Date.now();
  const body = fault ? { channel, ...fault } : { channel, down: false, error_rate: 0, timeout_rate: 0, latency_ms: 0, lost_response_rate: 0 };
  const res = await fetch(`${simUrl}/_sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`POST ${simUrl}/_sim/faults answered ${res.status}`);
  const state = ((await res.json()) as Record<string, unknown>)[channel];
  return { at, proof: `simulator fault state of ${channel}: ${JSON.stringify(state)}` };
}

/** The simulator's counters (`GET /_sim/stats`), or null when it does not answer within the bound. */
export async function simStats(simUrl: string, timeoutMs = 900): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(`${simUrl}/_sim/stats`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

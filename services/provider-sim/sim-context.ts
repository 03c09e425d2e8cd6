import type { Logger } from 'pino';
import type { FaultState } from './fault-state.ts';
import type { InboundMediaStore } from './inbound-media.ts';
import type { ReceivedLog } from './received-log.ts';
import type { ResponseHolds } from './response-holds.ts';
import type { SimConfig } from './sim-config.ts';
import type { SimStats } from './sim-stats.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';
import type { WhatsAppAccount } from './whatsapp-api.ts';

/** Source of the current time (ms since the epoch) for ids, timestamps and the received log. */
export interface Clock {
  now(): number;
}

/** Identity of the simulated Instagram professional account. */
export interface InstagramAccount {
  /** Our IG account id: webhook `entry[].id`, and the path id routed to Instagram. @default "17841400000000001" */
  accountId: string;
}

/** The simulator's mutable state, what `POST /_sim/reset` puts back. */
export interface SimState {
  config: SimConfig;
  faults: FaultState;
  received: ReceivedLog;
  stats: SimStats;
  /** Files simulated users sent, fetchable through the media API. */
  media: InboundMediaStore;
  /** Edits made so far per Instagram `mid` (each edit's `num_edit`). */
  instagramEdits: Map<string, number>;
  /** Profile names of simulated Instagram users (IGSID → name), as the User Profile API answers them. */
  instagramProfiles: Map<string, string>;
}

/** Everything the routes need, wired once by `createProviderSim`. */
export interface SimContext {
  accessToken: string;
  whatsapp: WhatsAppAccount;
  instagram: InstagramAccount;
  /** How long a `timeout_rate` / `lost_response_rate` call is held before its socket is destroyed. */
  timeoutHoldMs: number;
  /** How long fetching one media link may take, body included. */
  mediaFetchTimeoutMs: number;
  state: SimState;
  /** Puts config, faults, received log and stats back to the start and cancels pending webhooks. */
  reset(): void;
  dispatcher: WebhookDispatcher;
  holds: ResponseHolds;
  clock: Clock;
  random: () => number;
  logger: Logger;
}

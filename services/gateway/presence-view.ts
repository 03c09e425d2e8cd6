import { isoAt } from '../core/ports/clock.ts';
import type { PresenceRecord } from '../core/realtime-events.ts';

/** What a presence frame says about one user. */
export interface PresenceState {
  user_id: string;
  online: boolean;
  /** When the user was last known connected; null when this gateway never heard of them. */
  last_seen: string | null;
}

interface Entry {
  /** Receiver's clock (ms) after which this gateway's word no longer counts. */
  expiresAt: number;
  /** Receiver's clock (ms) when it last heard of the user from this gateway. */
  heardAt: number;
}

/**
 * The merged presence of every gateway, as heard on the presence topic: an entry per user and
 * gateway holding connections, each valid until `ttl_ms` after it was last heard (the receiver's
 * clock, so gateways' clocks need not agree). A user is online while any entry lives: several
 * devices on several gateways count once, and the users of a gateway that died expire with its
 * heartbeats. `onChange` hears every switch between online and offline.
 */
export class PresenceView {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly lastSeen = new Map<string, string>();

  constructor(private readonly onChange: (state: PresenceState) => void) {}

  /** Applies one gateway's heartbeat or change record, heard at `now`. */
  apply(record: PresenceRecord, now: number): void {
    for (const u of record.users) {
      const was = this.online(u.user_id);
      if (u.online) {
        let byGateway = this.entries.get(u.user_id);
        if (!byGateway) this.entries.set(u.user_id, (byGateway = new Map()));
        byGateway.set(record.gateway_id, { expiresAt: now + record.ttl_ms, heardAt: now });
        this.lastSeen.set(u.user_id, isoAt(now));
      } else {
        const byGateway = this.entries.get(u.user_id);
        byGateway?.delete(record.gateway_id);
        if (byGateway?.size === 0) this.entries.delete(u.user_id);
        if (!this.online(u.user_id)) this.lastSeen.set(u.user_id, u.last_seen);
      }
      const is = this.online(u.user_id);
      if (was !== is) this.onChange(this.state(u.user_id));
    }
  }

  /** Drops the entries not heard of within their TTL; their users go offline, last seen when last heard. */
  sweep(now: number): void {
    for (const [user, byGateway] of this.entries) {
      let heard = 0;
      for (const [gateway, e] of byGateway) {
        if (e.expiresAt <= now) {
          byGateway.delete(gateway);
          heard = Math.max(heard, e.heardAt);
        }
      }
      if (byGateway.size === 0) {
        this.entries.delete(user);
        this.lastSeen.set(user, isoAt(heard));
        this.onChange(this.state(user));
      }
    }
  }

  online(userId: string): boolean {
    return (this.entries.get(userId)?.size ?? 0) > 0;
  }

  state(userId: string): PresenceState {
    return { user_id: userId, online: this.online(userId), last_seen: this.lastSeen.get(userId) ?? null };
  }

  /** How many users are online. */
  get size(): number {
    return this.entries.size;
  }
}

import type { BusMessage } from '../core/ports/bus.ts';
import { MEMBERS_HEADER } from '../core/publish-realtime.ts';

/**
 * Whether a realtime record may concern a user connected to this gateway, decided before its
 * value is decoded: every gateway reads the whole realtime topic, and most records name nobody it
 * holds. With no connection at all nothing does; otherwise the record's `members` header (the
 * users it may be pushed to) must name one of them. A record without a readable header may
 * concern anyone: it is decoded.
 */
export function mayConcern(msg: BusMessage, connectedUsers: number, isConnected: (userId: string) => boolean): boolean {
  if (connectedUsers === 0) return false;
  const header = msg.headers[MEMBERS_HEADER];
  if (header === undefined) return true;
  let users: unknown;
  try {
    users = JSON.parse(header);
  } catch {
    return true;
  }
  if (!Array.isArray(users)) return true;
  return users.some((u) => typeof u === 'string' && isConnected(u));
}

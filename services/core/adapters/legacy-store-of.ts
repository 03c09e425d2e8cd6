import type { LegacyStore } from '../ports/legacy-store.ts';
import type { Stores } from '../ports/stores.ts';

// TODO(#11): goes with LegacyStore, once the services take the aggregate ports.
/**
 * The one-port store over a set of aggregate stores, for code that still takes `LegacyStore`.
 * Each method is bound to the store it belongs to (the stores are classes, so their methods live
 * on prototypes: `Object.assign` would copy none of them).
 */
export function legacyStoreOf(stores: Stores): LegacyStore {
  const legacy: Record<string, unknown> = {};
  const ports: object[] = [stores.users, stores.conversations, stores.messages, stores.deliveries, stores.deadLetters, stores.webhooks];
  for (const port of ports) {
    for (let proto: object | null = port; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        const member = (port as Record<string, unknown>)[name];
        if (name !== 'constructor' && typeof member === 'function' && !(name in legacy)) legacy[name] = member.bind(port);
      }
    }
  }
  legacy.healthy = () => stores.healthy();
  legacy.close = () => stores.close();
  return legacy as unknown as LegacyStore;
}

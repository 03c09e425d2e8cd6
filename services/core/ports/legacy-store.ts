import type { Stores } from './stores.ts';

// TODO(#11): the one-port-for-everything store, kept only while the services move to the
// aggregate ports in this folder (users, conversations, messages, deliveries, deadLetters, webhooks).
// Remove when nothing imports it.
export type LegacyStore = Stores['users'] &
  Stores['conversations'] &
  Stores['messages'] &
  Stores['deliveries'] &
  Stores['deadLetters'] &
  Stores['webhooks'] &
  Pick<Stores, 'healthy' | 'close'>;

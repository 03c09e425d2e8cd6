import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Stores } from '../../services/core/ports/stores.ts';
import { conversationWithMessage, type StoresFactory } from './store-fixtures.ts';
import { userStoreContract } from './user-store-contract.ts';
import { conversationStoreContract } from './conversation-store-contract.ts';
import { messageStoreContract } from './message-store-contract.ts';
import { deliveryStoreContract } from './delivery-store-contract.ts';
import { deadLetterStoreContract } from './dead-letter-store-contract.ts';
import { webhookStoreContract } from './webhook-store-contract.ts';
import { rateLimitStoreContract } from './rate-limit-store-contract.ts';
import { capsContract } from './caps-contract.ts';
import { pagingContract } from './paging-contract.ts';
import { inboundStoreContract } from './inbound-store-contract.ts';

/** Stores over a backing store that keeps its data, and a way to open that same data again. */
export interface DurableStores {
  stores: Stores;
  reopen: () => Promise<Stores>;
  cleanup?: () => void | Promise<void>;
}

/** What the set of stores promises as a whole: it answers while open and keeps data across a close. */
export function durableStoresContract(name: string, make: () => Promise<DurableStores>) {
  describe(`${name}: lifecycle`, () => {
    it('keeps accepted messages across a reopen', async () => {
      const { stores, reopen, cleanup } = await make();
      try {
        assert.equal(await stores.healthy(), true);
        const { message_id, conversation_id } = await conversationWithMessage(stores);
        await stores.close();
        const again = await reopen();
        try {
          assert.equal((await again.messages.getMessage(message_id))?.conversation_id, conversation_id);
          assert.ok(await again.conversations.getConversation(conversation_id));
          assert.equal(await again.healthy(), true);
        } finally {
          await again.close();
        }
      } finally {
        await cleanup?.();
      }
    });
  });
}

/**
 * Registers the contract of every store port on stores from `make`, and the lifecycle contract
 * when the backing store keeps data (`durable`).
 */
export function storesContract(name: string, make: StoresFactory, durable?: () => Promise<DurableStores>) {
  userStoreContract(name, make);
  conversationStoreContract(name, make);
  messageStoreContract(name, make);
  deliveryStoreContract(name, make);
  deadLetterStoreContract(name, make);
  webhookStoreContract(name, make);
  rateLimitStoreContract(name, make);
  capsContract(name, make);
  pagingContract(name, make);
  inboundStoreContract(name, make);
  if (durable) durableStoresContract(name, durable);
}

import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest } from '../core/errors.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { Webhook, WebhookStore } from '../core/ports/webhook-store.ts';
import type { WebhookEventType } from './events.ts';
import { checkWebhookUrl, type LookupAll } from './url-policy.ts';

/** Most webhooks one user may have. */
export const MAX_WEBHOOKS_PER_USER = 20;

export interface CreateWebhookInput {
  url: string;
  events: WebhookEventType[];
  /** The signing secret; one is generated when absent. */
  secret?: string;
}

/** A new signing secret: `whsec_` and 32 random bytes in base64url. */
export const generateSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Subscribes a user's webhook: the URL must pass the policy (http(s), allowed addresses), the user
 * must have room for one more, and the secret is given or made. The caller shows the secret once.
 */
export async function createWebhook(
  deps: { webhooks: WebhookStore; clock: Clock },
  ownerId: string,
  input: CreateWebhookInput,
  policy: { allowPrivateTargets: boolean; lookup?: LookupAll },
): Promise<Webhook> {
  const check = await checkWebhookUrl(input.url, policy);
  if (!check.ok) throw badRequest(`invalid request body: url ${check.reason}`, [{ field: 'url', message: check.reason }]);
  // The store decides the cap with the write, so parallel requests cannot overshoot it.
  return deps.webhooks.createWebhook({
    webhook_id: `wh_${randomUUID().replace(/-/g, '')}`,
    owner_id: ownerId,
    url: check.url.toString(),
    events: [...new Set(input.events)],
    secret: input.secret ?? generateSecret(),
    created_at: isoAt(deps.clock.now()),
  }, { max: MAX_WEBHOOKS_PER_USER });
}

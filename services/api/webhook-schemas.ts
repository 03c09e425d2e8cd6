import { z } from 'zod';
import { apiSchemas, text } from './schemas.ts';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/events.ts';

/** Request and response shapes of `/v1/webhooks`, registered with the API's schemas for the OpenAPI document. */

const timestamp = z.string().describe('RFC 3339 time in UTC.');
const eventType = z.enum(WEBHOOK_EVENT_TYPES);

export const createWebhookRequest = z
  .object({
    url: text().min(1).max(2048).describe('http or https URL; it must not resolve to a loopback, private, link-local or metadata address.'),
    events: z
      .array(eventType)
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length)
      .refine((list) => new Set(list).size === list.length, 'must not repeat an event type')
      .describe('The event types to receive.'),
    secret: z
      .string()
      .regex(/^[\x21-\x7e]{16,128}$/, 'must be 16–128 printable ASCII characters without spaces')
      .optional()
      .describe('The signing secret; one (`whsec_…`) is generated when absent.'),
  })
  .register(apiSchemas, { id: 'CreateWebhookRequest' });
export type CreateWebhookRequest = z.infer<typeof createWebhookRequest>;

export const webhookView = z
  .object({ webhook_id: z.string(), url: z.string(), events: z.array(eventType), created_at: timestamp })
  .register(apiSchemas, { id: 'Webhook' });

export const webhookCreated = webhookView
  .extend({ secret: z.string().describe('The signing secret. Shown in this answer only; store it now.') })
  .register(apiSchemas, { id: 'WebhookCreated' });

export const webhookList = z.object({ webhooks: z.array(webhookView) }).register(apiSchemas, { id: 'WebhookList' });

export const webhookDeliveriesQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(200).default(50) })
  .register(apiSchemas, { id: 'WebhookDeliveriesQuery' });

export const webhookAttemptView = z
  .object({
    event_id: z.string(),
    type: eventType,
    message_id: z.string(),
    attempt: z.number().int().describe('1 for the first attempt of the event.'),
    attempted_at: timestamp,
    status_code: z.number().int().nullable().describe('The receiver\'s HTTP status; null when it did not answer.'),
    error: z.string().nullable(),
    duration_ms: z.number().int(),
    result: z.enum(['success', 'retry', 'failed']).describe('success: 2xx; retry: will be tried again; failed: given up.'),
  })
  .register(apiSchemas, { id: 'WebhookDeliveryAttempt' });

export const webhookAttemptList = z
  .object({ deliveries: z.array(webhookAttemptView).describe('Newest first.') })
  .register(apiSchemas, { id: 'WebhookDeliveryList' });

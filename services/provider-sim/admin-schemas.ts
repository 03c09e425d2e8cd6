import { z } from 'zod';
import { CHANNELS } from './channel.ts';
import { isHttpUrl } from './json-body.ts';

const rate = z.number().min(0).max(1);
const millis = z.number().int().min(0).max(600_000);
const webhookUrl = z.string().refine(isHttpUrl, 'must be an absolute http(s) URL');

/** Body of `POST /_sim/faults`: merges into the channel's (or every channel's) fault state. */
export const faultsPatchSchema = z.strictObject({
  channel: z.enum([...CHANNELS, 'all']),
  down: z.boolean().optional(),
  error_rate: rate.optional(),
  error_code: z.number().int().positive().optional(),
  latency_ms: millis.optional(),
  latency_jitter_ms: millis.optional(),
  timeout_rate: rate.optional(),
  lost_response_rate: rate.optional(),
});

/** Body of `POST /_sim/config`. */
export const configPatchSchema = z.strictObject({
  webhook_urls: z.strictObject({ whatsapp: webhookUrl.nullable().optional(), instagram: webhookUrl.nullable().optional() }).optional(),
  webhook_delays_ms: z.strictObject({ sent: millis.optional(), delivered: millis.optional(), read: millis.optional() }).optional(),
  order: z.enum(['in_order', 'shuffled']).optional(),
  duplicate: z.boolean().optional(),
  auto_read: z.boolean().optional(),
  undeliverable: z
    .strictObject({ whatsapp: z.array(z.string().min(1)).optional(), instagram: z.array(z.string().min(1)).optional() })
    .optional(),
});

/** Body of `POST /_sim/inbound`: a simulated external user writes to us. */
export const inboundSchema = z
  .strictObject({
    channel: z.enum(CHANNELS),
    from: z.string().min(1),
    to: z.string().min(1).optional(),
    text: z.string().min(1).max(4096),
    name: z.string().min(1).optional(),
  })
  .superRefine((body, ctx) => {
    if (body.channel === 'whatsapp' && !/^\+?\d{8,15}$/.test(body.from)) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: `WhatsApp sender "${body.from}" must be 8 to 15 digits, optionally with a leading +` });
    }
  });

/** Query of `GET /_sim/received`. A `+` in a query string decodes to a space, hence the trim. */
export const receivedQuerySchema = z.object({
  channel: z.enum(CHANNELS).optional(),
  to: z.string().trim().min(1).optional(),
  /** Only entries with a higher `index`: poll with the previous answer's `last_index`. */
  after: z.coerce.number().int().min(0).optional(),
});

import type { IdentityCodeJob } from '../core/records.ts';
import type { DeliverDeps } from './deliver.ts';

/**
 * Sends a one-time identity code as a text, once. A code that expired on the way is dropped; a
 * provider failure is logged and counted, not retried: the record shares its partition with
 * conversations' delivery jobs, which must not wait behind it, and the person can link again
 * for a new code. The code itself is never logged.
 */
export async function sendIdentityCode(deps: Pick<DeliverDeps, 'connectors' | 'clock' | 'logger' | 'metrics'>, job: IdentityCodeJob): Promise<'sent' | 'expired' | 'failed'> {
  const log = deps.logger.child({ channel: job.channel, reference: job.reference });
  if (deps.clock.now() >= Date.parse(job.expires_at)) {
    deps.metrics.identityCodes.inc({ channel: job.channel, outcome: 'expired' });
    log.info('identity code expired before it could be sent; dropped');
    return 'expired';
  }
  const connector = deps.connectors.get(job.channel);
  if (!connector) throw new Error(`no connector for channel ${job.channel}`);
  try {
    const result = await connector.sendText(job.to, job.text, { reference: job.reference });
    deps.metrics.identityCodes.inc({ channel: job.channel, outcome: 'sent' });
    log.info({ provider_message_id: result.provider_message_id }, 'identity code sent');
    return 'sent';
  } catch (err) {
    deps.metrics.identityCodes.inc({ channel: job.channel, outcome: 'failed' });
    log.warn({ err }, 'could not send an identity code; the person can link the address again');
    return 'failed';
  }
}

import { randomBytes } from 'node:crypto';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../services/core/logger.ts';
import { EXPERIMENT_API, type ExperimentObject } from './experiment-resource.ts';
import { kube } from './kubernetes-errors.ts';

/**
 * Kubernetes Events about Experiments (`kubectl describe experiment <name>` shows them). The
 * reasons the operator emits:
 * - `Started` (Normal): the run began;
 * - `Completed` (Normal when Passed, Warning otherwise): the run ended, with its verdict;
 * - `InvalidSpec`, `NotSupported` (Warning): rejected before anything was touched;
 * - `RunFailed` (Warning): the run could not go on (an API error, the blast-radius limit…);
 * - `Interrupted` (Warning): the operator that ran it stopped before the end.
 * An Event that cannot be written is logged and never fails the reconcile.
 */
export class ExperimentEvents {
  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
    private readonly identity: string,
    private readonly logger: Logger,
  ) {}

  async emit(exp: ExperimentObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await kube(`create event ${reason} for experiment ${exp.metadata.name}`, () =>
        this.core.createNamespacedEvent({
          namespace: this.namespace,
          body: {
            metadata: { name: `${exp.metadata.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`, namespace: this.namespace },
            involvedObject: {
              apiVersion: `${EXPERIMENT_API.group}/${EXPERIMENT_API.version}`,
              kind: EXPERIMENT_API.kind,
              name: exp.metadata.name,
              namespace: this.namespace,
              uid: exp.metadata.uid,
              resourceVersion: exp.metadata.resourceVersion,
            },
            reason,
            message: message.slice(0, 1024),
            type,
            source: { component: 'chat4all-operator' },
            reportingComponent: 'chat4all.io/operator',
            reportingInstance: this.identity,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        }),
      );
    } catch (err) {
      this.logger.warn({ err, experiment: exp.metadata.name, reason }, 'could not record an Event');
    }
  }
}

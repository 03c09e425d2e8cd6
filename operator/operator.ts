import express from 'express';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { closeServer, listen } from '../services/core/listen.ts';
import type { Logger } from '../services/core/logger.ts';
import { opsRoutes } from '../services/core/ops-routes.ts';
import { ExperimentEvents } from './experiment-events.ts';
import { ExperimentReconciler } from './experiment-reconciler.ts';
import { ExperimentWatch } from './experiment-watch.ts';
import { KubernetesDriver, kubernetesLimitations, LABELS } from './kubernetes-driver.ts';
import { kube } from './kubernetes-errors.ts';
import { LeaseLock } from './leader-election.ts';
import { withInstance, type OperatorConfig } from './operator-config.ts';
import { createOperatorMetrics } from './operator-metrics.ts';

export interface RunningOperator {
  /** The health, metrics and evidence server's URL. */
  url: string;
  /** The settings in effect (with the release name resolved). */
  config: OperatorConfig;
  isLeader(): boolean;
  /** Stops leading (a running experiment is interrupted and rolled back), releases the Lease, closes the server. */
  stop(): Promise<void>;
}

/** In a pod: the in-cluster service account; otherwise `KUBECONFIG` (or ~/.kube/config). */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (!env.KUBECONFIG && env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** The release name from the operator's own pod (`app.kubernetes.io/instance`), or null. */
async function instanceFromOwnPod(core: CoreV1Api, config: OperatorConfig, logger: Logger): Promise<string | null> {
  try {
    const pod = await kube(`get pod ${config.identity}`, () => core.readNamespacedPod({ name: config.identity, namespace: config.namespace }));
    return pod.metadata?.labels?.[LABELS.instance] ?? null;
  } catch (err) {
    logger.info({ err: (err as Error).message }, 'the release name is not on an own pod (not in a pod?): CHAT4ALL_INSTANCE or chat4all');
    return null;
  }
}

/**
 * The experiment operator: serves `/healthz`, `/readyz`, `/metrics` and the evidence
 * (`/evidence/`), competes for the leader Lease, and while leading watches the Experiments of its
 * namespace and runs them one at a time through the Kubernetes driver.
 */
export async function startOperator(initial: OperatorConfig, deps: { kubeConfig: KubeConfig; logger: Logger }): Promise<RunningOperator> {
  const { kubeConfig: kc, logger } = deps;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const config = initial.instance ? initial : withInstance(initial, (await instanceFromOwnPod(core, initial, logger)) ?? 'chat4all');
  const metrics = createOperatorMetrics();

  let apiAnswered = false;
  const app = express();
  app.use(opsRoutes(metrics.registry, async () => ({ kubernetes_api: apiAnswered })));
  app.use('/evidence', express.static(config.evidenceDir, { index: 'index.html', dotfiles: 'ignore' }));
  const { server, url } = await listen(app, config.host, config.port);
  logger.info({ url, namespace: config.namespace, instance: config.instance, identity: config.identity, lease: config.leaseName, evidence: config.evidenceDir }, 'operator listening');

  const driver = KubernetesDriver.fromKubeConfig(kc, {
    namespace: config.namespace,
    instance: config.instance,
    target: { apiUrl: config.apiUrl, simUrl: config.simUrl },
    partitions: config.partitions,
    killTimeoutMs: config.killTimeoutMs,
    scaleTimeoutMs: config.scaleTimeoutMs,
  });

  // Passes never overlap: a request during a pass asks for one more after it.
  let passing = false;
  let again = false;
  let retry: NodeJS.Timeout | null = null;
  let leading = false;
  const requestPass = () => {
    if (!leading) return;
    if (passing) {
      again = true;
      return;
    }
    passing = true;
    void reconciler
      .reconcileAll()
      .catch((err: unknown) => {
        metrics.reconcileErrors.inc();
        logger.warn({ err }, 'reconcile pass failed; retrying in a second');
        retry ??= setTimeout(() => {
          retry = null;
          requestPass();
        }, 1000);
      })
      .finally(() => {
        passing = false;
        if (again) {
          again = false;
          requestPass();
        }
      });
  };

  const reconciler = new ExperimentReconciler({
    namespace: config.namespace,
    custom,
    events: new ExperimentEvents(core, config.namespace, config.identity, logger),
    driver,
    limitations: kubernetesLimitations,
    evidenceDir: config.evidenceDir,
    metrics,
    logger,
    readyTimeoutMs: config.readyTimeoutMs,
    requestPass,
  });
  const watch = new ExperimentWatch(kc, custom, config.namespace, config.resyncMs, requestPass, logger);
  const lock = new LeaseLock(coordination, { namespace: config.namespace, name: config.leaseName, identity: config.identity, leaseDurationSeconds: config.leaseDurationSeconds });

  const startLeading = () => {
    leading = true;
    metrics.leader.set(1);
    logger.info({ lease: config.leaseName, identity: config.identity }, 'became the leader: running Experiments');
    reconciler.resume();
    watch.start();
    requestPass();
  };
  const stopLeading = async (reason: string) => {
    if (!leading) return;
    leading = false;
    metrics.leader.set(0);
    watch.stop();
    if (retry) clearTimeout(retry);
    retry = null;
    logger.warn({ reason }, 'no longer the leader');
    await reconciler.stop(reason);
  };

  // The leader renews every leaseRetryMs and steps down when it could not renew for 2/3 of the
  // lease duration, before another replica may take over.
  let stopped = false;
  let lastRenewed = 0;
  let tickTimer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      const held = await lock.tryAcquireOrRenew();
      apiAnswered = true;
      if (held) lastRenewed = Date.now();
      if (stopped) return;
      if (held && !leading) startLeading();
      else if (!held && leading) await stopLeading('another replica holds the Lease');
    } catch (err) {
      apiAnswered = false;
      logger.warn({ err }, 'could not reach the Lease');
      if (leading && Date.now() - lastRenewed > (config.leaseDurationSeconds * 1000 * 2) / 3) await stopLeading('could not renew the Lease in time');
    }
  };
  const schedule = () => {
    if (stopped) return;
    tickTimer = setTimeout(() => {
      ticking = tick().finally(schedule);
    }, config.leaseRetryMs);
  };
  ticking = tick().finally(schedule);

  return {
    url,
    config,
    isLeader: () => leading,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (tickTimer) clearTimeout(tickTimer);
      await ticking.catch(() => {});
      const wasLeading = leading;
      await stopLeading('the operator is stopping');
      if (wasLeading) {
        await lock.release().then(
          () => logger.info({ lease: config.leaseName }, 'released the Lease'),
          (err: unknown) => logger.warn({ err }, 'could not release the Lease; it expires by itself'),
        );
      }
      await closeServer(server);
    },
  };
}

import { Watch, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../services/core/logger.ts';
import { EXPERIMENT_API } from './experiment-resource.ts';
import { kube } from './kubernetes-errors.ts';

/**
 * Calls `onChange` whenever an Experiment of the namespace changes: a watch from the resourceVersion
 * of a fresh list (restarted after a second when the API server ends it, or with a fresh list
 * when it answers 410 Gone), plus a full resync every `resyncMs` in case an event was missed.
 * The events only trigger passes; each pass lists and decides from what it sees (level-triggered).
 */
export class ExperimentWatch {
  private controller: AbortController | null = null;
  private resync: NodeJS.Timeout | null = null;
  private restart: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(
    private readonly kc: KubeConfig,
    private readonly custom: CustomObjectsApi,
    private readonly namespace: string,
    private readonly resyncMs: number,
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.resync = setInterval(() => this.onChange(), this.resyncMs);
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    if (this.restart) clearTimeout(this.restart);
    this.resync = this.restart = null;
    this.controller?.abort();
    this.controller = null;
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    const { group, version, plural } = EXPERIMENT_API;
    try {
      const list = (await kube(`list experiments in ${this.namespace}`, () => this.custom.listNamespacedCustomObject({ group, version, namespace: this.namespace, plural }))) as {
        metadata?: { resourceVersion?: string };
      };
      if (this.stopped) return;
      const watch = new Watch(this.kc);
      const controller = await watch.watch(
        `/apis/${group}/${version}/namespaces/${this.namespace}/${plural}`,
        { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
        (type, obj: { code?: number; message?: string }) => {
          if (type === 'BOOKMARK') return;
          if (type === 'ERROR') {
            // 410 Gone: our resourceVersion is too old; list again.
            this.logger.info({ code: obj?.code, message: obj?.message }, 'the Experiment watch ended with an error; listing again');
            this.controller?.abort();
            return;
          }
          this.onChange();
        },
        (err: unknown) => {
          if (this.stopped) return;
          if (err && (err as Error).name !== 'AbortError') this.logger.warn({ err }, 'the Experiment watch ended; restarting it');
          this.scheduleRestart();
        },
      );
      if (this.stopped) controller.abort();
      else this.controller = controller;
    } catch (err) {
      this.logger.warn({ err }, 'could not watch Experiments; retrying');
      this.scheduleRestart();
    }
  }

  private scheduleRestart() {
    if (this.stopped || this.restart) return;
    this.restart = setTimeout(() => {
      this.restart = null;
      this.onChange(); // anything that changed meanwhile
      void this.open();
    }, 1000);
  }
}

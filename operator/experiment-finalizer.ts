import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Instance } from './driver.ts';
import { EXPERIMENT_API, ROLLBACK_ANNOTATION, ROLLBACK_FINALIZER, type ExperimentObject } from './experiment-resource.ts';
import { kube, statusOf } from './kubernetes-errors.ts';

/** The Experiment carries our finalizer. */
export const hasFinalizer = (exp: ExperimentObject): boolean => (exp.metadata.finalizers ?? []).includes(ROLLBACK_FINALIZER);

/** The instances a run started from, as its annotation recorded them (null: none, or unreadable). */
export function recordedInstances(exp: ExperimentObject): Instance[] | null {
  try {
    const list = JSON.parse(exp.metadata.annotations?.[ROLLBACK_ANNOTATION] ?? 'null') as { name: string; workload: Instance['workload'] }[] | null;
    if (!Array.isArray(list)) return null;
    return list.map((i) => ({ name: i.name, workload: i.workload, state: 'running', pid: null, url: null, started_at: null }));
  } catch {
    return null;
  }
}

/**
 * The `chat4all.io/rollback` finalizer of Experiments, and the record of the instances a run
 * started from (`chat4all.io/rollback-instances`), written and released with JSON merge patches
 * of the Experiment that hold only if it is still the version read (`metadata.resourceVersion`).
 */
export class RollbackFinalizer {
  constructor(
    private readonly custom: CustomObjectsApi,
    private readonly namespace: string,
  ) {}

  /**
   * Adds the finalizer and the running `instances` (what a rollback restores) to the version of
   * the Experiment we decided on; false when it changed or went meanwhile.
   */
  async add(exp: ExperimentObject, instances: Instance[]): Promise<boolean> {
    const record = instances.filter((i) => i.state === 'running').map((i) => ({ name: i.name, workload: i.workload }));
    const finalizers = [...new Set([...(exp.metadata.finalizers ?? []), ROLLBACK_FINALIZER])];
    try {
      await this.patch(exp.metadata.name, { metadata: { resourceVersion: exp.metadata.resourceVersion, finalizers, annotations: { [ROLLBACK_ANNOTATION]: JSON.stringify(record) } } });
      return true;
    } catch (err) {
      if (statusOf(err) === 409 || statusOf(err) === 404) return false;
      throw err;
    }
  }

  /**
   * Removes our finalizer and the record, keeping anyone else's finalizers: read, then a patch
   * conditional on that read, read again on a conflict. True when it removed it (an Experiment
   * that is gone, or without it, needs nothing). An Experiment being deleted goes then.
   */
  async remove(name: string): Promise<boolean> {
    const { group, version, plural } = EXPERIMENT_API;
    for (let attempt = 1; ; attempt++) {
      let cur: ExperimentObject;
      try {
        cur = (await kube(`get experiments/${name}`, () => this.custom.getNamespacedCustomObject({ group, version, namespace: this.namespace, plural, name }))) as ExperimentObject;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
      if (!hasFinalizer(cur)) return false;
      const finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== ROLLBACK_FINALIZER);
      try {
        await this.patch(name, { metadata: { resourceVersion: cur.metadata.resourceVersion, finalizers, annotations: { [ROLLBACK_ANNOTATION]: null } } });
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        if (statusOf(err) !== 409 || attempt >= 5) throw err;
      }
    }
  }

  private async patch(name: string, body: object): Promise<void> {
    const { group, version, plural } = EXPERIMENT_API;
    await kube(`patch experiments/${name}`, () =>
      this.custom.patchNamespacedCustomObject({ group, version, namespace: this.namespace, plural, name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    );
  }
}

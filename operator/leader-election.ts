import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { kube, statusOf } from './kubernetes-errors.ts';

export interface LeaseLockOptions {
  namespace: string;
  /** The Lease object's name. */
  name: string;
  /** Who we are (`holderIdentity`): the pod's name. */
  identity: string;
  /** A holder that has not renewed for this long has lost the lease. @default 15 */
  leaseDurationSeconds?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection` does it:
 * take the Lease when it is free or expired, renew it while leading, write through the
 * resourceVersion (a concurrent writer gets 409 and loses). Expiry is judged on our own clock,
 * from when we last saw the record change, so clock skew between replicas does not matter.
 */
export class LeaseLock {
  readonly leaseDurationSeconds: number;
  private observed: { holder: string; renew: string; at: number } | null = null;
  private readonly now: () => number;

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly options: LeaseLockOptions,
  ) {
    this.leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    this.now = options.now ?? Date.now;
  }

  get identity(): string {
    return this.options.identity;
  }

  /** One attempt: true when we hold the Lease afterwards. Throws only when the API cannot be reached or refuses. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = this.now();
    let lease: V1Lease;
    try {
      lease = await kube(`get lease ${name}`, () => this.api.readNamespacedLease({ name, namespace }));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      try {
        await kube(`create lease ${name}`, () =>
          this.api.createNamespacedLease({
            namespace,
            body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(now, 0, now) },
          }),
        );
        this.observed = { holder: identity, renew: micro(now).toISOString(), at: now };
        return true;
      } catch (e) {
        if (statusOf(e) === 409) return false; // someone created it first
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renew = spec.renewTime ? String(spec.renewTime instanceof Date ? spec.renewTime.toISOString() : spec.renewTime) : '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renew !== renew) this.observed = { holder, renew, at: now };
    const duration = (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    const expired = holder === '' || this.observed.at + duration <= now;
    if (holder !== identity && !expired) return false;
    const acquiredAt = holder === identity && spec.acquireTime ? Date.parse(String(spec.acquireTime instanceof Date ? spec.acquireTime.toISOString() : spec.acquireTime)) : now;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await kube(`update lease ${name}`, () => this.api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: this.spec(now, transitions, acquiredAt) } }));
    } catch (err) {
      if (statusOf(err) === 409) return false; // another replica wrote first
      throw err;
    }
    this.observed = { holder: identity, renew: micro(now).toISOString(), at: now };
    return true;
  }

  /** Gives the Lease up (if we hold it) so another replica takes over at once instead of after the lease duration. */
  async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    let lease: V1Lease;
    try {
      lease = await kube(`get lease ${name}`, () => this.api.readNamespacedLease({ name, namespace }));
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
    if (lease.spec?.holderIdentity !== identity) return;
    const now = this.now();
    await kube(`release lease ${name}`, () =>
      this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { leaseDurationSeconds: 1, leaseTransitions: lease.spec?.leaseTransitions ?? 0, renewTime: micro(now), acquireTime: micro(now) } },
      }),
    );
    this.observed = null;
  }

  private spec(now: number, transitions: number, acquiredAt: number) {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTime: micro(acquiredAt),
      renewTime: micro(now),
      leaseTransitions: transitions,
    };
  }
}

/** `metav1.MicroTime`: the API server parses exactly six fractional digits. */
const micro = (ms: number) => new V1MicroTime(ms);

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { LeaseLock } from './leader-election.ts';
import { FakeKubeApi } from './testing/fake-kube-api.ts';

let kube: FakeKubeApi;
let api: CoordinationV1Api;
before(async () => {
  kube = await FakeKubeApi.start('ns');
  const kc = new KubeConfig();
  kc.loadFromString(kube.kubeconfig());
  api = kc.makeApiClient(CoordinationV1Api);
});
after(() => kube.close());

const holder = (name: string) => (kube.leases.get(name)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

test('one replica holds the Lease; the other waits until it is released, then takes over', async () => {
  let t = 1_000_000;
  const now = () => t;
  const a = new LeaseLock(api, { namespace: 'ns', name: 'op', identity: 'a', leaseDurationSeconds: 10, now });
  const b = new LeaseLock(api, { namespace: 'ns', name: 'op', identity: 'b', leaseDurationSeconds: 10, now });
  assert.equal(await a.tryAcquireOrRenew(), true, 'a creates the Lease');
  assert.equal(holder('op'), 'a');
  assert.equal(await b.tryAcquireOrRenew(), false, 'b sees a holding it');
  t += 5000;
  assert.equal(await a.tryAcquireOrRenew(), true, 'a renews');
  assert.equal(await b.tryAcquireOrRenew(), false);
  const spec = kube.leases.get('op')!.spec as { renewTime: string; leaseDurationSeconds: number };
  assert.match(spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime: six fractional digits');
  assert.equal(spec.leaseDurationSeconds, 10);
  await a.release();
  assert.equal(holder('op'), undefined, 'released: no holder');
  assert.equal(await b.tryAcquireOrRenew(), true, 'b takes over at once');
  assert.equal(holder('op'), 'b');
  assert.equal((kube.leases.get('op')!.spec as { leaseTransitions: number }).leaseTransitions, 1);
});

test('a holder that stops renewing loses the Lease after its duration (judged on our own clock)', async () => {
  let t = 5_000_000;
  const now = () => t;
  const a = new LeaseLock(api, { namespace: 'ns', name: 'op2', identity: 'a', leaseDurationSeconds: 10, now });
  const b = new LeaseLock(api, { namespace: 'ns', name: 'op2', identity: 'b', leaseDurationSeconds: 10, now });
  assert.equal(await a.tryAcquireOrRenew(), true);
  assert.equal(await b.tryAcquireOrRenew(), false, 'b first sees the record');
  t += 9000;
  assert.equal(await b.tryAcquireOrRenew(), false, 'not yet expired');
  t += 2000;
  assert.equal(await b.tryAcquireOrRenew(), true, 'expired: b takes it');
  assert.equal(holder('op2'), 'b');
  assert.equal(await a.tryAcquireOrRenew(), false, 'a, back, sees b holding a fresh Lease');
});

test('two replicas writing at once: the write with the stale resourceVersion gets 409 and loses', async () => {
  const a = new LeaseLock(api, { namespace: 'ns', name: 'op3', identity: 'a', leaseDurationSeconds: 1 });
  assert.equal(await a.tryAcquireOrRenew(), true);
  await a.release();
  const c = new LeaseLock(api, { namespace: 'ns', name: 'op3', identity: 'c', leaseDurationSeconds: 10 });
  // b reads the free Lease, then c takes it before b writes.
  const racing = Object.create(api) as CoordinationV1Api;
  racing.readNamespacedLease = async (param, options) => {
    const lease = await api.readNamespacedLease(param, options);
    assert.equal(await c.tryAcquireOrRenew(), true, 'c writes first');
    return lease;
  };
  const b = new LeaseLock(racing, { namespace: 'ns', name: 'op3', identity: 'b', leaseDurationSeconds: 10 });
  assert.equal(await b.tryAcquireOrRenew(), false, 'b loses');
  assert.equal(holder('op3'), 'c');
  assert.equal(kube.requestsTo('PUT', /\/leases\/op3$/).at(-1)!.status, 409, 'b was refused by the API server (stale resourceVersion)');
});

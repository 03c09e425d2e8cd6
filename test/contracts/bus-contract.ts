import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Bus, BusMessage } from '../../services/core/ports/bus.ts';
import { eventually } from '../support/api-client.ts';

export interface BusFixture {
  bus: Bus;
  /** A topic no other test uses, with the given partitions. */
  topic(partitions: number): Promise<string>;
  /** A second bus on the same cluster (another process, as far as the group knows). */
  another(): Promise<Bus>;
}

const id = () => randomBytes(4).toString('hex');

/** The same assertions for every Bus adapter. */
export function busContract(name: string, fixture: () => BusFixture, timeoutMs = 30000) {
  it(`${name}: delivers every record once per group, in order per key`, async () => {
    const f = fixture();
    const topic = await f.topic(4);
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const seen = new Map<string, number[]>();
    const sub = await f.bus.subscribe({
      group: `g-${id()}`,
      topics: [topic],
      handler: async (m: BusMessage) => {
        const v = JSON.parse(m.value) as { n: number };
        const list = seen.get(m.key) ?? [];
        list.push(v.n);
        seen.set(m.key, list);
      },
    });
    try {
      const records = Array.from({ length: 200 }, (_, n) => ({ key: keys[n % keys.length]!, value: JSON.stringify({ n }) }));
      await f.bus.publish(topic, records.slice(0, 100));
      await f.bus.publish(topic, records.slice(100));
      await eventually(async () => [...seen.values()].reduce((a, l) => a + l.length, 0) >= 200, 'all records', timeoutMs);
      for (const [, list] of seen) assert.deepEqual(list, [...list].sort((a, b) => a - b), 'per-key order');
      assert.equal([...seen.values()].reduce((a, l) => a + l.length, 0), 200, 'no record twice');
    } finally {
      await sub.stop();
    }
  });

  it(`${name}: a new group with fromBeginning false gets only the records published after it joined`, async () => {
    const f = fixture();
    const topic = await f.topic(2);
    await f.bus.publish(topic, [{ key: 'a', value: JSON.stringify({ n: 0 }) }, { key: 'b', value: JSON.stringify({ n: 1 }) }]);
    const seen: number[] = [];
    let assigned = false;
    const sub = await f.bus.subscribe({
      group: `g-${id()}`,
      topics: [topic],
      fromBeginning: false,
      onAssignment: () => (assigned = true),
      handler: async (m) => void seen.push((JSON.parse(m.value) as { n: number }).n),
    });
    try {
      await eventually(async () => assigned, 'assignment', timeoutMs);
      // The group learns "now" when it first fetches; publish until the later records arrive.
      for (let n = 2; seen.length === 0 && n < 200; n++) {
        await f.bus.publish(topic, [{ key: n % 2 ? 'a' : 'b', value: JSON.stringify({ n }) }]);
        await new Promise((r) => setTimeout(r, 50));
      }
      await eventually(async () => seen.length > 0, 'a later record', timeoutMs);
      assert.ok(!seen.includes(0) && !seen.includes(1), `records from before it joined: ${seen.join(',')}`);
    } finally {
      await sub.stop();
    }
  });

  it(`${name}: retries a failing record and lets nothing behind it on its partition overtake it`, async () => {
    const f = fixture();
    const topic = await f.topic(1);
    const order: number[] = [];
    let failures = 0;
    const sub = await f.bus.subscribe({
      group: `g-${id()}`,
      topics: [topic],
      handler: async (m) => {
        const { n } = JSON.parse(m.value) as { n: number };
        if (n === 2 && failures < 3) {
          failures++;
          throw new Error('transient');
        }
        order.push(n);
      },
    });
    try {
      await f.bus.publish(topic, [1, 2, 3, 4].map((n) => ({ key: 'same', value: JSON.stringify({ n }) })));
      await eventually(async () => order.length >= 4, 'all four records', timeoutMs);
      assert.equal(failures, 3);
      assert.deepEqual(order, [1, 2, 3, 4]);
    } finally {
      await sub.stop();
    }
  });

  it(`${name}: a new member of the group continues after what was handled`, async () => {
    const f = fixture();
    const topic = await f.topic(2);
    const group = `g-${id()}`;
    const first: number[] = [];
    const sub1 = await f.bus.subscribe({ group, topics: [topic], handler: async (m) => void first.push(JSON.parse(m.value).n) });
    await f.bus.publish(topic, Array.from({ length: 20 }, (_, n) => ({ key: `k${n % 3}`, value: JSON.stringify({ n }) })));
    await eventually(async () => first.length >= 20, 'first twenty', timeoutMs);
    await sub1.stop();
    const other = await f.another();
    const second: number[] = [];
    const sub2 = await other.subscribe({ group, topics: [topic], handler: async (m) => void second.push(JSON.parse(m.value).n) });
    try {
      await f.bus.publish(topic, Array.from({ length: 10 }, (_, n) => ({ key: `k${n % 3}`, value: JSON.stringify({ n: 100 + n }) })));
      await eventually(async () => second.length >= 10, 'the next ten', timeoutMs);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual([...second].sort((a, b) => a - b), Array.from({ length: 10 }, (_, n) => 100 + n), 'nothing handled twice');
    } finally {
      await sub2.stop();
      if (other !== f.bus) await other.close();
    }
  });

  it(`${name}: with keyConcurrency, a stuck key does not hold up the other keys of its partition, and each key stays in order`, async () => {
    const f = fixture();
    const topic = await f.topic(1);
    const seen = new Map<string, number[]>();
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    const sub = await f.bus.subscribe({
      group: `g-${id()}`,
      topics: [topic],
      keyConcurrency: 8,
      handler: async (m) => {
        const { n } = JSON.parse(m.value) as { n: number };
        // The first record of key "slow" waits until every other key is done: handled one key at a
        // time (the partition in order), this never finishes.
        if (m.key === 'slow' && n === 0) await slowGate;
        const list = seen.get(m.key) ?? [];
        list.push(n);
        seen.set(m.key, list);
      },
    });
    try {
      const records = [
        { key: 'slow', value: JSON.stringify({ n: 0 }) },
        ...Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 6}`, value: JSON.stringify({ n: i + 1 }) })),
        { key: 'slow', value: JSON.stringify({ n: 61 }) },
      ];
      await f.bus.publish(topic, records);
      await eventually(async () => [0, 1, 2, 3, 4, 5].every((k) => (seen.get(`k${k}`)?.length ?? 0) === 10), 'the other keys, while "slow" is stuck', timeoutMs);
      assert.equal(seen.get('slow'), undefined, 'the stuck key has not moved, nor has its second record overtaken its first');
      releaseSlow();
      await eventually(async () => seen.get('slow')?.length === 2, 'the stuck key, once released', timeoutMs);
      assert.deepEqual(seen.get('slow'), [0, 61]);
      for (const [, list] of seen) assert.deepEqual(list, [...list].sort((a, b) => a - b), 'per-key order');
    } finally {
      releaseSlow();
      await sub.stop();
    }
  });

  it(`${name}: with keyConcurrency, a member that takes over handles again what was not committed, and nothing is skipped`, async () => {
    const f = fixture();
    const topic = await f.topic(1);
    const group = `g-${id()}`;
    const first = new Set<number>();
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    const sub1 = await f.bus.subscribe({
      group,
      topics: [topic],
      keyConcurrency: 4,
      handler: async (m) => {
        const { n } = JSON.parse(m.value) as { n: number };
        if (n === 0) await slowGate;
        first.add(n);
      },
    });
    await f.bus.publish(topic, Array.from({ length: 20 }, (_, n) => ({ key: n === 0 ? 'stuck' : `k${n % 3}`, value: JSON.stringify({ n }) })));
    await eventually(async () => first.size >= 19, 'everything but the stuck record', timeoutMs);
    // Stop while record 0 is in hand: the finished records behind it are past a gap, so not committed.
    const stopping = sub1.stop();
    releaseSlow();
    await stopping;
    const other = await f.another();
    const second = new Set<number>();
    const sub2 = await other.subscribe({ group, topics: [topic], keyConcurrency: 4, handler: async (m) => void second.add(JSON.parse(m.value).n) });
    try {
      await f.bus.publish(topic, [{ key: 'k0', value: JSON.stringify({ n: 100 }) }]);
      await eventually(async () => second.has(100), 'the new record', timeoutMs);
      const all = new Set([...first, ...second]);
      for (let n = 0; n < 20; n++) assert.ok(all.has(n), `record ${n} handled by one of the members`);
    } finally {
      await sub2.stop();
      if (other !== f.bus) await other.close();
    }
  });

  it(`${name}: batchHandler takes records several at a time in order, and a batch it fails goes to handler one by one`, async () => {
    const f = fixture();
    const topic = await f.topic(2);
    const handled: { key: string; n: number }[] = [];
    const batchSizes: number[] = [];
    const oneByOne: number[] = [];
    const sub = await f.bus.subscribe({
      group: `g-${id()}`,
      topics: [topic],
      batchHandler: async (ms) => {
        const values = ms.map((m) => ({ key: m.key, ...(JSON.parse(m.value) as { n: number; poison?: boolean }) }));
        if (values.some((v) => v.poison)) throw new Error('poison in the batch');
        batchSizes.push(ms.length);
        for (const v of values) handled.push({ key: v.key, n: v.n });
      },
      handler: async (m) => {
        const v = JSON.parse(m.value) as { n: number };
        oneByOne.push(v.n);
        handled.push({ key: m.key, n: v.n });
      },
    });
    try {
      const records = Array.from({ length: 60 }, (_, n) => ({ key: `k${n % 3}`, value: JSON.stringify({ n, ...(n === 31 ? { poison: true } : {}) }) }));
      await f.bus.publish(topic, records.slice(0, 30));
      await f.bus.publish(topic, records.slice(30));
      await eventually(async () => new Set(handled.map((h) => h.n)).size >= 60, 'all records', timeoutMs);
      assert.ok(batchSizes.some((n) => n > 1), `some batch held several records (sizes ${batchSizes.join(',')})`);
      assert.ok(oneByOne.includes(31), 'the failing batch went one by one');
      for (const key of ['k0', 'k1', 'k2']) {
        const ns = handled.filter((h) => h.key === key).map((h) => h.n);
        assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `order of ${key}`);
      }
      assert.equal(handled.length, 60, 'each record handled once');
    } finally {
      await sub.stop();
    }
  });
  it(`${name}: a paused topic is not handed (the others are); resumeAtEnd skips what was published meanwhile and hands what follows`, async () => {
    const f = fixture();
    const [quiet, busy] = [await f.topic(2), await f.topic(2)];
    const seen: { topic: string; n: number }[] = [];
    let assigned = false;
    const sub = await f.bus.subscribe({
      group: `g-${id()}`,
      topics: [quiet, busy],
      onAssignment: () => (assigned = true),
      handler: async (m) => void seen.push({ topic: m.topic, n: (JSON.parse(m.value) as { n: number }).n }),
    });
    const of = (topic: string) => seen.filter((s) => s.topic === topic).map((s) => s.n);
    const publish = (topic: string, ns: number[]) => f.bus.publish(topic, ns.map((n) => ({ key: `k${n % 4}`, value: JSON.stringify({ n }) })));
    try {
      await eventually(async () => assigned, 'assignment', timeoutMs);
      await publish(quiet, [1, 2]);
      await eventually(async () => of(quiet).length === 2, 'the records before the pause', timeoutMs);
      sub.pause(quiet);
      await publish(quiet, [3, 4, 5, 6]);
      await publish(busy, [100]);
      await eventually(async () => of(busy).length === 1, 'the other topic, while one is paused', timeoutMs);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(of(quiet), [1, 2], 'nothing of the paused topic');
      await sub.resumeAtEnd(quiet);
      await publish(quiet, [7, 8, 9, 10]);
      await eventually(async () => of(quiet).length >= 6, 'the records after the resume', timeoutMs);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual([...of(quiet)].sort((a, b) => a - b), [1, 2, 7, 8, 9, 10], 'the records published while paused are skipped');
      await sub.resumeAtEnd(quiet); // not paused: nothing happens
    } finally {
      await sub.stop();
    }
  });
}

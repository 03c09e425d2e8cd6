import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { fixKafkajsIdleTimer, kafkajsRequestQueueClass, type KafkajsRequestQueue } from './kafkajs-idle-timer.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function queue(): { q: KafkajsRequestQueue; checks: () => number } {
  const RequestQueue = kafkajsRequestQueueClass();
  const q = new RequestQueue({ maxInFlightRequests: null, requestTimeout: 1000, enforceRequestTimeout: false, clientId: 't', broker: 'b:1', logger: silent });
  let n = 0;
  const check = q.checkPendingRequests.bind(q);
  q.checkPendingRequests = () => {
    n++;
    check();
  };
  return { q, checks: () => n };
}

describe('kafkajs request queue timers', () => {
  beforeEach(() => {
    fixKafkajsIdleTimer();
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  it('an idle connection leaves no timer behind after a response (kafkajs ran one every millisecond)', () => {
    const { q, checks } = queue();
    q.checkPendingRequests(); // what a fulfilled request does
    assert.equal(q.throttleCheckTimeoutId, null, 'no timer left scheduled');
    assert.equal(checks(), 1);
  });

  it('a request held by a throttle is still sent when the throttle ends', () => {
    const { q, checks } = queue();
    let sent = 0;
    q.throttledUntil = Date.now() + 50;
    q.pending.push({ correlationId: 1, expectResponse: true, pendingDuration: 0, send: () => sent++ });
    q.scheduleCheckPendingRequests();
    assert.equal(sent, 0);
    q.throttledUntil = Date.now() - 1; // the throttle is over when the timer fires
    mock.timers.tick(60);
    assert.equal(sent, 1);
    assert.ok(checks() >= 1);
    assert.equal(q.pending.length, 0);
  });
});

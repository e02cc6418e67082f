import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachPageLifecycle } from '../src/index.js';
import { setup } from './helpers.js';

class FakeTarget {
  listeners = new Map<string, Set<(e: any) => void>>();
  addEventListener(type: string, fn: (e: any) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: (e: any) => void) {
    this.listeners.get(type)?.delete(fn);
  }
  dispatch(type: string, event: object = {}) {
    for (const fn of this.listeners.get(type) ?? []) fn(event);
  }
}
class FakeDocument extends FakeTarget {
  visibilityState = 'visible';
  setVisibility(v: 'visible' | 'hidden') {
    this.visibilityState = v;
    this.dispatch('visibilitychange');
  }
}

function page() {
  return { window: new FakeTarget(), document: new FakeDocument() };
}

describe('page lifecycle', () => {
  it('pagehide sends before_disconnect and closes; pageshow from bfcache connects again', () => {
    const p = page();
    const { client, instances, accept } = setup({ pageLifecycle: p });
    void client.connect();
    accept();
    p.window.dispatch('pagehide', { persisted: true });
    assert.deepEqual(instances[0]!.messages, [{ type: 'before_disconnect' }]);
    assert.equal(instances[0]!.closedWith?.code, 1000);
    assert.equal(client.state, 'closed');
    p.window.dispatch('pageshow', { persisted: true });
    assert.equal(client.state, 'connecting');
    assert.equal(instances.length, 2);
  });

  it('visible again: pings an open socket', () => {
    const p = page();
    const { client, instances, accept } = setup({ pageLifecycle: p });
    void client.connect();
    accept();
    p.document.setVisibility('hidden');
    p.document.setVisibility('visible');
    assert.deepEqual(instances[0]!.messages, [{ type: 'ping' }]);
  });

  it('visible again: reconnects a dropped socket at once, with the backoff reset', () => {
    const p = page();
    const { client, clock, instances, accept, events } = setup({ pageLifecycle: p, random: () => 0.999 });
    void client.connect();
    accept();
    p.document.setVisibility('hidden');
    instances[0]!.serverClose(1006);
    clock.advance(1000);
    instances[1]!.serverClose(1006);
    assert.equal(instances.length, 2);
    p.document.setVisibility('visible');
    assert.equal(instances.length, 3, 'reconnected without waiting');
    instances[2]!.serverClose(1006);
    assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, 999, 'backoff was reset');
  });

  it('hidden: no tight reconnect loop (delay >= baseMs, backoff not reset by connected)', () => {
    const p = page();
    const { client, clock, instances, accept, events } = setup({ pageLifecycle: p, random: () => 0 });
    p.document.setVisibility('hidden');
    void client.connect();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      accept();
      instances.at(-1)!.serverClose(1006); // accepted, then dropped at once, again and again
      const d = events.filter(([t]) => t === 'close').at(-1)![1].delayMs;
      delays.push(d);
      const n = instances.length;
      clock.advance(d - 1);
      assert.equal(instances.length, n);
      clock.advance(1);
    }
    for (const d of delays) assert.ok(d >= 1000, `delay ${d} under baseMs while hidden`);

    const withRandom = setup({ pageLifecycle: page(), random: () => 0.999 });
    (withRandom.client as any).setPageHidden(true);
    void withRandom.client.connect();
    const grown: number[] = [];
    for (let i = 0; i < 4; i++) {
      withRandom.accept();
      withRandom.last().serverClose(1006);
      const d = withRandom.events.filter(([t]) => t === 'close').at(-1)![1].delayMs;
      grown.push(d);
      withRandom.clock.advance(d);
    }
    assert.deepEqual(grown, [1000, 1998, 3996, 7992]); // floor of baseMs, then growing
  });

  it('online event reconnects at once; detach removes the handlers', () => {
    const p = page();
    const { client, instances, accept } = setup();
    const detach = attachPageLifecycle(client, p);
    void client.connect();
    accept();
    instances[0]!.serverClose(1006);
    p.window.dispatch('online');
    assert.equal(instances.length, 2);
    detach();
    assert.equal(p.window.listeners.get('pagehide')!.size, 0);
    assert.equal(p.document.listeners.get('visibilitychange')!.size, 0);
  });

  it('does nothing outside a browser', () => {
    const { client } = setup();
    const detach = attachPageLifecycle(client);
    detach();
  });
});

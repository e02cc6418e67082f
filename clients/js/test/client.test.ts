import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, buildConnectUrl, httpBaseFromWsUrl, TetherError } from '../src/index.js';
import { flush, setup } from './helpers.js';

describe('backoff', () => {
  it('full jitter: delay in [0, min(maxMs, baseMs * 2^attempt))', () => {
    const expectedCaps = [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
    expectedCaps.forEach((cap, attempt) => {
      assert.equal(backoffDelay(attempt, 1000, 30000, () => 0), 0);
      assert.equal(backoffDelay(attempt, 1000, 30000, () => 0.5), cap / 2);
      const high = backoffDelay(attempt, 1000, 30000, () => 0.999999);
      assert.ok(high < cap && high >= cap - 1, `attempt ${attempt}: ${high} vs cap ${cap}`);
    });
    assert.equal(backoffDelay(1000, 1000, 30000, () => 0.999999), 29999); // no overflow
  });

  it('reconnect delays grow exponentially with the injected random and cap at 30 s', () => {
    const { client, clock, instances, events } = setup({ random: () => 0.999 });
    void client.connect();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const sock = instances[instances.length - 1]!;
      sock.serverClose(1006);
      const close = events.filter(([t]) => t === 'close').at(-1)![1];
      assert.equal(close.willReconnect, true);
      delays.push(close.delayMs);
      // No attempt before the delay is over, exactly one right at it.
      const n = instances.length;
      clock.advance(close.delayMs - 1);
      assert.equal(instances.length, n, 'reconnected too early');
      clock.advance(1);
      assert.equal(instances.length, n + 1, 'did not reconnect after the delay');
    }
    assert.deepEqual(delays, [999, 1998, 3996, 7992, 15984, 29970, 29970, 29970]);
    for (const d of delays) assert.ok(d <= 30000);
  });

  it('honours custom backoff options', () => {
    const { client, clock, instances, events } = setup({ random: () => 0.999, backoff: { baseMs: 100, maxMs: 500 } });
    void client.connect();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      instances.at(-1)!.serverClose(1006);
      delays.push(events.filter(([t]) => t === 'close').at(-1)![1].delayMs);
      clock.advance(500);
    }
    assert.deepEqual(delays, [99, 199, 399, 499, 499]);
  });

  it('backoff resets after a successful connected', () => {
    const { client, instances, events, accept, serverDrops } = setup({ random: () => 0.999 });
    void client.connect();
    for (let i = 0; i < 3; i++) {
      serverDrops();
    }
    accept();
    instances.at(-1)!.serverClose(1006);
    assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, 999);
  });

  it('stops after maxAttempts reconnect attempts', () => {
    const { client, clock, instances, events, states, serverDrops } = setup({ maxAttempts: 2 });
    const opened = client.connect();
    serverDrops();
    serverDrops();
    assert.equal(instances.length, 3); // the first try and 2 reconnects
    instances.at(-1)!.serverClose(1006);
    clock.advance(600000);
    assert.equal(instances.length, 3);
    assert.equal(client.state, 'closed');
    assert.deepEqual(states(), ['connecting', 'reconnecting', 'closed']);
    const closes = events.filter(([t]) => t === 'close').map(([, e]) => e.willReconnect);
    assert.deepEqual(closes, [true, true, false]);
    return assert.rejects(opened, (e: unknown) => e instanceof TetherError && e.code === 'closed');
  });

  it('maxAttempts counts from the last connected', () => {
    const { client, instances, accept, serverDrops } = setup({ maxAttempts: 1 });
    void client.connect();
    accept();
    for (let i = 0; i < 3; i++) {
      serverDrops();
      accept();
    }
    assert.equal(client.state, 'open');
    assert.equal(instances.length, 4);
  });
});

describe('connect URL, token and resume', () => {
  it('appends the URL-encoded token, and resume= after a connected', () => {
    const { client, instances, accept, serverDrops } = setup({ token: 'a b+c/=' });
    void client.connect();
    assert.equal(instances[0]!.url, 'ws://example.test:8080/ws?token=a%20b%2Bc%2F%3D');
    accept({ resume_token: 'R/1' });
    serverDrops();
    assert.equal(instances[1]!.url, 'ws://example.test:8080/ws?token=a%20b%2Bc%2F%3D&resume=R%2F1');
    accept({ resume_token: 'R2', resumed: true });
    assert.equal(client.resumeToken, 'R2');
    serverDrops(1001);
    assert.equal(instances[2]!.url, 'ws://example.test:8080/ws?token=a%20b%2Bc%2F%3D&resume=R2');
  });

  it('keeps the resume token across failed attempts and keeps other query parameters', () => {
    const { client, instances, accept, serverDrops } = setup({ url: 'ws://h/ws/notifications?since_id=5&token=old' });
    void client.connect();
    assert.equal(instances[0]!.url, 'ws://h/ws/notifications?since_id=5&token=tok');
    accept({ resume_token: 'R1' });
    serverDrops();
    serverDrops(); // failed before connected
    assert.equal(instances[2]!.url, 'ws://h/ws/notifications?since_id=5&token=tok&resume=R1');
  });

  it('calls the token function again on every reconnect', async () => {
    let calls = 0;
    const { client, instances, accept, serverDrops } = setup({ token: async () => `t${++calls}` });
    void client.connect();
    await flush();
    assert.equal(calls, 1);
    assert.equal(instances[0]!.url, 'ws://example.test:8080/ws?token=t1');
    accept({ resume_token: 'R1' });
    serverDrops();
    await flush();
    assert.equal(calls, 2);
    assert.equal(instances[1]!.url, 'ws://example.test:8080/ws?token=t2&resume=R1');
    serverDrops();
    await flush();
    assert.equal(calls, 3);
    assert.equal(instances[2]!.url, 'ws://example.test:8080/ws?token=t3&resume=R1');
  });

  it('a failing token function counts as a failed attempt', async () => {
    let calls = 0;
    const { client, clock, instances, events } = setup({
      token: () => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('auth service down'));
        return 'ok';
      },
    });
    void client.connect();
    await flush();
    assert.equal(instances.length, 0);
    assert.equal(client.state, 'reconnecting');
    assert.equal(events.find(([t]) => t === 'connect_error')![1].phase, 'token');
    clock.advance(30000);
    await flush();
    assert.equal(instances.length, 1);
    assert.equal(instances[0]!.url, 'ws://example.test:8080/ws?token=ok');
  });

  it('gives up on a socket that does not open within connectTimeoutMs', () => {
    const { client, clock, instances, events } = setup({ connectTimeoutMs: 5000 });
    void client.connect();
    clock.advance(4999);
    assert.equal(instances[0]!.readyState, 0);
    clock.advance(1);
    assert.equal(instances[0]!.closedWith?.code, 4000);
    assert.equal(client.state, 'reconnecting');
    assert.ok(events.some(([t, e]) => t === 'connect_error' && e.phase === 'timeout'));
  });

  it('derives the HTTP base from the ws url', () => {
    assert.equal(httpBaseFromWsUrl('ws://localhost:8080/ws?x=1'), 'http://localhost:8080');
    assert.equal(httpBaseFromWsUrl('wss://example.com/ws/feed'), 'https://example.com');
    assert.equal(buildConnectUrl('ws://h/ws#frag', 't', 'r'), 'ws://h/ws?token=t&resume=r#frag');
    assert.equal(buildConnectUrl('ws://h/ws'), 'ws://h/ws');
  });
});

describe('requests', () => {
  it('resolves with the reply that carries the ref; refs auto-increment', async () => {
    const { client, last, accept } = setup();
    void client.connect();
    accept();
    const p1 = client.request({ type: 'ping' });
    const p2 = client.request({ type: 'join_room', room_id: 'r' });
    const [m1, m2] = last().messages;
    assert.deepEqual(m1, { type: 'ping', ref: 1 });
    assert.deepEqual(m2, { type: 'join_room', room_id: 'r', ref: 2 });
    last().receive({ type: 'room_joined', ref: 2, room_id: 'r', participants: [], occupancy: 1, capacity: 50 });
    last().receive({ type: 'pong', ref: 1, server_time: '2026-01-01T12:00:00.000Z' });
    assert.equal((await p1).server_time, '2026-01-01T12:00:00.000Z');
    assert.equal((await p2).room_id, 'r');
  });

  it('rejects with a TetherError carrying the code and message of an error reply', async () => {
    const { client, last, accept } = setup();
    void client.connect();
    accept();
    const p = client.request({ type: 'join_room', room_id: 'full' });
    last().receive({ type: 'error', code: 'room_full', message: 'room is full', ref: 1 });
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof TetherError);
      assert.equal(e.code, 'room_full');
      assert.equal(e.message, 'room is full');
      return true;
    });
  });

  it('emits every server message as a typed event, replies included', () => {
    const { client, last, accept } = setup();
    const seen: string[] = [];
    client.on('pong', (m) => seen.push(`pong:${m.server_time}`));
    client.on('*', (m) => seen.push(`*:${m.type}`));
    const off = client.on('user_joined', (m) => seen.push(`joined:${m.user_id}`));
    client.once('room_message', (m) => seen.push(`once:${String(m.data)}`));
    void client.connect();
    accept();
    last().receive({ type: 'pong', server_time: 'T' });
    last().receive({ type: 'user_joined', room_id: 'r', user_id: 'bob', display_name: 'Bob' });
    off();
    last().receive({ type: 'user_joined', room_id: 'r', user_id: 'eve', display_name: 'Eve' });
    last().receive({ type: 'room_message', room_id: 'r', user_id: 'bob', data: 'hi' });
    last().receive({ type: 'room_message', room_id: 'r', user_id: 'bob', data: 'again' });
    last().receive({ type: 'state' }); // a server message never shadows client events
    assert.deepEqual(seen, [
      '*:connected',
      'pong:T',
      '*:pong',
      'joined:bob',
      '*:user_joined',
      '*:user_joined',
      'once:hi',
      '*:room_message',
      '*:room_message',
      '*:state',
    ]);
  });

  it('rejects with timeout when no reply comes in time', async () => {
    const { client, clock, accept } = setup({ requestTimeoutMs: 5000 });
    void client.connect();
    accept();
    const p = client.request({ type: 'history', chat_id: 'c' });
    const p2 = client.request({ type: 'history', chat_id: 'c' }, { timeoutMs: 100 });
    clock.advance(100);
    await assert.rejects(p2, (e: unknown) => e instanceof TetherError && e.code === 'timeout');
    clock.advance(4899);
    let settled = false;
    p.catch(() => {}).finally(() => (settled = true));
    await flush();
    assert.equal(settled, false);
    clock.advance(1);
    await assert.rejects(p, (e: unknown) => e instanceof TetherError && e.code === 'timeout');
  });

  it('rejects sent requests with disconnected when the socket drops; queued ones wait', async () => {
    const { client, clock, last, accept } = setup();
    void client.connect();
    accept();
    const sent = client.request({ type: 'subscribe', channel: 'feed' });
    last().serverClose(1006);
    await assert.rejects(sent, (e: unknown) => e instanceof TetherError && e.code === 'disconnected');
    const queued = client.request({ type: 'subscribe', channel: 'feed' });
    clock.advance(500); // the backoff delay (random 0.5 of 1000); the request's 10 s timeout runs from the call
    accept({ resumed: true });
    const msg = last().messages.find((m) => m.type === 'subscribe');
    assert.ok(msg, 'queued request flushed after connected');
    last().receive({ type: 'subscribed', channel: 'feed', ref: msg.ref });
    assert.equal((await queued).channel, 'feed');
  });

  it('rejects pending requests with closed on close()', async () => {
    const { client, accept } = setup();
    void client.connect();
    accept();
    const p = client.request({ type: 'ping' });
    client.close();
    await assert.rejects(p, (e: unknown) => e instanceof TetherError && e.code === 'closed');
  });
});

describe('send queue', () => {
  it('queues while not open, drops the oldest past maxQueue, flushes after connected', async () => {
    const { client, last, accept, events } = setup({ maxQueue: 2 });
    client.send({ type: 'typing', chat_id: 'c', is_typing: true }); // before connect(): queued too
    void client.connect();
    const dropped = client.request({ type: 'join_room', room_id: 'a' });
    client.send({ type: 'publish', room_id: 'a', data: 1 });
    assert.equal(client.queueLength, 2);
    const drops = events.filter(([t]) => t === 'dropped').map(([, e]) => e);
    assert.equal(drops.length, 1);
    assert.deepEqual(drops[0].message, { type: 'typing', chat_id: 'c', is_typing: true });
    assert.equal(drops[0].reason, 'queue_full');
    client.send({ type: 'publish', room_id: 'a', data: 2 });
    await assert.rejects(dropped, (e: unknown) => e instanceof TetherError && e.code === 'dropped');
    assert.equal(events.filter(([t]) => t === 'dropped').length, 2);

    last().open();
    assert.deepEqual(last().messages, [], 'nothing is sent before connected');
    accept();
    assert.deepEqual(
      last().messages.map((m) => m.data),
      [1, 2],
    );
    assert.equal(client.queueLength, 0);
    client.send({ type: 'publish', room_id: 'a', data: 3 });
    assert.equal(last().messages.at(-1).data, 3);
  });
});

describe('state and close codes', () => {
  it('changes state in order and close() sends before_disconnect then closes with 1000', () => {
    const { client, clock, instances, accept, states, events } = setup();
    assert.equal(client.state, 'closed');
    void client.connect();
    assert.equal(client.state, 'connecting');
    accept();
    assert.equal(client.state, 'open');
    instances[0]!.serverClose(1006);
    assert.equal(client.state, 'reconnecting');
    clock.advance(30000);
    assert.equal(client.state, 'reconnecting');
    accept({ resumed: true });
    assert.equal(client.state, 'open');
    client.close();
    assert.equal(client.state, 'closed');
    assert.deepEqual(states(), ['connecting', 'open', 'reconnecting', 'open', 'closed']);
    assert.deepEqual(instances[1]!.messages.at(-1), { type: 'before_disconnect' });
    assert.equal(instances[1]!.closedWith?.code, 1000);
    const opens = events.filter(([t]) => t === 'open').map(([, e]) => e.resumed);
    assert.deepEqual(opens, [false, true]);
    clock.advance(600000);
    assert.equal(instances.length, 2, 'no reconnect after close()');
    assert.equal(client.resumeToken, undefined);
  });

  it('4009 (replaced by a newer session) stops reconnecting', () => {
    const { client, clock, instances, accept, events } = setup();
    void client.connect();
    accept();
    instances[0]!.serverClose(4009, 'replaced');
    assert.equal(client.state, 'closed');
    const st = events.filter(([t]) => t === 'state').at(-1)![1];
    assert.equal(st.code, 4009);
    assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].willReconnect, false);
    clock.advance(10 * 60000);
    assert.equal(instances.length, 1);
  });

  for (const code of [4001, 4003]) {
    it(`${code} stops reconnecting`, () => {
      const { client, clock, instances, accept, events } = setup();
      void client.connect();
      accept();
      instances[0]!.serverClose(code);
      clock.advance(10 * 60000);
      assert.equal(instances.length, 1);
      assert.equal(client.state, 'closed');
      assert.equal(events.filter(([t]) => t === 'state').at(-1)![1].code, code);
    });
  }

  it('1001 (server going away) reconnects and resumes', () => {
    const { client, clock, instances, accept } = setup();
    void client.connect();
    accept({ resume_token: 'RR' });
    instances[0]!.serverClose(1001);
    assert.equal(client.state, 'reconnecting');
    clock.advance(1000);
    assert.equal(instances.length, 2);
    assert.match(instances[1]!.url, /resume=RR$/);
  });

  for (const code of [4029, 4030]) {
    it(`${code} reconnects only after at least maxMs/2`, () => {
      const { client, clock, instances, accept, events } = setup({ random: () => 0 });
      void client.connect();
      accept();
      instances[0]!.serverClose(code);
      const delay = events.filter(([t]) => t === 'close').at(-1)![1].delayMs;
      assert.equal(delay, 15000);
      clock.advance(14999);
      assert.equal(instances.length, 1);
      clock.advance(1);
      assert.equal(instances.length, 2);
    });
  }

  it('ignores events from a socket it gave up on', () => {
    const { client, clock, instances, accept } = setup({ heartbeatMs: 1000, pongTimeoutMs: 500 });
    void client.connect();
    accept();
    clock.advance(1500); // pong timeout: socket abandoned
    clock.advance(30000);
    accept();
    const old = instances[0]!;
    old.readyState = 3;
    old.onclose?.({ code: 4009, reason: 'replaced' }); // the server closes the old socket late
    assert.equal(client.state, 'open');
  });
});

describe('heartbeat', () => {
  it('pings every heartbeatMs; a missing pong drops the socket and reconnects with resume', () => {
    const { client, clock, instances, accept, states } = setup({ heartbeatMs: 30000, pongTimeoutMs: 10000 });
    void client.connect();
    accept({ resume_token: 'R1' });
    clock.advance(29999);
    assert.deepEqual(instances[0]!.messages, []);
    clock.advance(1);
    assert.deepEqual(instances[0]!.messages, [{ type: 'ping' }]);
    instances[0]!.receive({ type: 'pong', server_time: 'T' });
    clock.advance(30000);
    assert.equal(instances[0]!.messages.length, 2);
    clock.advance(9999);
    assert.equal(client.state, 'open');
    clock.advance(1); // no pong within pongTimeoutMs
    assert.equal(instances[0]!.closedWith?.code, 4000);
    assert.equal(client.state, 'reconnecting');
    clock.advance(30000);
    assert.equal(instances.length, 2);
    assert.match(instances[1]!.url, /resume=R1$/);
    assert.deepEqual(states(), ['connecting', 'open', 'reconnecting']);
  });

  it('any message counts as an answer to the ping', () => {
    const { client, clock, instances, accept } = setup({ heartbeatMs: 1000, pongTimeoutMs: 500 });
    void client.connect();
    accept();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      instances[0]!.receive({ type: 'typing', chat_id: 'c', user_id: 'x', is_typing: true });
    }
    clock.advance(499);
    assert.equal(client.state, 'open');
    assert.equal(instances.length, 1);
  });
});

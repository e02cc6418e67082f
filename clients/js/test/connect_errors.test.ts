// Why a connection fails, and what the client does about it: a refused upgrade (401/403) is surfaced
// with its HTTP status and the server's code and message and stops the retries (a token function gets
// one more try); a browser-like WebSocket asks /api/whoami; 1001 reconnects at once with a jitter;
// drop() keeps the session for a later connect().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TetherError } from '../src/index.js';
import { flush, setup } from './helpers.js';

const expired = { error: { code: 'unauthorized', message: 'invalid token: expired' } };

function isExpiredError(e: unknown): boolean {
  return e instanceof TetherError && e.status === 401 && e.code === 'unauthorized' && e.message === 'invalid token: expired';
}

/** A fetch that answers /api/whoami with this status and body, recording its calls. */
function fakeFetch(answer: { status: number; body?: unknown } | 'fail') {
  const calls: Array<{ url: string; auth: string | undefined }> = [];
  const f = (async (url: string, init?: RequestInit) => {
    calls.push({ url, auth: (init?.headers as Record<string, string> | undefined)?.Authorization });
    if (answer === 'fail') throw new TypeError('fetch failed');
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), { status: answer.status });
  }) as unknown as typeof fetch;
  return { fetch: f, calls };
}

describe('refused upgrade, ws package (unexpected-response)', () => {
  for (const [status, code, closeCode, message] of [
    [401, 'unauthorized', 4001, 'invalid token: expired'],
    [403, 'forbidden', 4003, 'not a member of this chat'],
  ] as const) {
    it(`${status}: surfaces status, code and message, stops retrying, connect() rejects with it`, async () => {
      const { client, clock, instances, events, states } = setup({}, { showsRefusals: true });
      const connecting = client.connect();
      instances[0]!.refuse(status, { error: { code, message } });
      await flush();

      const errors = events.filter(([t]) => t === 'connect_error').map(([, e]) => e);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].phase, 'refused');
      assert.equal(errors[0].status, status);
      assert.equal(errors[0].willRetry, false);
      const err = errors[0].error;
      assert.ok(err instanceof TetherError);
      assert.deepEqual([err.status, err.code, err.message], [status, code, message]);

      assert.equal(client.state, 'closed');
      assert.deepEqual(states(), ['connecting', 'closed']);
      const last = events.filter(([t]) => t === 'state').at(-1)![1];
      assert.deepEqual([last.code, last.reason], [closeCode, message]);
      const close = events.filter(([t]) => t === 'close').at(-1)![1];
      assert.deepEqual([close.code, close.willReconnect], [closeCode, false]);
      assert.ok(instances[0]!.closedWith, 'the refused socket is closed');

      clock.advance(10 * 60 * 1000);
      assert.equal(instances.length, 1, 'no retry');
      await assert.rejects(connecting, (e: unknown) => e === err);
    });
  }

  it('401 with a token function: asks it once more at once, stops when that token is refused too', async () => {
    let calls = 0;
    const { client, clock, instances, events } = setup({ token: () => `t${++calls}` }, { showsRefusals: true });
    const connecting = client.connect();
    await flush();
    assert.equal(instances.length, 1);
    assert.match(instances[0]!.url, /token=t1$/);
    instances[0]!.refuse(401, expired);
    await flush();
    const first = events.filter(([t]) => t === 'connect_error').map(([, e]) => e);
    assert.equal(first.length, 1);
    assert.equal(first[0].willRetry, true);
    assert.ok(isExpiredError(first[0].error));
    assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, 0);
    assert.equal(client.state, 'reconnecting');

    clock.advance(0);
    await flush();
    assert.equal(calls, 2);
    assert.equal(instances.length, 2);
    assert.match(instances[1]!.url, /token=t2$/);
    instances[1]!.refuse(401, expired);
    await flush();
    assert.equal(client.state, 'closed');
    const errors = events.filter(([t]) => t === 'connect_error').map(([, e]) => e);
    assert.equal(errors.length, 2);
    assert.equal(errors[1].willRetry, false);
    clock.advance(10 * 60 * 1000);
    await flush();
    assert.equal(calls, 2, 'the token function is asked once more, not in a loop');
    assert.equal(instances.length, 2);
    await assert.rejects(connecting, isExpiredError);
  });

  it('401 with a token function whose fresh token works: connects; the next 401 gets its one retry again', async () => {
    let calls = 0;
    const { client, clock, instances, accept } = setup({ token: () => `t${++calls}` }, { showsRefusals: true });
    const connecting = client.connect();
    await flush();
    instances[0]!.refuse(401, expired);
    await flush();
    clock.advance(0);
    await flush();
    accept();
    assert.equal((await connecting).type, 'connected');
    assert.equal(client.state, 'open');

    instances[1]!.serverClose(1006);
    clock.advance(30000);
    await flush();
    instances[2]!.refuse(401, expired);
    await flush();
    assert.equal(client.state, 'reconnecting', 'a connected in between allows another fresh-token try');
    clock.advance(0);
    await flush();
    assert.equal(instances.length, 4);
  });

  it('403 with a token function stops at once (a fresh token does not make a member)', async () => {
    let calls = 0;
    const { client, clock, instances } = setup({ token: () => `t${++calls}` }, { showsRefusals: true });
    void client.connect();
    await flush();
    instances[0]!.refuse(403, { error: { code: 'forbidden', message: 'not a member' } });
    await flush();
    clock.advance(600000);
    await flush();
    assert.equal(client.state, 'closed');
    assert.equal(calls, 1);
    assert.equal(instances.length, 1);
  });

  it('other refusals (503 while the server stops) are reported and retried with backoff', async () => {
    const { client, clock, instances, events } = setup({ random: () => 0.999 }, { showsRefusals: true });
    void client.connect();
    instances[0]!.refuse(503, { error: { code: 'capacity', message: 'the server is starting or stopping' } });
    await flush();
    const e = events.filter(([t]) => t === 'connect_error').at(-1)![1];
    assert.deepEqual([e.status, e.error.code, e.willRetry], [503, 'capacity', true]);
    assert.equal(client.state, 'reconnecting');
    assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, 999);
    clock.advance(999);
    assert.equal(instances.length, 2);
  });

  it('a refusal without a JSON body gets code http_<status>', async () => {
    const { events, instances, client } = setup({}, { showsRefusals: true });
    void client.connect();
    instances[0]!.refuse(401, 'Unauthorized');
    await flush();
    const err = events.filter(([t]) => t === 'connect_error').at(-1)![1].error;
    assert.deepEqual([err.status, err.code], [401, 'http_401']);
    assert.equal(client.state, 'closed');
  });
});

describe('failure before open, browser-like WebSocket: GET /api/whoami', () => {
  it('asks whoami with the same token; a 401 surfaces its reason and stops', async () => {
    const { fetch, calls } = fakeFetch({ status: 401, body: expired });
    const { client, clock, instances, events } = setup({ authCheck: true, fetch, token: 'tok/1' });
    const connecting = client.connect();
    instances[0]!.refuse(401, expired); // a browser only sees 1006
    assert.equal(client.state, 'connecting', 'the decision waits for the answer');
    await flush();
    assert.deepEqual(calls, [{ url: 'http://example.test:8080/api/whoami', auth: 'Bearer tok/1' }]);
    const e = events.filter(([t]) => t === 'connect_error').at(-1)![1];
    assert.equal(e.phase, 'refused');
    assert.ok(isExpiredError(e.error));
    assert.equal(client.state, 'closed');
    clock.advance(600000);
    assert.equal(instances.length, 1);
    await assert.rejects(connecting, isExpiredError);
  });

  it('a valid token (200) or an unreachable server: plain backoff, no connect_error', async () => {
    for (const answer of [{ status: 200, body: { user_id: 'u1' } }, 'fail' as const]) {
      const { fetch, calls } = fakeFetch(answer);
      const { client, clock, instances, events } = setup({ authCheck: true, fetch, random: () => 0.999 });
      void client.connect();
      instances[0]!.serverClose(1006);
      await flush();
      assert.equal(calls.length, 1);
      assert.equal(events.filter(([t]) => t === 'connect_error').length, 0);
      assert.equal(client.state, 'reconnecting');
      assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, 999);
      clock.advance(999);
      assert.equal(instances.length, 2);
      client.close();
    }
  });

  it('no whoami for a socket that had opened, without a token, or for the ws package', async () => {
    const a = fakeFetch({ status: 401, body: expired });
    const opened = setup({ authCheck: true, fetch: a.fetch });
    void opened.client.connect();
    opened.accept();
    opened.last().serverClose(1006);
    await flush();
    assert.equal(a.calls.length, 0);
    assert.equal(opened.client.state, 'reconnecting');

    const b = fakeFetch({ status: 401, body: expired });
    const anonymous = setup({ authCheck: true, fetch: b.fetch, token: undefined });
    void anonymous.client.connect();
    anonymous.last().serverClose(1006);
    await flush();
    assert.equal(b.calls.length, 0);

    const c = fakeFetch({ status: 401, body: expired });
    const node = setup({ authCheck: true, fetch: c.fetch }, { showsRefusals: true });
    void node.client.connect();
    node.last().serverClose(1006); // e.g. ECONNREFUSED
    await flush();
    assert.equal(c.calls.length, 0);
    assert.equal(node.client.state, 'reconnecting');
  });

  it('close() while whoami is under way: the answer changes nothing', async () => {
    let answer!: (r: Response) => void;
    const f = (() => new Promise<Response>((res) => (answer = res))) as unknown as typeof fetch;
    const { client, clock, instances, states } = setup({ authCheck: true, fetch: f });
    void client.connect();
    instances[0]!.serverClose(1006);
    client.close();
    answer(new Response(JSON.stringify(expired), { status: 401 }));
    await flush();
    clock.advance(600000);
    assert.deepEqual(states(), ['connecting', 'closed']);
    assert.equal(instances.length, 1);
  });
});

describe('1001: the server is going away (restart)', () => {
  it('reconnects after random(0, restartJitterMs), not the backoff; later failures back off as usual', () => {
    const { client, clock, instances, events, accept } = setup({ random: () => 0.999, backoff: { baseMs: 10000, maxMs: 60000 } });
    void client.connect();
    accept({ resume_token: 'R1' });
    instances[0]!.serverClose(1001, 'server shutting down');
    const close = events.filter(([t]) => t === 'close').at(-1)![1];
    assert.deepEqual([close.code, close.willReconnect, close.delayMs], [1001, true, 999]);
    clock.advance(998);
    assert.equal(instances.length, 1);
    clock.advance(1);
    assert.equal(instances.length, 2);
    assert.match(instances[1]!.url, /resume=R1$/);

    // The server is still down: the normal backoff, from its first step.
    instances[1]!.serverClose(1006);
    assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, 9990);
    clock.advance(9990);
    instances[2]!.serverClose(1006);
    assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, 19980);
    clock.advance(19980);
    accept({ resumed: true });
    assert.equal(client.state, 'open');
  });

  it('the jitter stays in [0, restartJitterMs)', () => {
    for (const [r, jitter, expected] of [
      [0, 1000, 0],
      [0.5, 1000, 500],
      [0.999999, 1000, 999],
      [0.999999, 250, 249],
      [0.7, 0, 0],
    ] as const) {
      const { client, events, accept, last } = setup({ random: () => r, restartJitterMs: jitter });
      void client.connect();
      accept();
      last().serverClose(1001);
      assert.equal(events.filter(([t]) => t === 'close').at(-1)![1].delayMs, expected, `random ${r}, jitter ${jitter}`);
      client.close();
    }
  });
});

describe('drop(): leave the connection, keep the session', () => {
  it('closes without before_disconnect, does not reconnect, and connect() resumes', async () => {
    const { client, clock, instances, events, accept, states } = setup();
    void client.connect();
    accept({ resume_token: 'R1' });
    const sent = client.request({ type: 'ping' });
    client.drop();

    const sock = instances[0]!;
    assert.deepEqual(sock.closedWith, { code: 1000, reason: 'client dropped' });
    assert.ok(!sock.messages.some((m) => m.type === 'before_disconnect'), 'no before_disconnect');
    assert.equal(client.state, 'closed');
    assert.equal(client.resumeToken, 'R1', 'the session is kept');
    await assert.rejects(sent, (e: unknown) => e instanceof TetherError && e.code === 'disconnected');
    assert.deepEqual(events.filter(([t]) => t === 'close').at(-1)![1], { code: 1000, reason: 'client dropped', willReconnect: false });

    client.send({ type: 'file_removed', file_id: 'f1' }); // queued for the next connect()
    clock.advance(10 * 60 * 1000);
    assert.equal(instances.length, 1, 'no reconnect until connect()');

    const reopened = client.connect();
    assert.equal(instances.length, 2);
    assert.match(instances[1]!.url, /resume=R1$/);
    accept({ resumed: true, session_id: 'same' });
    const c = await reopened;
    assert.equal(c.resumed, true);
    assert.deepEqual(instances[1]!.messages.map((m) => m.type), ['file_removed']);
    assert.deepEqual(states(), ['connecting', 'open', 'closed', 'connecting', 'open']);
  });

  it('keeps the draft; close() after drop() forgets the session', async () => {
    const { client, instances, accept } = setup();
    void client.connect();
    accept({ resume_token: 'R1' });
    const tracking = client.draft.track('f1');
    instances[0]!.receive({ type: 'ack', for: 'file_uploaded', file_id: 'f1', ref: instances[0]!.messages.at(-1)!.ref });
    await tracking;
    client.drop();
    assert.deepEqual([...client.draft.files], ['f1']);

    client.close();
    assert.equal(client.resumeToken, undefined);
    assert.equal(client.draft.files.size, 0);
    void client.connect();
    assert.doesNotMatch(instances[1]!.url, /resume=/);
  });

  it('while reconnecting: cancels the pending attempt; a waiting connect() rejects', async () => {
    const { client, clock, instances, accept } = setup();
    void client.connect();
    accept();
    instances[0]!.serverClose(1006);
    const waiting = client.connect(); // skips the backoff: a second socket, still opening
    assert.equal(instances.length, 2);
    client.drop();
    assert.deepEqual(instances[1]!.closedWith, { code: 1000, reason: 'client dropped' });
    await assert.rejects(waiting, (e: unknown) => e instanceof TetherError && e.code === 'closed');
    clock.advance(600000);
    assert.equal(instances.length, 2);
    assert.equal(client.state, 'closed');
  });
});

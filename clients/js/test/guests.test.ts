// createGuest against a fake fetch (the request it makes, the answers it understands, the typed errors),
// and what the client does when its guest is deleted: the server closes with 4010 'guest deleted' (final,
// unlike the idle timeout's 4010), or refuses the token on a reconnect (401, also through /api/whoami).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuestError, TetherError, createGuest, isGuestGone, parseRetryAfter } from '../src/index.js';
import { flush, setup } from './helpers.js';

interface Call {
  url: string;
  method: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** A fetch that answers every request with this status, body and headers, recording the calls. */
function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
  const calls: Call[] = [];
  const f = (async (url: string, init?: RequestInit) => {
    const h = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ url, method: init?.method, contentType: h['Content-Type'], body: JSON.parse(String(init?.body)) });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status, headers });
  }) as unknown as typeof fetch;
  return { fetch: f, calls };
}

const made = {
  user_id: 'g_0123456789abcdef01234567',
  token: 'eyJ.guest.token',
  display_name: 'Ann',
  expires_at: '2026-12-01T10:00:00.000Z',
};

function isGuestError(e: unknown, status: number | undefined, code: string): e is GuestError {
  return e instanceof GuestError && e instanceof TetherError && e.status === status && e.code === code;
}

describe('createGuest', () => {
  it('POSTs {display_name} as JSON and returns the guest in camelCase', async () => {
    const { fetch, calls } = fakeFetch(201, made);
    const guest = await createGuest('http://example.test:8080/', 'Ann', fetch);
    assert.deepEqual(guest, { userId: made.user_id, token: made.token, displayName: 'Ann', expiresAt: made.expires_at });
    assert.deepEqual(calls, [
      { url: 'http://example.test:8080/api/guests', method: 'POST', contentType: 'application/json', body: { display_name: 'Ann' } },
    ]);
  });

  it('takes a WebSocket URL (mapped like httpBase) or "" (the page origin)', async () => {
    const { fetch, calls } = fakeFetch(201, made);
    await createGuest('wss://app.example.test/ws?x=1', 'Ann', fetch);
    await createGuest('', 'Ann', fetch);
    assert.deepEqual(calls.map((c) => c.url), ['https://app.example.test/api/guests', '/api/guests']);
  });

  it('429: GuestError rate_limited with status and retryAfterSeconds from Retry-After', async () => {
    const body = { error: { code: 'rate_limited', message: 'too many guests from this address; try again later' } };
    const { fetch } = fakeFetch(429, body, { 'Retry-After': '17' });
    await assert.rejects(createGuest('http://h', 'Ann', fetch), (e: unknown) => {
      assert.ok(isGuestError(e, 429, 'rate_limited'), String(e));
      assert.equal(e.retryAfterSeconds, 17);
      assert.equal(e.message, body.error.message);
      return true;
    });
  });

  it('400 invalid_field: the server code and message, no retryAfterSeconds', async () => {
    const body = { error: { code: 'invalid_field', message: 'display_name must be ...', field: 'display_name' } };
    const { fetch } = fakeFetch(400, body);
    await assert.rejects(createGuest('http://h', '', fetch), (e: unknown) => {
      assert.ok(isGuestError(e, 400, 'invalid_field'), String(e));
      assert.equal(e.retryAfterSeconds, undefined);
      assert.deepEqual(e.reply, body);
      return true;
    });
  });

  it('404 without a JSON body (a server without guests): http_404', async () => {
    const { fetch } = fakeFetch(404, 'Not Found');
    await assert.rejects(createGuest('http://h', 'Ann', fetch), (e: unknown) => isGuestError(e, 404, 'http_404'));
  });

  it('no answer: GuestError network without a status; a 201 without a token: bad_response', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    await assert.rejects(createGuest('http://h', 'Ann', down), (e: unknown) => isGuestError(e, undefined, 'network') && /fetch failed/.test((e as Error).message));
    const { fetch } = fakeFetch(201, { user_id: 'g_1' });
    await assert.rejects(createGuest('http://h', 'Ann', fetch), (e: unknown) => isGuestError(e, 201, 'bad_response'));
  });
});

describe('parseRetryAfter', () => {
  it('delta-seconds, an HTTP date, and a 60 s default for a missing or unreadable header', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    assert.equal(parseRetryAfter('5', now), 5);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Mon, 30 Nov 2026 12:00:09 GMT', now), 9);
    assert.equal(parseRetryAfter('Mon, 30 Nov 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(null, now), 60);
    assert.equal(parseRetryAfter('soon', now), 60);
  });
});

describe('a deleted guest', () => {
  it('close 4010 "guest deleted": final, state closed with that code and reason, no reconnect', async () => {
    const { client, clock, instances, accept, events, last } = setup();
    void client.connect();
    accept();
    last().serverClose(4010, 'guest deleted');
    assert.equal(client.state, 'closed');
    const state = events.filter(([t]) => t === 'state').at(-1)![1];
    assert.deepEqual([state.code, state.reason], [4010, 'guest deleted']);
    assert.ok(isGuestGone(state));
    const close = events.filter(([t]) => t === 'close').at(-1)![1];
    assert.deepEqual([close.code, close.willReconnect], [4010, false]);
    assert.equal(client.resumeToken, undefined, 'a deleted guest has no session to resume');
    clock.advance(10 * 60 * 1000);
    assert.equal(instances.length, 1);
  });

  it('close 4010 "idle timeout": the user still exists, so the client reconnects', () => {
    const { client, clock, instances, accept, last } = setup();
    void client.connect();
    accept();
    last().serverClose(4010, 'idle timeout');
    assert.equal(client.state, 'reconnecting');
    clock.advance(30000);
    assert.equal(instances.length, 2);
    client.close();
  });

  it('a refused reconnect (401 "this guest no longer exists", browser: via /api/whoami): stops, isGuestGone', async () => {
    const gone = { error: { code: 'unauthorized', message: 'this guest no longer exists' } };
    const f = (async () => new Response(JSON.stringify(gone), { status: 401 })) as unknown as typeof fetch;
    const { client, clock, instances, events } = setup({ authCheck: true, fetch: f });
    const connecting = client.connect();
    instances[0]!.refuse(401, gone);
    await flush();
    assert.equal(client.state, 'closed');
    const state = events.filter(([t]) => t === 'state').at(-1)![1];
    assert.deepEqual([state.code, state.reason], [4001, 'this guest no longer exists']);
    assert.ok(isGuestGone(state));
    clock.advance(10 * 60 * 1000);
    assert.equal(instances.length, 1);
    await assert.rejects(connecting, (e: unknown) => e instanceof TetherError && e.status === 401);
  });

  it('isGuestGone is false for other closes', () => {
    for (const e of [{ code: 4010, reason: 'idle timeout' }, { code: 4001, reason: 'invalid token: expired' }, { code: 1000 }, {}]) {
      assert.equal(isGuestGone(e), false, JSON.stringify(e));
    }
  });
});

// Against the real tetherd: an expired token is surfaced with the server's status, code and message and
// is not retried in a loop; a SIGTERM restart (close 1001) is followed by a reconnect within the restart
// jitter that resumes the session; drop() keeps the session for a later connect().
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { TetherError, type TetherClient } from '../../src/index.js';
import { assertResumed, bytes, connectClient, makeClient } from './client.js';
import { Tetherd, nextEvent, recordStates, serverForSuite, waitFor, withTimeout } from './tetherd.js';

const clients: TetherClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

function isExpired(e: unknown): boolean {
  return e instanceof TetherError && e.status === 401 && e.code === 'unauthorized' && e.message === 'invalid token: expired';
}

describe('refused tokens', () => {
  let server: Tetherd;
  serverForSuite((s) => (server = s));

  it('an expired token: connect_error {status 401, unauthorized, "invalid token: expired"}, closed, no retry loop', async () => {
    const token = server.signToken({ sub: 'alice', exp: nowSeconds() - 60 });
    const { client, sockets } = makeClient(server, token);
    clients.push(client);
    const states = recordStates(client);
    const errorP = nextEvent(client, 'connect_error', 5000);
    const closed = nextEvent(client, 'state', 5000, (e) => e.state === 'closed');

    await assert.rejects(withTimeout(client.connect(), 5000, 'connect() to settle'), isExpired);
    const { error, phase, status, willRetry } = await errorP;
    assert.ok(isExpired(error), `got ${String(error)}`);
    assert.deepEqual([phase, status, willRetry], ['refused', 401, false]);
    const { code, reason } = await closed;
    assert.deepEqual([code, reason], [4001, 'invalid token: expired']);
    assert.deepEqual(states, ['connecting', 'closed']);

    // No retry: with a backoff of 50-250 ms a loop would have opened more sockets by now.
    const attempts = sockets.length;
    await new Promise((r) => setTimeout(r, 600)); // a bounded look for something that must NOT happen
    assert.equal(sockets.length, attempts);
    assert.equal(attempts, 1);
  });

  it('a token function is asked once more at once; a fresh valid token connects', async () => {
    const valid = await server.token('bob');
    const given: string[] = [];
    const { client, sockets } = makeClient(server, '', {
      token: () => {
        const t = given.length === 0 ? server.signToken({ sub: 'bob', exp: nowSeconds() - 60 }) : valid;
        given.push(t);
        return t;
      },
      backoff: { baseMs: 60000, maxMs: 60000 }, // only the fresh-token retry can be quick
    });
    clients.push(client);
    const errorP = nextEvent(client, 'connect_error', 5000);
    const connected = await withTimeout(client.connect(), 5000, 'connected with the fresh token');
    assert.equal(connected.user_id, 'bob');
    const e = await errorP;
    assert.ok(isExpired(e.error));
    assert.equal(e.willRetry, true);
    assert.equal(given.length, 2);
    assert.equal(sockets.length, 2);
  });

  it('a token function that keeps giving refused tokens is asked twice, then the client stops', async () => {
    let asked = 0;
    const { client, sockets } = makeClient(server, '', {
      token: () => {
        asked++;
        return server.signToken({ sub: 'carl', exp: nowSeconds() - 60 });
      },
    });
    clients.push(client);
    await assert.rejects(withTimeout(client.connect(), 5000, 'connect() to settle'), isExpired);
    assert.equal(client.state, 'closed');
    assert.equal(asked, 2);
    assert.equal(sockets.length, 2);
  });
});

describe('SIGTERM restart (close 1001)', () => {
  let server: Tetherd;
  serverForSuite((s) => (server = s));

  it('reconnects within the restart jitter, not the backoff, and resumes the session with its file', async () => {
    const jitterMs = 2000;
    // A backoff of a minute: only the 1001 path can bring the client back within the test's bounds.
    // random 0.99 puts the attempt at the end of the jitter, after the restarted server is up.
    const { client, first } = await connectClient(server, await server.token('dora'), clients, {
      backoff: { baseMs: 60000, maxMs: 60000 },
      random: () => 0.99,
      restartJitterMs: jitterMs,
    });
    const file = await client.draft.upload(bytes('kept through a deploy'), 'deploy.txt');

    const closeP = nextEvent(client, 'close', 5000);
    const reopened = nextEvent(client, 'open', 10000);
    await server.stop(); // SIGTERM: sessions closed with 1001 and persisted for resume
    const close = await closeP;
    const closedAt = Date.now();
    assert.equal(close.code, 1001);
    assert.equal(close.willReconnect, true);
    assert.ok(close.delayMs !== undefined && close.delayMs < jitterMs, `delay ${close.delayMs}`);
    await server.restart();
    assert.ok(Date.now() - closedAt < close.delayMs!, 'the server came back before the attempt (else this test proves nothing)');

    const open = await reopened;
    const after = Date.now() - closedAt;
    assert.ok(after < jitterMs + 1000, `reconnected ${after} ms after the 1001`);
    assertResumed(open, first, [file.file_id]);
    assert.ok(server.blobExists(file.file_id));
  });
});

describe('drop()', () => {
  let server: Tetherd;
  serverForSuite((s) => (server = s));

  it('closes without before_disconnect: the server keeps the session and its draft; connect() resumes', async () => {
    const { client, sockets, first } = await connectClient(server, await server.token('erin'), clients);
    const file = await client.draft.upload(bytes('still wanted'), 'e.txt');

    client.drop();
    assert.equal(client.state, 'closed');
    await waitFor('the closing handshake of the dropped socket', () => sockets[0]!.readyState === sockets[0]!.CLOSED);
    assert.equal(sockets.length, 1, 'no reconnect by itself');

    const again = await withTimeout(client.connect(), 5000, 'connected again');
    assert.equal(again.resumed, true);
    assert.equal(again.session_id, first.session_id);
    assert.deepEqual(again.file_ids, [file.file_id]);
    const fe = await server.fileEvents(file.file_id);
    assert.ok(!fe.includes('deletion_queued'), `${fe}`);
  });
});

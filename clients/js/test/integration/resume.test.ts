// Reconnect and resume against the real tetherd: a server crash (SIGKILL) and restart, an abrupt drop
// inside the resume window, and a reconnect after the window has passed.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { TetherClient } from '../../src/index.js';
import { assertResumed, bytes, connectClient, makeClient, reconnectFresh, sorted, untilReconnectNow } from './client.js';
import { Tetherd, filesDeleted, nextEvent, recordStates, serverForSuite, waitFor, withTimeout } from './tetherd.js';

const clients: TetherClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('resume with the default window (5000 ms)', () => {
  let server: Tetherd;
  serverForSuite((s) => (server = s));

  it('reconnects after a SIGKILL and restart on the same data dir, resuming the session and its files', async () => {
    const token = await server.token('alice');
    const { client } = makeClient(server, token);
    clients.push(client);
    const states = recordStates(client);

    const first = await withTimeout(client.connect(), 5000, 'connected');
    assert.equal(first.resumed, false);
    const a = await client.draft.upload(bytes('alpha'), 'a.txt');
    const b = await client.draft.upload(bytes('bravo!'), 'b.bin');
    assert.ok(server.blobExists(a.file_id) && server.blobExists(b.file_id));

    const reconnecting = nextEvent(client, 'state', 5000, (e) => e.state === 'reconnecting');
    await server.kill();
    await reconnecting;

    const reopened = nextEvent(client, 'open', 15000);
    await server.restart();
    assertResumed(await reopened, first, [a.file_id, b.file_id]);
    assert.deepEqual(sorted(client.draft.files), sorted([a.file_id, b.file_id]));
    assert.deepEqual(states, ['connecting', 'open', 'reconnecting', 'open']);
    assert.ok(server.blobExists(a.file_id), 'blob a still there');
    assert.ok(server.blobExists(b.file_id), 'blob b still there');
    const events = (await server.audit({ session_id: first.session_id })).map((r) => r.event);
    assert.ok(events.includes('session_resumed'), `session_resumed in ${events}`);
    for (const f of [a, b]) {
      const fe = await server.fileEvents(f.file_id);
      assert.ok(!fe.includes('deletion_queued') && !fe.includes('file_deleted'), `${f.file_id}: ${fe}`);
    }

    // The resumed session is live on the server: leaving without submitting deletes the draft at once.
    client.close();
    await filesDeleted(server, [a.file_id, b.file_id]);
  });

  it('resumes after an abrupt drop of the socket and keeps the tracked files', async () => {
    const { client, dropSocket, first } = await connectClient(server, await server.token('bob'), clients);
    const a = await client.draft.upload(bytes('one'), 'one.txt');
    const b = await client.draft.upload(bytes('two'), 'two.txt');

    const reopened = nextEvent(client, 'open', 5000);
    dropSocket();
    assertResumed(await reopened, first, [a.file_id, b.file_id]);
    assert.deepEqual(sorted(client.draft.files), sorted([a.file_id, b.file_id]));
    assert.ok(server.blobExists(a.file_id) && server.blobExists(b.file_id));

    // The session goes on: submitting keeps both files for good, also after leaving.
    const kept = await client.draft.submit('post-bob-1');
    assert.deepEqual(sorted(kept), sorted([a.file_id, b.file_id]));
    client.close();
    await waitFor('session_closed in the audit', async () =>
      (await server.audit({ session_id: first.session_id })).some((r) => r.event === 'session_closed'),
    );
    assert.ok(server.blobExists(a.file_id) && server.blobExists(b.file_id));
    for (const f of [a, b]) assert.ok(!(await server.fileEvents(f.file_id)).includes('file_deleted'));
  });

  it('a clean close (1000) without before_disconnect is a drop too: the session resumes with its file', async () => {
    const { client, sockets, first } = await connectClient(server, await server.token('bea'), clients);
    const a = await client.draft.upload(bytes('kept through a close'), 'c.txt');

    const reopened = nextEvent(client, 'open', 5000);
    sockets[sockets.length - 1]!.close(1000, 'bye'); // the socket alone, not client.close()
    assertResumed(await reopened, first, [a.file_id]);
    assert.ok(server.blobExists(a.file_id));
  });
});

describe('resume after the window (300 ms)', () => {
  let server: Tetherd;
  serverForSuite((s) => (server = s), { set: { 'session.resume_window_ms': 300 } });

  it('gets resumed:false, re-registers, and reports the deleted files through draft_rejected', async () => {
    const { client, dropSocket, first } = await connectClient(server, await server.token('carol'), clients, untilReconnectNow);
    const a = await client.draft.upload(bytes('first file'), 'first.txt');
    const b = await client.draft.upload(bytes('second file'), 'second.txt');

    const reconnecting = nextEvent(client, 'state', 5000, (e) => e.state === 'reconnecting');
    const dropAt = Date.now();
    dropSocket();
    await reconnecting;

    // The window passes and the server deletes the draft.
    await filesDeleted(server, [a.file_id, b.file_id]);
    const deletedAfter = Date.now() - dropAt;
    assert.ok(deletedAfter >= 250, `deleted ${deletedAfter} ms after the drop, before the 300 ms window`);
    assert.equal(client.state, 'reconnecting');

    const rejected = await reconnectFresh(client, first);
    assert.deepEqual(
      sorted(rejected.map((r) => `${r.file_id}:${r.code}`)),
      sorted([`${a.file_id}:not_found`, `${b.file_id}:not_found`]),
    );
    assert.equal(client.draft.files.size, 0);
  });
});

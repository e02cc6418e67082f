// The draft (abandoned-upload cleanup) against the real tetherd, with a resume window of 0.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { TetherClient } from '../../src/index.js';
import { bytes, connectClient, reconnectFresh, sorted, untilReconnectNow } from './client.js';
import { Tetherd, filesDeleted, nextEvent, serverForSuite, waitFor } from './tetherd.js';

describe('draft with resume window 0', () => {
  let server: Tetherd;
  const clients: TetherClient[] = [];
  serverForSuite((s) => (server = s), { set: { 'session.resume_window_ms': 0 } });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  const sessionClosed = (sessionId: string) =>
    waitFor(`session_closed of ${sessionId} in the audit`, async () =>
      (await server.audit({ session_id: sessionId })).find((r) => r.event === 'session_closed'),
    );
  const bothDeleted = (a: string, b: string) => filesDeleted(server, [a, b]);

  it('upload + submit keeps the files after close()', async () => {
    const { client, first: connected } = await connectClient(server, await server.token('dave'), clients);
    const a = await client.draft.upload(bytes('keep me'), 'keep-a.txt');
    const b = await client.draft.upload(new Uint8Array([0, 1, 2, 255]), 'keep-b.bin');
    assert.equal(a.size, 7);
    assert.equal(b.size, 4);
    const kept = await client.draft.submit('post-dave-1');
    assert.deepEqual(sorted(kept), sorted([a.file_id, b.file_id]));
    assert.equal(client.draft.files.size, 0);
    assert.equal(client.draft.submitted, true);

    client.close();
    const closed = await sessionClosed(connected.session_id);
    assert.equal(closed.reason, 'left');
    assert.ok(server.blobExists(a.file_id) && server.blobExists(b.file_id), 'blobs kept');
    const submitted = (await server.audit({ session_id: connected.session_id })).find((r) => r.event === 'post_submitted');
    assert.ok(submitted, 'post_submitted in the audit');
    for (const f of [a, b]) {
      const events = await server.fileEvents(f.file_id);
      assert.ok(!events.includes('deletion_queued') && !events.includes('file_deleted'), `${f.file_id}: ${events}`);
    }
  });

  it('close() without submit deletes the files at once', async () => {
    const { client, first: connected } = await connectClient(server, await server.token('erin'), clients);
    const a = await client.draft.upload(bytes('draft a'), 'draft-a.txt');
    const b = await client.draft.upload(bytes('draft b'), 'draft-b.txt');
    assert.ok(server.blobExists(a.file_id) && server.blobExists(b.file_id));

    client.close();
    await bothDeleted(a.file_id, b.file_id);
    const closed = await sessionClosed(connected.session_id);
    assert.equal(closed.reason, 'left');
  });

  it('an abrupt drop deletes the files at once; the reconnect reports them rejected', async () => {
    const { client, dropSocket, first } = await connectClient(server, await server.token('frank'), clients, untilReconnectNow);
    const a = await client.draft.upload(bytes('x'), 'x.txt');
    const b = await client.draft.upload(bytes('y'), 'y.txt');

    const reconnecting = nextEvent(client, 'state', 5000, (e) => e.state === 'reconnecting');
    dropSocket();
    await reconnecting;
    await bothDeleted(a.file_id, b.file_id);

    const rejected = await reconnectFresh(client, first);
    assert.deepEqual(sorted(rejected.map((r) => r.file_id)), sorted([a.file_id, b.file_id]));
    assert.ok(rejected.every((r) => r.code === 'not_found'));
  });
});

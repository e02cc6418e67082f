// The draft (abandoned-upload cleanup) against the real tetherd, with a resume window of 0.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { TetherClient } from '../../src/index.js';
import { bytes, makeClient, sorted } from './client.js';
import { Tetherd, nextEvent, waitFor, withTimeout } from './tetherd.js';

describe('draft with resume window 0', () => {
  let server: Tetherd;
  const clients: TetherClient[] = [];
  before(async () => {
    server = await Tetherd.start({ set: { 'session.resume_window_ms': 0 } });
  });
  after(async () => {
    await server?.dispose();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  const sessionClosed = (sessionId: string) =>
    waitFor(`session_closed of ${sessionId} in the audit`, async () =>
      (await server.audit({ session_id: sessionId })).find((r) => r.event === 'session_closed'),
    );
  const bothDeleted = (a: string, b: string) =>
    waitFor(`${a} and ${b} deleted (blob gone, file_deleted audited)`, async () => {
      if (server.blobExists(a) || server.blobExists(b)) return false;
      return (await server.fileEvents(a)).includes('file_deleted') && (await server.fileEvents(b)).includes('file_deleted');
    });

  it('upload + submit keeps the files after close()', async () => {
    const { client } = makeClient(server, await server.token('dave'));
    clients.push(client);
    const connected = await withTimeout(client.connect(), 5000, 'connected');
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
    const { client } = makeClient(server, await server.token('erin'));
    clients.push(client);
    const connected = await withTimeout(client.connect(), 5000, 'connected');
    const a = await client.draft.upload(bytes('draft a'), 'draft-a.txt');
    const b = await client.draft.upload(bytes('draft b'), 'draft-b.txt');
    assert.ok(server.blobExists(a.file_id) && server.blobExists(b.file_id));

    client.close();
    await bothDeleted(a.file_id, b.file_id);
    const closed = await sessionClosed(connected.session_id);
    assert.equal(closed.reason, 'left');
  });

  it('an abrupt drop deletes the files at once; the reconnect reports them rejected', async () => {
    const { client, dropSocket } = makeClient(server, await server.token('frank'), {
      backoff: { baseMs: 60000, maxMs: 60000 },
      random: () => 0.99,
    });
    clients.push(client);
    const first = await withTimeout(client.connect(), 5000, 'connected');
    const a = await client.draft.upload(bytes('x'), 'x.txt');
    const b = await client.draft.upload(bytes('y'), 'y.txt');

    const reconnecting = nextEvent(client, 'state', 5000, (e) => e.state === 'reconnecting');
    dropSocket();
    await reconnecting;
    await bothDeleted(a.file_id, b.file_id);

    const rejectedP = nextEvent(client, 'draft_rejected', 5000);
    const reopened = nextEvent(client, 'open', 5000);
    client.reconnectNow();
    const open = await reopened;
    assert.equal(open.resumed, false);
    assert.notEqual(open.session_id, first.session_id);
    const { rejected } = await rejectedP;
    assert.deepEqual(sorted(rejected.map((r) => r.file_id)), sorted([a.file_id, b.file_id]));
    assert.ok(rejected.every((r) => r.code === 'not_found'));
  });
});

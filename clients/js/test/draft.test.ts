import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TetherError } from '../src/index.js';
import { flush, setup } from './helpers.js';

function ackFor(sock: { messages: any[]; receive(m: object): void }, type: string, extra: object = {}) {
  const m = [...sock.messages].reverse().find((x) => x.type === type);
  assert.ok(m, `no ${type} sent`);
  sock.receive({ type: 'ack', for: type, ref: m.ref, ...extra });
  return m;
}

// A connected client that tracks f1 (acked); then its socket drops and the next attempt starts.
async function trackedThenRetrying() {
  const env = setup();
  void env.client.connect();
  env.accept();
  const t = env.client.draft.track('f1');
  ackFor(env.last(), 'file_uploaded');
  await t;
  env.serverDrops();
  return env;
}

describe('draft', () => {
  it('track / untrack / submit', async () => {
    const { client, last, accept } = setup();
    void client.connect();
    accept();
    const t1 = client.draft.track('f1');
    const t2 = client.draft.track('f2');
    assert.deepEqual(
      last().messages.map((m) => [m.type, m.file_id]),
      [
        ['file_uploaded', 'f1'],
        ['file_uploaded', 'f2'],
      ],
    );
    last().receive({ type: 'ack', for: 'file_uploaded', file_id: 'f1', ref: 1 });
    last().receive({ type: 'ack', for: 'file_uploaded', file_id: 'f2', ref: 2 });
    await t1;
    await t2;
    assert.deepEqual([...client.draft.files], ['f1', 'f2']);

    const u = client.draft.untrack('f2');
    ackFor(last(), 'file_removed', { file_id: 'f2' });
    await u;
    assert.deepEqual([...client.draft.files], ['f1']);

    const s = client.draft.submit('post-1');
    const sent = ackFor(last(), 'post_submitted', { post_id: 'post-1', kept: ['f1'] });
    assert.equal(sent.post_id, 'post-1');
    assert.deepEqual(await s, ['f1']);
    assert.equal(client.draft.files.size, 0);
    assert.equal(client.draft.submitted, true);
  });

  it('track rejects with the server error', async () => {
    const { client, last, accept } = setup();
    void client.connect();
    accept();
    const t = client.draft.track('nope');
    last().receive({ type: 'error', code: 'forbidden', message: 'not your file', ref: 1 });
    await assert.rejects(t, (e: unknown) => e instanceof TetherError && e.code === 'forbidden');
    assert.equal(client.draft.files.size, 0);
  });

  it('re-registers tracked files after a reconnect that was not a resume, surfacing rejected ones', async () => {
    const { client, clock, instances, last, accept, events } = setup();
    void client.connect();
    accept();
    const t1 = client.draft.track('f1');
    const t2 = client.draft.track('f2');
    ackFor(last(), 'file_uploaded');
    last().receive({ type: 'ack', for: 'file_uploaded', ref: 1 });
    await Promise.all([t1, t2]);

    last().serverClose(1006);
    client.send({ type: 'publish', room_id: 'r', data: 'queued meanwhile' });
    clock.advance(30000);
    accept({ resumed: false });
    const sock = instances[1]!;
    const [reg, pub] = sock.messages;
    assert.equal(reg.type, 'register', 'register goes before queued messages');
    assert.deepEqual([...reg.file_ids].sort(), ['f1', 'f2']);
    assert.equal(pub.type, 'publish');
    sock.receive({
      type: 'registered',
      ref: reg.ref,
      session_id: 's',
      file_ids: ['f1'],
      rejected: [{ file_id: 'f2', code: 'not_found' }],
    });
    await flush();
    const rej = events.filter(([t]) => t === 'draft_rejected');
    assert.equal(rej.length, 1);
    assert.deepEqual(rej[0]![1].rejected, [{ file_id: 'f2', code: 'not_found' }]);
    assert.deepEqual([...client.draft.files], ['f1']);
  });

  it('does not re-register after a resume', async () => {
    const { client, instances, accept } = await trackedThenRetrying();
    accept({ resumed: true });
    assert.deepEqual(instances[1]!.messages, []);
    assert.deepEqual([...client.draft.files], ['f1']);
  });

  it("takes the tracked set from a resumed connected's file_ids", async () => {
    const { client, instances, accept } = await trackedThenRetrying();
    // The server tracks f2 too (its ack was lost in an earlier drop) and no longer f1.
    accept({ resumed: true, file_ids: ['f2'] });
    assert.deepEqual(instances[1]!.messages, []);
    assert.deepEqual([...client.draft.files], ['f2']);
  });

  it('sends a draft call again when the connection drops before its ack', async () => {
    const { client, clock, instances, accept } = setup();
    void client.connect();
    accept();
    const t = client.draft.track('f1');
    instances[0]!.serverClose(1006);
    await flush();
    clock.advance(500);
    accept({ resumed: true });
    const m = instances[1]!.messages.find((x) => x.type === 'file_uploaded');
    assert.ok(m, 'file_uploaded sent again');
    instances[1]!.receive({ type: 'ack', for: 'file_uploaded', file_id: 'f1', ref: m.ref });
    await t;
    assert.deepEqual([...client.draft.files], ['f1']);
  });

  it('upload POSTs the raw body with the Bearer token, then tracks the file', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fetchStub = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ file_id: 'F9', size: 3, name: 'a b.png' }), { status: 201 });
    }) as unknown as typeof fetch;
    const { client, last, accept } = setup({ url: 'wss://chat.example:8443/ws', fetch: fetchStub, token: async () => 'jwt' });
    void client.connect();
    await flush();
    accept();
    const body = new Uint8Array([1, 2, 3]);
    const up = client.draft.upload(body, 'a b.png');
    for (let i = 0; i < 5 && !last().messages.some((m) => m.type === 'file_uploaded'); i++) await flush();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.url, 'https://chat.example:8443/api/files?name=a%20b.png');
    assert.equal(calls[0]!.init.method, 'POST');
    assert.equal((calls[0]!.init.headers as Record<string, string>).Authorization, 'Bearer jwt');
    assert.equal(calls[0]!.init.body, body);
    const m = ackFor(last(), 'file_uploaded', { file_id: 'F9' });
    assert.equal(m.file_id, 'F9');
    assert.deepEqual(await up, { file_id: 'F9', size: 3, name: 'a b.png' });
    assert.deepEqual([...client.draft.files], ['F9']);
  });

  it('upload failure rejects with the HTTP error code', async () => {
    const fetchStub = (async () =>
      new Response(JSON.stringify({ error: { code: 'too_large', message: 'too big' } }), { status: 413 })) as unknown as typeof fetch;
    const { client } = setup({ fetch: fetchStub });
    await assert.rejects(client.draft.upload(new Blob(['x']), 'x.bin'), (e: unknown) => {
      return e instanceof TetherError && e.code === 'too_large' && e.message === 'too big';
    });
  });

  it('close() forgets the draft (the server cleans it up)', async () => {
    const { client, last, accept } = setup();
    void client.connect();
    accept();
    const t = client.draft.track('f1');
    ackFor(last(), 'file_uploaded');
    await t;
    client.close();
    assert.equal(client.draft.files.size, 0);
  });
});

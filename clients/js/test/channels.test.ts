// Channels API with the fake WebSocket and clock: subscribe/unsubscribe and their refs, the
// de-duplication of replays, the re-subscribe with since_id after a reconnect (fresh session and
// resume), presence, notifications, connection events, feed and published messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TetherError, type ChannelsEventMap } from '../src/index.js';
import { chatMsg, flush, setup, type FakeSocket } from './helpers.js';

/** The messages of this type the client sent on the socket. */
function sentAll(sock: FakeSocket, type: string): any[] {
  return sock.messages.filter((x) => x.type === type);
}
/** The last message of this type the client sent on the socket (optionally for this channel). */
function sentOf(sock: FakeSocket, type: string, channel?: string): any {
  const m = [...sock.messages].reverse().find((x) => x.type === type && (channel === undefined || x.channel === channel));
  assert.ok(m, `no ${type}${channel ? ` for ${channel}` : ''} sent; sent: ${sock.sent.join(' ')}`);
  return m;
}

/** Records the channels helper's events as [name, event]. */
function record(channels: { on<K extends keyof ChannelsEventMap>(k: K, l: (e: ChannelsEventMap[K]) => void): () => void }) {
  const seen: Array<[string, any]> = [];
  for (const k of ['subscribed', 'lost', 'message', 'notification', 'connection', 'feed', 'channelMessage', 'presence'] as const) {
    channels.on(k, (e: any) => seen.push([k, e]));
  }
  return seen;
}

/** An open client (user alice). */
function openClient(options: Parameters<typeof setup>[0] = {}) {
  const t = setup(options);
  void t.client.connect();
  t.accept({ user_id: 'alice' });
  return t;
}

/** Subscribes and answers `subscribed` at once; returns the subscribe message sent. */
async function subscribed(t: ReturnType<typeof setup>, channel: string, sinceId?: number) {
  const p = t.client.subscribe(channel, sinceId === undefined ? {} : { sinceId });
  const sent = sentOf(t.last(), 'subscribe', channel);
  t.last().receive({ type: 'subscribed', channel, ref: sent.ref });
  await p;
  return sent;
}

describe('channels: subscribe and unsubscribe', () => {
  it('subscribe sends subscribe with a ref (and since_id) and resolves with subscribed', async () => {
    const t = openClient();
    const seen = record(t.client.channels);
    const p = t.client.subscribe('notifications', { sinceId: 7 });
    const sent = sentOf(t.last(), 'subscribe');
    assert.deepEqual(sent, { type: 'subscribe', channel: 'notifications', since_id: 7, ref: sent.ref });
    t.last().receive({ type: 'subscribed', channel: 'notifications', ref: sent.ref });
    const reply = await p;
    assert.equal(reply.type, 'subscribed');
    assert.equal(reply.channel, 'notifications');
    assert.deepEqual(t.client.channels.subscriptions, ['notifications']);
    assert.deepEqual(seen.map(([k, e]) => [k, e.channel, e.resubscribed]), [['subscribed', 'notifications', false]]);
    // Without sinceId: no since_id field.
    void t.client.subscribe('feed');
    assert.deepEqual(Object.keys(sentOf(t.last(), 'subscribe', 'feed')).sort(), ['channel', 'ref', 'type']);
  });

  it('replies are matched by ref, whatever their order', async () => {
    const t = openClient();
    const a = t.client.subscribe('messages/c1');
    const b = t.client.subscribe('messages/c2');
    const refA = sentOf(t.last(), 'subscribe', 'messages/c1').ref;
    const refB = sentOf(t.last(), 'subscribe', 'messages/c2').ref;
    assert.notEqual(refA, refB);
    t.last().receive({ type: 'error', code: 'forbidden', message: 'not a member of c2', ref: refB });
    t.last().receive({ type: 'subscribed', channel: 'messages/c1', ref: refA });
    assert.equal((await a).channel, 'messages/c1');
    await assert.rejects(b, (e: unknown) => e instanceof TetherError && e.code === 'forbidden' && e.message === 'not a member of c2');
    // The refused channel is not kept (nor re-subscribed later).
    assert.deepEqual(t.client.channels.subscriptions, ['messages/c1']);
  });

  it('unsubscribe forgets the channel at once and resolves on unsubscribed; not_found counts as done', async () => {
    const t = openClient();
    await subscribed(t, 'feed');
    const p = t.client.unsubscribe('feed');
    assert.deepEqual(t.client.channels.subscriptions, []);
    const sent = sentOf(t.last(), 'unsubscribe');
    assert.deepEqual(sent, { type: 'unsubscribe', channel: 'feed', ref: sent.ref });
    t.last().receive({ type: 'unsubscribed', channel: 'feed', ref: sent.ref });
    await p;
    const q = t.client.unsubscribe('online');
    t.last().receive({ type: 'error', code: 'not_found', message: 'not subscribed', ref: sentOf(t.last(), 'unsubscribe', 'online').ref });
    await q;
  });

  it('a subscribe that times out rejects with timeout and is forgotten', async () => {
    const t = openClient({ requestTimeoutMs: 1000 });
    const p = t.client.subscribe('feed');
    t.clock.advance(1000);
    await assert.rejects(p, (e: unknown) => e instanceof TetherError && e.code === 'timeout');
    assert.deepEqual(t.client.channels.subscriptions, []);
  });

  it('a subscribe whose socket drops before the answer is sent again after the reconnect', async () => {
    const t = openClient();
    const p = t.client.subscribe('messages/c1', { sinceId: 3 });
    t.serverDrops();
    t.accept({ user_id: 'alice', resumed: false });
    await flush();
    const again = sentAll(t.last(), 'subscribe');
    assert.equal(again.length, 1, 'sent once again (by the subscribe itself, not by a re-subscribe too)');
    assert.equal(again[0].since_id, 3);
    t.last().receive({ type: 'subscribed', channel: 'messages/c1', ref: again[0].ref });
    assert.equal((await p).channel, 'messages/c1');
  });

  it('close() forgets every subscription (nothing is re-subscribed on a later connect)', async () => {
    const t = openClient();
    await subscribed(t, 'feed');
    await subscribed(t, 'notifications');
    t.client.close();
    assert.deepEqual(t.client.channels.subscriptions, []);
    void t.client.connect();
    t.accept({ user_id: 'alice' });
    assert.deepEqual(sentAll(t.last(), 'subscribe'), []);
  });
});

describe('channels: de-duplication and re-subscribe after a reconnect', () => {
  it('a replay after a resume is de-duplicated by message_id: each message once, in order', async () => {
    const t = openClient();
    const chat = t.client.chat('c1');
    const got: number[] = [];
    const raw: number[] = [];
    const all: number[] = [];
    chat.on('message', (e) => got.push(e.message.message_id));
    t.client.on('new_message', (m) => raw.push(m.message_id));
    t.client.on('*', (m) => m.type === 'new_message' && all.push(m.message_id as number));
    await subscribed(t, 'messages/c1');
    for (const id of [1, 2, 3]) t.last().receive(chatMsg('c1', id));
    t.serverDrops();
    t.accept({ user_id: 'alice', resumed: true });
    // Resumed: the session kept its subscription; the client still asks for everything after 3.
    const re = sentOf(t.last(), 'subscribe', 'messages/c1');
    assert.equal(re.since_id, 3);
    // The server replays from its last queued item (2), then our since_id replay (4), then live (5).
    t.last().receive(chatMsg('c1', 2));
    t.last().receive(chatMsg('c1', 3));
    t.last().receive(chatMsg('c1', 4));
    t.last().receive({ type: 'subscribed', channel: 'messages/c1', ref: re.ref });
    t.last().receive(chatMsg('c1', 4));
    t.last().receive(chatMsg('c1', 5));
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.deepEqual(raw, [1, 2, 3, 4, 5], "the client's own new_message event leaves replays out too");
    assert.deepEqual(all, [1, 2, 3, 2, 3, 4, 4, 5], "'*' sees every frame");
    assert.equal(t.client.channels.lastSeen('messages/c1'), 5);
  });

  it('after resumed:false every channel is subscribed again, ahead of queued messages, with since_id = last seen', async () => {
    const t = openClient();
    await subscribed(t, 'messages/c1');
    await subscribed(t, 'messages/c2'); // nothing seen there
    await subscribed(t, 'notifications', 10); // nothing seen after 10
    await subscribed(t, 'connections');
    await subscribed(t, 'feed');
    await subscribed(t, 'online');
    t.last().receive(chatMsg('c1', 4));
    t.last().receive({ type: 'connection_request', id: 12, request_id: 'r1', from_user_id: 'bob', from_user_name: 'Bob' });
    t.last().serverClose(1006);
    void t.client.chat('c1').send('queued meanwhile', { clientMsgId: 'q1' });
    t.clock.advance(1000); // the backoff (not the send's timeout)
    const seen = record(t.client.channels);
    t.accept({ user_id: 'alice', resumed: false });
    const sent = t.last().messages;
    assert.deepEqual(
      sent.map((m) => [m.type, m.channel ?? m.client_msg_id, m.since_id]),
      [
        ['subscribe', 'messages/c1', 4],
        ['subscribe', 'messages/c2', undefined],
        ['subscribe', 'notifications', 10],
        ['subscribe', 'connections', 12],
        ['subscribe', 'feed', undefined],
        ['subscribe', 'online', undefined],
        ['message', 'q1', undefined],
      ],
    );
    for (const m of sent.filter((x) => x.type === 'subscribe')) t.last().receive({ type: 'subscribed', channel: m.channel, ref: m.ref });
    assert.deepEqual(
      seen.filter(([k]) => k === 'subscribed').map(([, e]) => [e.channel, e.resubscribed]),
      ['messages/c1', 'messages/c2', 'notifications', 'connections', 'feed', 'online'].map((c) => [c, true]),
    );
  });

  it('after resumed:true every channel is subscribed again too, history ones with since_id (a restart loses subscriptions)', async () => {
    const t = openClient();
    await subscribed(t, 'messages/c1');
    await subscribed(t, 'messages/c2');
    await subscribed(t, 'notifications');
    await subscribed(t, 'feed');
    await subscribed(t, 'online');
    t.last().receive(chatMsg('c1', 9));
    t.last().receive({ type: 'notification', id: 3, kind: 'like', post_id: 'p1', user_id: 'bob', user_name: 'Bob' });
    t.serverDrops();
    t.accept({ user_id: 'alice', resumed: true });
    assert.deepEqual(
      sentAll(t.last(), 'subscribe').map((m) => [m.channel, m.since_id]),
      [
        ['messages/c1', 9],
        ['messages/c2', undefined],
        ['notifications', 3],
        ['feed', undefined],
        ['online', undefined],
      ],
    );
  });

  it('a re-subscribe lost with the socket is sent again after the next connected, even resumed', async () => {
    const t = openClient();
    await subscribed(t, 'feed');
    t.serverDrops();
    t.accept({ user_id: 'alice', resumed: false });
    assert.equal(sentAll(t.last(), 'subscribe').length, 1);
    t.serverDrops(); // before its answer
    await flush();
    t.accept({ user_id: 'alice', resumed: true });
    await flush();
    const again = sentAll(t.last(), 'subscribe');
    assert.deepEqual(again.map((m) => m.channel), ['feed']);
  });

  it('a refused re-subscribe (no longer a member) ends the subscription with a lost event', async () => {
    const t = openClient();
    await subscribed(t, 'messages/c1');
    const seen = record(t.client.channels);
    t.serverDrops();
    t.accept({ user_id: 'alice', resumed: false });
    const re = sentOf(t.last(), 'subscribe', 'messages/c1');
    t.last().receive({ type: 'error', code: 'forbidden', message: 'not a member', ref: re.ref });
    await flush();
    assert.deepEqual(t.client.channels.subscriptions, []);
    assert.deepEqual(seen.map(([k, e]) => [k, e.channel, e.error?.code]), [['lost', 'messages/c1', 'forbidden']]);
  });

  it('a subscribe with sinceId starts the de-duplication again from there (a replay the application asked for)', async () => {
    const t = openClient();
    const got: number[] = [];
    t.client.channels.on('message', (e) => got.push(e.message.message_id));
    await subscribed(t, 'messages/c1');
    t.last().receive(chatMsg('c1', 1));
    t.last().receive(chatMsg('c1', 2));
    // A live message in flight before the server handles the subscribe, then subscribed, then the replay.
    const p = t.client.subscribe('messages/c1', { sinceId: 0 });
    t.last().receive(chatMsg('c1', 3));
    t.last().receive({ type: 'subscribed', channel: 'messages/c1', ref: sentOf(t.last(), 'subscribe').ref });
    for (const id of [1, 2, 3]) t.last().receive(chatMsg('c1', id));
    t.last().receive(chatMsg('c1', 4));
    await p;
    assert.deepEqual(got, [1, 2, 3, 1, 2, 3, 4]);
  });

  it('an automatic subscription (/ws/notifications) is kept and subscribed again after a fresh session', async () => {
    const t = setup({ url: 'ws://example.test:8080/ws/notifications' });
    void t.client.connect();
    t.accept({ user_id: 'alice' });
    t.last().receive({ type: 'subscribed', channel: 'notifications' });
    t.last().receive({ type: 'notification', id: 5, kind: 'custom', data: { x: 1 } });
    assert.deepEqual(t.client.channels.subscriptions, ['notifications']);
    t.serverDrops();
    t.accept({ user_id: 'alice', resumed: false });
    assert.deepEqual(sentAll(t.last(), 'subscribe').map((m) => [m.channel, m.since_id]), [['notifications', 5]]);
  });
});

describe('channels: notifications, connections, feed, published messages', () => {
  it('notifications and connection events are de-duplicated by id, each stream on its own', async () => {
    const t = openClient();
    const seen = record(t.client.channels);
    const raw: number[] = [];
    t.client.on('notification', (m) => raw.push(m.id));
    await subscribed(t, 'notifications');
    await subscribed(t, 'connections');
    const n = (id: number) => ({ type: 'notification', id, kind: 'new_post', author_id: 'bob', post: { id: `p${id}` } });
    const c = (id: number, type = 'connection_request') => ({ type, id, request_id: `r${id}`, from_user_id: 'bob', from_user_name: 'Bob' });
    for (const m of [n(1), c(2), n(3), n(1), n(3), c(2), c(4, 'connection_accepted'), n(5)]) t.last().receive(m);
    assert.deepEqual(
      seen.filter(([k]) => k !== 'subscribed').map(([k, e]) => [k, e.id]),
      [
        ['notification', 1],
        ['connection', 2],
        ['notification', 3],
        ['connection', 4],
        ['notification', 5],
      ],
    );
    assert.deepEqual(raw, [1, 3, 5]);
    assert.equal(t.client.channels.lastSeen('notifications'), 5);
    assert.equal(t.client.channels.lastSeen('connections'), 4);
  });

  it('feed (new_post, new_comment) and channel_message come as events', async () => {
    const t = openClient();
    const seen = record(t.client.channels);
    t.last().receive({ type: 'new_post', author_id: 'bob', post: { id: 'p1', content: 'hi' } });
    t.last().receive({ type: 'new_comment', post_id: 'p1', comment: { text: 'yo' }, user_id: 'carol', user_name: 'Carol' });
    t.last().receive({ type: 'channel_message', channel: 'news', data: { n: 1 } });
    assert.deepEqual(
      seen.map(([k, e]) => [k, e.type ?? e.channel]),
      [
        ['feed', 'new_post'],
        ['feed', 'new_comment'],
        ['channelMessage', 'news'],
      ],
    );
    assert.deepEqual(seen[2]![1].data, { n: 1 });
  });
});

describe('channels: presence', () => {
  it('presence fills client.presence; user_online / user_offline keep it live, with an event each', async () => {
    const t = openClient();
    const seen = record(t.client.channels);
    const p = t.client.subscribe('online');
    const ref = sentOf(t.last(), 'subscribe', 'online').ref;
    t.last().receive({ type: 'subscribed', channel: 'online', ref });
    t.last().receive({ type: 'presence', ref, users: [{ user_id: 'alice', full_name: 'Alice' }, { user_id: 'bob', full_name: 'Bob' }] });
    await p;
    assert.deepEqual([...t.client.presence], [['alice', 'Alice'], ['bob', 'Bob']]);
    t.last().receive({ type: 'user_online', user_id: 'carol', full_name: 'Carol' });
    t.last().receive({ type: 'user_offline', user_id: 'bob' });
    assert.deepEqual([...t.client.presence], [['alice', 'Alice'], ['carol', 'Carol']]);
    const changes = seen.filter(([k]) => k === 'presence').map(([, e]) => [e.change, e.user_id]);
    assert.deepEqual(changes, [['snapshot', undefined], ['online', 'carol'], ['offline', 'bob']]);
    // A fresh snapshot (after a re-subscribe) replaces the list.
    t.last().receive({ type: 'presence', users: [{ user_id: 'dave', full_name: 'Dave' }] });
    assert.deepEqual([...t.client.presence.keys()], ['dave']);
    // Unsubscribing empties it.
    void t.client.unsubscribe('online');
    assert.equal(t.client.presence.size, 0);
    assert.equal(seen[seen.length - 1]![1].change, 'cleared');
  });

  it('close() empties the presence list', async () => {
    const t = openClient();
    await subscribed(t, 'online');
    t.last().receive({ type: 'presence', users: [{ user_id: 'bob', full_name: 'Bob' }] });
    t.client.close();
    assert.equal(t.client.presence.size, 0);
  });
});

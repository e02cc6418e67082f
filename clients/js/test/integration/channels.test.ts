// The channels API against the real tetherd: subscribe/unsubscribe, a chat between two clients (send,
// delivered, read, typing, history paging), presence across tabs, a subscriber that comes back with
// since_id after a fresh session (by hand and by the client's own re-subscribe), a resume that
// replays what the dropped socket missed, and notifications (live to a subscriber, stored for an
// offline user and replayed on a later subscribe with since_id).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  TetherError,
  type ChannelsEventMap,
  type Chat,
  type ChatEventMap,
  type NewMessageMessage,
  type TetherClient,
  type TetherClientOptions,
} from '../../src/index.js';
import { makeClient, untilReconnectNow } from './client.js';
import { Tetherd, nextEvent, serverForSuite, waitFor, withTimeout } from './tetherd.js';

const RESUME_WINDOW_MS = 1500;

/** The direct chat of two users: `dm:{a}:{b}` with a < b. */
const dm = (a: string, b: string): string => (a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`);

/** The next event of a chat handle (that passes filter), within timeoutMs. Subscribe before acting. */
function nextChatEvent<K extends keyof ChatEventMap>(chat: Chat, type: K, filter: (e: ChatEventMap[K]) => boolean = () => true, timeoutMs = 5000): Promise<ChatEventMap[K]> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      off();
      rej(new Error(`timed out after ${timeoutMs} ms waiting for chat ${chat.chatId} '${type}'`));
    }, timeoutMs);
    const off = chat.on(type, (e) => {
      if (!filter(e)) return;
      clearTimeout(timer);
      off();
      res(e);
    });
  });
}

/** The next event of the channels helper (that passes filter), within timeoutMs. Subscribe before acting. */
function nextChannelsEvent<K extends keyof ChannelsEventMap>(
  client: TetherClient,
  type: K,
  filter: (e: ChannelsEventMap[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ChannelsEventMap[K]> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      off();
      rej(new Error(`timed out after ${timeoutMs} ms waiting for channels '${type}'`));
    }, timeoutMs);
    const off = client.channels.on(type, (e) => {
      if (!filter(e)) return;
      clearTimeout(timer);
      off();
      res(e);
    });
  });
}

/** Every message the chat passes on from now on (live and replayed), in order. */
function collect(chat: Chat): NewMessageMessage[] {
  const got: NewMessageMessage[] = [];
  chat.on('message', (e) => got.push(e.message));
  return got;
}

describe('channels against tetherd', () => {
  let server: Tetherd;
  const clients: TetherClient[] = [];
  serverForSuite((s) => (server = s), { set: { 'session.resume_window_ms': RESUME_WINDOW_MS } });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  /** A connected client of `user`, with `name` as the token's name (its full_name on `online`). */
  async function open(user: string, name = user.toUpperCase(), options: Partial<TetherClientOptions> = {}) {
    const token = server.signToken({ sub: user, name, exp: Math.floor(Date.now() / 1000) + 3600 });
    const t = makeClient(server, token, options);
    clients.push(t.client);
    const first = await withTimeout(t.client.connect(), 5000, `${user} connected`);
    return { ...t, first };
  }

  it('subscribe and unsubscribe; a non-member of a chat is refused with forbidden', async () => {
    const { client: ann } = await open('sub-ann');
    const { client: eve } = await open('sub-eve');
    const chatId = dm('sub-ann', 'sub-bob');

    const reply = await ann.subscribe(`messages/${chatId}`);
    assert.equal(reply.type, 'subscribed');
    assert.equal(reply.channel, `messages/${chatId}`);
    await ann.subscribe('feed');
    assert.deepEqual(ann.channels.subscriptions.sort(), ['feed', `messages/${chatId}`].sort());

    await assert.rejects(eve.subscribe(`messages/${chatId}`), (e: unknown) => e instanceof TetherError && e.code === 'forbidden');
    assert.deepEqual(eve.channels.subscriptions, []);

    await ann.unsubscribe('feed');
    assert.deepEqual(ann.channels.subscriptions, [`messages/${chatId}`]);
    // The server no longer has it: a second unsubscribe is not_found (which unsubscribe() takes as done).
    await assert.rejects(ann.request({ type: 'unsubscribe', channel: 'feed' }), (e: unknown) => e instanceof TetherError && e.code === 'not_found');
    await ann.unsubscribe('feed');
  });

  it('chat: send resolves with the stored message; the other side gets it; delivered then read come back', async () => {
    const { client: alice } = await open('c-alice');
    const { client: bob } = await open('c-bob');
    const chatId = dm('c-alice', 'c-bob');
    const a = alice.chat(chatId);
    const b = bob.chat(chatId);
    await a.subscribe();
    await b.subscribe();
    const atAlice = collect(a);
    const atBob = collect(b);

    const delivered = nextChatEvent(a, 'delivered');
    const stored = await a.send('hello bob', { attachment: { kind: 'test', n: 1 } });
    assert.equal(stored.chat_id, chatId);
    assert.equal(stored.sender_id, 'c-alice');
    assert.equal(stored.content, 'hello bob');
    assert.deepEqual(stored.attachment, { kind: 'test', n: 1 });
    assert.equal(typeof stored.client_msg_id, 'string');
    assert.match(stored.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const d = await delivered;
    assert.deepEqual([d.message_id, d.user_id, d.receipt.status], [stored.message_id, 'c-bob', 'delivered']);
    await waitFor('bob has the message', () => atBob.length === 1);
    assert.equal(atBob[0]!.message_id, stored.message_id);
    assert.equal(atBob[0]!.content, 'hello bob');
    assert.equal(b.receipt(stored.message_id), undefined, "bob keeps no receipts of alice's messages");

    const read = nextChatEvent(a, 'read');
    const ack = await b.markRead(stored.message_id);
    assert.equal(ack.for, 'message_read');
    const r = await read;
    assert.deepEqual([r.message_id, r.user_id, r.receipt.status], [stored.message_id, 'c-bob', 'read']);
    assert.match(r.read_at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(a.receipt(stored.message_id)?.status, 'read');
    // Alice saw her own message once (subscribed and the sender), bob once.
    assert.deepEqual(atAlice.map((m) => m.message_id), [stored.message_id]);
    assert.equal(atBob.length, 1);

    // A resend with the same client_msg_id is stored once: the same message comes back.
    const again = await a.send('hello bob', { clientMsgId: stored.client_msg_id! });
    assert.equal(again.message_id, stored.message_id);
    await assert.rejects(b.markRead(stored.message_id + 1000), (e: unknown) => e instanceof TetherError && e.code === 'not_found');
  });

  it('chat: typing reaches the other member (start and stop); the sender does not see its own', async () => {
    const { client: alice } = await open('t-alice');
    const { client: bob } = await open('t-bob');
    const chatId = dm('t-alice', 't-bob');
    await alice.chat(chatId).subscribe();
    await bob.chat(chatId).subscribe();
    const ownTyping: unknown[] = [];
    alice.chat(chatId).on('typing', (e) => ownTyping.push(e));

    const started = nextChatEvent(bob.chat(chatId), 'typing');
    assert.equal(alice.chat(chatId).typing(true), true);
    const s = await started;
    assert.deepEqual([s.user_id, s.is_typing, [...s.typing]], ['t-alice', true, ['t-alice']]);
    const stopped = nextChatEvent(bob.chat(chatId), 'typing');
    alice.chat(chatId).typing(false);
    const st = await stopped;
    assert.deepEqual([st.user_id, st.is_typing, [...st.typing]], ['t-alice', false, []]);
    // A message after it, as a barrier: by then any typing echo to alice would have come.
    const got = nextChatEvent(alice.chat(chatId), 'message');
    await bob.chat(chatId).send('barrier');
    await got;
    assert.deepEqual(ownTyping, []);
  });

  it('chat: history pages backwards with before_id and limit, ascending, has_more', async () => {
    const { client: alice } = await open('h-alice');
    const chatId = dm('h-alice', 'h-bob');
    const chat = alice.chat(chatId);
    const ids: number[] = [];
    for (let i = 1; i <= 7; i++) ids.push((await chat.send(`h${i}`)).message_id);
    assert.deepEqual([...ids].sort((x, y) => x - y), ids, 'message_id increases');

    const newest = await chat.history({ limit: 3 });
    assert.deepEqual(newest.messages.map((m) => m.content), ['h5', 'h6', 'h7']);
    assert.equal(newest.has_more, true);
    const middle = await chat.history({ beforeId: newest.messages[0]!.message_id, limit: 3 });
    assert.deepEqual(middle.messages.map((m) => m.content), ['h2', 'h3', 'h4']);
    assert.equal(middle.has_more, true);
    const oldest = await chat.history({ beforeId: middle.messages[0]!.message_id, limit: 3 });
    assert.deepEqual(oldest.messages.map((m) => m.content), ['h1']);
    assert.equal(oldest.has_more, false);
    const all = await chat.history();
    assert.deepEqual(all.messages.map((m) => m.message_id), ids);
    assert.equal(all.has_more, false);
    assert.equal(all.messages[0]!.sender_id, 'h-alice');
  });

  it('presence: two tabs of one user make one user_online, and closing them one by one exactly one user_offline', async () => {
    const { client: watcher } = await open('p-watch', 'Watcher');
    const log: string[] = [];
    watcher.channels.on('presence', (e) => {
      if (e.change === 'online' || e.change === 'offline') log.push(`${e.change}:${e.user_id}`);
    });
    await watcher.subscribe('online');
    await waitFor('the watcher in its own presence list', () => watcher.presence.get('p-watch') === 'Watcher');

    const cameOnline = nextChannelsEvent(watcher, 'presence', (e) => e.change === 'online' && e.user_id === 'p-pat');
    const { client: tab1 } = await open('p-pat', 'Pat P');
    await cameOnline;
    assert.equal(watcher.presence.get('p-pat'), 'Pat P');
    const { client: tab2 } = await open('p-pat', 'Pat P');
    // tab2 sees both itself and the watcher in its snapshot.
    await tab2.subscribe('online');
    await waitFor('presence snapshot on tab2', () => tab2.presence.has('p-watch') && tab2.presence.has('p-pat'));

    tab1.close();
    // A barrier: someone else comes online after tab1 is gone; an offline for pat would have come first.
    const barrier = nextChannelsEvent(watcher, 'presence', (e) => e.change === 'online' && e.user_id === 'p-quinn');
    await waitFor('tab1 closed', () => tab1.state === 'closed');
    await open('p-quinn');
    await barrier;
    assert.ok(watcher.presence.has('p-pat'), 'pat still online with one tab left');

    const wentOffline = nextChannelsEvent(watcher, 'presence', (e) => e.change === 'offline' && e.user_id === 'p-pat');
    tab2.close();
    await wentOffline;
    assert.equal(watcher.presence.has('p-pat'), false);
    // Another barrier, then: exactly one online and one offline for pat.
    const barrier2 = nextChannelsEvent(watcher, 'presence', (e) => e.change === 'online' && e.user_id === 'p-rae');
    await open('p-rae');
    await barrier2;
    assert.deepEqual(log.filter((x) => x.endsWith(':p-pat')), ['online:p-pat', 'offline:p-pat']);
  });

  it('a subscriber that left (a fresh session) comes back with since_id: exactly the 20 it missed, in order, then live ones', async () => {
    const { client: bob } = await open('s-bob');
    const chatId = dm('s-alice', 's-bob');
    let { client: alice } = await open('s-alice');
    await alice.chat(chatId).subscribe();
    const first = nextChatEvent(alice.chat(chatId), 'message');
    await bob.chat(chatId).send('before');
    const seen = (await first).message.message_id;
    assert.equal(alice.channels.lastSeen(`messages/${chatId}`), seen);

    alice.close(); // before_disconnect: the session ends, no resume
    const missed: number[] = [];
    for (let i = 1; i <= 20; i++) missed.push((await bob.chat(chatId).send(`missed ${i}`)).message_id);

    ({ client: alice } = await open('s-alice'));
    const got = collect(alice.chat(chatId));
    await alice.chat(chatId).subscribe({ sinceId: seen });
    await waitFor('the 20 missed messages', () => got.length >= 20);
    const live = await bob.chat(chatId).send('live');
    await waitFor('the live message', () => got.length >= 21);
    assert.deepEqual(got.map((m) => m.message_id), [...missed, live.message_id]);
    assert.deepEqual(got.slice(0, 20).map((m) => m.content), missed.map((_, i) => `missed ${i + 1}`));
    // Nothing twice (the barrier: one more live message).
    const last = await bob.chat(chatId).send('last');
    await waitFor('the last message', () => got.length >= 22);
    assert.equal(got.length, 22);
    assert.equal(got[21]!.message_id, last.message_id);
  });

  it("after the resume window (a fresh session), the client's own re-subscribe brings what was missed, once", async () => {
    const { client: bob } = await open('f-bob');
    const { client: watcher } = await open('f-watch');
    await watcher.subscribe('online');
    const chatId = dm('f-alice', 'f-bob');
    const { client: alice, first } = await open('f-alice', 'F', untilReconnectNow);
    await alice.chat(chatId).subscribe();
    const got = collect(alice.chat(chatId));
    const m0 = await bob.chat(chatId).send('seen');
    await waitFor('alice has the first message', () => got.length === 1);

    const gone = nextChannelsEvent(watcher, 'presence', (e) => e.change === 'offline' && e.user_id === 'f-alice', RESUME_WINDOW_MS + 5000);
    alice.drop(); // no before_disconnect: the session waits out its resume window, then ends
    const missed: number[] = [];
    for (let i = 1; i <= 5; i++) missed.push((await bob.chat(chatId).send(`while away ${i}`)).message_id);
    await gone; // the window has passed: the session is over

    const reopened = nextEvent(alice, 'open', 5000);
    void alice.connect();
    const open2 = await reopened;
    assert.equal(open2.resumed, false);
    assert.notEqual(open2.session_id, first.session_id);
    await waitFor('the 5 missed messages', () => got.length >= 6);
    const live = await bob.chat(chatId).send('live');
    await waitFor('the live one', () => got.length >= 7);
    assert.deepEqual(got.map((m) => m.message_id), [m0.message_id, ...missed, live.message_id]);
  });

  it('a resume (socket dropped abruptly, reconnect with the resume token) replays what was missed, once, in order', async () => {
    const { client: bob } = await open('r-bob');
    const chatId = dm('r-alice', 'r-bob');
    const { client: alice, first, dropSocket } = await open('r-alice', 'R', untilReconnectNow);
    await alice.chat(chatId).subscribe();
    await alice.subscribe('notifications');
    const got = collect(alice.chat(chatId));
    const notes: number[] = [];
    alice.channels.on('notification', (n) => notes.push(n.id));
    const m0 = await bob.chat(chatId).send('seen');
    await waitFor('alice has the first message', () => got.length === 1);

    const reconnecting = nextEvent(alice, 'state', 5000, (e) => e.state === 'reconnecting');
    dropSocket();
    await reconnecting;
    const missed: number[] = [];
    for (let i = 1; i <= 5; i++) missed.push((await bob.chat(chatId).send(`missed ${i}`)).message_id);
    const notified = await server.postApi('/api/users/r-alice/notify', { data: { hello: 'while away' } });
    assert.equal(notified.status, 202, JSON.stringify(notified.body));

    const reopened = nextEvent(alice, 'open', 5000);
    alice.reconnectNow();
    const open2 = await reopened;
    assert.equal(open2.resumed, true);
    assert.equal(open2.session_id, first.session_id);
    await waitFor('the 5 missed messages', () => got.length >= 6);
    await waitFor('the notification', () => notes.length >= 1);
    const live = await bob.chat(chatId).send('live');
    await waitFor('the live one', () => got.length >= 7);
    assert.deepEqual(got.map((m) => m.message_id), [m0.message_id, ...missed, live.message_id]);
    assert.equal(notes.length, 1);
  });

  it('notifications: a new post reaches a subscribed follower live, and an offline one on a later subscribe with since_id', async () => {
    const { client: fay } = await open('n-fay');
    await fay.subscribe('notifications');
    const live = nextChannelsEvent(fay, 'notification');
    const post = { id: 'post-1', content: 'Hello followers' };
    const res = await server.postApi('/api/notify/post', { author_id: 'n-auth', post, follower_ids: ['n-fay', 'n-gus'] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { delivered: 1, stored: 1 });
    const n = await live;
    assert.equal(n.kind, 'new_post');
    assert.equal(n.author_id, 'n-auth');
    assert.deepEqual(n.post, post);
    assert.equal(typeof n.id, 'number');

    // gus was offline: the notification waits for him.
    const { client: gus } = await open('n-gus');
    const got: number[] = [];
    gus.channels.on('notification', (x) => got.push(x.id));
    const replayed = nextChannelsEvent(gus, 'notification');
    await gus.subscribe('notifications', { sinceId: 0 });
    const r = await replayed;
    assert.equal(r.kind, 'new_post');
    assert.deepEqual(r.post, post);
    // Later ones come live, after it; a subscribe with since_id = the last one replays nothing more.
    const like = nextChannelsEvent(gus, 'notification', (x) => x.kind === 'like');
    await server.postApi('/api/notify/like', { post_owner_id: 'n-gus', post_id: 'post-9', user_id: 'n-fay', user_name: 'Fay' });
    const l = await like;
    assert.ok(l.id > r.id);
    await gus.subscribe('notifications', { sinceId: l.id });
    const barrier = nextChannelsEvent(gus, 'notification', (x) => x.kind === 'custom');
    await server.postApi('/api/users/n-gus/notify', { data: { n: 3 } });
    await barrier;
    assert.deepEqual(got, [r.id, l.id, got[2]]);
    assert.equal(got.length, 3);
  });

  it('auto-subscribed endpoints: /ws/notifications?since_id=0 replays and is kept as a subscription; /ws/messages/{chat} refuses a non-member with 403', async () => {
    const stored = await server.postApi('/api/users/e-joy/notify', { data: { waiting: true } });
    assert.deepEqual(stored.body, { delivered: 0, stored: 1 });
    const joy = makeClient(server, server.signToken({ sub: 'e-joy', exp: Math.floor(Date.now() / 1000) + 3600 }), {
      url: `${server.wsUrl}/notifications?since_id=0`,
    }).client;
    clients.push(joy);
    const replayed = nextChannelsEvent(joy, 'notification');
    const subscribedEvent = nextChannelsEvent(joy, 'subscribed');
    await withTimeout(joy.connect(), 5000, 'joy connected');
    const sub = await subscribedEvent;
    assert.deepEqual([sub.channel, sub.resubscribed, sub.message.ref], ['notifications', false, undefined]);
    const n = await replayed;
    assert.deepEqual([n.kind, n.data], ['custom', { waiting: true }]);
    assert.deepEqual(joy.channels.subscriptions, ['notifications']);
    assert.equal(joy.channels.lastSeen('notifications'), n.id);

    const kim = makeClient(server, server.signToken({ sub: 'e-kim', exp: Math.floor(Date.now() / 1000) + 3600 }), {
      url: `${server.wsUrl}/messages/${dm('e-joy', 'e-lee')}`,
    }).client;
    clients.push(kim);
    const refused = nextEvent(kim, 'connect_error');
    await assert.rejects(withTimeout(kim.connect(), 5000, 'kim refused'), (e: unknown) => e instanceof TetherError && e.status === 403);
    const err = await refused;
    assert.deepEqual([err.phase, err.status, err.willRetry], ['refused', 403, false]);
    assert.equal(kim.state, 'closed');
  });

  it('connections, feed and /api/publish arrive as their events', async () => {
    const { client: hal } = await open('x-hal');
    await hal.subscribe('connections');
    await hal.subscribe('feed');
    const request = nextChannelsEvent(hal, 'connection');
    const res = await server.postApi('/api/notify/connection_request', { to_user_id: 'x-hal', request_id: 'req-1', from_user_id: 'x-ivy', from_user_name: 'Ivy' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const c = await request;
    assert.deepEqual([c.type, c.request_id, c.from_user_id, c.from_user_name], ['connection_request', 'req-1', 'x-ivy', 'Ivy']);

    const feed = nextChannelsEvent(hal, 'feed');
    await server.postApi('/api/notify/post', { author_id: 'x-ivy', post: { id: 'fp-1', content: 'on the feed' }, follower_ids: ['x-nobody'] });
    const f = await feed;
    assert.equal(f.type, 'new_post');
    assert.deepEqual((f as { post: unknown }).post, { id: 'fp-1', content: 'on the feed' });

    const published = nextChannelsEvent(hal, 'channelMessage');
    const pub = await server.postApi('/api/publish', { channel: 'feed', data: { banner: 'hi all' } });
    assert.equal(pub.status, 202, JSON.stringify(pub.body));
    const p = await published;
    assert.deepEqual([p.channel, p.data, p.message.type], ['feed', { banner: 'hi all' }, 'channel_message']);
  });
});

describe('channels across a server restart', () => {
  let server: Tetherd;
  const clients: TetherClient[] = [];
  serverForSuite((s) => (server = s));
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('a session resumed after a SIGKILL and restart gets its subscriptions back (the client subscribes again) and what it missed', async () => {
    const token = (user: string) => server.signToken({ sub: user, name: user, exp: Math.floor(Date.now() / 1000) + 3600 });
    const alice = makeClient(server, token('k-alice')).client;
    const bob = makeClient(server, token('k-bob')).client;
    clients.push(alice, bob);
    const first = await withTimeout(alice.connect(), 5000, 'alice connected');
    await withTimeout(bob.connect(), 5000, 'bob connected');
    const chatId = dm('k-alice', 'k-bob');
    await alice.chat(chatId).subscribe();
    const got = collect(alice.chat(chatId));
    const m1 = await bob.chat(chatId).send('before the crash');
    await waitFor('alice has the first message', () => got.length === 1);

    const reconnecting = nextEvent(alice, 'state', 5000, (e) => e.state === 'reconnecting');
    await server.kill();
    await reconnecting;
    const aliceBack = nextEvent(alice, 'open', 15000);
    const bobBack = nextEvent(bob, 'open', 15000);
    const resubscribed = nextChannelsEvent(alice, 'subscribed', (e) => e.channel === `messages/${chatId}`, 15000);
    await server.restart();
    const open = await aliceBack;
    await bobBack;
    assert.equal(open.resumed, true);
    assert.equal(open.session_id, first.session_id);
    assert.equal((await resubscribed).resubscribed, true);
    const m2 = await bob.chat(chatId).send('after the restart');
    await waitFor('the message after the restart', () => got.length >= 2);
    assert.deepEqual(got.map((m) => m.message_id), [m1.message_id, m2.message_id]);
  });
});

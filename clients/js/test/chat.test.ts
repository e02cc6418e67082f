// Chat handles with the fake WebSocket and clock: send (resolved by client_msg_id, sent again after
// a drop with the same id), receipts (sent, delivered, read), markRead, typing, history, errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPING_TIMEOUT_MS, TetherError, type ChatEventMap } from '../src/index.js';
import { chatMsg, flush, setup, type FakeSocket } from './helpers.js';

function sentOf(sock: FakeSocket, type: string): any {
  const m = [...sock.messages].reverse().find((x) => x.type === type);
  assert.ok(m, `no ${type} sent; sent: ${sock.sent.join(' ')}`);
  return m;
}

/** An open client (user alice) and the handle of the dm with bob. */
function inChat(options: Parameters<typeof setup>[0] = {}) {
  const t = setup(options);
  void t.client.connect();
  t.accept({ user_id: 'alice' });
  return { ...t, chat: t.client.chat('dm:alice:bob') };
}

function record(chat: { on<K extends keyof ChatEventMap>(k: K, l: (e: ChatEventMap[K]) => void): () => void }) {
  const seen: Array<[string, any]> = [];
  for (const k of ['message', 'delivered', 'read', 'typing', 'receipt'] as const) chat.on(k, (e: any) => seen.push([k, e]));
  return seen;
}

const C = 'dm:alice:bob';

describe('chat: send', () => {
  it('send generates a client_msg_id and resolves with the own new_message that carries it (no ref needed)', async () => {
    const { client, chat, last } = inChat();
    const seen = record(chat);
    assert.equal(client.chat(C), chat, 'one handle per chat');
    const p = chat.send('hello', { attachment: { url: '/f/1' } });
    const sent = sentOf(last(), 'message');
    assert.match(sent.client_msg_id, /^[A-Za-z0-9_.:@-]{1,128}$/);
    assert.deepEqual(sent, { type: 'message', chat_id: C, content: 'hello', attachment: { url: '/f/1' }, client_msg_id: sent.client_msg_id, ref: sent.ref });
    // Someone else's message with another client_msg_id does not resolve it.
    last().receive(chatMsg(C, 1, 'bob', { client_msg_id: 'other' }));
    last().receive(chatMsg(C, 2, 'alice', { content: 'hello', client_msg_id: sent.client_msg_id, attachment: { url: '/f/1' } }));
    const stored = await p;
    assert.equal(stored.message_id, 2);
    assert.equal(stored.sender_id, 'alice');
    assert.deepEqual(
      seen.filter(([k]) => k === 'message').map(([, e]) => [e.message.message_id, e.own]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.equal(chat.receipt(2)?.status, 'sent');
    assert.equal(chat.receipt(1), undefined, 'no receipts for the messages of others');
  });

  it('two sends resolve each with its own message; an explicit clientMsgId is used as given', async () => {
    const { chat, last } = inChat();
    const a = chat.send('a', { clientMsgId: 'mine-1' });
    const b = chat.send('b', { clientMsgId: 'mine-2' });
    assert.deepEqual(last().messages.filter((m) => m.type === 'message').map((m) => m.client_msg_id), ['mine-1', 'mine-2']);
    last().receive(chatMsg(C, 8, 'alice', { client_msg_id: 'mine-2', content: 'b' }));
    last().receive(chatMsg(C, 7, 'alice', { client_msg_id: 'mine-1', content: 'a' }));
    assert.equal((await b).message_id, 8);
    assert.equal((await a).message_id, 7);
  });

  it('an error reply (too_large) rejects the send with the server code', async () => {
    const { chat, last } = inChat();
    const p = chat.send('x'.repeat(5000));
    last().receive({ type: 'error', code: 'too_large', message: 'content over 4000 bytes', ref: sentOf(last(), 'message').ref });
    await assert.rejects(p, (e: unknown) => e instanceof TetherError && e.code === 'too_large');
  });

  it('a send whose socket drops before its new_message is sent again with the same client_msg_id; the repeat is seen once', async () => {
    const { chat, last, serverDrops, accept, client } = inChat();
    const got: number[] = [];
    chat.on('message', (e) => got.push(e.message.message_id));
    const raw: number[] = [];
    client.on('new_message', (m) => raw.push(m.message_id));
    const p = chat.send('hi');
    const first = sentOf(last(), 'message');
    // The server stored it (message 3) and the new_message went to a socket that died.
    serverDrops();
    accept({ user_id: 'alice', resumed: false });
    await flush();
    const again = sentOf(last(), 'message');
    assert.equal(again.client_msg_id, first.client_msg_id);
    assert.equal(again.content, 'hi');
    last().receive(chatMsg(C, 3, 'alice', { client_msg_id: first.client_msg_id }));
    assert.equal((await p).message_id, 3);
    // Seen before (e.g. by a replay on a subscription): a repeat of the same message_id is not passed on again.
    last().receive(chatMsg(C, 3, 'alice', { client_msg_id: first.client_msg_id }));
    assert.deepEqual(got, [3]);
    assert.deepEqual(raw, [3]);
  });

  it('a repeat answer of a send already seen still resolves it (the server sends the stored message again)', async () => {
    const { chat, last } = inChat();
    last().receive(chatMsg(C, 4, 'alice', { client_msg_id: 'k1' })); // seen, e.g. from the first attempt
    const p = chat.send('again', { clientMsgId: 'k1' });
    last().receive(chatMsg(C, 4, 'alice', { client_msg_id: 'k1' }));
    assert.equal((await p).message_id, 4);
  });

  it('a send times out after requestTimeoutMs without its new_message; close() rejects a pending one', async () => {
    const { chat, clock, client } = inChat({ requestTimeoutMs: 1000 });
    const p = chat.send('lost');
    clock.advance(1000);
    await assert.rejects(p, (e: unknown) => e instanceof TetherError && e.code === 'timeout');
    const q = chat.send('closing');
    client.close();
    await assert.rejects(q, (e: unknown) => e instanceof TetherError && e.code === 'closed');
  });
});

describe('chat: receipts', () => {
  it('sent -> delivered -> read, with events and the receipt state', async () => {
    const { chat, last } = inChat();
    const p = chat.send('tick', { clientMsgId: 't1' });
    last().receive(chatMsg(C, 10, 'alice', { client_msg_id: 't1' }));
    await p;
    const seen = record(chat);
    assert.deepEqual({ ...chat.receipt(10) }, { message_id: 10, status: 'sent', deliveredTo: new Set(), readBy: new Map() });
    last().receive({ type: 'message_delivered', message_id: 10, chat_id: C, user_id: 'bob' });
    assert.equal(chat.receipt(10)?.status, 'delivered');
    assert.deepEqual([...chat.receipt(10)!.deliveredTo], ['bob']);
    last().receive({ type: 'message_delivered', message_id: 10, chat_id: C, user_id: 'bob' }); // again: nothing new
    last().receive({ type: 'message_read', message_id: 10, chat_id: C, user_id: 'bob', read_at: '2026-01-01T12:00:05.000Z' });
    const r = chat.receipt(10)!;
    assert.equal(r.status, 'read');
    assert.equal(r.readBy.get('bob'), '2026-01-01T12:00:05.000Z');
    assert.deepEqual(
      seen.map(([k, e]) => [k, e.message_id, e.user_id, e.receipt.status]),
      [
        ['delivered', 10, 'bob', 'delivered'],
        ['receipt', 10, undefined, 'delivered'],
        ['read', 10, 'bob', 'read'],
        ['receipt', 10, undefined, 'read'],
      ],
    );
  });

  it('a read without a delivered before it counts as delivered too; receipts of an own message from another tab are kept', async () => {
    const { chat, last } = inChat();
    last().receive({ type: 'message_read', message_id: 20, chat_id: C, user_id: 'bob', read_at: 'T' });
    assert.equal(chat.receipt(20)?.status, 'read');
    assert.deepEqual([...chat.receipt(20)!.deliveredTo], ['bob']);
    // A delivered after the read does not move it back.
    last().receive({ type: 'message_delivered', message_id: 20, chat_id: C, user_id: 'carol' });
    assert.equal(chat.receipt(20)?.status, 'read');
  });

  it('the status is per message: delivered to one of several recipients is delivered', async () => {
    const { client, last } = inChat();
    const group = client.chat('team');
    last().receive(chatMsg('team', 1, 'alice'));
    last().receive(chatMsg('team', 2, 'alice'));
    last().receive({ type: 'message_delivered', message_id: 2, chat_id: 'team', user_id: 'carol' });
    assert.equal(group.receipt(1)?.status, 'sent');
    assert.equal(group.receipt(2)?.status, 'delivered');
  });
});

describe('chat: markRead, typing, history', () => {
  it('markRead sends message_read and resolves on the ack; an unknown message rejects with not_found', async () => {
    const { chat, last } = inChat();
    const p = chat.markRead(5);
    const sent = sentOf(last(), 'message_read');
    assert.deepEqual(sent, { type: 'message_read', chat_id: C, message_id: 5, ref: sent.ref });
    last().receive({ type: 'ack', for: 'message_read', chat_id: C, message_id: 5, ref: sent.ref });
    assert.equal((await p).for, 'message_read');
    const q = chat.markRead(999);
    last().receive({ type: 'error', code: 'not_found', message: 'no message 999', ref: sentOf(last(), 'message_read').ref });
    await assert.rejects(q, (e: unknown) => e instanceof TetherError && e.code === 'not_found');
  });

  it('typing is sent without a ref while open, and dropped while the connection is down', async () => {
    const { chat, last, client } = inChat();
    assert.equal(chat.typing(true), true);
    assert.deepEqual(sentOf(last(), 'typing'), { type: 'typing', chat_id: C, is_typing: true });
    last().serverClose(1006);
    assert.equal(chat.typing(false), false);
    assert.equal(client.queueLength, 0);
  });

  it("others' typing comes as events and in typingUsers; it stops on false, on their message, or after TYPING_TIMEOUT_MS", async () => {
    const { chat, last, clock } = inChat();
    const seen = record(chat);
    const typingOf = () => [...chat.typingUsers];
    last().receive({ type: 'typing', chat_id: C, user_id: 'bob', is_typing: true });
    last().receive({ type: 'typing', chat_id: C, user_id: 'bob', is_typing: true }); // a repeat: no new event
    assert.deepEqual(typingOf(), ['bob']);
    last().receive({ type: 'typing', chat_id: C, user_id: 'bob', is_typing: false });
    assert.deepEqual(typingOf(), []);
    last().receive({ type: 'typing', chat_id: C, user_id: 'bob', is_typing: true });
    last().receive(chatMsg(C, 1, 'bob'));
    assert.deepEqual(typingOf(), []);
    last().receive({ type: 'typing', chat_id: C, user_id: 'bob', is_typing: true });
    clock.advance(TYPING_TIMEOUT_MS - 1);
    assert.deepEqual(typingOf(), ['bob']);
    clock.advance(1);
    assert.deepEqual(typingOf(), []);
    assert.deepEqual(
      seen.filter(([k]) => k === 'typing').map(([, e]) => e.is_typing),
      [true, false, true, false, true, false],
    );
    // Its own typing (another tab of the same user) is not shown.
    last().receive({ type: 'typing', chat_id: C, user_id: 'alice', is_typing: true });
    assert.deepEqual(typingOf(), []);
  });

  it('history sends before_id and limit and resolves with the messages and has_more', async () => {
    const { chat, last } = inChat();
    const p = chat.history({ beforeId: 51, limit: 2 });
    const sent = sentOf(last(), 'history');
    assert.deepEqual(sent, { type: 'history', chat_id: C, before_id: 51, limit: 2, ref: sent.ref });
    last().receive({ type: 'history', chat_id: C, messages: [chatMsg(C, 49), chatMsg(C, 50)], has_more: true, ref: sent.ref });
    const page = await p;
    assert.deepEqual(page.messages.map((m) => m.message_id), [49, 50]);
    assert.equal(page.has_more, true);
    // Without options: none sent.
    void chat.history();
    assert.deepEqual(Object.keys(sentOf(last(), 'history')).sort(), ['chat_id', 'ref', 'type']);
  });

  it('chat.subscribe() / unsubscribe() are the messages/{chat_id} channel', async () => {
    const { chat, last, client } = inChat();
    const p = chat.subscribe({ sinceId: 2 });
    const sent = sentOf(last(), 'subscribe');
    assert.deepEqual(sent, { type: 'subscribe', channel: `messages/${C}`, since_id: 2, ref: sent.ref });
    last().receive({ type: 'error', code: 'forbidden', message: 'not a member', ref: sent.ref });
    await assert.rejects(p, (e: unknown) => e instanceof TetherError && e.code === 'forbidden');
    assert.deepEqual(client.channels.subscriptions, []);
  });
});

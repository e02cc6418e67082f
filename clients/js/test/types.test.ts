// Compile-time checks of the public types (the test is that this file compiles).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import WS from 'ws';
import {
  TetherClient,
  type AckMessage,
  type HistoryPage,
  type ListedRoom,
  type NewMessageMessage,
  type PongMessage,
  type Receipt,
  type RoomJoinedMessage,
  type RoomView,
  type SubscribedMessage,
  type WebSocketConstructor,
} from '../src/index.js';

it('public types accept the DOM WebSocket and the ws package, and type replies', () => {
  const dom: WebSocketConstructor | undefined = undefined as unknown as typeof globalThis.WebSocket | undefined;
  const node: WebSocketConstructor = WS;
  void dom;
  void node;
  const client = new TetherClient({ url: 'ws://x/ws', token: () => Promise.resolve('t'), WebSocket: WS });
  const typed = async () => {
    const pong: PongMessage = await client.request({ type: 'ping' });
    const ack: AckMessage = await client.request({ type: 'file_uploaded', file_id: 'f' });
    const kept: string[] = (await client.request({ type: 'post_submitted' })).kept;
    client.on('registered', (m) => m.rejected.map((r) => r.code));
    client.on('state', (e) => e.state satisfies 'connecting' | 'open' | 'reconnecting' | 'closed');
    const joined: RoomJoinedMessage = await client.rooms.join('r', { displayName: 'Ann' });
    const view: RoomView | undefined = client.rooms.get('r');
    const names: string[] = [...(view?.participants.values() ?? [])].map((p) => p.display_name);
    const listed: ListedRoom[] = await client.rooms.watch();
    client.rooms.on('userLeft', (e) => e.reason satisfies string);
    client.rooms.on('left', (e) => e.reason satisfies 'left' | 'switched' | 'rejoin_failed' | 'closed');
    const sub: SubscribedMessage = await client.subscribe('messages/dm:a:b', { sinceId: 3 });
    const chat = client.chat('dm:a:b');
    const stored: NewMessageMessage = await chat.send('hi', { attachment: { n: 1 }, clientMsgId: 'c1' });
    const page: HistoryPage = await chat.history({ beforeId: stored.message_id, limit: 10 });
    const read: AckMessage = await chat.markRead(stored.message_id);
    const receipt: Receipt | undefined = chat.receipt(stored.message_id);
    chat.on('receipt', (e) => e.receipt.status satisfies 'sent' | 'delivered' | 'read');
    chat.on('typing', (e) => [...e.typing].map((u) => u.length));
    client.channels.on('notification', (n) => n.id + 1);
    client.channels.on('connection', (c) => c.from_user_name.length);
    client.channels.on('presence', (e) => e.change satisfies 'snapshot' | 'online' | 'offline' | 'cleared');
    const names2: string[] = [...client.presence.values()];
    client.on('new_message', (m) => m.client_msg_id satisfies string | null);
    const typed: boolean = chat.typing(true);
    return [pong, ack, kept, joined, names, listed, sub, page, read, receipt, names2, typed];
  };
  assert.equal(typeof typed, 'function');
  assert.equal(client.state, 'closed');
});

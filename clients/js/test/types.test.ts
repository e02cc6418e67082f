// Compile-time checks of the public types (the test is that this file compiles).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import WS from 'ws';
import { TetherClient, type AckMessage, type ListedRoom, type PongMessage, type RoomJoinedMessage, type RoomView, type WebSocketConstructor } from '../src/index.js';

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
    return [pong, ack, kept, joined, names, listed];
  };
  assert.equal(typeof typed, 'function');
  assert.equal(client.state, 'closed');
});

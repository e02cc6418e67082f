// Compile-time checks of the public types (the test is that this file compiles).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import WS from 'ws';
import { TetherClient, type AckMessage, type PongMessage, type WebSocketConstructor } from '../src/index.js';

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
    return [pong, ack, kept];
  };
  assert.equal(typeof typed, 'function');
  assert.equal(client.state, 'closed');
});

// Interop with the `ws` package over real sockets (a tiny stand-in server, not tether).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { TetherClient } from '../src/index.js';

describe('with the ws package', () => {
  let wss: WebSocketServer;
  let port = 0;
  const urls: string[] = [];
  let n = 0;

  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (sock, req) => {
      urls.push(req.url ?? '');
      n++;
      const resumed = /resume=/.test(req.url ?? '');
      sock.send(JSON.stringify({ type: 'connected', session_id: 'S', user_id: 'u', resume_token: `R${n}`, heartbeat_ms: 30000, resumed }));
      sock.on('message', (data) => {
        const msg = JSON.parse(String(data));
        if (msg.type === 'ping') sock.send(JSON.stringify({ type: 'pong', server_time: 'T', ref: msg.ref }));
        if (msg.type === 'drop') sock.terminate();
        if (msg.type === 'before_disconnect') sock.send(JSON.stringify({ type: 'ack', for: 'before_disconnect' }));
      });
    });
  });
  after(async () => {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  it('connects, answers a request, reconnects with resume and closes', async () => {
    const client = new TetherClient({ url: `ws://127.0.0.1:${port}/ws`, token: 'a.b.c', WebSocket, random: () => 0 });
    const first = await client.connect();
    assert.equal(first.resumed, false);
    const pong = await client.request({ type: 'ping' });
    assert.equal(pong.server_time, 'T');
    const reopened = client.once('open');
    client.send({ type: 'drop' });
    const again = await reopened;
    assert.equal(again.resumed, true);
    assert.equal(urls.at(-1), '/ws?token=a.b.c&resume=R1');
    const closed = client.once('close');
    client.close();
    assert.equal((await closed).code, 1000);
    assert.equal(client.state, 'closed');
  });
});

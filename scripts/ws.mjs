#!/usr/bin/env node
// A minimal WebSocket client for trying tetherd by hand, with nothing to install (Node >= 18; its
// built-in WebSocket needs Node 22). Each stdin line is sent as a text message; every message the
// server sends is printed. At the end of stdin it closes (code 1000) once the server has been
// quiet for 500 ms (at most 5 s), so the replies to what was sent are printed first.
//
//   echo '{"type":"ping"}' | node scripts/ws.mjs "ws://127.0.0.1:8080/ws?token=$TOKEN"
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

const url = new URL(process.argv[2] ?? '');
if (url.protocol !== 'ws:') {
  console.error('usage: node scripts/ws.mjs ws://HOST:PORT/PATH?token=T   (wss: use a real client)');
  process.exit(2);
}

const req = request({
  host: url.hostname, port: url.port || 80, path: url.pathname + url.search,
  headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
             'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
});
req.on('response', (res) => {  // refused: the server says why in the body
  let body = '';
  res.on('data', (d) => (body += d)).on('end', () => {
    console.error(`HTTP ${res.statusCode}: ${body}`);
    process.exit(1);
  });
});
req.on('error', (e) => { console.error(e.message); process.exit(1); });
req.on('upgrade', (res, socket, head) => {
  const frame = (opcode, payload) => {  // client frames are masked (RFC 6455 5.3)
    const len = payload.length;
    const header = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
      : len < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    socket.write(Buffer.concat([header, mask, masked]));
  };
  let quietTimer, inputDone = false, closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    frame(8, Buffer.from([0x03, 0xe8]));  // 1000
    setTimeout(() => process.exit(0), 1000).unref();
  };
  const quiet = () => {
    clearTimeout(quietTimer);
    if (inputDone) quietTimer = setTimeout(close, 500);
  };
  let buf = head;
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 127, at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      if (buf.length < at + len) return;
      const opcode = buf[0] & 15, payload = buf.subarray(at, at + len);
      buf = buf.subarray(at + len);
      if (opcode === 1) { console.log(payload.toString('utf8')); quiet(); }
      else if (opcode === 9) frame(10, payload);  // ping -> pong
      else if (opcode === 8) {
        console.error(`closed by the server: ${len >= 2 ? payload.readUInt16BE(0) : 1005}`);
        if (!closing) frame(8, payload.subarray(0, 2));
        process.exit(0);
      }
    }
  });
  socket.on('close', () => process.exit(0));
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim()) frame(1, Buffer.from(line, 'utf8'));
  }).on('close', () => {
    inputDone = true;
    quiet();
    setTimeout(close, 5000).unref();
  });
});
req.end();

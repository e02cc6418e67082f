// A TetherClient on the `ws` package for the integration tests, with access to its sockets.
import WebSocket from 'ws';
import { TetherClient, type TetherClientOptions } from '../../src/index.js';
import type { Tetherd } from './tetherd.js';

export interface TestClient {
  client: TetherClient;
  /** Every WebSocket the client opened, oldest first. */
  sockets: WebSocket[];
  /** Drops the current socket abruptly (no close frame), as a lost network would. */
  dropSocket(): void;
}

export function makeClient(server: Tetherd, token: string, options: Partial<TetherClientOptions> = {}): TestClient {
  const sockets: WebSocket[] = [];
  class TrackedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  const client = new TetherClient({
    url: server.wsUrl,
    token,
    WebSocket: TrackedWebSocket as unknown as TetherClientOptions['WebSocket'],
    backoff: { baseMs: 50, maxMs: 250 },
    requestTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    ...options,
  });
  return {
    client,
    sockets,
    dropSocket() {
      const ws = sockets[sockets.length - 1];
      if (!ws) throw new Error('no socket to drop');
      ws.terminate();
    },
  };
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();

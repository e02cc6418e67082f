// A TetherClient on the `ws` package for the integration tests, with access to its sockets.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { TetherClient, type ConnectedMessage, type OpenEvent, type RejectedFile, type TetherClientOptions } from '../../src/index.js';
import { nextEvent, withTimeout, type Tetherd } from './tetherd.js';

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

/** Client options under which a dropped client stays away (a backoff of about a minute) until reconnectNow(). */
export const untilReconnectNow: Partial<TetherClientOptions> = { backoff: { baseMs: 60000, maxMs: 60000 }, random: () => 0.99 };

/** A test client that is connected: `first` is its first `connected`. */
export interface ConnectedClient extends TestClient {
  first: ConnectedMessage;
}

/** makeClient, then connect(): what most tests begin with. The client joins `clients`, which the suite closes. */
export async function connectClient(
  server: Tetherd,
  token: string,
  clients: TetherClient[],
  options: Partial<TetherClientOptions> = {},
): Promise<ConnectedClient> {
  const c = makeClient(server, token, options);
  clients.push(c.client);
  const first = await withTimeout(c.client.connect(), 5000, 'connected');
  return { ...c, first };
}

/** Asserts that an 'open' brought back `first`'s session with exactly these files. */
export function assertResumed(open: OpenEvent, first: ConnectedMessage, fileIds: string[]): void {
  assert.equal(open.resumed, true);
  assert.equal(open.session_id, first.session_id);
  assert.deepEqual(sorted(open.connected.file_ids ?? []), sorted(fileIds));
}

/**
 * reconnectNow() for a client whose session is gone (its window passed): asserts that the server
 * opened a new session instead of `first`'s, and returns what the draft_rejected event listed.
 */
export async function reconnectFresh(client: TetherClient, first: ConnectedMessage): Promise<RejectedFile[]> {
  const rejectedP = nextEvent(client, 'draft_rejected', 5000);
  const reopened = nextEvent(client, 'open', 5000);
  client.reconnectNow();
  const open = await reopened;
  assert.equal(open.resumed, false);
  assert.notEqual(open.session_id, first.session_id);
  return (await rejectedP).rejected;
}

import { EventEmitter } from 'node:events';
import { TetherClient, type Clock, type TetherClientOptions } from '../src/index.js';

/** A hand-driven clock: timers fire only inside advance(). */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };
  now = (): number => this.t;

  /** Moves time forward by ms, firing due timers in time order (ties in creation order). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (timer.at < nextAt || (timer.at === nextAt && id < nextId))) {
          nextId = id;
          nextAt = timer.at;
        }
      }
      if (nextId < 0) break;
      const timer = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.t = timer.at;
      timer.fn();
    }
    this.t = end;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}

export interface FakeSocket {
  url: string;
  readyState: number;
  sent: string[];
  closedWith: { code?: number; reason?: string } | undefined;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** Server side: the handshake succeeds. */
  open(): void;
  /** Server side: a text frame holding this object. */
  receive(message: object): void;
  /** Server side: the socket closes with this code. */
  serverClose(code?: number, reason?: string): void;
  /**
   * Server side: the upgrade is answered with an HTTP error. A socket of the `ws` kind (showsRefusals)
   * emits 'unexpected-response' with the status and body; a browser-like one just closes with 1006.
   */
  refuse(status: number, body: unknown): void;
  /** Parsed messages the client sent. */
  readonly messages: any[];
}

/**
 * A fresh fake WebSocket class with its own list of instances. With showsRefusals it also has `on()`
 * and emits 'unexpected-response' for a refused upgrade, like the `ws` package.
 */
export function fakeWebSocketClass({ showsRefusals = false }: { showsRefusals?: boolean } = {}) {
  const instances: FakeSocket[] = [];
  class FakeWebSocket implements FakeSocket {
    readyState = 0;
    sent: string[] = [];
    closedWith: { code?: number; reason?: string } | undefined;
    onopen: ((event: any) => void) | null = null;
    onmessage: ((event: any) => void) | null = null;
    onclose: ((event: any) => void) | null = null;
    onerror: ((event: any) => void) | null = null;
    constructor(public url: string) {
      instances.push(this);
    }
    send(data: string): void {
      if (this.readyState !== 1) throw new Error('send on a socket that is not open');
      this.sent.push(data);
    }
    close(code?: number, reason?: string): void {
      this.closedWith = { code, reason };
      this.readyState = 3;
    }
    open(): void {
      this.readyState = 1;
      this.onopen?.({});
    }
    receive(message: object): void {
      this.onmessage?.({ data: JSON.stringify(message) });
    }
    serverClose(code = 1006, reason = ''): void {
      this.readyState = 3;
      this.onerror?.({});
      this.onclose?.({ code, reason });
    }
    get messages(): any[] {
      return this.sent.map((s) => JSON.parse(s));
    }
    refuse(status: number, body: unknown): void {
      const listeners = this.listeners.get('unexpected-response') ?? [];
      if (!showsRefusals || listeners.length === 0) {
        this.serverClose(1006, '');
        return;
      }
      const res = new EventEmitter() as EventEmitter & { statusCode: number; setEncoding(e: string): void };
      res.statusCode = status;
      res.setEncoding = () => {};
      for (const l of listeners) l({}, res);
      res.emit('data', typeof body === 'string' ? body : JSON.stringify(body));
      res.emit('end');
      res.emit('close');
    }
    private listeners = new Map<string, Array<(...args: any[]) => void>>();
    protected addListener(event: string, fn: (...args: any[]) => void): void {
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
    }
  }
  class NodeFakeWebSocket extends FakeWebSocket {
    on(event: string, fn: (...args: any[]) => void): void {
      this.addListener(event, fn);
    }
  }
  return { WebSocket: showsRefusals ? NodeFakeWebSocket : FakeWebSocket, instances };
}

let sessionSeq = 0;
export function connectedMsg(over: Record<string, unknown> = {}) {
  sessionSeq++;
  return {
    type: 'connected',
    session_id: `s${sessionSeq}`,
    user_id: 'u1',
    resume_token: `r${sessionSeq}`,
    heartbeat_ms: 30000,
    resumed: false,
    ...over,
  };
}

/** Lets pending promise callbacks run (no timers involved). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export function setup(options: Partial<TetherClientOptions> = {}, fake: { showsRefusals?: boolean } = {}) {
  const clock = new FakeClock();
  const { WebSocket, instances } = fakeWebSocketClass(fake);
  const client = new TetherClient({
    url: 'ws://example.test:8080/ws',
    token: 'tok',
    WebSocket,
    clock,
    random: () => 0.5,
    connectTimeoutMs: 0, // so that advancing the clock past a backoff delay yields exactly one new socket
    authCheck: false, // no /api/whoami request after a failure before open, unless a test turns it on with a fake fetch
    ...options,
  });
  const events: Array<[string, any]> = [];
  for (const type of ['state', 'open', 'close', 'dropped', 'draft_rejected', 'connect_error'] as const) {
    client.on(type, (e: any) => events.push([type, e]));
  }
  const last = () => instances[instances.length - 1]!;
  /** Opens the newest socket and sends `connected`. */
  const accept = (over: Record<string, unknown> = {}) => {
    const s = last();
    s.open();
    const msg = connectedMsg(over);
    s.receive(msg);
    return msg;
  };
  const states = () => events.filter(([t]) => t === 'state').map(([, e]) => e.state);
  /** The newest socket closes with `code`, then the clock passes any backoff: the next attempt starts. */
  const serverDrops = (code = 1006) => {
    last().serverClose(code);
    clock.advance(30000);
  };
  return { client, clock, instances, last, accept, events, states, serverDrops };
}

/** A `new_message` of chat `chatId` with this id (content `m{id}`), from `sender`. */
export function chatMsg(chatId: string, id: number, sender = 'bob', over: Record<string, unknown> = {}) {
  return {
    type: 'new_message',
    message_id: id,
    chat_id: chatId,
    sender_id: sender,
    content: `m${id}`,
    attachment: null,
    client_msg_id: null,
    timestamp: '2026-01-01T12:00:00.000Z',
    ...over,
  };
}

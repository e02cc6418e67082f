import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Channels, type ChannelsHost } from './channels.js';
import type { Chat, SubscribeOptions } from './chat.js';
import { Draft, type DraftHost } from './draft.js';
import { Emitter } from './emitter.js';
import { TetherError } from './errors.js';
import { isGuestDeletedClose } from './guests.js';
import { attachPageLifecycle, type PageLifecycleOptions } from './lifecycle.js';
import { Rooms, type RoomsHost } from './rooms.js';
import type {
  ClientEventMap,
  ConnectedMessage,
  ConnectionState,
  OutgoingMessage,
  Ref,
  ReplyMap,
  ServerMessage,
  SubscribedMessage,
} from './types.js';
import { buildConnectUrl, httpBaseFromWsUrl } from './url.js';

/** The part of the WebSocket API the client uses (the DOM's WebSocket and the `ws` package's both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Timer functions and time source; injectable so tests can drive time by hand. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export type TokenSource = string | (() => string | Promise<string>);

export interface TetherClientOptions {
  /** WebSocket URL, e.g. `wss://example.com/ws`. May carry its own query (`?since_id=5`). */
  url: string;
  /** JWT, or a function returning one; the function is called before every (re)connect and upload. */
  token?: TokenSource;
  /** WebSocket constructor; defaults to `globalThis.WebSocket` (pass `WebSocket` from `ws` in Node 20). */
  WebSocket?: WebSocketConstructor;
  /** Interval of client `ping` messages in ms (default 30000; 0 disables). */
  heartbeatMs?: number;
  /** Time to wait for a `pong` (or any message) after a ping before dropping the socket (default 10000). */
  pongTimeoutMs?: number;
  /** Reconnect attempts without a `connected` in between before giving up (default Infinity). */
  maxAttempts?: number;
  /** Backoff: delay = random(0, min(maxMs, baseMs * 2^attempt)). Defaults {baseMs: 1000, maxMs: 30000}. */
  backoff?: BackoffOptions;
  /** Most messages kept while not open; the oldest is dropped past it (default 100). */
  maxQueue?: number;
  /** Default timeout of `request()` in ms, counted from the call (default 10000; 0 = none). */
  requestTimeoutMs?: number;
  /** Time allowed for the WebSocket to open before the attempt counts as failed (default 10000). */
  connectTimeoutMs?: number;
  /** Timer functions (default the global ones). */
  clock?: Partial<Clock>;
  /** Random source in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
  /** Base URL of the HTTP API (default: derived from `url`, ws -> http, wss -> https, same host). */
  httpBase?: string;
  /** fetch implementation for uploads (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Attach the browser page-lifecycle handlers (see `attachPageLifecycle`). Default false. */
  pageLifecycle?: boolean | PageLifecycleOptions;
  /**
   * After a close with 1001 (the server going away: a restart or deploy), the next attempt comes after
   * random(0, restartJitterMs) instead of the backoff, so the session resumes as soon as the server is
   * back (default 1000). Failures after that follow the normal backoff.
   */
  restartJitterMs?: number;
  /**
   * When an attempt fails before the socket opens and the WebSocket implementation cannot show the
   * HTTP answer (a browser's cannot), ask `GET {httpBase}/api/whoami` with the same token (Bearer)
   * whether the token was the reason (default true). The `ws` package shows the answer itself.
   */
  authCheck?: boolean;
}

export interface RequestOptions {
  /** Overrides `requestTimeoutMs` for this request (0 = none). */
  timeoutMs?: number;
}

/** WebSocket close codes after which the client does not reconnect. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([4001, 4003, 4009]);
/** Close codes after which the client waits long (between maxMs/2 and maxMs) before reconnecting. */
export const THROTTLE_CLOSE_CODES: ReadonlySet<number> = new Set([4029, 4030]);
/** Close code the client uses when it gives up on a socket itself (silent server, connect timeout). */
export const CLIENT_TIMEOUT_CLOSE_CODE = 4000;
/**
 * HTTP statuses of a refused upgrade after which the client stops (with a token function: after one
 * more try with a fresh token, for 401), mapped to the close code its `state`/`close` events carry.
 */
export const REFUSED_STATUS_CLOSE_CODES: ReadonlyMap<number, number> = new Map([
  [401, 4001],
  [403, 4003],
]);
/** How long the /api/whoami check of a failed attempt may take before the attempt counts as a plain failure. */
const AUTH_CHECK_TIMEOUT_MS = 5000;
/** Most bytes read from the body of a refused upgrade (its JSON error is small). */
const MAX_REFUSAL_BODY = 16384;

const OPEN = 1;
/** Event names of the client itself; a server message never shadows them. */
const CLIENT_EVENTS = new Set(['state', 'open', 'close', 'dropped', 'draft_rejected', 'connect_error', '*']);
const noop = (): void => {};

interface Pending {
  resolve(reply: ServerMessage): void;
  reject(err: TetherError): void;
  timer: unknown;
  sent: boolean;
  type: string;
}

interface Queued {
  message: OutgoingMessage;
}

/**
 * A tether connection: reconnects with backoff, resumes the session, keeps a
 * heartbeat, queues sends while down and matches replies to requests by `ref`.
 */
export class TetherClient extends Emitter<ClientEventMap> {
  /** Draft (abandoned-upload cleanup) helper bound to this client. */
  readonly draft: Draft;
  /** Rooms helper bound to this client: join, leave, publish, watch, live participants, re-join. */
  readonly rooms: Rooms;
  /**
   * Channels helper bound to this client: subscriptions (re-subscribed after reconnects, replays
   * de-duplicated), chats, presence, notifications, connection events, feed, published messages.
   * `subscribe`, `unsubscribe`, `chat` and `presence` below are shortcuts to it.
   */
  readonly channels: Channels;

  private readonly url: string;
  private readonly token: TokenSource | undefined;
  private readonly WS: WebSocketConstructor | undefined;
  private readonly heartbeatMs: number;
  private readonly pongTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxQueue: number;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly restartJitterMs: number;
  private readonly authCheck: boolean;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly httpBase: () => string;

  private _state: ConnectionState = 'closed';
  private ws: WebSocketLike | null = null;
  /** Bumped whenever an attempt starts or the client stops; stale async callbacks compare it. */
  private generation = 0;
  /** Reconnect attempts since the last `connected` (for maxAttempts). */
  private failedAttempts = 0;
  /** Exponent of the backoff (reset on `connected` while visible, and on becoming visible). */
  private backoffExp = 0;
  /** A refused token (401) was already answered by one more try with a fresh token, since the last `connected`. */
  private authRetried = false;
  private hidden = false;
  private _resumeToken: string | undefined;
  private _sessionId: string | undefined;
  private lastConnected: ConnectedMessage | undefined;
  private queue: Queued[] = [];
  private pending = new Map<Ref, Pending>();
  private nextRef = 1;
  private openWaiters: Array<{ resolve(c: ConnectedMessage): void; reject(e: TetherError): void }> = [];

  private reconnectTimer: unknown = null;
  private connectTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private pongTimer: unknown = null;

  constructor(options: TetherClientOptions) {
    super();
    if (!options || typeof options.url !== 'string') throw new TypeError('TetherClient: options.url is required');
    this.url = options.url;
    this.token = options.token;
    this.WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.heartbeatMs = options.heartbeatMs ?? 30000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10000;
    this.maxAttempts = options.maxAttempts ?? Infinity;
    this.baseMs = options.backoff?.baseMs ?? 1000;
    this.maxMs = options.backoff?.maxMs ?? 30000;
    this.maxQueue = options.maxQueue ?? 100;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10000;
    const c = options.clock ?? {};
    this.clock = {
      setTimeout: c.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      clearTimeout: c.clearTimeout ?? ((h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>)),
      now: c.now ?? (() => Date.now()),
    };
    this.random = options.random ?? Math.random;
    this.restartJitterMs = options.restartJitterMs ?? 1000;
    this.authCheck = options.authCheck ?? true;

    const fetchImpl = options.fetch;
    this.fetchImpl = fetchImpl;
    const httpBase = options.httpBase?.replace(/\/+$/, '');
    this.httpBase = () => httpBase ?? httpBaseFromWsUrl(this.url);
    const host: DraftHost = {
      request: (msg, front) => this.doRequest(msg, this.requestTimeoutMs, front),
      getToken: () => this.resolveToken(),
      httpBase: this.httpBase,
      fetch: () => {
        const f = fetchImpl ?? globalThis.fetch;
        if (!f) throw new TetherError('unsupported', 'no fetch implementation available for uploads');
        return f;
      },
      emitRejected: (event) => this.emit('draft_rejected', event),
    };
    this.draft = new Draft(host);
    const roomsHost: RoomsHost = {
      request: (msg, front, timeoutMs) => this.doRequest(msg, timeoutMs ?? this.requestTimeoutMs, front),
      send: (msg) => this.transmit({ ...msg }, false),
    };
    this.rooms = new Rooms(roomsHost);
    const channelsHost: ChannelsHost = {
      request: (msg, front, timeoutMs, onRef) => this.doRequest(msg, timeoutMs ?? this.requestTimeoutMs, front, onRef),
      cancel: (ref) => this.cancelRequest(ref),
      sendIfOpen: (msg) => this.sendIfOpen(msg),
      userId: () => this.lastConnected?.user_id,
      setTimeout: (fn, ms) => this.clock.setTimeout(fn, ms),
      clearTimeout: (h) => this.clock.clearTimeout(h),
    };
    this.channels = new Channels(channelsHost);

    if (options.pageLifecycle) {
      attachPageLifecycle(this, options.pageLifecycle === true ? {} : options.pageLifecycle);
    }
  }

  // ---- public API -------------------------------------------------------------

  /** 'connecting' | 'open' | 'reconnecting' | 'closed'. */
  get state(): ConnectionState {
    return this._state;
  }
  /** Session id from the last `connected`. */
  get sessionId(): string | undefined {
    return this._sessionId;
  }
  /** Resume token that the next reconnect will present. */
  get resumeToken(): string | undefined {
    return this._resumeToken;
  }
  /** Messages waiting for the connection. */
  get queueLength(): number {
    return this.queue.length;
  }

  /**
   * Online users, user_id -> full_name: filled by `presence` after `subscribe('online')`, kept live
   * by `user_online` / `user_offline` (`channels.on('presence')` tells of each change).
   */
  get presence(): ReadonlyMap<string, string> {
    return this.channels.presence;
  }

  /**
   * Subscribes to a channel (`messages/{chat_id}`, `feed`, `online`, `notifications`,
   * `connections`): see `Channels.subscribe`. Resolves on `subscribed`; rejects with the server's
   * error (e.g. `forbidden`). Kept across reconnects.
   */
  subscribe(channel: string, options?: SubscribeOptions): Promise<SubscribedMessage> {
    return this.channels.subscribe(channel, options);
  }

  /** Unsubscribes from a channel: see `Channels.unsubscribe`. */
  unsubscribe(channel: string, options?: { timeoutMs?: number }): Promise<void> {
    return this.channels.unsubscribe(channel, options);
  }

  /** The handle of a chat: send, markRead, typing, history, receipts and its events. See `Chat`. */
  chat(chatId: string): Chat {
    return this.channels.chat(chatId);
  }

  /**
   * Starts connecting (if closed). Resolves with the next `connected`; rejects
   * with a TetherError if the client closes first. Calling it while
   * reconnecting skips the remaining backoff delay.
   */
  connect(): Promise<ConnectedMessage> {
    let promise: Promise<ConnectedMessage>;
    if (this._state === 'open' && this.lastConnected) {
      promise = Promise.resolve(this.lastConnected);
    } else {
      promise = new Promise((resolve, reject) => this.openWaiters.push({ resolve, reject }));
    }
    // A caller that ignores the promise must not get an unhandled rejection.
    promise.catch(noop);
    if (this._state === 'closed') {
      this.failedAttempts = 0;
      this.backoffExp = 0;
      this.authRetried = false;
      this.setState('connecting');
      this.openSocket();
    } else if (this._state === 'reconnecting') {
      this.reconnectNow();
    }
    return promise;
  }

  /**
   * Leaves for good: sends `before_disconnect` (when the session is open),
   * closes the socket with 1000 and stops reconnecting. Pending requests
   * reject with 'closed', queued messages are dropped.
   */
  close(reason = 'client closed'): void {
    if (this._state === 'closed') {
      // Whatever stopped the client before, close() means the rooms are left for good (no re-join later).
      this.rooms._handleClosed();
      this.channels._handleClosed();
      // After drop(): no socket to say goodbye on, but the session kept for resume is forgotten.
      if (this._resumeToken !== undefined || this.queue.length > 0) {
        this.draft._handleClosed();
        this.stop(1000, reason);
      }
      return;
    }
    const ws = this.ws;
    if (ws && this._state === 'open' && ws.readyState === OPEN) {
      try {
        ws.send(JSON.stringify({ type: 'before_disconnect' }));
      } catch {
        // best effort
      }
    }
    if (ws) {
      this.abandonSocket(ws, 1000, reason);
      this.emit('close', { code: 1000, reason, willReconnect: false });
    }
    this.draft._handleClosed();
    this.rooms._handleClosed();
    this.channels._handleClosed();
    this.stop(1000, reason);
  }

  /**
   * Drops the connection but keeps the session: closes the socket (1000) without
   * `before_disconnect`, so the server keeps the session, and its draft, for its
   * resume window; the client does not reconnect until `connect()` is called,
   * which then resumes it. State 'closed'. Requests already sent reject with
   * 'disconnected'; queued messages and unsent requests wait for the next
   * `connect()` (or their timeout). For tests, and for pages that know they are
   * going offline. `close()` after `drop()` forgets the session.
   */
  drop(reason = 'client dropped'): void {
    if (this._state === 'closed') return;
    const hadSocket = this.leaveSocket(reason);
    this.rejectSent(1000);
    const waiters = this.openWaiters;
    this.openWaiters = [];
    const gen = this.generation;
    this.setState('closed', 1000, reason);
    if (hadSocket && gen === this.generation) this.emit('close', { code: 1000, reason, willReconnect: false });
    for (const w of waiters) w.reject(new TetherError('closed', `client dropped: ${reason}`));
  }

  /**
   * Sends a message now if the session is open, else queues it (see maxQueue).
   * Use `request()` to get the reply.
   */
  send(message: OutgoingMessage): void {
    checkMessage(message);
    this.transmit({ ...message }, false);
  }

  /**
   * Sends a message with a fresh integer `ref` and resolves with the reply
   * carrying that ref. Rejects with a TetherError: the server's code on an
   * `error` reply, or 'timeout' / 'disconnected' / 'dropped' / 'closed'.
   * (Types without a reply, like `message`, `publish` or `typing`, only ever time out.)
   */
  request<K extends keyof ReplyMap>(message: OutgoingMessage & { type: K }, options?: RequestOptions): Promise<ReplyMap[K]>;
  request(message: OutgoingMessage, options?: RequestOptions): Promise<ServerMessage>;
  request(message: OutgoingMessage, options?: RequestOptions): Promise<ServerMessage> {
    checkMessage(message);
    return this.doRequest(message, options?.timeoutMs ?? this.requestTimeoutMs, false);
  }

  /** Sends a heartbeat `ping` now (if the socket is open) and expects an answer within pongTimeoutMs. */
  ping(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return;
    try {
      ws.send(JSON.stringify({ type: 'ping' }));
    } catch {
      return;
    }
    if (this.pongTimer === null && this.pongTimeoutMs > 0) {
      this.pongTimer = this.clock.setTimeout(() => {
        this.pongTimer = null;
        if (this.ws !== ws) return;
        this.abandonSocket(ws, CLIENT_TIMEOUT_CLOSE_CODE, 'pong timeout');
        this.lostConnection(CLIENT_TIMEOUT_CLOSE_CODE, 'pong timeout', true);
      }, this.pongTimeoutMs);
    }
  }

  /**
   * While reconnecting and waiting out a backoff delay: resets the backoff and
   * tries now. Does nothing in other states, or while an attempt is under way.
   */
  reconnectNow(): void {
    if (this._state !== 'reconnecting') return;
    this.backoffExp = 0;
    if (this.reconnectTimer !== null) {
      this.clock.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.openSocket();
    }
  }

  /**
   * Tells the client whether its page is hidden (the page-lifecycle helper
   * calls this). While hidden, reconnect delays are at least baseMs and a
   * `connected` does not reset the backoff, so a background tab never
   * reconnects in a tight loop. Becoming visible resets the backoff, pings an
   * open socket and reconnects a dropped one at once.
   */
  setPageHidden(hidden: boolean): void {
    const wasHidden = this.hidden;
    this.hidden = hidden;
    if (wasHidden && !hidden) {
      this.backoffExp = 0;
      if (this._state === 'open') this.ping();
      else if (this._state === 'reconnecting') this.reconnectNow();
    }
  }

  // ---- connection -------------------------------------------------------------

  private setState(next: ConnectionState, code?: number, reason?: string): void {
    const previous = this._state;
    if (previous === next) return;
    this._state = next;
    const event: ClientEventMap['state'] = { state: next, previous };
    if (code !== undefined) event.code = code;
    if (reason !== undefined) event.reason = reason;
    this.emit('state', event);
  }

  private resolveToken(): Promise<string | undefined> {
    const t = this.token;
    if (typeof t !== 'function') return Promise.resolve(t);
    try {
      return Promise.resolve(t());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private openSocket(): void {
    const gen = ++this.generation;
    const t = this.token;
    if (typeof t === 'function') {
      this.resolveToken().then(
        (token) => {
          if (gen === this.generation) this.createSocket(token);
        },
        (error: unknown) => {
          if (gen !== this.generation) return;
          this.emit('connect_error', { error, phase: 'token' });
          this.lostConnection(1006, 'token error', false);
        },
      );
    } else {
      this.createSocket(t);
    }
  }

  private createSocket(token: string | undefined): void {
    const url = buildConnectUrl(this.url, token, this._resumeToken);
    let ws: WebSocketLike;
    try {
      if (!this.WS) throw new TetherError('unsupported', 'no WebSocket implementation: pass options.WebSocket');
      ws = new this.WS(url);
    } catch (error) {
      this.emit('connect_error', { error, phase: 'socket' });
      this.lostConnection(1006, 'socket error', false);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      this.clearTimer('connectTimer');
      this.scheduleHeartbeat();
    };
    // The `ws` package shows the HTTP answer of a refused upgrade (a browser's WebSocket does not).
    const on = (ws as { on?: unknown }).on;
    const showsRefusals = typeof on === 'function';
    if (showsRefusals) {
      (on as (event: string, listener: (req: unknown, res: HttpResponseLike) => void) => void).call(
        ws,
        'unexpected-response',
        (_req, res) => {
          void readBody(res).then((body) => {
            if (this.ws !== ws) return;
            this.abandonSocket(ws, CLIENT_TIMEOUT_CLOSE_CODE, 'upgrade refused');
            const status = typeof res?.statusCode === 'number' ? res.statusCode : 0;
            this.lostConnection(1006, '', true, TetherError.fromHttp(status, body, 'WebSocket upgrade refused'));
          });
        },
      );
    }
    ws.onmessage = (event: { data?: unknown }) => {
      if (this.ws !== ws) return;
      this.onFrame(event?.data);
    };
    ws.onclose = (event: { code?: number; reason?: string }) => {
      if (this.ws !== ws) return;
      this.detach(ws);
      const code = typeof event?.code === 'number' ? event.code : 1006;
      const reason = event?.reason ?? '';
      if (!opened && !showsRefusals && this.authCheck && token) this.checkAuth(token, code, reason);
      else this.lostConnection(code, reason, true);
    };
    // The close event that follows an error does the work. (A listener must
    // stay attached: `ws` throws on an 'error' nobody listens to.)
    ws.onerror = noop;
    if (this.connectTimeoutMs > 0) {
      this.connectTimer = this.clock.setTimeout(() => {
        this.connectTimer = null;
        if (this.ws !== ws || ws.readyState === OPEN) return;
        this.emit('connect_error', { error: new TetherError('timeout', 'WebSocket did not open in time'), phase: 'timeout' });
        this.abandonSocket(ws, CLIENT_TIMEOUT_CLOSE_CODE, 'connect timeout');
        this.lostConnection(CLIENT_TIMEOUT_CLOSE_CODE, 'connect timeout', true);
      }, this.connectTimeoutMs);
    }
  }

  /**
   * An attempt failed before `open` and the WebSocket could not say why: asks `/api/whoami` with the same
   * token, then goes on as lostConnection (with the refusal when the token was refused). The decision
   * (retry or stop) waits for the answer, at most AUTH_CHECK_TIMEOUT_MS.
   */
  private checkAuth(token: string, code: number, reason: string): void {
    this.ws = null;
    this.clearSocketTimers();
    const gen = this.generation;
    void this.askWhoami(token).then((refusal) => {
      if (gen !== this.generation) return; // closed, dropped or restarted meanwhile
      this.lostConnection(code, reason, true, refusal);
    });
  }

  /** A TetherError when the server refuses the token (401/403), else undefined (valid, unreachable, no fetch). */
  private askWhoami(token: string): Promise<TetherError | undefined> {
    const f = this.fetchImpl ?? globalThis.fetch;
    let url: string;
    try {
      url = `${this.httpBase()}/api/whoami`;
    } catch {
      return Promise.resolve(undefined);
    }
    if (!f) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let settled = false;
      const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
      const finish = (refusal: TetherError | undefined): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        resolve(refusal);
      };
      const timer = this.clock.setTimeout(() => {
        abort?.abort();
        finish(undefined);
      }, AUTH_CHECK_TIMEOUT_MS);
      const init: RequestInit = { headers: { Authorization: `Bearer ${token}` } };
      if (abort) init.signal = abort.signal;
      let request: Promise<Response>;
      try {
        request = f(url, init);
      } catch {
        finish(undefined);
        return;
      }
      request.then(
        async (res) => {
          if (!REFUSED_STATUS_CLOSE_CODES.has(res.status)) return finish(undefined);
          let body: unknown;
          try {
            body = await res.json();
          } catch {
            body = undefined;
          }
          finish(TetherError.fromHttp(res.status, body, 'WebSocket upgrade refused'));
        },
        () => finish(undefined),
      );
    });
  }

  private detach(ws: WebSocketLike): void {
    ws.onopen = noop;
    ws.onmessage = noop;
    ws.onclose = noop;
    ws.onerror = noop;
  }

  /** Stops listening to a socket and closes it; its events are ignored from now on. */
  private abandonSocket(ws: WebSocketLike, code: number, reason: string): void {
    this.detach(ws);
    if (this.ws === ws) this.ws = null;
    try {
      ws.close(code, reason);
    } catch {
      // already closing, or not yet open in an implementation that refuses
    }
  }

  /**
   * Leaves the current socket for good (drop, stop): a new generation, so that anything the old
   * socket or its timers still do is ignored; no timers; the socket closed with 1000. Whether there
   * was a socket.
   */
  private leaveSocket(reason: string): boolean {
    this.generation++;
    this.clearTimer('reconnectTimer');
    this.clearSocketTimers();
    const ws = this.ws;
    if (ws) this.abandonSocket(ws, 1000, reason);
    this.ws = null;
    return ws !== null;
  }

  private clearTimer(name: 'reconnectTimer' | 'connectTimer' | 'heartbeatTimer' | 'pongTimer'): void {
    const h = this[name];
    if (h !== null) {
      this.clock.clearTimeout(h);
      this[name] = null;
    }
  }

  private clearSocketTimers(): void {
    this.clearTimer('connectTimer');
    this.clearTimer('heartbeatTimer');
    this.clearTimer('pongTimer');
  }

  private scheduleHeartbeat(): void {
    this.clearTimer('heartbeatTimer');
    if (this.heartbeatMs <= 0) return;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = null;
      if (!this.ws || this.ws.readyState !== OPEN) return;
      this.ping();
      this.scheduleHeartbeat();
    }, this.heartbeatMs);
  }

  /** Rejects the requests that were sent on the socket that is gone: their replies will never come. */
  private rejectSent(code: number): void {
    for (const [ref, p] of this.pending) {
      if (!p.sent) continue;
      this.pending.delete(ref);
      this.clock.clearTimeout(p.timer);
      p.reject(new TetherError('disconnected', `connection lost before the reply to ${p.type} (close ${code})`));
    }
  }

  /**
   * The socket is gone (closed, failed, or given up on): reject what was in flight, then reconnect or stop.
   * `refusal`: the server answered the upgrade with an HTTP error (e.g. 401 `invalid token: expired`).
   */
  private lostConnection(code: number, reason: string, hadSocket: boolean, refusal?: TetherError): void {
    this.ws = null;
    this.clearSocketTimers();
    this.rejectSent(code);

    let finalReason: string | undefined;
    let retryNow = false;
    const refusedCode = refusal?.status !== undefined ? REFUSED_STATUS_CLOSE_CODES.get(refusal.status) : undefined;
    if (refusedCode !== undefined) {
      // A refused token does not get better by waiting. A token function may have a fresh one: one
      // more try at once (401 only: a 403 is about the user, not the token), then stop.
      if (refusal!.status === 401 && typeof this.token === 'function' && !this.authRetried) {
        this.authRetried = true;
        retryNow = true;
      } else {
        code = refusedCode;
        reason = refusal!.message;
        finalReason = reason;
      }
    } else if (FINAL_CLOSE_CODES.has(code)) {
      finalReason = reason || `closed by server (${code})`;
    } else if (isGuestDeletedClose(code, reason)) {
      // The guest is gone for good and its token with it: a reconnect could only be refused, and a
      // browser cannot even see that refusal (see the README, "Guests"). Stop here, clearly.
      finalReason = reason;
    }
    if (finalReason === undefined && this.failedAttempts >= this.maxAttempts) finalReason = 'max attempts reached';

    if (refusal) {
      const gen = this.generation;
      this.emit('connect_error', { error: refusal, phase: 'refused', status: refusal.status, willRetry: finalReason === undefined });
      if (gen !== this.generation) return; // a listener closed or dropped the client
    }

    if (finalReason !== undefined) {
      if (hadSocket) this.emit('close', { code, reason, willReconnect: false });
      this.stop(code, finalReason, refusedCode !== undefined ? refusal : undefined);
      return;
    }

    let delay: number;
    if (retryNow) {
      delay = 0;
    } else if (THROTTLE_CLOSE_CODES.has(code) || refusal?.status === 429) {
      delay = Math.floor(this.maxMs / 2 + (this.random() * this.maxMs) / 2);
      this.backoffExp = Math.max(this.backoffExp, Math.ceil(Math.log2(Math.max(1, this.maxMs / Math.max(1, this.baseMs)))));
    } else if (code === 1001 && !refusal) {
      // The server is restarting and keeps the session for its restart window: come back as soon as it
      // is up, spread over restartJitterMs so that its clients don't all arrive at once. The backoff
      // exponent is left alone: if the server is still down, the next failure backs off as usual.
      delay = Math.floor(this.random() * Math.max(0, this.restartJitterMs));
    } else {
      delay = backoffDelay(this.backoffExp, this.baseMs, this.maxMs, this.random);
      this.backoffExp++;
    }
    if (this.hidden) delay = Math.max(delay, this.baseMs);
    this.failedAttempts++;

    const gen = this.generation;
    if (hadSocket) this.emit('close', { code, reason, willReconnect: true, delayMs: delay });
    if (gen !== this.generation) return; // a listener closed the client
    this.setState('reconnecting', code, reason);
    if (gen !== this.generation || this._state !== 'reconnecting') return; // a listener closed or reconnected us
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = null;
      if (this._state !== 'reconnecting') return;
      this.openSocket();
    }, delay);
  }

  /**
   * Final stop: state 'closed', timers off, pending requests and queued messages dropped. `cause`, when
   * given, is what a waiting connect() rejects with (e.g. the server's 401).
   */
  private stop(code: number, reason: string, cause?: TetherError): void {
    this.leaveSocket(reason);
    this._resumeToken = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    const queued = this.queue;
    this.queue = [];
    const waiters = this.openWaiters;
    this.openWaiters = [];
    this.setState('closed', code, reason);
    const err = () => new TetherError('closed', `client closed: ${reason} (${code})`);
    for (const p of pending) {
      this.clock.clearTimeout(p.timer);
      p.reject(err());
    }
    for (const q of queued) this.emit('dropped', { message: q.message, reason: 'closed' });
    for (const w of waiters) w.reject(cause ?? err());
  }

  // ---- messages ---------------------------------------------------------------

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return; // the protocol is text frames only
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object' || typeof (msg as { type?: unknown }).type !== 'string') return;
    const message = msg as ServerMessage;
    this.clearTimer('pongTimer'); // any message proves the connection is alive

    if (message.type === 'connected' && message.ref === undefined) this.onConnected(message as ConnectedMessage);

    if (message.ref !== undefined) {
      const ref = this.pending.has(message.ref) ? message.ref : typeof message.ref === 'string' && /^\d+$/.test(message.ref) ? Number(message.ref) : undefined;
      const p = ref !== undefined ? this.pending.get(ref) : undefined;
      if (p && ref !== undefined) {
        this.pending.delete(ref);
        this.clock.clearTimeout(p.timer);
        if (message.type === 'error') {
          const code = typeof message.code === 'string' ? message.code : 'error';
          const text = typeof message.message === 'string' ? message.message : code;
          p.reject(new TetherError(code, text, message));
        } else {
          p.resolve(message);
        }
      }
    }

    // The room views and channel state are up to date before anyone hears of the message.
    this.rooms._handleMessage(message);
    // A replayed item the application already saw is not emitted again (except to '*').
    const fresh = this.channels._handleMessage(message);
    if (fresh && !CLIENT_EVENTS.has(message.type)) this.emit(message.type as keyof ClientEventMap, message as never);
    this.emit('*', message);
  }

  private onConnected(msg: ConnectedMessage): void {
    this.clearTimer('connectTimer');
    if (typeof msg.resume_token === 'string') this._resumeToken = msg.resume_token;
    this._sessionId = msg.session_id;
    this.lastConnected = msg;
    this.failedAttempts = 0;
    this.authRetried = false;
    if (!this.hidden) this.backoffExp = 0;
    // Draft re-registration goes to the front of the queue, before anything queued meanwhile.
    this.draft._handleConnected(msg);
    this.rooms._handleConnected(msg);
    this.channels._handleConnected(msg);
    this.flushQueue();
    const gen = this.generation;
    this.setState('open');
    if (gen !== this.generation) return;
    this.emit('open', { session_id: msg.session_id, user_id: msg.user_id, resumed: msg.resumed === true, connected: msg });
    const waiters = this.openWaiters;
    this.openWaiters = [];
    for (const w of waiters) w.resolve(msg);
  }

  private flushQueue(): void {
    const ws = this.ws;
    while (this.queue.length > 0 && ws && ws.readyState === OPEN) {
      const q = this.queue.shift()!;
      this.write(ws, q.message);
    }
  }

  private write(ws: WebSocketLike, message: OutgoingMessage): void {
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // the close event will follow; a request then rejects with 'disconnected'
    }
    if (message.ref !== undefined) {
      const p = this.pending.get(message.ref);
      if (p) p.sent = true;
    }
  }

  /** Sends now when the session is open, else queues (front = ahead of everything queued). */
  private transmit(message: OutgoingMessage, front: boolean): void {
    const ws = this.ws;
    if (this._state === 'open' && ws && ws.readyState === OPEN) {
      this.write(ws, message);
      return;
    }
    if (this.maxQueue <= 0) {
      this.dropQueued({ message });
      return;
    }
    if (this.queue.length >= this.maxQueue) this.dropQueued(this.queue.shift()!);
    if (front) this.queue.unshift({ message });
    else this.queue.push({ message });
  }

  private dropQueued(q: Queued): void {
    const ref = q.message.ref;
    if (ref !== undefined) {
      const p = this.pending.get(ref);
      if (p && !p.sent) {
        this.pending.delete(ref);
        this.clock.clearTimeout(p.timer);
        p.reject(new TetherError('dropped', `${q.message.type} was dropped from the full send queue`));
      }
    }
    this.emit('dropped', { message: q.message, reason: 'queue_full' });
  }

  /** Sends now when the session is open; else drops the message (for things that are stale later, like typing). */
  private sendIfOpen(message: OutgoingMessage): boolean {
    const ws = this.ws;
    if (this._state !== 'open' || !ws || ws.readyState !== OPEN) return false;
    this.write(ws, { ...message });
    return true;
  }

  /** Forgets a pending request without settling it (its answer came in another form, e.g. a chat send's new_message). */
  private cancelRequest(ref: Ref): void {
    const p = this.pending.get(ref);
    if (!p) return;
    this.pending.delete(ref);
    this.clock.clearTimeout(p.timer);
  }

  private doRequest(message: OutgoingMessage, timeoutMs: number, front: boolean, onRef?: (ref: Ref) => void): Promise<any> {
    const ref = this.nextRef++;
    onRef?.(ref);
    const out: OutgoingMessage = { ...message, ref };
    return new Promise<ServerMessage>((resolve, reject) => {
      const p: Pending = { resolve, reject, timer: null, sent: false, type: message.type };
      if (timeoutMs > 0) {
        p.timer = this.clock.setTimeout(() => {
          if (this.pending.get(ref) !== p) return;
          this.pending.delete(ref);
          const i = this.queue.findIndex((q) => q.message.ref === ref);
          if (i >= 0) this.queue.splice(i, 1); // never sent: no point sending it late
          reject(new TetherError('timeout', `no reply to ${message.type} within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(ref, p);
      this.transmit(out, front);
    });
  }
}

/** The part of Node's http.IncomingMessage used to read a refused upgrade's body. */
interface HttpResponseLike {
  statusCode?: number;
  setEncoding?(encoding: string): void;
  on(event: string, listener: (arg?: any) => void): void;
}

/** The body of a refused upgrade: parsed JSON, or the text, or undefined; at most MAX_REFUSAL_BODY bytes. */
function readBody(res: HttpResponseLike): Promise<unknown> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve(text === '' ? undefined : text);
      }
    };
    try {
      res.setEncoding?.('utf8');
      res.on('data', (chunk: unknown) => {
        if (text.length < MAX_REFUSAL_BODY) text += String(chunk);
      });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    } catch {
      finish();
    }
  });
}

function checkMessage(message: OutgoingMessage): void {
  if (!message || typeof message !== 'object' || typeof message.type !== 'string') {
    throw new TypeError('a message must be an object with a string `type`');
  }
}

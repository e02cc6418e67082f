import { Chat, type ChatHost, type SubscribeOptions } from './chat.js';
import { Emitter } from './emitter.js';
import { TetherError } from './errors.js';
import type {
  ChannelMessageMessage,
  ConnectedMessage,
  ConnectionAcceptedMessage,
  ConnectionRequestMessage,
  MessageDeliveredMessage,
  MessageReadMessage,
  NewCommentMessage,
  NewMessageMessage,
  NewPostMessage,
  NotificationMessage,
  OutgoingMessage,
  PresenceMessage,
  Ref,
  ServerMessage,
  SubscribedMessage,
  TypingMessage,
  UserOfflineMessage,
  UserOnlineMessage,
} from './types.js';

/** What the channels helper needs from its client (internal). */
export interface ChannelsHost {
  /** `front`: ahead of every queued message (the re-subscribe after a reconnect). `onRef` learns the request's ref. */
  request(message: OutgoingMessage, front: boolean, timeoutMs?: number, onRef?: (ref: Ref) => void): Promise<any>;
  /** Forgets a pending request without settling it. */
  cancel(ref: Ref): void;
  /** Sends now if the session is open, else drops the message; whether it was sent. */
  sendIfOpen(message: OutgoingMessage): boolean;
  /** This client's user id (from the last `connected`). */
  userId(): string | undefined;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Why the client is no longer subscribed to a channel it did not unsubscribe from. */
export interface ChannelLostEvent {
  channel: string;
  /** The re-subscribe after a reconnect was refused (e.g. `forbidden`: no longer a member of the chat). */
  error: TetherError;
}

export interface ChannelsEventMap {
  /** A channel is subscribed: after `subscribe()`, an automatic one (/ws/notifications, ...) or a re-subscribe after a reconnect. */
  subscribed: { channel: string; resubscribed: boolean; message: SubscribedMessage };
  /** A subscription ended without `unsubscribe()`: its re-subscribe was refused. */
  lost: ChannelLostEvent;
  /** A new chat message of any chat (once per message, in order); the chat's handle has it too. */
  message: { chat_id: string; message: NewMessageMessage; own: boolean };
  /** A notification of this user (once per id, in order). */
  notification: NotificationMessage;
  /** A connection request or acceptance (once per id, in order). */
  connection: ConnectionRequestMessage | ConnectionAcceptedMessage;
  /** `new_post` or `new_comment` on `feed`. */
  feed: NewPostMessage | NewCommentMessage;
  /** What `/api/publish` sent to a channel. */
  channelMessage: { channel: string; data: unknown; message: ChannelMessageMessage };
  /**
   * The online users (`presence`) changed: the whole list came (`presence`, after subscribing to
   * `online`), a user came (`user_online`) or went (`user_offline`), or the list was emptied
   * (unsubscribe, close).
   */
  presence: {
    users: ReadonlyMap<string, string>;
    change: 'snapshot' | 'online' | 'offline' | 'cleared';
    user_id?: string;
    full_name?: string;
  };
}

/** Channels whose items have ids and can be replayed with `since_id`. */
export function isHistoryChannel(channel: string): boolean {
  return channel.startsWith('messages/') || channel === 'notifications' || channel === 'connections';
}

/** How many times a subscribe or unsubscribe is sent again when the connection drops before its answer. */
const RESEND_ON_DISCONNECT = 3;

interface Subscription {
  /** A `subscribed` came for it (re-subscribed after a reconnect); false while the first one is on its way. */
  confirmed: boolean;
}

/**
 * Client side of channels (PROTOCOL.md §7): subscribe / unsubscribe, chats (`chat()`), the
 * presence list, notifications, connection events, the feed and `/api/publish` messages.
 *
 * For each history channel (`messages/*`, `notifications`, `connections`) the client keeps the
 * highest id it has passed on (`lastSeen`). Items at or below it (a replay after a resume or a
 * `since_id`) are left out, so the application sees each message and notification once and in
 * order; the client's own typed events (`client.on('new_message')`, ...) leave them out too ('*'
 * still sees every frame).
 *
 * After a reconnect the client subscribes again to each channel, with `since_id` = the last id
 * seen on history channels, ahead of anything queued. A fresh session (`resumed: false`) has no
 * subscriptions on the server. A resumed one keeps them and the server replays what it had queued
 * to the dropped socket, but items written to a socket that died unnoticed may be missing from that,
 * and a session resumed after a server restart has lost its subscriptions (tetherd does not persist
 * them): subscribing again is harmless (the server answers again, never doubles live delivery, and
 * replays from `since_id`, which the client de-duplicates), so it is done after a resume too.
 */
export class Channels extends Emitter<ChannelsEventMap> {
  private readonly subs = new Map<string, Subscription>();
  /** Highest id passed on, per history channel. */
  private readonly last = new Map<string, number>();
  /** ref of a subscribe with since_id -> where the client's de-duplication starts again once it is answered. */
  private readonly replayFrom = new Map<Ref, { channel: string; sinceId: number }>();
  /** Re-subscribes sent and not answered yet (sent again after the next connected, resumed or not). */
  private readonly resubscribing = new Set<string>();
  private readonly chats = new Map<string, Chat>();
  private readonly online = new Map<string, string>();
  private readonly chatHost: ChatHost;

  /** @internal */
  constructor(private readonly host: ChannelsHost) {
    super();
    this.chatHost = {
      request: (m, front, t, onRef) => host.request(m, front, t, onRef),
      cancel: (ref) => host.cancel(ref),
      sendIfOpen: (m) => host.sendIfOpen(m),
      userId: () => host.userId(),
      setTimeout: (fn, ms) => host.setTimeout(fn, ms),
      clearTimeout: (h) => host.clearTimeout(h),
      subscribe: (channel, options) => this.subscribe(channel, options),
      unsubscribe: (channel, options) => this.unsubscribe(channel, options),
    };
  }

  /** The channels the client is subscribed to, or subscribing to. */
  get subscriptions(): string[] {
    return [...this.subs.keys()];
  }

  /** Online users (user_id -> full_name), live while subscribed to `online`. */
  get presence(): ReadonlyMap<string, string> {
    return this.online;
  }

  /** The highest id the client passed on for a history channel (what a re-subscribe sends as `since_id`). */
  lastSeen(channel: string): number | undefined {
    return this.last.get(channel);
  }

  /** The handle of a chat (always the same one for a chat id). */
  chat(chatId: string): Chat {
    if (typeof chatId !== 'string' || chatId === '') throw new TypeError('a chat id must be a non-empty string');
    let c = this.chats.get(chatId);
    if (!c) {
      c = new Chat(chatId, this.chatHost);
      this.chats.set(chatId, c);
    }
    return c;
  }

  /**
   * Subscribes to a channel. Resolves on `subscribed`; with `sinceId` (history channels) the
   * stored items after it come next, then live ones, and the client's de-duplication starts again
   * from `sinceId` (so a replay the application asks for is passed on). Rejects with a TetherError:
   * the server's code (`forbidden` for a chat the user is not a member of, `invalid_field`, ...)
   * or `timeout` / `closed`. Sent again if the connection drops before the answer (up to 3 times),
   * and after every reconnect (see the class comment). Subscribing again is harmless.
   */
  async subscribe(channel: string, options: SubscribeOptions = {}): Promise<SubscribedMessage> {
    checkChannel(channel);
    const sinceId = options.sinceId;
    if (sinceId !== undefined && !(Number.isInteger(sinceId) && sinceId >= 0)) throw new TypeError('sinceId must be a non-negative integer');
    const msg: OutgoingMessage = { type: 'subscribe', channel };
    if (sinceId !== undefined) msg.since_id = sinceId;
    let sub = this.subs.get(channel);
    if (!sub) {
      sub = { confirmed: false };
      this.subs.set(channel, sub);
    }
    const intent = sub;
    for (let i = 0; ; i++) {
      let ref: Ref | undefined;
      try {
        const onRef = (r: Ref): void => {
          ref = r;
          if (sinceId !== undefined && isHistoryChannel(channel)) this.replayFrom.set(r, { channel, sinceId });
        };
        return (await this.host.request(msg, false, options.timeoutMs, onRef)) as SubscribedMessage;
      } catch (err) {
        if (ref !== undefined) this.replayFrom.delete(ref);
        const stillWanted = this.subs.get(channel) === intent;
        if (err instanceof TetherError && err.code === 'disconnected' && i < RESEND_ON_DISCONNECT && stillWanted) continue;
        // Refused: forget the intent, unless the channel was subscribed before (then that stands).
        if (stillWanted && !intent.confirmed) this.subs.delete(channel);
        throw err;
      }
    }
  }

  /**
   * Unsubscribes (`unsubscribe`). The channel is forgotten at once (not re-subscribed after a
   * reconnect; `online` empties the presence list); resolves on `unsubscribed`. A channel the
   * server says the session is not subscribed to (`not_found`) counts as unsubscribed.
   */
  async unsubscribe(channel: string, options: { timeoutMs?: number } = {}): Promise<void> {
    checkChannel(channel);
    this.subs.delete(channel);
    this.resubscribing.delete(channel);
    if (channel === 'online') this.clearPresence();
    for (let i = 0; ; i++) {
      try {
        await this.host.request({ type: 'unsubscribe', channel }, false, options.timeoutMs);
        return;
      } catch (err) {
        if (err instanceof TetherError && err.code === 'not_found') return;
        if (err instanceof TetherError && err.code === 'disconnected' && i < RESEND_ON_DISCONNECT && !this.subs.has(channel)) continue;
        throw err;
      }
    }
  }

  // ---- from the client ---------------------------------------------------------

  /**
   * @internal Every server message, before the client emits it. Returns false for an item the
   * application already saw (a replayed chat message, notification or connection event).
   */
  _handleMessage(message: ServerMessage): boolean {
    switch (message.type) {
      case 'subscribed':
        this.onSubscribed(message as SubscribedMessage);
        return true;
      case 'new_message': {
        const m = message as NewMessageMessage;
        if (typeof m.chat_id !== 'string' || m.chat_id === '') return true;
        const fresh = this.pass(`messages/${m.chat_id}`, m.message_id);
        const chat = this.chat(m.chat_id);
        chat._onNewMessage(m, fresh);
        if (fresh) this.emit('message', { chat_id: m.chat_id, message: m, own: m.sender_id === this.host.userId() });
        return fresh;
      }
      case 'message_delivered': {
        const m = message as MessageDeliveredMessage;
        if (typeof m.chat_id === 'string' && m.chat_id !== '') this.chat(m.chat_id)._onDelivered(m);
        return true;
      }
      case 'message_read': {
        const m = message as MessageReadMessage;
        if (typeof m.chat_id === 'string' && m.chat_id !== '') this.chat(m.chat_id)._onRead(m);
        return true;
      }
      case 'typing': {
        const m = message as TypingMessage;
        if (typeof m.chat_id === 'string' && m.chat_id !== '') this.chat(m.chat_id)._onTyping(m);
        return true;
      }
      case 'notification': {
        const m = message as NotificationMessage;
        if (!this.pass('notifications', m.id)) return false;
        this.emit('notification', m);
        return true;
      }
      case 'connection_request':
      case 'connection_accepted': {
        const m = message as ConnectionRequestMessage | ConnectionAcceptedMessage;
        if (!this.pass('connections', m.id)) return false;
        this.emit('connection', m);
        return true;
      }
      case 'new_post':
      case 'new_comment':
        this.emit('feed', message as NewPostMessage | NewCommentMessage);
        return true;
      case 'channel_message': {
        const m = message as ChannelMessageMessage;
        this.emit('channelMessage', { channel: m.channel, data: m.data, message: m });
        return true;
      }
      case 'presence':
        this.onPresence(message as PresenceMessage);
        return true;
      case 'user_online': {
        const m = message as UserOnlineMessage;
        if (typeof m.user_id !== 'string') return true;
        const full_name = typeof m.full_name === 'string' ? m.full_name : m.user_id;
        this.online.set(m.user_id, full_name);
        this.emit('presence', { users: this.online, change: 'online', user_id: m.user_id, full_name });
        return true;
      }
      case 'user_offline': {
        const m = message as UserOfflineMessage;
        if (typeof m.user_id !== 'string') return true;
        this.online.delete(m.user_id);
        this.emit('presence', { users: this.online, change: 'offline', user_id: m.user_id });
        return true;
      }
    }
    return true;
  }

  /** @internal Called on every `connected`, before the send queue is flushed. */
  _handleConnected(msg: ConnectedMessage): void {
    void msg; // resumed or not: see the class comment
    const channels: string[] = [];
    for (const [channel, sub] of this.subs) {
      // A first subscribe still on its way sends itself again.
      if (sub.confirmed) channels.push(channel);
    }
    // Requests go to the front of the queue one by one: send the last first to keep their order.
    for (const channel of channels.reverse()) this.resubscribe(channel);
  }

  /** @internal Called by the client's close(): the session ends, and with it its subscriptions. */
  _handleClosed(): void {
    this.subs.clear();
    this.resubscribing.clear();
    this.replayFrom.clear();
    this.clearPresence();
    for (const chat of this.chats.values()) chat._handleClosed();
  }

  // ---- internals --------------------------------------------------------------

  /** Whether an item with this id on this channel is new; if so, it becomes the last seen. Items without an integer id pass. */
  private pass(channel: string, id: unknown): boolean {
    if (typeof id !== 'number' || !Number.isFinite(id)) return true;
    const last = this.last.get(channel);
    if (last !== undefined && id <= last) return false;
    this.last.set(channel, id);
    return true;
  }

  private resubscribe(channel: string): void {
    const msg: OutgoingMessage = { type: 'subscribe', channel };
    const since = isHistoryChannel(channel) ? this.last.get(channel) : undefined;
    if (since !== undefined) msg.since_id = since;
    const intent = this.subs.get(channel);
    this.resubscribing.add(channel);
    this.host.request(msg, true).then(
      () => {
        // `subscribed` was handled by _handleMessage (resubscribing cleared, 'subscribed' emitted).
      },
      (err: unknown) => {
        if (!intent || this.subs.get(channel) !== intent) return; // unsubscribed meanwhile
        if (err instanceof TetherError && (err.code === 'disconnected' || err.code === 'closed')) return; // sent again after the next connected; close() clears
        this.subs.delete(channel);
        this.resubscribing.delete(channel);
        if (channel === 'online') this.clearPresence();
        this.emit('lost', { channel, error: err instanceof TetherError ? err : new TetherError('error', String(err)) });
      },
    );
  }

  private onSubscribed(m: SubscribedMessage): void {
    if (typeof m.channel !== 'string') return;
    const ref = normalRef(m.ref);
    const replay = ref !== undefined ? this.replayFrom.get(ref) : undefined;
    if (ref !== undefined) this.replayFrom.delete(ref);
    // The application asked for a replay from sinceId: pass on everything after it again.
    if (replay && replay.channel === m.channel) this.last.set(m.channel, replay.sinceId);
    const resubscribed = this.resubscribing.delete(m.channel);
    let sub = this.subs.get(m.channel);
    if (!sub && m.ref === undefined) {
      // An automatic subscription (/ws/notifications, /ws/messages/{chat}, ...): kept like one of ours.
      sub = { confirmed: true };
      this.subs.set(m.channel, sub);
    }
    if (!sub) return; // an answer to a subscribe the application has given up on, or one not made through subscribe()
    sub.confirmed = true;
    this.emit('subscribed', { channel: m.channel, resubscribed, message: m });
  }

  private onPresence(m: PresenceMessage): void {
    this.online.clear();
    for (const u of Array.isArray(m.users) ? m.users : []) {
      if (!u || typeof u.user_id !== 'string') continue;
      this.online.set(u.user_id, typeof u.full_name === 'string' ? u.full_name : u.user_id);
    }
    this.emit('presence', { users: this.online, change: 'snapshot' });
  }

  private clearPresence(): void {
    if (this.online.size === 0) return;
    this.online.clear();
    this.emit('presence', { users: this.online, change: 'cleared' });
  }
}

/** The client numbers its refs; a server may echo one as a string of digits. */
function normalRef(ref: Ref | undefined): Ref | undefined {
  if (typeof ref === 'string' && /^\d+$/.test(ref)) return Number(ref);
  return ref;
}

function checkChannel(channel: unknown): void {
  if (typeof channel !== 'string' || channel === '') throw new TypeError('a channel must be a non-empty string');
}

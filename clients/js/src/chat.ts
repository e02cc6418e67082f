import { Emitter } from './emitter.js';
import { TetherError } from './errors.js';
import type { ChannelsHost } from './channels.js';
import type {
  AckMessage,
  HistoryMessage,
  MessageDeliveredMessage,
  MessageReadMessage,
  NewMessageMessage,
  OutgoingMessage,
  Ref,
  SubscribedMessage,
  TypingMessage,
} from './types.js';

/** What a chat handle needs from the channels helper (internal): the client's side, and subscribing. */
export interface ChatHost extends ChannelsHost {
  subscribe(channel: string, options: SubscribeOptions): Promise<SubscribedMessage>;
  unsubscribe(channel: string, options: { timeoutMs?: number }): Promise<void>;
}

export interface SubscribeOptions {
  /**
   * Replay the stored items after this id (exclusive) before live ones (history channels:
   * `messages/*`, `notifications`, `connections`). The client de-duplicates from there on.
   */
  sinceId?: number;
  /** Overrides the client's `requestTimeoutMs` for this request. */
  timeoutMs?: number;
}

export interface SendOptions {
  /** Any JSON, stored and delivered with the message. */
  attachment?: unknown;
  /**
   * The message's id on this side (1-128 of `[A-Za-z0-9_.:@-]`); generated when not given. A resend
   * after a reconnect uses the same one, so the server stores the message once.
   */
  clientMsgId?: string;
  /** Overrides the client's `requestTimeoutMs` for each attempt. */
  timeoutMs?: number;
}

export interface HistoryOptions {
  /** Only messages older than this id (exclusive); default the newest. */
  beforeId?: number;
  /** How many (server default 50, at most 200). */
  limit?: number;
  timeoutMs?: number;
}

/** `history()`'s answer: the messages in ascending `message_id` order, and whether older ones exist. */
export interface HistoryPage {
  messages: NewMessageMessage[];
  has_more: boolean;
}

/** How far one of this user's own messages got: its ticks. */
export type ReceiptStatus = 'sent' | 'delivered' | 'read';

/** Receipt state of one of this user's own messages (a copy taken when it was handed out). */
export interface Receipt {
  readonly message_id: number;
  /** 'sent' (own new_message came back), 'delivered' (at least one recipient got it), 'read' (at least one read it). */
  readonly status: ReceiptStatus;
  /** Recipients whose connection got the message. */
  readonly deliveredTo: ReadonlySet<string>;
  /** Recipients who read it, with `read_at`. */
  readonly readBy: ReadonlyMap<string, string>;
}

export interface ChatEventMap {
  /** A new message of the chat (each message once, in order; replays of seen ones are left out). */
  message: { chat_id: string; message: NewMessageMessage; own: boolean };
  /** A recipient got one of this user's messages (`message_delivered`). */
  delivered: { chat_id: string; message_id: number; user_id: string; receipt: Receipt };
  /** A recipient read one of this user's messages (`message_read`). */
  read: { chat_id: string; message_id: number; user_id: string; read_at: string; receipt: Receipt };
  /** Someone else started or stopped typing; `typing` is everyone typing now. */
  typing: { chat_id: string; user_id: string; is_typing: boolean; typing: ReadonlySet<string> };
  /** The receipt state of one of this user's messages changed (sent, delivered, read). */
  receipt: { chat_id: string; message_id: number; receipt: Receipt };
}

/** A `typing: true` that is not followed by anything counts as stopped after this long (ms). */
export const TYPING_TIMEOUT_MS = 6000;
/** Own messages whose receipts a chat keeps (the oldest are forgotten past it). */
export const MAX_RECEIPTS = 1000;
/** How many times a send, markRead or history is sent again when the connection drops before its answer. */
const RESEND_ON_DISCONNECT = 5;

class ReceiptState implements Receipt {
  status: ReceiptStatus = 'sent';
  readonly deliveredTo = new Set<string>();
  readonly readBy = new Map<string, string>();
  constructor(readonly message_id: number) {}
}

/** A copy of a receipt state, as events and receipt() hand it out (it does not change later). */
function snapshot(r: ReceiptState): Receipt {
  return { message_id: r.message_id, status: r.status, deliveredTo: new Set(r.deliveredTo), readBy: new Map(r.readBy) };
}

interface PendingSend {
  ref: Ref | undefined;
  done: boolean;
  resolve(message: NewMessageMessage): void;
}

let msgSeq = 0;
/** A fresh client_msg_id: time, a counter and randomness (fits `[A-Za-z0-9_.:@-]{1,128}`). */
export function newClientMsgId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  const rnd = typeof c?.randomUUID === 'function' ? c.randomUUID().replace(/-/g, '').slice(0, 16) : Math.random().toString(36).slice(2, 14);
  return `c${Date.now().toString(36)}-${(++msgSeq).toString(36)}-${rnd}`;
}

/**
 * One chat (`messages/{chat_id}`): send, read receipts, typing, history, and its events.
 * Get it with `client.chat(chatId)` (always the same handle for a chat). Messages come only while
 * the client is subscribed to the chat (`subscribe()`), except this session's own, which always come.
 */
export class Chat extends Emitter<ChatEventMap> {
  private readonly receiptsById = new Map<number, ReceiptState>();
  private readonly sends = new Map<string, PendingSend>();
  private readonly typingTimers = new Map<string, unknown>();

  /** @internal */
  constructor(
    readonly chatId: string,
    private readonly host: ChatHost,
  ) {
    super();
  }

  /** The channel name of this chat: `messages/{chat_id}`. */
  get channel(): string {
    return `messages/${this.chatId}`;
  }

  /** The other users typing now (a `typing: true` expires after TYPING_TIMEOUT_MS without news). */
  get typingUsers(): ReadonlySet<string> {
    return new Set(this.typingTimers.keys());
  }

  /** The receipt state of one of this user's messages (a copy), if the client saw it. */
  receipt(messageId: number): Receipt | undefined {
    const r = this.receiptsById.get(messageId);
    return r ? snapshot(r) : undefined;
  }

  /** Subscribes to the chat (`client.subscribe('messages/{chat_id}', options)`). Rejects with `forbidden` for a non-member. */
  subscribe(options: SubscribeOptions = {}): Promise<SubscribedMessage> {
    return this.host.subscribe(this.channel, options);
  }

  /** Unsubscribes from the chat. */
  unsubscribe(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.host.unsubscribe(this.channel, options);
  }

  /**
   * Sends a message. Resolves with the stored `new_message` (recognised by its `client_msg_id`)
   * whether or not the client is subscribed. If the connection drops first, the message is sent
   * again once the client is back, with the same `client_msg_id` (the server stores it once).
   * Rejects with a TetherError: the server's code (`too_large`, `forbidden`, `invalid_field`, ...)
   * or `timeout` / `closed`.
   */
  send(content: string, options: SendOptions = {}): Promise<NewMessageMessage> {
    if (typeof content !== 'string') throw new TypeError('message content must be a string');
    const clientMsgId = options.clientMsgId ?? newClientMsgId();
    const msg: OutgoingMessage = { type: 'message', chat_id: this.chatId, content, client_msg_id: clientMsgId };
    if (options.attachment !== undefined) msg.attachment = options.attachment;
    return new Promise<NewMessageMessage>((resolve, reject) => {
      const entry: PendingSend = {
        ref: undefined,
        done: false,
        resolve: (m) => {
          if (entry.done) return;
          entry.done = true;
          if (this.sends.get(clientMsgId) === entry) this.sends.delete(clientMsgId);
          if (entry.ref !== undefined) this.host.cancel(entry.ref);
          resolve(m);
        },
      };
      this.sends.set(clientMsgId, entry);
      const attempt = (i: number): void => {
        this.host
          .request(msg, false, options.timeoutMs, (ref) => {
            entry.ref = ref;
          })
          .then(
            (reply: { type?: string }) => {
              // tetherd answers with new_message (no ref); a server that echoes the ref on it ends up here.
              if (reply?.type === 'new_message') entry.resolve(reply as NewMessageMessage);
            },
            (err: unknown) => {
              if (entry.done) return;
              if (err instanceof TetherError && err.code === 'disconnected' && i < RESEND_ON_DISCONNECT) return attempt(i + 1);
              entry.done = true;
              if (this.sends.get(clientMsgId) === entry) this.sends.delete(clientMsgId);
              reject(err);
            },
          );
      };
      attempt(0);
    });
  }

  /** Marks a message (of someone else) read: `message_read`, resolves on the server's ack. Rejects with `not_found` for an unknown message. */
  async markRead(messageId: number, options: { timeoutMs?: number } = {}): Promise<AckMessage> {
    if (!Number.isInteger(messageId)) throw new TypeError('a message id must be an integer');
    return this.retrying({ type: 'message_read', chat_id: this.chatId, message_id: messageId }, options.timeoutMs) as Promise<AckMessage>;
  }

  /**
   * Tells the others whether this user is typing (fire and forget: no answer, dropped while the
   * connection is down; the server forwards a repeat of the same state at most once a second).
   * Returns whether it was sent.
   */
  typing(isTyping: boolean): boolean {
    return this.host.sendIfOpen({ type: 'typing', chat_id: this.chatId, is_typing: isTyping === true });
  }

  /** Older messages: the newest `limit` before `beforeId`, ascending, and whether there are more. */
  async history(options: HistoryOptions = {}): Promise<HistoryPage> {
    const msg: OutgoingMessage = { type: 'history', chat_id: this.chatId };
    if (options.beforeId !== undefined) msg.before_id = options.beforeId;
    if (options.limit !== undefined) msg.limit = options.limit;
    const reply = (await this.retrying(msg, options.timeoutMs)) as HistoryMessage;
    return { messages: Array.isArray(reply.messages) ? reply.messages : [], has_more: reply.has_more === true };
  }

  // ---- from the channels helper -------------------------------------------------

  /** @internal A new_message of this chat; `fresh` is false for one the application already saw. */
  _onNewMessage(m: NewMessageMessage, fresh: boolean): void {
    const own = m.sender_id !== undefined && m.sender_id === this.host.userId();
    if (fresh && own && typeof m.message_id === 'number' && !this.receiptsById.has(m.message_id)) {
      this.remember(new ReceiptState(m.message_id));
    }
    // The sender stops typing when its message comes.
    if (fresh && !own && this.typingTimers.has(m.sender_id)) this.stopTyping(m.sender_id, true);
    if (fresh) this.emit('message', { chat_id: this.chatId, message: m, own });
    if (typeof m.client_msg_id === 'string') this.sends.get(m.client_msg_id)?.resolve(m);
    if (fresh && own && typeof m.message_id === 'number') this.emitReceipt(this.receiptsById.get(m.message_id)!);
  }

  /** @internal */
  _onDelivered(m: MessageDeliveredMessage): void {
    if (typeof m.message_id !== 'number' || typeof m.user_id !== 'string') return;
    const r = this.receiptOf(m.message_id);
    if (r.deliveredTo.has(m.user_id)) return;
    r.deliveredTo.add(m.user_id);
    if (r.status === 'sent') r.status = 'delivered';
    this.emit('delivered', { chat_id: this.chatId, message_id: m.message_id, user_id: m.user_id, receipt: snapshot(r) });
    this.emitReceipt(r);
  }

  /** @internal */
  _onRead(m: MessageReadMessage): void {
    if (typeof m.message_id !== 'number' || typeof m.user_id !== 'string') return;
    const r = this.receiptOf(m.message_id);
    if (r.readBy.has(m.user_id)) return;
    r.readBy.set(m.user_id, typeof m.read_at === 'string' ? m.read_at : '');
    // Read implies delivered (the delivered receipt may have been lost with a socket).
    r.deliveredTo.add(m.user_id);
    r.status = 'read';
    this.emit('read', { chat_id: this.chatId, message_id: m.message_id, user_id: m.user_id, read_at: r.readBy.get(m.user_id)!, receipt: snapshot(r) });
    this.emitReceipt(r);
  }

  /** @internal */
  _onTyping(m: TypingMessage): void {
    if (typeof m.user_id !== 'string' || m.user_id === this.host.userId()) return;
    if (m.is_typing === true) {
      const old = this.typingTimers.get(m.user_id);
      const was = old !== undefined;
      if (was) this.host.clearTimeout(old);
      this.typingTimers.set(
        m.user_id,
        this.host.setTimeout(() => this.stopTyping(m.user_id, true), TYPING_TIMEOUT_MS),
      );
      if (!was) this.emit('typing', { chat_id: this.chatId, user_id: m.user_id, is_typing: true, typing: this.typingUsers });
    } else {
      this.stopTyping(m.user_id, true);
    }
  }

  /** @internal The client closed: nobody is typing any more. (Pending sends reject with the client's requests.) */
  _handleClosed(): void {
    for (const user of [...this.typingTimers.keys()]) this.stopTyping(user, true);
  }

  // ---- internals --------------------------------------------------------------

  private stopTyping(userId: string, announce: boolean): void {
    const timer = this.typingTimers.get(userId);
    if (timer === undefined) return;
    this.host.clearTimeout(timer);
    this.typingTimers.delete(userId);
    if (announce) this.emit('typing', { chat_id: this.chatId, user_id: userId, is_typing: false, typing: this.typingUsers });
  }

  private receiptOf(messageId: number): ReceiptState {
    let r = this.receiptsById.get(messageId);
    if (!r) {
      // A receipt for an own message this session did not see (sent from another tab): it was sent.
      r = new ReceiptState(messageId);
      this.remember(r);
    }
    return r;
  }

  private remember(r: ReceiptState): void {
    this.receiptsById.set(r.message_id, r);
    if (this.receiptsById.size > MAX_RECEIPTS) {
      const oldest = this.receiptsById.keys().next().value;
      if (oldest !== undefined) this.receiptsById.delete(oldest);
    }
  }

  private emitReceipt(r: ReceiptState): void {
    this.emit('receipt', { chat_id: this.chatId, message_id: r.message_id, receipt: snapshot(r) });
  }

  /** A request sent again (up to RESEND_ON_DISCONNECT times) when the connection drops before its answer. */
  private async retrying(msg: OutgoingMessage, timeoutMs: number | undefined): Promise<unknown> {
    for (let i = 0; ; i++) {
      try {
        return await this.host.request(msg, false, timeoutMs);
      } catch (err) {
        if (err instanceof TetherError && err.code === 'disconnected' && i < RESEND_ON_DISCONNECT) continue;
        throw err;
      }
    }
  }
}

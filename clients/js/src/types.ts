/**
 * Message shapes of the tether wire protocol, v1 (see PROTOCOL.md).
 * Field names are the server's (snake_case). Every server message may carry
 * extra fields; the interfaces list the documented ones.
 */

export type Ref = string | number;

/** Any message the client sends: a JSON object with a string `type`. */
export interface OutgoingMessage {
  type: string;
  ref?: Ref;
  [field: string]: unknown;
}

interface Base<T extends string> {
  type: T;
  ref?: Ref;
  [field: string]: unknown;
}

export type ErrorCode =
  | 'bad_json'
  | 'unsupported_frame'
  | 'unknown_type'
  | 'invalid_field'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'room_full'
  | 'capacity'
  | 'conflict'
  | 'too_large'
  | 'internal';

// ---- session --------------------------------------------------------------

export interface ConnectedMessage extends Base<'connected'> {
  session_id: string;
  user_id: string;
  resume_token: string;
  heartbeat_ms: number;
  resumed: boolean;
  /** After a resume: the files the session tracks (tetherd sends it; see docs/protocol.md). */
  file_ids?: string[];
}
export interface PongMessage extends Base<'pong'> {
  server_time: string;
}
export interface QueuedMessage extends Base<'queued'> {
  position: number;
}
export interface ErrorMessage extends Base<'error'> {
  code: ErrorCode | string;
  message: string;
}
export interface AckMessage extends Base<'ack'> {
  for: string;
  file_id?: string;
  post_id?: string;
  kept?: string[];
  /** `ack {for: "message_read"}`: the chat and message marked read. */
  chat_id?: string;
  message_id?: number;
}

// ---- abandoned-upload cleanup ----------------------------------------------

export interface RejectedFile {
  file_id: string;
  code: string;
}
export interface RegisteredMessage extends Base<'registered'> {
  session_id: string;
  file_ids: string[];
  rejected: RejectedFile[];
}

// ---- rooms -----------------------------------------------------------------

export interface Participant {
  user_id: string;
  session_id: string;
  display_name: string;
  joined_at: string;
}
export interface RoomJoinedMessage extends Base<'room_joined'> {
  room_id: string;
  participants: Participant[];
  occupancy: number;
  capacity: number;
}
export interface RoomLeftMessage extends Base<'room_left'> {
  room_id: string;
}
export interface UserJoinedMessage extends Base<'user_joined'> {
  room_id: string;
  user_id: string;
  display_name: string;
}
export interface UserLeftMessage extends Base<'user_left'> {
  room_id: string;
  user_id: string;
  reason: 'left' | 'disconnected' | 'timeout' | 'stale' | 'idle' | 'inactive' | string;
}
export interface RoomMessageMessage extends Base<'room_message'> {
  room_id: string;
  user_id: string;
  data: unknown;
}
export interface SessionSwitchedMessage extends Base<'session_switched'> {
  room_id: string;
  session_id: string;
}
export interface RoomInfo {
  room_id: string;
  occupancy: number;
  capacity: number;
}
export interface RoomListMessage extends Base<'room_list'> {
  rooms: RoomInfo[];
}
export interface RoomOccupancyUpdateMessage extends Base<'room_occupancy_update'> {
  room_id: string;
  occupancy: number;
}

// ---- channels, chat, notifications, presence ---------------------------------

/**
 * A channel name: `messages/{chat_id}`, `feed`, `online`, `notifications` or `connections`
 * (and any name `/api/publish` delivers to).
 */
export type ChannelName = 'feed' | 'online' | 'notifications' | 'connections' | `messages/${string}` | (string & {});

/** Answer to `subscribe`; with `since_id` on a history channel, the stored later items follow it. */
export interface SubscribedMessage extends Base<'subscribed'> {
  channel: string;
}
/** Answer to `unsubscribe`. */
export interface UnsubscribedMessage extends Base<'unsubscribed'> {
  channel: string;
}
/** A chat message, live or replayed (and the elements of `history.messages`). */
export interface NewMessageMessage extends Base<'new_message'> {
  /** Increases within a chat. */
  message_id: number;
  chat_id: string;
  sender_id: string;
  content: string;
  /** Any JSON the sender attached, or null. */
  attachment: unknown;
  /** The sender's id for the message (how a sender recognises its own), or null. */
  client_msg_id: string | null;
  timestamp: string;
}
/** A recipient user's connection got the message (once per recipient, live delivery only). */
export interface MessageDeliveredMessage extends Base<'message_delivered'> {
  message_id: number;
  chat_id: string;
  user_id: string;
}
/** A recipient read the message (first read only). */
export interface MessageReadMessage extends Base<'message_read'> {
  message_id: number;
  chat_id: string;
  user_id: string;
  read_at: string;
}
/** Someone else in the chat started or stopped typing (not stored, may be dropped). */
export interface TypingMessage extends Base<'typing'> {
  chat_id: string;
  user_id: string;
  is_typing: boolean;
}
/** Answer to `history`: the newest `limit` messages before `before_id`, ascending. */
export interface HistoryMessage extends Base<'history'> {
  chat_id: string;
  messages: NewMessageMessage[];
  has_more: boolean;
}
export interface PresenceUser {
  user_id: string;
  full_name: string;
}
/** The users online, right after `subscribed` to `online`. */
export interface PresenceMessage extends Base<'presence'> {
  users: PresenceUser[];
}
/** A user's first session opened (on `online`). */
export interface UserOnlineMessage extends Base<'user_online'> {
  user_id: string;
  full_name: string;
}
/** A user's last session ended, after its resume window (on `online`). */
export interface UserOfflineMessage extends Base<'user_offline'> {
  user_id: string;
}
/** Kinds of `notification` and the fields each adds. */
export type NotificationKind = 'new_post' | 'comment_on_post' | 'like' | 'custom';
/**
 * A notification of this user (on `notifications`). `id` increases per user (shared with the
 * `connections` stream). Fields by kind: `new_post` {author_id, post}, `comment_on_post`
 * {post_id, comment, user_id, user_name}, `like` {post_id, user_id, user_name}, `custom` {data}.
 */
export interface NotificationMessage extends Base<'notification'> {
  id: number;
  kind: NotificationKind | (string & {});
  author_id?: string;
  post?: { id: string | number; [field: string]: unknown };
  post_id?: string | number;
  comment?: unknown;
  user_id?: string;
  user_name?: string;
  data?: unknown;
}
/** A new post (on `feed`). */
export interface NewPostMessage extends Base<'new_post'> {
  author_id: string;
  post: { id: string | number; content?: string; [field: string]: unknown };
}
/** A new comment (on `feed`). */
export interface NewCommentMessage extends Base<'new_comment'> {
  post_id: string | number;
  comment: unknown;
  user_id: string;
  user_name: string;
}
/** Someone asks this user to connect (on `connections`). */
export interface ConnectionRequestMessage extends Base<'connection_request'> {
  /** Increases per user, shared with `notification` ids. */
  id: number;
  request_id: string | number;
  from_user_id: string;
  from_user_name: string;
}
/** Someone accepted this user's request (on `connections`). */
export interface ConnectionAcceptedMessage extends Base<'connection_accepted'> {
  id: number;
  request_id: string | number;
  from_user_id: string;
  from_user_name: string;
}
/** What `POST /api/publish {channel, data}` delivers to the channel's subscribers. */
export interface ChannelMessageMessage extends Base<'channel_message'> {
  channel: string;
  data: unknown;
}

/** Every documented server -> client message, by `type`. */
export interface ServerMessageMap {
  connected: ConnectedMessage;
  pong: PongMessage;
  queued: QueuedMessage;
  error: ErrorMessage;
  ack: AckMessage;
  registered: RegisteredMessage;
  room_joined: RoomJoinedMessage;
  room_left: RoomLeftMessage;
  user_joined: UserJoinedMessage;
  user_left: UserLeftMessage;
  room_message: RoomMessageMessage;
  session_switched: SessionSwitchedMessage;
  room_list: RoomListMessage;
  room_occupancy_update: RoomOccupancyUpdateMessage;
  subscribed: SubscribedMessage;
  unsubscribed: UnsubscribedMessage;
  new_message: NewMessageMessage;
  message_delivered: MessageDeliveredMessage;
  message_read: MessageReadMessage;
  typing: TypingMessage;
  history: HistoryMessage;
  presence: PresenceMessage;
  user_online: UserOnlineMessage;
  user_offline: UserOfflineMessage;
  notification: NotificationMessage;
  new_post: NewPostMessage;
  new_comment: NewCommentMessage;
  connection_request: ConnectionRequestMessage;
  connection_accepted: ConnectionAcceptedMessage;
  channel_message: ChannelMessageMessage;
}

export type ServerMessageType = keyof ServerMessageMap;
/** A message from the server; `type` may also be one this version does not know. */
export type ServerMessage = ServerMessageMap[ServerMessageType] | Base<string>;

/**
 * The direct reply (echoing `ref`) to each client message type that has one.
 * `request()` resolves with this type. An `error` reply rejects instead.
 */
export interface ReplyMap {
  ping: PongMessage;
  connect: ConnectedMessage;
  register: RegisteredMessage;
  file_uploaded: AckMessage;
  file_removed: AckMessage;
  post_submitted: AckMessage & { kept: string[] };
  before_disconnect: AckMessage;
  join_room: RoomJoinedMessage;
  leave_room: RoomLeftMessage;
  watch_rooms: RoomListMessage;
  unwatch_rooms: AckMessage;
  subscribe: SubscribedMessage;
  unsubscribe: UnsubscribedMessage;
  history: HistoryMessage;
  message_read: AckMessage;
}

// ---- client-side events ------------------------------------------------------

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateEvent {
  state: ConnectionState;
  previous: ConnectionState;
  /** Close code that caused the change, when one did (e.g. 4009 for 'closed'). */
  code?: number;
  reason?: string;
}
export interface OpenEvent {
  session_id: string;
  user_id: string;
  resumed: boolean;
  connected: ConnectedMessage;
}
export interface CloseEvent {
  /** WebSocket close code (1006 when the socket failed without one; 4000 when the client gave up on a silent socket). */
  code: number;
  reason: string;
  /** Whether the client is going to reconnect (after a backoff delay, or a short jitter after 1001). */
  willReconnect: boolean;
  /** Delay before the next attempt, when willReconnect. */
  delayMs?: number;
}
export interface DroppedEvent {
  message: OutgoingMessage;
  reason: 'queue_full' | 'closed';
}
export interface DraftRejectedEvent {
  rejected: RejectedFile[];
}
export interface ConnectErrorEvent {
  /**
   * What went wrong. For phase 'refused' a TetherError with the HTTP `status`
   * and the server's `code` and `message`, e.g. `{status: 401, code: 'unauthorized', message: 'invalid token: expired'}`.
   */
  error: unknown;
  /**
   * 'token' when the token function failed, 'timeout' when the socket did not open in time, 'socket' when the
   * WebSocket constructor threw, 'refused' when the server answered the upgrade with an HTTP error.
   */
  phase: 'token' | 'timeout' | 'socket' | 'refused';
  /** HTTP status of the refusal (phase 'refused'). */
  status?: number;
  /** Whether the client tries again (false: it stops, state 'closed'). */
  willRetry?: boolean;
}

export interface ClientEventMap extends ServerMessageMap {
  state: StateEvent;
  open: OpenEvent;
  close: CloseEvent;
  dropped: DroppedEvent;
  draft_rejected: DraftRejectedEvent;
  connect_error: ConnectErrorEvent;
  /** Every server message, whatever its type. */
  '*': ServerMessage;
}

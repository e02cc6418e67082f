import { Emitter } from './emitter.js';
import { TetherError } from './errors.js';
import type {
  AckMessage,
  ConnectedMessage,
  OutgoingMessage,
  Participant,
  RoomJoinedMessage,
  RoomLeftMessage,
  RoomListMessage,
  ServerMessage,
} from './types.js';

/** What the rooms helper needs from its client (internal). */
export interface RoomsHost {
  /** `front`: ahead of every queued message (used for the re-join after a reconnect). */
  request(message: OutgoingMessage, front: boolean, timeoutMs?: number): Promise<any>;
  /** Sends now, or queues while the connection is down (bounded by maxQueue). */
  send(message: OutgoingMessage): void;
}

export interface JoinOptions {
  /** The name the others see; the server's default is the token's `name`, else the user id. Kept for the re-join. */
  displayName?: string;
  /** Overrides the client's `requestTimeoutMs` for this join. */
  timeoutMs?: number;
}

/** A member of a room as the client knows it: one entry per user (occupancy counts distinct users). */
export interface RoomParticipant {
  user_id: string;
  display_name: string;
  /** From `room_joined` (members already there when this client joined); `user_joined` carries none. */
  joined_at?: string;
  /** From `room_joined`; `user_joined` carries none. */
  session_id?: string;
}

/** A room this client is in, kept up to date from `room_joined`, `user_joined` and `user_left`. */
export interface RoomView {
  readonly room_id: string;
  /** By user id, in the order they came in. */
  readonly participants: ReadonlyMap<string, RoomParticipant>;
  /** Distinct users in the room (`participants.size`). */
  readonly occupancy: number;
  readonly capacity: number;
  /** The display name this client joined with (undefined: the server's default). */
  readonly displayName: string | undefined;
}

/** A room of the watched list (`watch_rooms`). */
export interface ListedRoom {
  room_id: string;
  occupancy: number;
  /** Undefined only for a room that first showed up in an update before any capacity was known. */
  capacity: number | undefined;
}

/** Why the client is no longer in a room. */
export type RoomLeftReason =
  /** `leave()` */
  | 'left'
  /** another session of the same user took the place (`session_switched`) */
  | 'switched'
  /** the re-join after a reconnect without resume was refused (e.g. `room_full`) */
  | 'rejoin_failed'
  /** `client.close()`: the session ended */
  | 'closed';

export interface RoomEventMap {
  /** This client is in the room: after `join()`, or after the re-join that follows a reconnect without resume. */
  joined: { room_id: string; room: RoomView; rejoined: boolean; message: RoomJoinedMessage };
  /** This client is no longer in the room. */
  left: { room_id: string; reason: RoomLeftReason; error?: TetherError };
  /** Someone else came in (`user_joined`). `room` is undefined for a room the client does not track. */
  userJoined: { room_id: string; user_id: string; display_name: string; room: RoomView | undefined };
  /** Someone left (`user_left`): reason `left`, `disconnected`, `timeout`, `stale`, `idle` or `inactive`. */
  userLeft: {
    room_id: string;
    user_id: string;
    reason: 'left' | 'disconnected' | 'timeout' | 'stale' | 'idle' | 'inactive' | string;
    /** The name the client knew them by, if it did. */
    display_name: string | undefined;
    room: RoomView | undefined;
  };
  /** A `publish` of any member, this client's own included. */
  roomMessage: { room_id: string; user_id: string; data: unknown; display_name: string | undefined };
  /** Another session of this user (another tab) took this session's place in the room. */
  sessionSwitched: { room_id: string; session_id: string };
  /** The watched list, whole (after `watch()`, and after a re-watch that follows a reconnect without resume). */
  roomList: { rooms: ListedRoom[] };
  /** The occupancy of one room changed (0: it is empty and gone from the list). */
  occupancyUpdate: { room_id: string; occupancy: number; capacity: number | undefined };
  /** The participants of a room this client is in changed (join, re-join, someone came or left). */
  participants: { room_id: string; room: RoomView };
}

/** How many times a join or leave is sent again when the connection drops before its reply. */
const RESEND_ON_DISCONNECT = 3;

class Room implements RoomView {
  readonly map = new Map<string, RoomParticipant>();
  capacity: number;
  displayName: string | undefined;

  constructor(
    readonly room_id: string,
    message: RoomJoinedMessage,
    displayName: string | undefined,
  ) {
    this.capacity = message.capacity;
    this.displayName = displayName;
    this.reset(message);
  }

  get participants(): ReadonlyMap<string, RoomParticipant> {
    return this.map;
  }
  get occupancy(): number {
    return this.map.size;
  }

  reset(message: RoomJoinedMessage): void {
    this.map.clear();
    if (typeof message.capacity === 'number') this.capacity = message.capacity;
    const list: Participant[] = Array.isArray(message.participants) ? message.participants : [];
    for (const p of list) {
      if (!p || typeof p.user_id !== 'string') continue;
      const entry: RoomParticipant = {
        user_id: p.user_id,
        display_name: typeof p.display_name === 'string' ? p.display_name : p.user_id,
      };
      if (typeof p.joined_at === 'string') entry.joined_at = p.joined_at;
      if (typeof p.session_id === 'string') entry.session_id = p.session_id;
      // Policy "allow" lists a user once per session: keep one entry per user, the first one.
      if (!this.map.has(p.user_id)) this.map.set(p.user_id, entry);
    }
  }
}

/**
 * Client side of rooms (PROTOCOL.md §6): join, leave, publish, watch the room
 * list, a live view of the participants of every room the client is in, and
 * the re-join after a reconnect that did not resume the session.
 *
 * After a resume the server still has the session's rooms (and its watch), so
 * nothing is sent. After a fresh session (`connected.resumed === false`) the
 * rooms are gone on the server: the client joins them again, with the display
 * names it joined with, ahead of anything queued, and watches again if it was.
 */
export class Rooms extends Emitter<RoomEventMap> {
  /** Rooms the client is in (a `room_joined` came and no leave since). */
  private readonly views = new Map<string, Room>();
  /** Rooms the application wants to be in: joined ones and joins on their way, with their display names. */
  private readonly wanted = new Map<string, { displayName: string | undefined }>();
  /** Rooms whose re-join was sent and not answered yet (sent again after the next connected, resumed or not). */
  private readonly rejoining = new Set<string>();
  private readonly listed = new Map<string, ListedRoom>();
  private _watching = false;
  /** A room_list came since watch(): the server had the watch (so a fresh session needs it again). */
  private watchAnswered = false;
  /** watch() calls waiting for their answer (they send again by themselves after a drop). */
  private watchCalls = 0;
  /** The last capacity seen (the server's `rooms.max_participants`), for rooms that show up in an update. */
  private knownCapacity: number | undefined;

  /** @internal */
  constructor(private readonly host: RoomsHost) {
    super();
  }

  /** The rooms this client is in, by room id. */
  get joined(): ReadonlyMap<string, RoomView> {
    return this.views;
  }

  /** The room, if this client is in it. */
  get(roomId: string): RoomView | undefined {
    return this.views.get(roomId);
  }

  /** The watched room list with live occupancy (empty unless `watch()` was called). Non-empty rooms only. */
  get list(): ReadonlyMap<string, ListedRoom> {
    return this.listed;
  }

  /** Whether `watch()` is in effect (until `unwatch()` or `close()`). */
  get watching(): boolean {
    return this._watching;
  }

  /**
   * Joins a room (`join_room`). Resolves with `room_joined` (the participants,
   * the joiner included); `get(roomId)` then has the live view. Rejects with a
   * TetherError: the server's code (`room_full`, `invalid_field`, `forbidden`,
   * `rate_limited`, ...) or `timeout` / `closed`. If the connection drops
   * before the reply, the join is sent again once the client is back (up to 3
   * times). Joining a room the session is already in refreshes its view.
   */
  async join(roomId: string, options: JoinOptions = {}): Promise<RoomJoinedMessage> {
    checkRoomId(roomId);
    const displayName = options.displayName;
    const msg: OutgoingMessage = { type: 'join_room', room_id: roomId };
    if (displayName !== undefined) msg.display_name = displayName;
    const intent = { displayName };
    this.wanted.set(roomId, intent);
    for (let i = 0; ; i++) {
      try {
        return (await this.host.request(msg, false, options.timeoutMs)) as RoomJoinedMessage;
      } catch (err) {
        const stillWanted = this.wanted.get(roomId) === intent;
        if (err instanceof TetherError && err.code === 'disconnected' && i < RESEND_ON_DISCONNECT && stillWanted) continue;
        // Refused: forget the intent, unless the room was joined before (then the old place stands).
        if (stillWanted && !this.views.has(roomId)) this.wanted.delete(roomId);
        throw err;
      }
    }
  }

  /**
   * Leaves a room (`leave_room`). The room leaves `joined` at once (and is not
   * re-joined after a reconnect); resolves on `room_left`. A room the server
   * says the session is not in (`not_found`) counts as left.
   */
  async leave(roomId: string, options: { timeoutMs?: number } = {}): Promise<void> {
    checkRoomId(roomId);
    const wasIn = this.views.has(roomId);
    this.forget(roomId);
    if (wasIn) this.emit('left', { room_id: roomId, reason: 'left' });
    for (let i = 0; ; i++) {
      try {
        (await this.host.request({ type: 'leave_room', room_id: roomId }, false, options.timeoutMs)) as RoomLeftMessage;
        return;
      } catch (err) {
        if (err instanceof TetherError && err.code === 'not_found') return;
        if (err instanceof TetherError && err.code === 'disconnected' && i < RESEND_ON_DISCONNECT && !this.wanted.has(roomId)) continue;
        throw err;
      }
    }
  }

  /**
   * Broadcasts `data` to every member of the room, this client included
   * (`publish`; it arrives as `roomMessage`). There is no reply: a session
   * that is not a member gets an `error` event with code `forbidden`. Queued
   * (bounded by maxQueue) while the connection is down.
   */
  publish(roomId: string, data: unknown): void {
    checkRoomId(roomId);
    this.host.send({ type: 'publish', room_id: roomId, data });
  }

  /**
   * Watches the room list (`watch_rooms`): resolves with the list (`room_list`),
   * then `list` follows every `room_occupancy_update`. Watched again after a
   * reconnect without resume.
   */
  async watch(options: { timeoutMs?: number } = {}): Promise<ListedRoom[]> {
    this._watching = true;
    this.watchCalls++;
    try {
      for (let i = 0; ; i++) {
        try {
          const reply = (await this.host.request({ type: 'watch_rooms' }, false, options.timeoutMs)) as RoomListMessage;
          // `list` was filled (and 'roomList' emitted) when the reply came in.
          return (Array.isArray(reply.rooms) ? reply.rooms : []).map((r) => ({ room_id: r.room_id, occupancy: r.occupancy, capacity: r.capacity }));
        } catch (err) {
          if (err instanceof TetherError && err.code === 'disconnected' && i < RESEND_ON_DISCONNECT && this._watching) continue;
          throw err;
        }
      }
    } finally {
      this.watchCalls--;
    }
  }

  /** Stops watching (`unwatch_rooms`); `list` is emptied at once. Resolves on the server's ack. */
  async unwatch(options: { timeoutMs?: number } = {}): Promise<void> {
    this._watching = false;
    this.watchAnswered = false;
    this.listed.clear();
    (await this.host.request({ type: 'unwatch_rooms' }, false, options.timeoutMs)) as AckMessage;
  }

  // ---- from the client ---------------------------------------------------------

  /** @internal Every server message, before the client emits it. */
  _handleMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'room_joined':
        return this.onRoomJoined(message as RoomJoinedMessage);
      case 'user_joined':
        return this.onUserJoined(message as ServerMessage & { room_id: string; user_id: string; display_name: string });
      case 'user_left':
        return this.onUserLeft(message as ServerMessage & { room_id: string; user_id: string; reason: string });
      case 'room_message': {
        const m = message as ServerMessage & { room_id: string; user_id: string; data: unknown };
        if (typeof m.room_id !== 'string') return;
        const who = this.views.get(m.room_id)?.map.get(m.user_id);
        this.emit('roomMessage', { room_id: m.room_id, user_id: m.user_id, data: m.data, display_name: who?.display_name });
        return;
      }
      case 'session_switched': {
        const m = message as ServerMessage & { room_id: string; session_id: string };
        if (typeof m.room_id !== 'string') return;
        const wasIn = this.views.has(m.room_id);
        this.forget(m.room_id);
        this.emit('sessionSwitched', { room_id: m.room_id, session_id: m.session_id });
        if (wasIn) this.emit('left', { room_id: m.room_id, reason: 'switched' });
        return;
      }
      case 'room_list':
        if (!this._watching) return;
        this.watchAnswered = true;
        this.listFrom(message as RoomListMessage);
        return;
      case 'room_occupancy_update':
        return this.onOccupancy(message as ServerMessage & { room_id: string; occupancy: number });
    }
  }

  /** @internal Called on every `connected`, before the send queue is flushed. */
  _handleConnected(msg: ConnectedMessage): void {
    // Resumed: the server kept the rooms and the watch. Only re-joins whose answer was lost are sent
    // again (joining a room the session is in is harmless: it answers room_joined again).
    const rooms = msg.resumed === true ? [...this.rejoining] : [...this.views.keys()];
    // Requests go to the front of the queue one by one: send the last first to keep their order.
    // (A watch() still waiting for its answer sends again by itself.)
    if (this._watching && this.watchAnswered && this.watchCalls === 0 && msg.resumed !== true) {
      this.host.request({ type: 'watch_rooms' }, true).catch(() => {
        // Dropped again: the next connected without resume watches again.
      });
    }
    for (const roomId of rooms.reverse()) this.rejoin(roomId);
  }

  /** @internal Called by the client's close(): the session ends, and with it its rooms and watch. */
  _handleClosed(): void {
    const rooms = [...this.views.keys()];
    this.views.clear();
    this.wanted.clear();
    this.rejoining.clear();
    this.listed.clear();
    this._watching = false;
    this.watchAnswered = false;
    for (const roomId of rooms) this.emit('left', { room_id: roomId, reason: 'closed' });
  }

  // ---- internals --------------------------------------------------------------

  private rejoin(roomId: string): void {
    const intent = this.wanted.get(roomId);
    if (!intent) return;
    const msg: OutgoingMessage = { type: 'join_room', room_id: roomId };
    if (intent.displayName !== undefined) msg.display_name = intent.displayName;
    this.rejoining.add(roomId);
    this.host.request(msg, true).then(
      () => {
        // room_joined was handled by _handleMessage (view refreshed, 'joined' emitted).
      },
      (err: unknown) => {
        if (this.wanted.get(roomId) !== intent) return; // left meanwhile
        if (err instanceof TetherError && err.code === 'disconnected') return; // sent again after the next connected
        if (err instanceof TetherError && err.code === 'closed') return; // close() clears everything
        const wasIn = this.views.has(roomId);
        this.forget(roomId);
        if (wasIn) {
          const error = err instanceof TetherError ? err : new TetherError('error', String(err));
          this.emit('left', { room_id: roomId, reason: 'rejoin_failed', error });
        }
      },
    );
  }

  private forget(roomId: string): void {
    this.views.delete(roomId);
    this.wanted.delete(roomId);
    this.rejoining.delete(roomId);
  }

  private onRoomJoined(m: RoomJoinedMessage): void {
    if (typeof m.room_id !== 'string') return;
    if (typeof m.capacity === 'number') this.knownCapacity = m.capacity;
    const intent = this.wanted.get(m.room_id);
    // A join the application has given up on (left meanwhile), or one not made through rooms.join().
    if (!intent) return;
    const rejoined = this.rejoining.delete(m.room_id);
    let room = this.views.get(m.room_id);
    if (room) {
      room.reset(m);
      room.displayName = intent.displayName;
    } else {
      room = new Room(m.room_id, m, intent.displayName);
      this.views.set(m.room_id, room);
    }
    this.emit('joined', { room_id: m.room_id, room, rejoined, message: m });
    this.emit('participants', { room_id: m.room_id, room });
  }

  private onUserJoined(m: { room_id: string; user_id: string; display_name: string }): void {
    if (typeof m.room_id !== 'string' || typeof m.user_id !== 'string') return;
    const room = this.views.get(m.room_id);
    const display_name = typeof m.display_name === 'string' ? m.display_name : m.user_id;
    if (room) {
      const known = room.map.get(m.user_id);
      if (known) known.display_name = display_name;
      else room.map.set(m.user_id, { user_id: m.user_id, display_name });
    }
    this.emit('userJoined', { room_id: m.room_id, user_id: m.user_id, display_name, room });
    if (room) this.emit('participants', { room_id: m.room_id, room });
  }

  private onUserLeft(m: { room_id: string; user_id: string; reason: string }): void {
    if (typeof m.room_id !== 'string' || typeof m.user_id !== 'string') return;
    const room = this.views.get(m.room_id);
    const known = room?.map.get(m.user_id);
    if (room) room.map.delete(m.user_id);
    this.emit('userLeft', { room_id: m.room_id, user_id: m.user_id, reason: m.reason, display_name: known?.display_name, room });
    if (room) this.emit('participants', { room_id: m.room_id, room });
  }

  private onOccupancy(m: { room_id: string; occupancy: number }): void {
    if (typeof m.room_id !== 'string' || typeof m.occupancy !== 'number') return;
    const capacity = this.listed.get(m.room_id)?.capacity ?? this.knownCapacity;
    if (this._watching) {
      if (m.occupancy <= 0) {
        this.listed.delete(m.room_id);
      } else {
        const entry = this.listed.get(m.room_id);
        if (entry) entry.occupancy = m.occupancy;
        else this.listed.set(m.room_id, { room_id: m.room_id, occupancy: m.occupancy, capacity });
      }
    }
    this.emit('occupancyUpdate', { room_id: m.room_id, occupancy: m.occupancy, capacity });
  }

  private listFrom(m: RoomListMessage): void {
    this.listed.clear();
    for (const r of Array.isArray(m.rooms) ? m.rooms : []) {
      if (!r || typeof r.room_id !== 'string') continue;
      if (typeof r.capacity === 'number') this.knownCapacity = r.capacity;
      this.listed.set(r.room_id, { room_id: r.room_id, occupancy: r.occupancy, capacity: r.capacity });
    }
    this.emit('roomList', { rooms: [...this.listed.values()].map((r) => ({ ...r })) });
  }
}

function checkRoomId(roomId: unknown): void {
  if (typeof roomId !== 'string' || roomId === '') throw new TypeError('a room id must be a non-empty string');
}

// Rooms API with the fake WebSocket and clock: join/leave/publish/watch, the participants view, the
// typed events, and the re-join after a reconnect that did not resume.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TetherError, type RoomEventMap } from '../src/index.js';
import { flush, setup, type FakeSocket } from './helpers.js';

const T0 = '2026-01-01T12:00:00.000Z';

/** The last message of this type the client sent on the socket. */
function sentOf(sock: FakeSocket, type: string, roomId?: string): any {
  const m = [...sock.messages].reverse().find((x) => x.type === type && (roomId === undefined || x.room_id === roomId));
  assert.ok(m, `no ${type}${roomId ? ` for ${roomId}` : ''} sent; sent: ${sock.sent.join(' ')}`);
  return m;
}

function joinedReply(ref: unknown, roomId: string, participants: Array<[string, string]>, capacity = 50) {
  return {
    type: 'room_joined',
    ref,
    room_id: roomId,
    participants: participants.map(([user_id, display_name], i) => ({ user_id, session_id: `s_${user_id}`, display_name, joined_at: T0.replace('00.000', `0${i}.000`) })),
    occupancy: new Set(participants.map(([u]) => u)).size,
    capacity,
  };
}

/** Records the rooms helper's events as [name, event]. */
function record(rooms: { on<K extends keyof RoomEventMap>(k: K, l: (e: RoomEventMap[K]) => void): () => void }) {
  const seen: Array<[string, any]> = [];
  for (const k of ['joined', 'left', 'userJoined', 'userLeft', 'roomMessage', 'sessionSwitched', 'roomList', 'occupancyUpdate', 'participants'] as const) {
    rooms.on(k, (e: any) => seen.push([k, e]));
  }
  return seen;
}

const names = (view: { participants: ReadonlyMap<string, { display_name: string }> } | undefined) =>
  view ? [...view.participants.values()].map((p) => p.display_name) : undefined;

/** A client that is open and in room `r1` with alice (itself, 'Ann') and bob. */
async function inRoom(options: Parameters<typeof setup>[0] = {}) {
  const t = setup(options);
  void t.client.connect();
  t.accept({ user_id: 'alice' });
  const joining = t.client.rooms.join('r1', { displayName: 'Ann' });
  const sent = sentOf(t.last(), 'join_room', 'r1');
  t.last().receive(joinedReply(sent.ref, 'r1', [['bob', 'Bob'], ['alice', 'Ann']]));
  await joining;
  return t;
}

describe('rooms: join, leave, publish', () => {
  it('join sends join_room with the display name and resolves with room_joined; the view has the participants', async () => {
    const { client, last, accept } = setup();
    const seen = record(client.rooms);
    void client.connect();
    accept({ user_id: 'alice' });
    const p = client.rooms.join('r1', { displayName: 'Ann' });
    const sent = sentOf(last(), 'join_room');
    assert.deepEqual(sent, { type: 'join_room', room_id: 'r1', display_name: 'Ann', ref: sent.ref });
    last().receive(joinedReply(sent.ref, 'r1', [['bob', 'Bob'], ['alice', 'Ann']], 4));
    const joined = await p;
    assert.equal(joined.type, 'room_joined');
    assert.equal(joined.occupancy, 2);
    const view = client.rooms.get('r1')!;
    assert.equal(view.room_id, 'r1');
    assert.equal(view.capacity, 4);
    assert.equal(view.occupancy, 2);
    assert.equal(view.displayName, 'Ann');
    assert.deepEqual([...view.participants.keys()], ['bob', 'alice']);
    assert.deepEqual(view.participants.get('bob'), { user_id: 'bob', display_name: 'Bob', session_id: 's_bob', joined_at: T0 });
    assert.deepEqual([...client.rooms.joined.keys()], ['r1']);
    assert.deepEqual(seen.map(([k]) => k), ['joined', 'participants']);
    assert.equal(seen[0]![1].rejoined, false);
  });

  it('join without a display name sends none (the server picks the default)', async () => {
    const { client, last, accept } = setup();
    void client.connect();
    accept();
    void client.rooms.join('r2');
    assert.deepEqual(Object.keys(sentOf(last(), 'join_room')).sort(), ['ref', 'room_id', 'type']);
  });

  it('join rejects with the server code (room_full, invalid_field) and keeps no view', async () => {
    const { client, clock, last, accept } = setup();
    void client.connect();
    accept();
    const full = client.rooms.join('busy');
    last().receive({ type: 'error', code: 'room_full', message: 'room busy is full', ref: sentOf(last(), 'join_room', 'busy').ref });
    await assert.rejects(full, (e: unknown) => e instanceof TetherError && e.code === 'room_full' && e.message === 'room busy is full');
    const bad = client.rooms.join('bad id');
    last().receive({ type: 'error', code: 'invalid_field', message: 'room_id must be ...', ref: sentOf(last(), 'join_room', 'bad id').ref });
    await assert.rejects(bad, (e: unknown) => e instanceof TetherError && e.code === 'invalid_field');
    assert.equal(client.rooms.joined.size, 0);
    // A refused join is not re-joined after a reconnect either.
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: false });
    assert.deepEqual(last().messages, []);
  });

  it('user_joined / user_left update the participants and come as typed events, with the reason', async () => {
    const { client, last } = await inRoom();
    const seen = record(client.rooms);
    const raw: string[] = [];
    client.on('user_left', (m) => raw.push(`${m.user_id}:${m.reason}:${names(client.rooms.get('r1'))}`));
    last().receive({ type: 'user_joined', room_id: 'r1', user_id: 'carol', display_name: 'Carol' });
    assert.deepEqual(names(client.rooms.get('r1')), ['Bob', 'Ann', 'Carol']);
    last().receive({ type: 'user_left', room_id: 'r1', user_id: 'bob', reason: 'timeout' });
    assert.deepEqual(names(client.rooms.get('r1')), ['Ann', 'Carol']);
    assert.equal(client.rooms.get('r1')!.occupancy, 2);
    assert.deepEqual(
      seen.map(([k, e]) => [k, e.user_id ?? e.room_id, e.reason ?? e.display_name]),
      [
        ['userJoined', 'carol', 'Carol'],
        ['participants', 'r1', undefined],
        ['userLeft', 'bob', 'timeout'],
        ['participants', 'r1', undefined],
      ],
    );
    assert.equal(seen[2]![1].display_name, 'Bob', 'userLeft says who it was');
    // The client's own event for the raw message sees the view already updated.
    assert.deepEqual(raw, ['bob:timeout:Ann,Carol']);
  });

  it('events of rooms the client is not in still come, without a view', async () => {
    const { client, last, accept } = setup();
    const seen = record(client.rooms);
    void client.connect();
    accept();
    last().receive({ type: 'user_joined', room_id: 'other', user_id: 'x', display_name: 'X' });
    assert.deepEqual(seen, [['userJoined', { room_id: 'other', user_id: 'x', display_name: 'X', room: undefined }]]);
    assert.equal(client.rooms.get('other'), undefined);
  });

  it('publish sends publish without a ref; room_message comes as roomMessage with the sender name', async () => {
    const { client, last } = await inRoom();
    const seen = record(client.rooms);
    client.rooms.publish('r1', { emoji: '👋' });
    assert.deepEqual(sentOf(last(), 'publish'), { type: 'publish', room_id: 'r1', data: { emoji: '👋' } });
    last().receive({ type: 'room_message', room_id: 'r1', user_id: 'alice', data: { emoji: '👋' } });
    assert.deepEqual(seen, [['roomMessage', { room_id: 'r1', user_id: 'alice', data: { emoji: '👋' }, display_name: 'Ann' }]]);
  });

  it('publish while the connection is down is queued (bounded by maxQueue)', async () => {
    const { client, events } = setup({ maxQueue: 2 });
    client.rooms.publish('r', 1);
    client.rooms.publish('r', 2);
    client.rooms.publish('r', 3);
    assert.equal(client.queueLength, 2);
    const dropped = events.filter(([t]) => t === 'dropped').map(([, e]) => e.message.data);
    assert.deepEqual(dropped, [1]);
  });

  it('leave drops the view at once, sends leave_room, resolves on room_left; not_found counts as left', async () => {
    const { client, last } = await inRoom();
    const seen = record(client.rooms);
    const p = client.rooms.leave('r1');
    assert.equal(client.rooms.get('r1'), undefined);
    assert.deepEqual(seen, [['left', { room_id: 'r1', reason: 'left' }]]);
    const sent = sentOf(last(), 'leave_room');
    assert.deepEqual(sent, { type: 'leave_room', room_id: 'r1', ref: sent.ref });
    last().receive({ type: 'room_left', room_id: 'r1', ref: sent.ref });
    await p;
    const again = client.rooms.leave('r1');
    last().receive({ type: 'error', code: 'not_found', message: 'not in room r1', ref: sentOf(last(), 'leave_room').ref });
    await again;
    assert.equal(seen.length, 1, 'no second left event');
  });

  it('a join that is answered after a leave does not bring the room back', async () => {
    const { client, last, accept } = setup();
    void client.connect();
    accept();
    const j = client.rooms.join('r1');
    const l = client.rooms.leave('r1');
    const js = sentOf(last(), 'join_room');
    const ls = sentOf(last(), 'leave_room');
    last().receive(joinedReply(js.ref, 'r1', [['u1', 'u1']]));
    last().receive({ type: 'room_left', room_id: 'r1', ref: ls.ref });
    await j;
    await l;
    assert.equal(client.rooms.get('r1'), undefined);
  });

  it('session_switched: another tab took the place; the room is gone and never re-joined', async () => {
    const { client, clock, last, accept } = await inRoom();
    const seen = record(client.rooms);
    last().receive({ type: 'session_switched', room_id: 'r1', session_id: 's_other_tab' });
    assert.equal(client.rooms.get('r1'), undefined);
    assert.deepEqual(seen, [
      ['sessionSwitched', { room_id: 'r1', session_id: 's_other_tab' }],
      ['left', { room_id: 'r1', reason: 'switched' }],
    ]);
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: false });
    assert.deepEqual(last().messages, [], 'nothing re-joined');
  });

  it('checks room ids', () => {
    const { client } = setup();
    assert.throws(() => client.rooms.publish('', 1), TypeError);
    return assert.rejects(client.rooms.join(undefined as unknown as string), TypeError);
  });
});

describe('rooms: reconnects', () => {
  it('after a resume nothing is sent: the server kept the rooms', async () => {
    const { client, clock, last, accept, instances } = await inRoom();
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: true });
    assert.equal(instances.length, 2);
    assert.deepEqual(last().messages, []);
    assert.deepEqual(names(client.rooms.get('r1')), ['Bob', 'Ann']);
  });

  it('after a fresh session (resumed:false) it re-joins every room with its display name, ahead of queued messages', async () => {
    const { client, clock, last, accept } = await inRoom();
    const j2 = client.rooms.join('r2');
    last().receive(joinedReply(sentOf(last(), 'join_room', 'r2').ref, 'r2', [['alice', 'alice']]));
    await j2;
    const seen = record(client.rooms);

    last().serverClose(1006);
    client.rooms.publish('r1', 'queued meanwhile');
    clock.advance(30000);
    accept({ resumed: false, user_id: 'alice' });
    const sock = last();
    assert.deepEqual(
      sock.messages.map((m) => [m.type, m.room_id, m.display_name]),
      [
        ['join_room', 'r1', 'Ann'],
        ['join_room', 'r2', undefined],
        ['publish', 'r1', undefined],
      ],
    );
    // The re-join answers with the room as it is now.
    sock.receive(joinedReply(sock.messages[0].ref, 'r1', [['alice', 'Ann'], ['dave', 'Dave']]));
    assert.deepEqual(names(client.rooms.get('r1')), ['Ann', 'Dave']);
    assert.deepEqual(
      seen.filter(([k]) => k === 'joined').map(([, e]) => [e.room_id, e.rejoined]),
      [['r1', true]],
    );
  });

  it('a refused re-join (room_full) drops the room with left reason rejoin_failed', async () => {
    const { client, clock, last, accept } = await inRoom();
    const seen = record(client.rooms);
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: false });
    const rejoin = sentOf(last(), 'join_room', 'r1');
    last().receive({ type: 'error', code: 'room_full', message: 'room r1 is full', ref: rejoin.ref });
    await flush();
    assert.equal(client.rooms.get('r1'), undefined);
    const left = seen.find(([k]) => k === 'left')![1];
    assert.equal(left.reason, 'rejoin_failed');
    assert.ok(left.error instanceof TetherError && left.error.code === 'room_full');
  });

  it('a re-join lost to another drop is sent again after the next connected, resumed or not', async () => {
    const { client, clock, last, accept } = await inRoom();
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: false });
    sentOf(last(), 'join_room', 'r1');
    last().serverClose(1006); // before the room_joined
    await flush();
    clock.advance(30000);
    accept({ resumed: true });
    const again = sentOf(last(), 'join_room', 'r1');
    assert.equal(again.display_name, 'Ann');
    last().receive(joinedReply(again.ref, 'r1', [['alice', 'Ann']]));
    assert.deepEqual(names(client.rooms.get('r1')), ['Ann']);
    // Answered: the next resume sends nothing.
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: true });
    assert.deepEqual(last().messages, []);
  });

  it('a join whose reply is lost to a drop is sent again once the client is back', async () => {
    const { client, clock, last, accept } = setup();
    void client.connect();
    accept();
    const p = client.rooms.join('r9', { displayName: 'Nine' });
    last().serverClose(1006);
    await flush();
    clock.advance(1000); // the backoff delay; the request's timeout (10 s) runs from the call
    accept({ resumed: false });
    const again = sentOf(last(), 'join_room', 'r9');
    assert.equal(again.display_name, 'Nine');
    assert.equal(last().messages.filter((m) => m.type === 'join_room').length, 1, 'sent once, not also re-joined');
    last().receive(joinedReply(again.ref, 'r9', [['u1', 'Nine']]));
    assert.equal((await p).room_id, 'r9');
    assert.ok(client.rooms.get('r9'));
  });

  it('close() leaves every room for good: left reason closed, nothing re-joined on a later connect', async () => {
    const { client, last, accept } = await inRoom();
    const seen = record(client.rooms);
    client.close();
    assert.deepEqual(seen, [['left', { room_id: 'r1', reason: 'closed' }]]);
    assert.equal(client.rooms.joined.size, 0);
    void client.connect();
    accept({ resumed: false });
    assert.deepEqual(last().messages, []);
  });

  it('drop() keeps the rooms: the next connect resumes (nothing sent) or re-joins', async () => {
    const { client, last, accept } = await inRoom();
    client.drop();
    assert.ok(client.rooms.get('r1'));
    void client.connect();
    accept({ resumed: false });
    assert.equal(sentOf(last(), 'join_room', 'r1').display_name, 'Ann');
  });
});

describe('rooms: watch', () => {
  it('watch resolves with the list; occupancy updates keep it live; 0 removes a room; unwatch stops', async () => {
    const { client, last, accept } = setup();
    const seen = record(client.rooms);
    void client.connect();
    accept();
    const p = client.rooms.watch();
    assert.equal(client.rooms.watching, true);
    const sent = sentOf(last(), 'watch_rooms');
    last().receive({ type: 'room_list', ref: sent.ref, rooms: [{ room_id: 'a', occupancy: 2, capacity: 10 }] });
    assert.deepEqual(await p, [{ room_id: 'a', occupancy: 2, capacity: 10 }]);
    last().receive({ type: 'room_occupancy_update', room_id: 'b', occupancy: 1 });
    last().receive({ type: 'room_occupancy_update', room_id: 'a', occupancy: 3 });
    assert.deepEqual([...client.rooms.list.values()], [
      { room_id: 'a', occupancy: 3, capacity: 10 },
      { room_id: 'b', occupancy: 1, capacity: 10 },
    ]);
    last().receive({ type: 'room_occupancy_update', room_id: 'a', occupancy: 0 });
    assert.deepEqual([...client.rooms.list.keys()], ['b']);
    assert.deepEqual(
      seen.map(([k, e]) => [k, e.room_id ?? e.rooms.length, e.occupancy]),
      [
        ['roomList', 1, undefined],
        ['occupancyUpdate', 'b', 1],
        ['occupancyUpdate', 'a', 3],
        ['occupancyUpdate', 'a', 0],
      ],
    );

    const u = client.rooms.unwatch();
    assert.equal(client.rooms.watching, false);
    assert.equal(client.rooms.list.size, 0);
    const us = sentOf(last(), 'unwatch_rooms');
    last().receive({ type: 'ack', for: 'unwatch_rooms', ref: us.ref });
    await u;
  });

  it('watch() before connect sends one watch_rooms; one lost to a drop is sent again once', async () => {
    const { client, clock, last, accept } = setup();
    const p = client.rooms.watch();
    void client.connect();
    accept({ resumed: false });
    assert.deepEqual(last().messages.map((m) => m.type), ['watch_rooms']);
    last().serverClose(1006); // before the room_list
    await flush();
    clock.advance(1000);
    accept({ resumed: false });
    assert.deepEqual(last().messages.map((m) => m.type), ['watch_rooms']);
    last().receive({ type: 'room_list', ref: last().messages[0].ref, rooms: [{ room_id: 'a', occupancy: 1, capacity: 5 }] });
    assert.deepEqual(await p, [{ room_id: 'a', occupancy: 1, capacity: 5 }]);
  });

  it('watches again after a fresh session, not after a resume', async () => {
    const { client, clock, last, accept } = setup();
    void client.connect();
    accept();
    const p = client.rooms.watch();
    last().receive({ type: 'room_list', ref: sentOf(last(), 'watch_rooms').ref, rooms: [] });
    await p;
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: true });
    assert.deepEqual(last().messages, []);
    last().serverClose(1006);
    clock.advance(30000);
    accept({ resumed: false });
    const again = sentOf(last(), 'watch_rooms');
    const seen = record(client.rooms);
    last().receive({ type: 'room_list', ref: again.ref, rooms: [{ room_id: 'x', occupancy: 1, capacity: 5 }] });
    assert.deepEqual([...client.rooms.list.keys()], ['x']);
    assert.deepEqual(seen.map(([k]) => k), ['roomList']);
  });
});

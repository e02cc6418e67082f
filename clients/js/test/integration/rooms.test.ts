// The rooms API against the real tetherd: join/leave/publish/watch with live participants, the typed
// events, multi-tab switch, resume (rooms kept, nothing sent) and a fresh session (re-join), and a
// member that stops answering pings (user_left `timeout`, once, within the bound).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import WebSocket from 'ws';
import { TetherError, type RoomEventMap, type TetherClient, type TetherClientOptions } from '../../src/index.js';
import { makeClient } from './client.js';
import { Tetherd, nextEvent, serverForSuite, waitFor, withTimeout } from './tetherd.js';

const HEARTBEAT_MS = 500;
const MAX_MISSED = 2;
const RESUME_WINDOW_MS = 1500;
const CAPACITY = 3;

/** The next event of the rooms helper (that passes filter), within timeoutMs. Subscribe before acting. */
function nextRoomEvent<K extends keyof RoomEventMap>(
  client: TetherClient,
  type: K,
  filter: (e: RoomEventMap[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<RoomEventMap[K]> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      off();
      rej(new Error(`timed out after ${timeoutMs} ms waiting for rooms '${type}'`));
    }, timeoutMs);
    const off = client.rooms.on(type, (e) => {
      if (!filter(e)) return;
      clearTimeout(timer);
      off();
      res(e);
    });
  });
}

/** Every rooms event of these types, as [type, event], from now on. */
function recordRooms(client: TetherClient, ...types: Array<keyof RoomEventMap>): Array<[string, any]> {
  const seen: Array<[string, any]> = [];
  for (const t of types) client.rooms.on(t, (e: any) => seen.push([t, e]));
  return seen;
}

const names = (client: TetherClient, roomId: string): string[] | undefined => {
  const view = client.rooms.get(roomId);
  return view ? [...view.participants.values()].map((p) => p.display_name).sort() : undefined;
};

describe('rooms against tetherd', () => {
  let server: Tetherd;
  const clients: TetherClient[] = [];
  serverForSuite((s) => (server = s), {
    set: {
      'heartbeat.interval_ms': HEARTBEAT_MS,
      'heartbeat.max_missed': MAX_MISSED,
      'session.resume_window_ms': RESUME_WINDOW_MS,
      'rooms.max_participants': CAPACITY,
    },
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  /** A connected client of `user` (token name `name`, when given). */
  async function open(user: string, name?: string, options: Partial<TetherClientOptions> = {}) {
    const token = name === undefined ? await server.token(user) : server.signToken({ sub: user, name, exp: Math.floor(Date.now() / 1000) + 3600 });
    const t = makeClient(server, token, options);
    clients.push(t.client);
    await withTimeout(t.client.connect(), 5000, `${user} connected`);
    return t;
  }

  it('join, live participants with display names, publish to every member, leave with reason left', async () => {
    const { client: alice } = await open('alice', 'Alice A'); // display name from the token's name
    const { client: bob } = await open('bob');
    const { client: carol } = await open('carol');

    const joinedA = await alice.rooms.join('study-1');
    assert.equal(joinedA.occupancy, 1);
    assert.equal(joinedA.capacity, CAPACITY);
    assert.deepEqual(names(alice, 'study-1'), ['Alice A']);

    const bobCame = nextRoomEvent(alice, 'userJoined');
    const joinedB = await bob.rooms.join('study-1', { displayName: 'Bobby' });
    assert.deepEqual(joinedB.participants.map((p) => p.display_name).sort(), ['Alice A', 'Bobby']);
    assert.deepEqual(
      { ...(await bobCame), room: undefined },
      { room_id: 'study-1', user_id: 'bob', display_name: 'Bobby', room: undefined },
    );
    assert.deepEqual(names(alice, 'study-1'), ['Alice A', 'Bobby']);
    assert.equal(alice.rooms.get('study-1')!.occupancy, 2);
    assert.deepEqual(names(bob, 'study-1'), ['Alice A', 'Bobby']);
    const aliceAsSeenByBob = bob.rooms.get('study-1')!.participants.get('alice')!;
    assert.equal(aliceAsSeenByBob.session_id, alice.sessionId);
    assert.match(aliceAsSeenByBob.joined_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // publish reaches every member, the sender included, with the sender's name.
    const atAlice = nextRoomEvent(alice, 'roomMessage');
    const atBob = nextRoomEvent(bob, 'roomMessage');
    bob.rooms.publish('study-1', { text: 'hello', n: 1 });
    for (const m of await Promise.all([atAlice, atBob])) {
      assert.deepEqual(m, { room_id: 'study-1', user_id: 'bob', data: { text: 'hello', n: 1 }, display_name: 'Bobby' });
    }
    // A non-member's publish: error forbidden (no reply otherwise).
    const forbidden = nextEvent(carol, 'error');
    carol.rooms.publish('study-1', 'let me in');
    assert.equal((await forbidden).code, 'forbidden');

    const bobLeft = nextRoomEvent(alice, 'userLeft');
    await bob.rooms.leave('study-1');
    assert.equal(bob.rooms.get('study-1'), undefined);
    const left = await bobLeft;
    assert.equal(left.user_id, 'bob');
    assert.equal(left.reason, 'left');
    assert.equal(left.display_name, 'Bobby');
    assert.deepEqual(names(alice, 'study-1'), ['Alice A']);
    // Leaving a room one is not in counts as left (the server says not_found).
    await bob.rooms.leave('study-1');
  });

  it('join rejects with room_full past rooms.max_participants, and with invalid_field for a bad id', async () => {
    for (let i = 0; i < CAPACITY; i++) {
      const { client } = await open(`full-${i}`);
      await client.rooms.join('full-room');
    }
    const { client: late } = await open('late');
    await assert.rejects(late.rooms.join('full-room'), (e: unknown) => e instanceof TetherError && e.code === 'room_full');
    assert.equal(late.rooms.get('full-room'), undefined);
    await assert.rejects(late.rooms.join('no spaces allowed'), (e: unknown) => e instanceof TetherError && e.code === 'invalid_field');
    assert.equal(late.rooms.joined.size, 0);
  });

  it('watch: the room list, then live occupancy (0 when the last one leaves); unwatch stops it', async () => {
    const { client: watcher } = await open('watcher');
    const { client: dan } = await open('dan');
    const { client: eve } = await open('eve');
    await dan.rooms.join('w-room');
    const list = await watcher.rooms.watch();
    assert.deepEqual(
      list.find((r) => r.room_id === 'w-room'),
      { room_id: 'w-room', occupancy: 1, capacity: CAPACITY },
    );
    assert.equal(watcher.rooms.list.get('w-room')?.occupancy, 1);

    let up = nextRoomEvent(watcher, 'occupancyUpdate', (e) => e.room_id === 'w-room');
    await eve.rooms.join('w-room');
    assert.deepEqual(await up, { room_id: 'w-room', occupancy: 2, capacity: CAPACITY });
    assert.equal(watcher.rooms.list.get('w-room')?.occupancy, 2);

    up = nextRoomEvent(watcher, 'occupancyUpdate', (e) => e.room_id === 'w-room');
    await eve.rooms.leave('w-room');
    assert.equal((await up).occupancy, 1);
    up = nextRoomEvent(watcher, 'occupancyUpdate', (e) => e.room_id === 'w-room');
    await dan.rooms.leave('w-room');
    assert.equal((await up).occupancy, 0);
    assert.equal(watcher.rooms.list.has('w-room'), false);

    await watcher.rooms.unwatch();
    const updates = recordRooms(watcher, 'occupancyUpdate');
    await dan.rooms.join('w-room');
    await watcher.request({ type: 'ping' }); // a round trip after the join: an update would have come before the pong
    assert.deepEqual(updates, []);
  });

  it('a second tab of the same user takes the place: the first gets sessionSwitched, the others see no churn', async () => {
    const { client: tab1 } = await open('frank');
    const { client: grace } = await open('grace');
    await tab1.rooms.join('tabs', { displayName: 'Frank' });
    await grace.rooms.join('tabs');
    const churn = recordRooms(grace, 'userJoined', 'userLeft');

    const { client: tab2 } = await open('frank');
    const switched = nextRoomEvent(tab1, 'sessionSwitched');
    const left = nextRoomEvent(tab1, 'left');
    const joined = await tab2.rooms.join('tabs', { displayName: 'Frank' });
    assert.equal(joined.occupancy, 2);
    assert.deepEqual(await switched, { room_id: 'tabs', session_id: tab2.sessionId });
    assert.equal((await left).reason, 'switched');
    assert.equal(tab1.rooms.get('tabs'), undefined);
    await grace.request({ type: 'ping' });
    assert.deepEqual(churn, []);
    assert.deepEqual(names(grace, 'tabs'), ['Frank', 'grace']);
  });

  it('a resume within the window keeps the rooms: nothing sent again, nobody sees a leave or a join', async () => {
    // Records what the client writes on each socket.
    const sent: string[][] = [];
    const sockets: RecordingWebSocket[] = [];
    class RecordingWebSocket extends WebSocket {
      private readonly mine: string[] = [];
      constructor(url: string) {
        super(url);
        sockets.push(this);
        sent.push(this.mine);
      }
      override send(data: any, ...rest: any[]): void {
        this.mine.push(JSON.parse(String(data)).type);
        (super.send as (...a: unknown[]) => void)(data, ...rest);
      }
    }
    const { client: hank } = await open('hank', undefined, { WebSocket: RecordingWebSocket as unknown as TetherClientOptions['WebSocket'] });
    const { client: ivy } = await open('ivy');
    await hank.rooms.join('resume-room', { displayName: 'Hank' });
    const ivyCame = nextRoomEvent(hank, 'userJoined');
    await ivy.rooms.join('resume-room');
    await ivyCame; // (an event sent while the socket is down is lost, resume or not)
    const churn = recordRooms(ivy, 'userJoined', 'userLeft');

    const reopened = nextEvent(hank, 'open', 5000);
    sockets.at(-1)!.terminate(); // an abrupt drop, no close frame
    const open2 = await reopened;
    assert.equal(open2.resumed, true);
    // Still a member: a publish reaches ivy.
    const msg = nextRoomEvent(ivy, 'roomMessage');
    hank.rooms.publish('resume-room', 'back');
    assert.equal((await msg).data, 'back');
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1], ['publish'], 'no join_room sent after the resume');
    assert.deepEqual(names(hank, 'resume-room'), ['Hank', 'ivy']);
    await ivy.request({ type: 'ping' });
    assert.deepEqual(churn, []);
  });

  it('a fresh session after the window: the others see disconnected, then the client re-joins with its display name', async () => {
    const { client: jack } = await open('jack');
    const { client: kim } = await open('kim');
    await jack.rooms.join('window-room', { displayName: 'Jack J' });
    await jack.rooms.watch();
    await kim.rooms.join('window-room');

    const gone = nextRoomEvent(kim, 'userLeft', (e) => e.user_id === 'jack', RESUME_WINDOW_MS + 5000);
    const started = Date.now();
    jack.drop(); // the socket goes, the session waits for its window
    const left = await gone;
    const elapsed = Date.now() - started;
    assert.equal(left.reason, 'disconnected');
    assert.ok(elapsed >= RESUME_WINDOW_MS - 100, `user_left after ${elapsed} ms, before the ${RESUME_WINDOW_MS} ms window`);
    assert.deepEqual(names(kim, 'window-room'), ['kim']);

    const back = nextRoomEvent(kim, 'userJoined');
    const rejoined = nextRoomEvent(jack, 'joined');
    const list = nextRoomEvent(jack, 'roomList');
    const connected = await withTimeout(jack.connect(), 5000, 'jack connected again');
    assert.equal(connected.resumed, false);
    assert.equal((await back).display_name, 'Jack J');
    const j = await rejoined;
    assert.equal(j.rejoined, true);
    assert.deepEqual(names(jack, 'window-room'), ['Jack J', 'kim']);
    await list; // watching again: the list, then the updates (the re-join may land before or after the list)
    assert.equal(jack.rooms.watching, true);
    await waitFor('window-room listed with occupancy 2', () => jack.rooms.list.get('window-room')?.occupancy === 2);
  });

  it('a member that stops answering pings leaves with reason timeout, once, within the heartbeat bound', async (t) => {
    const { client: lee } = await open('lee');
    const { client: mo } = await open('mo');
    // A client whose socket never answers the server's pings (and sends no ping of its own).
    class SilentWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { autoPong: false });
      }
    }
    const token = await server.token('silent');
    const silent = makeClient(server, token, {
      WebSocket: SilentWebSocket as unknown as TetherClientOptions['WebSocket'],
      heartbeatMs: 0,
      maxAttempts: 0, // no reconnect after the server cuts it: one session, one departure
    }).client;
    clients.push(silent);
    await withTimeout(silent.connect(), 5000, 'silent connected');
    await lee.rooms.join('ghosts');
    await mo.rooms.join('ghosts');
    const lefts = [recordRooms(lee, 'userLeft'), recordRooms(mo, 'userLeft')];
    const gone = [lee, mo].map((c) => nextRoomEvent(c, 'userLeft', (e) => e.user_id === 'silent', 10000));
    await silent.rooms.join('ghosts'); // its last frame
    const lastFrame = Date.now();
    const events = await Promise.all(gone);
    const elapsed = Date.now() - lastFrame;
    for (const e of events) assert.equal(e.reason, 'timeout');
    // docs/protocol.md: with no frame at all, the close comes at tick max_missed + 1.
    const bound = HEARTBEAT_MS * (MAX_MISSED + 1);
    t.diagnostic(`silent member's last frame -> user_left timeout: ${elapsed} ms (bound ${bound} ms + one interval of slack)`);
    assert.ok(elapsed <= bound + HEARTBEAT_MS, `took ${elapsed} ms, bound ${bound} ms`);
    // Exactly once: nothing more within a few heartbeats.
    await waitFor('the silent client to be closed', () => silent.state === 'closed', { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS)); // a bounded look for something that must NOT happen
    for (const seen of lefts) assert.deepEqual(seen.map(([, e]) => `${e.user_id}:${e.reason}`), ['silent:timeout']);
    assert.deepEqual(names(lee, 'ghosts'), ['lee', 'mo']);
  });
});

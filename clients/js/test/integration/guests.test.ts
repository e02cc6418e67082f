// Guests against the real tetherd: createGuest's token opens a session whose display name the room
// shows; past limits.guests_per_ip_per_minute the server answers 429 and createGuest says how long to
// wait; a guest left inactive is deleted by the sweep: its room sees user_left 'inactive', its client
// stops on close 4010 'guest deleted' (no reconnect), and its token is refused from then on.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { GuestError, TetherError, createGuest, isGuestGone, type TetherClient } from '../../src/index.js';
import { connectClient, makeClient } from './client.js';
import { Tetherd, nextEvent, serverForSuite, withTimeout } from './tetherd.js';

const clients: TetherClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

const GUEST_ID = /^g_[0-9a-f]{24}$/;

describe('guests: creation, sessions and the per-address limit', () => {
  const LIMIT = 3;
  let server: Tetherd;
  serverForSuite((s) => (server = s), { set: { 'limits.guests_per_ip_per_minute': LIMIT } });
  /** Guests this suite made so far (they all count against LIMIT). */
  let made = 0;

  it("a guest's token opens a session; its display name is what the room shows", async () => {
    const guest = await createGuest(server.httpBase, 'Ann the Guest');
    made++;
    assert.match(guest.userId, GUEST_ID);
    assert.equal(guest.displayName, 'Ann the Guest');
    const expiresIn = Date.parse(guest.expiresAt) - Date.now();
    assert.ok(expiresIn > 23 * 3600 * 1000 && expiresIn <= 24 * 3600 * 1000 + 5000, `expires in ${expiresIn} ms`);

    const { client: watcher } = await connectClient(server, await server.token('watcher'), clients);
    await watcher.rooms.join('guest-hall', { displayName: 'Watcher' });
    const cameIn = new Promise<string>((res) => watcher.rooms.on('userJoined', (e) => e.user_id === guest.userId && res(e.display_name)));

    const { client, first } = await connectClient(server, guest.token, clients);
    assert.equal(first.user_id, guest.userId);
    const joined = await client.rooms.join('guest-hall'); // no displayName: the server uses the guest's
    const names = Object.fromEntries(joined.participants.map((p) => [p.user_id, p.display_name]));
    assert.deepEqual(names, { watcher: 'Watcher', [guest.userId]: 'Ann the Guest' });
    assert.equal(await withTimeout(cameIn, 5000, "the watcher's user_joined"), 'Ann the Guest');
  });

  it('a bad display name is 400 invalid_field and not counted; past the limit: 429 with retryAfterSeconds', async () => {
    await assert.rejects(createGuest(server.httpBase, ''), (e: unknown) => e instanceof GuestError && e.status === 400 && e.code === 'invalid_field');
    let refusal: GuestError | undefined;
    for (let i = 0; i <= LIMIT && !refusal; i++) {
      try {
        await createGuest(server.httpBase, `Guest ${i}`);
        made++;
      } catch (e) {
        if (!(e instanceof GuestError)) throw e;
        refusal = e;
      }
    }
    assert.ok(refusal, `no 429 after ${made} guests`);
    assert.equal(made, LIMIT, 'the bucket holds exactly the limit (the bad name was not counted)');
    assert.deepEqual([refusal.status, refusal.code], [429, 'rate_limited']);
    const wait = refusal.retryAfterSeconds ?? -1;
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait} s`);
  });
});

describe('guests: a deleted guest', () => {
  const INACTIVE_MS = 1500;
  const SWEEP_MS = 100;
  /** Deleted between INACTIVE_MS + lag and one sweep later (docs/protocol.md); the rest is slack for a busy machine. */
  const GONE_WITHIN_MS = INACTIVE_MS + 2 * SWEEP_MS + 3000;
  let server: Tetherd;
  serverForSuite((s) => (server = s), {
    set: { 'users.guest_inactive_ms': INACTIVE_MS, 'users.sweep_interval_ms': SWEEP_MS, 'limits.guests_per_ip_per_minute': 1000 },
  });

  it('is removed (inactive) from its room, its client stops on 4010 "guest deleted", its token is refused after', async () => {
    // The watcher is a regular user: the sweep never deletes it, however quiet it is.
    const { client: watcher } = await connectClient(server, await server.token('watcher'), clients);
    await watcher.rooms.join('quiet-room', { displayName: 'Watcher' });
    const guest = await createGuest(server.httpBase, 'Idle Ida');
    const { client, sockets } = await connectClient(server, guest.token, clients);
    const closed = nextEvent(client, 'close', GONE_WITHIN_MS);
    const stopped = nextEvent(client, 'state', GONE_WITHIN_MS, (e) => e.state === 'closed');
    const removed = nextEvent(watcher, 'user_left', GONE_WITHIN_MS, (e) => e.user_id === guest.userId);
    await client.rooms.join('quiet-room'); // the guest's last application message
    const joinedAt = Date.now();

    const close = await closed;
    assert.deepEqual([close.code, close.reason, close.willReconnect], [4010, 'guest deleted', false]);
    const inactiveFor = Date.now() - joinedAt;
    assert.ok(inactiveFor >= INACTIVE_MS, `deleted after ${inactiveFor} ms of inactivity`);
    const state = await stopped;
    assert.ok(isGuestGone(state), JSON.stringify(state));
    assert.equal((await removed).reason, 'inactive');

    // The same token again (e.g. a reload): refused at the upgrade, and the client stops at once.
    const again = makeClient(server, guest.token);
    clients.push(again.client);
    const againStopped = nextEvent(again.client, 'state', 5000, (e) => e.state === 'closed');
    await assert.rejects(withTimeout(again.client.connect(), 5000, 'connect() to settle'), (e: unknown) => {
      return e instanceof TetherError && e.status === 401 && e.code === 'unauthorized' && e.message === 'this guest no longer exists';
    });
    assert.ok(isGuestGone(await againStopped));
    assert.equal(again.sockets.length, 1);
    // Meanwhile the deleted client has not tried again (its backoff is 50-250 ms): one socket, closed.
    assert.equal(sockets.length, 1);
    assert.equal(client.state, 'closed');
  });
});

// The study-room demo (web/demo/study-room/) in Debian's Chromium, driven by playwright-core, served
// by the real tetherd with short heartbeat and resume settings: two pages (each a real guest from
// POST /api/guests) in one room, then one of them closes, crashes or freezes, and the other must show
// it gone, with the right reason, within the bound. A second server with a short guest inactivity
// deletes an idle page's guest (the other page sees `inactive`, the idle page offers to join again),
// and a third with a limit of one guest a minute shows the 429 wait.
// Needs the browser bundle (`npm run demo`, which `npm test` runs first).
//
// Environment: CHROMIUM (default /usr/bin/chromium), TETHER_SKIP_BROWSER=1 skips these tests,
// DEMO_SCREENSHOT=/path.png saves a screenshot of a page with two participants.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from './chromium.js';
import { createGuest, type Guest, type TetherClient } from '../../src/index.js';
import { makeClient } from '../integration/client.js';
import { Tetherd, WEB_DIR, waitFor, withTimeout } from '../integration/tetherd.js';

const BUNDLE = join(WEB_DIR, 'demo/study-room/tether-client.js');

const HEARTBEAT_MS = 500;
const MAX_MISSED = 2;
const RESUME_WINDOW_MS = 500;
/** A member that goes silent is gone by the (max_missed + 1)th ping tick after its last frame (docs/protocol.md). */
const BOUND_MS = HEARTBEAT_MS * (MAX_MISSED + 1);
/** Allowance for a loaded test machine on top of the bound (two browsers, a server and a test runner on 2 cores). */
const SLACK_MS = 1500;
/** What a guest id from the server looks like. */
const GUEST_ID = /^g_[0-9a-f]{24}$/;
/** The pages of one suite all come from 127.0.0.1: far above what they make, so none gets 429. */
const GUEST_LIMIT = 1000;
const PAGE_VIEWPORT = { width: 900, height: 700 };

/** A page of the demo, and the user id it connected as (its guest's). */
interface DemoPage {
  page: Page;
  userId: string;
  errors: string[];
}

/**
 * One browser and one tetherd (with these settings) for the tests of the enclosing describe(), and
 * the demo pages they open; pages and extra clients are closed after each test.
 */
function demoSuite(set: Record<string, string | number | boolean>) {
  const s = {
    server: undefined as unknown as Tetherd,
    browser: undefined as unknown as Browser,
    pages: [] as Page[],
    clients: [] as TetherClient[],
    /** A new page (default timeout 10 s), closed after the test. */
    async newPage(): Promise<Page> {
      const page = await s.browser.newPage({ viewport: PAGE_VIEWPORT });
      s.pages.push(page);
      page.setDefaultTimeout(10000);
      return page;
    },
    /** Opens the demo as `name`: the page makes a real guest (POST /api/guests) and connects as it. */
    async openDemo(name: string, query = ''): Promise<DemoPage> {
      const page = await s.newPage();
      const errors = collectErrors(page);
      await page.goto(`${s.server.httpBase}/demo/study-room/?name=${encodeURIComponent(name)}${query}`);
      await page.waitForSelector('#state[data-state="open"]');
      const userId = await page.waitForFunction(() => document.body.dataset.userId).then((h) => h.jsonValue() as Promise<string>);
      assert.match(userId, GUEST_ID, 'a guest of the server');
      return { page, userId, errors };
    },
  };
  before(async () => {
    s.server = await Tetherd.start({ set });
    s.browser = await launchChromium(BUNDLE);
  });
  after(async () => {
    await s.browser?.close();
    await s.server?.dispose();
  });
  afterEach(async () => {
    for (const c of s.clients.splice(0)) c.close();
    for (const p of s.pages.splice(0)) if (!p.isClosed()) await p.close();
  });
  return s;
}

/** Clicks the room's Join button and waits until the page lists itself among the participants. */
async function joinRoom(d: DemoPage, roomId: string): Promise<void> {
  await d.page.click(`#rooms li[data-room-id="${roomId}"] button`);
  await d.page.waitForSelector(`#participants li[data-user-id="${d.userId}"]`);
  assert.equal(await d.page.textContent('#room-name'), roomId);
}

async function participantNames(page: Page): Promise<string[]> {
  return (await page.$$eval('#participants li .name', (els) => els.map((e) => e.textContent ?? ''))).sort();
}

/** Waits until `page` no longer lists `gone` and logged its user_left; returns the logged reason and when it was seen. */
async function waitGone(page: Page, gone: DemoPage, timeoutMs: number): Promise<{ reason: string; at: number }> {
  await page.waitForSelector(`#participants li[data-user-id="${gone.userId}"]`, { state: 'detached', timeout: timeoutMs });
  const at = performance.now();
  const entry = await page.waitForSelector(`#log li[data-kind="user_left"][data-user-id="${gone.userId}"]`, { timeout: 1000 });
  return { reason: (await entry.getAttribute('data-reason')) ?? '', at };
}

describe('study-room demo in Chromium', { skip: SKIP_BROWSER && 'TETHER_SKIP_BROWSER=1' }, () => {
  const suite = demoSuite({
    'heartbeat.interval_ms': HEARTBEAT_MS,
    'heartbeat.max_missed': MAX_MISSED,
    'session.resume_window_ms': RESUME_WINDOW_MS,
    'limits.guests_per_ip_per_minute': GUEST_LIMIT,
  });

  /** Two pages in `roomId`, each seeing the other; returns them. */
  async function twoInRoom(roomId: string, a: string, b: string) {
    const pa = await suite.openDemo(a);
    const pb = await suite.openDemo(b);
    await joinRoom(pa, roomId);
    await joinRoom(pb, roomId);
    await pa.page.waitForSelector(`#participants li[data-user-id="${pb.userId}"]`);
    assert.deepEqual(await participantNames(pa.page), [a, b].sort());
    assert.deepEqual(await participantNames(pb.page), [a, b].sort());
    // The room list is live (watch_rooms): both pages count 2 in the room.
    for (const p of [pa, pb]) await p.page.waitForSelector(`#rooms li[data-room-id="${roomId}"][data-occupancy="2"]`);
    return [pa, pb] as const;
  }

  it('two pages in one room; one page closes -> the other shows it gone (left) at once, occupancy 1', async (t) => {
    const [ann, ben] = await twoInRoom('library', 'Ann', 'Ben');
    if (process.env.DEMO_SCREENSHOT) await ann.page.screenshot({ path: process.env.DEMO_SCREENSHOT, fullPage: true });

    const started = performance.now();
    await ben.page.close({ runBeforeUnload: true }); // pagehide -> before_disconnect
    const { reason, at } = await waitGone(ann.page, ben, BOUND_MS + SLACK_MS);
    const elapsed = Math.round(at - started);
    t.diagnostic(`page closed -> gone on the other page in ${elapsed} ms (bound ${BOUND_MS} ms)`);
    assert.equal(reason, 'left', 'the page said goodbye (before_disconnect on pagehide)');
    assert.ok(elapsed <= BOUND_MS + SLACK_MS, `took ${elapsed} ms`);
    assert.deepEqual(await participantNames(ann.page), ['Ann']);
    await ann.page.waitForSelector('#rooms li[data-room-id="library"][data-occupancy="1"]');
    assert.deepEqual(ann.errors, []);
  });

  it('a page that crashes (no pagehide) -> gone with reason disconnected after the resume window', async (t) => {
    const [cat, dov] = await twoInRoom('quiet-corner', 'Cat', 'Dov');
    const cdp = await dov.page.context().newCDPSession(dov.page);
    const started = performance.now();
    void cdp.send('Page.crash').catch(() => {}); // the renderer dies: no pagehide, the socket just goes
    const { reason, at } = await waitGone(cat.page, dov, RESUME_WINDOW_MS + BOUND_MS + SLACK_MS);
    const elapsed = Math.round(at - started);
    t.diagnostic(`page crashed -> gone on the other page in ${elapsed} ms (resume window ${RESUME_WINDOW_MS} ms)`);
    assert.equal(reason, 'disconnected');
    assert.ok(elapsed >= RESUME_WINDOW_MS - 100, `gone after ${elapsed} ms, before the resume window`);
    assert.deepEqual(await participantNames(cat.page), ['Cat']);
    assert.deepEqual(cat.errors, []);
  });

  it('a frozen page stops answering pings -> gone with reason timeout within the heartbeat bound', async (t) => {
    const [eli, fay] = await twoInRoom('night-owls', 'Eli', 'Fay');
    // Chromium answers the server's WebSocket pings in its network process, so a page whose main thread
    // is stopped still answers them as long as it can take in data; once a busy room fills its receive
    // pipe, Chromium stops reading the socket and the pings go unanswered. Freeze Fay's page (debugger
    // pause: no script, no task runs), then make the room busy with ~2 MB of room messages (which the
    // demo does not display) from a third member.
    const { server, clients } = suite;
    const { client: busy } = makeClient(server, await server.token('busy-bee'));
    clients.push(busy);
    await withTimeout(busy.connect(), 5000, 'busy-bee connected');
    await busy.rooms.join('night-owls', { displayName: 'Busy' });
    await eli.page.waitForSelector('#rooms li[data-room-id="night-owls"][data-occupancy="3"]');

    const cdp = await fay.page.context().newCDPSession(fay.page);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    const started = performance.now();
    const chunk = 'z'.repeat(60000);
    for (let i = 0; i < 34; i++) busy.rooms.publish('night-owls', { blob: chunk, i });

    const { reason, at } = await waitGone(eli.page, fay, BOUND_MS + SLACK_MS + 2000);
    const elapsed = Math.round(at - started);
    t.diagnostic(`page frozen in a busy room -> gone with ${reason} on the other page in ${elapsed} ms (bound ${BOUND_MS} ms)`);
    assert.equal(reason, 'timeout');
    assert.ok(elapsed <= BOUND_MS + SLACK_MS, `took ${elapsed} ms`);
    assert.deepEqual(await participantNames(eli.page), ['Busy', 'Eli']);
    await waitFor('the third member to see Fay gone too', () => !busy.rooms.get('night-owls')?.participants.has(fay.userId));
    assert.deepEqual(eli.errors, []);
  });

  it('the name form makes a real guest (POST /api/guests), shown in the room; the tab keeps it over a reload', async () => {
    const page = await suite.newPage();
    const errors = collectErrors(page);
    const asked: unknown[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/api/guests') && r.method() === 'POST') asked.push(r.postDataJSON());
    });
    await page.goto(`${suite.server.httpBase}/demo/study-room/`);
    await page.fill('#name', 'Gus');
    await page.click('#start button');
    await page.waitForSelector('#state[data-state="open"]');
    assert.deepEqual(asked, [{ display_name: 'Gus' }]);
    const userId = (await page.evaluate(() => document.body.dataset.userId)) ?? '';
    assert.match(userId, GUEST_ID);
    assert.equal(await page.textContent('#who'), `Gus · ${userId} · guest`);
    await joinRoom({ page, userId, errors }, 'library');
    assert.match((await page.textContent(`#participants li[data-user-id="${userId}"]`)) ?? '', /Gus\s*\(you\)/);

    // The server knows the guest by that name: a member who joins later is told so by room_joined.
    const { server, clients } = suite;
    const { client: other } = makeClient(server, await server.token('librarian'));
    clients.push(other);
    await withTimeout(other.connect(), 5000, 'librarian connected');
    const joined = await other.rooms.join('library');
    assert.equal(joined.participants.find((p) => p.user_id === userId)?.display_name, 'Gus');

    // A reload keeps the guest of this tab (sessionStorage): no second guest.
    await page.reload();
    await page.waitForSelector('#state[data-state="open"]');
    assert.equal(await page.evaluate(() => document.body.dataset.userId), userId);
    assert.equal(asked.length, 1);
    assert.deepEqual(errors, []);
  });

  // The real server makes guests: only a route can answer 404 like a server without them.
  it('without guests on the server (404, mocked) and without ?token=, the page says how to get in', async () => {
    const page = await suite.newPage();
    await page.route('**/api/guests', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no such route"}}' }));
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${suite.server.httpBase}/demo/study-room/?name=Hal`);
    const notice = await page.waitForSelector('#notice:not([hidden])');
    assert.match((await notice.textContent()) ?? '', /POST \/api\/guests answered 404.*\?token=/);
    assert.deepEqual(sockets, []);
  });
});

describe('study-room demo in Chromium: guests deleted for inactivity', { skip: SKIP_BROWSER && 'TETHER_SKIP_BROWSER=1' }, () => {
  /** Short enough for a test, long enough that a page's setup (load, connect, join) never looks inactive. */
  const INACTIVE_MS = 4000;
  const SWEEP_MS = 100;
  /** Deleted between INACTIVE_MS + lag and one sweep later (docs/protocol.md); the rest is slack for a busy machine. */
  const GONE_WITHIN_MS = INACTIVE_MS + 2 * SWEEP_MS + 4000;
  // Every other timer stays long (heartbeat 30 s, idle timeout 30 min, stale sweep 2 min, the defaults
  // are spelled out so a change of default cannot close a page for some other reason).
  const suite = demoSuite({
    'users.guest_inactive_ms': INACTIVE_MS,
    'users.sweep_interval_ms': SWEEP_MS,
    'limits.guests_per_ip_per_minute': GUEST_LIMIT,
    'heartbeat.interval_ms': 30000,
    'session.idle_timeout_ms': 1800000,
    'session.stale_after_ms': 120000,
  });

  /** Keeps a page's guest active: a room message (not shown by the demo) every 250 ms, until the page closes. */
  async function keepActive(d: DemoPage, roomId: string): Promise<void> {
    await d.page.evaluate((room) => {
      const w = window as unknown as { tetherClient: TetherClient };
      setInterval(() => w.tetherClient.rooms.publish(room, { keepalive: true }), 250);
    }, roomId);
  }

  it('an idle page is removed (inactive) on the other page and offers to join again as a new guest', async (t) => {
    const ann = await suite.openDemo('Ann');
    await joinRoom(ann, 'library');
    await keepActive(ann, 'library');
    const ida = await suite.openDemo('Ida', '&room=library'); // its join is the last thing Ida sends
    await ida.page.waitForSelector(`#participants li[data-user-id="${ida.userId}"]`);
    await ann.page.waitForSelector(`#participants li[data-user-id="${ida.userId}"]`);
    const started = performance.now();

    const { reason, at } = await waitGone(ann.page, ida, GONE_WITHIN_MS);
    t.diagnostic(`idle guest gone on the other page ${Math.round(at - started)} ms after both were in the room (inactive after ${INACTIVE_MS} ms)`);
    assert.equal(reason, 'inactive');
    const action = await ida.page.waitForSelector('#action[data-kind="guest-gone"]:not([hidden])', { timeout: 5000 });
    assert.match((await action.textContent()) ?? '', /removed after a while without activity.*Join again as a new guest/s);
    assert.equal(await ida.page.getAttribute('#state', 'data-state'), 'closed');
    assert.equal(await ida.page.textContent('#state'), 'closed (4010)');
    assert.equal(await ida.page.evaluate(() => sessionStorage.getItem('tether.study-room.guest')), null, 'the deleted guest is forgotten');
    assert.deepEqual(await participantNames(ann.page), ['Ann']);

    // Join again: a new guest, the same name, back in the same room, and the other page sees it come in.
    await ida.page.click('#action-button');
    const newId = await ida.page
      .waitForFunction((old) => document.body.dataset.userId !== old && document.body.dataset.userId, ida.userId)
      .then((h) => h.jsonValue() as Promise<string>);
    assert.match(newId, GUEST_ID);
    await ida.page.waitForSelector('#state[data-state="open"]');
    await ida.page.waitForSelector(`#participants li[data-user-id="${newId}"]`);
    assert.equal(await ida.page.isHidden('#action'), true);
    await ann.page.waitForSelector(`#participants li[data-user-id="${newId}"]`);
    assert.deepEqual(await participantNames(ann.page), ['Ann', 'Ida']);
    assert.deepEqual(ann.errors, []);
    assert.deepEqual(ida.errors, []);
  });

  it("a reload with a deleted guest's token (refused at the upgrade and by /api/whoami) offers to join again", async () => {
    // A guest made outside the page, left to be deleted, then put into the tab as if it were the tab's own.
    const { server } = suite;
    const gone: Guest = await createGuest(server.httpBase, 'Max');
    await waitFor(
      "the sweep to delete Max's guest",
      async () => (await server.audit({ user_id: gone.userId })).some((r) => r.event === 'guest_deleted'),
      { timeoutMs: GONE_WITHIN_MS, intervalMs: 100 },
    );
    const page = await suite.newPage();
    await page.addInitScript((g) => {
      sessionStorage.setItem('tether.study-room.guest', JSON.stringify({ user_id: g.userId, token: g.token, name: 'Max' }));
    }, gone);
    // The upgrade is refused (401) but a browser only sees the socket fail; the client then asks
    // /api/whoami why, which refuses the deleted guest too.
    await page.goto(`${server.httpBase}/demo/study-room/?room=library`);
    const action = await page.waitForSelector('#action[data-kind="guest-gone"]:not([hidden])');
    assert.match((await action.textContent()) ?? '', /removed after a while without activity/);
    assert.equal(await page.textContent('#state'), 'closed (4001)');
    await page.click('#action-button');
    const userId = await page
      .waitForFunction((old) => document.body.dataset.userId !== old && document.body.dataset.userId, gone.userId)
      .then((h) => h.jsonValue() as Promise<string>);
    assert.match(userId, GUEST_ID);
    await page.waitForSelector(`#participants li[data-user-id="${userId}"]`);
    assert.match((await page.textContent('#who')) ?? '', /^Max · /);
  });
});

describe('study-room demo in Chromium: too many guests', { skip: SKIP_BROWSER && 'TETHER_SKIP_BROWSER=1' }, () => {
  const suite = demoSuite({ 'limits.guests_per_ip_per_minute': 1 });

  it('429 from POST /api/guests: the page says how long to wait and opens no socket', async () => {
    await createGuest(suite.server.httpBase, 'First'); // the one guest this address gets this minute
    const page = await suite.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${suite.server.httpBase}/demo/study-room/?name=Pat`);
    const action = await page.waitForSelector('#action[data-kind="rate-limited"]:not([hidden])');
    const wait = Number(await action.getAttribute('data-retry-after'));
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait} s`);
    assert.match((await page.textContent('#action-text')) ?? '', /^Too many new guests from this address: try again in \d+ s\.$/);
    assert.equal(await page.isDisabled('#action-button'), true, 'no retry before the wait is over');
    assert.deepEqual(sockets, []);
  });
});

/** Page errors, console errors and failed responses, except the demo's probe of POST /api/guests. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  const isGuestProbe = (text: string) => /\/api\/guests/.test(text) || /status of 404/.test(text);
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !isGuestProbe(m.text() + ' ' + (m.location().url ?? ''))) errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/api/guests')) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return errors;
}

// The study-room demo (web/demo/study-room/) in Debian's Chromium, driven by playwright-core, served
// by the real tetherd with short heartbeat and resume settings: two pages in one room, then one of
// them closes, crashes or freezes, and the other must show it gone, with the right reason, within the
// bound. Needs the browser bundle (`npm run demo`, which `npm test` runs first).
//
// Environment: CHROMIUM (default /usr/bin/chromium), TETHER_SKIP_BROWSER=1 skips these tests,
// DEMO_SCREENSHOT=/path.png saves a screenshot of a page with two participants.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from './chromium.js';
import type { TetherClient } from '../../src/index.js';
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

describe('study-room demo in Chromium', { skip: SKIP_BROWSER && 'TETHER_SKIP_BROWSER=1' }, () => {
  let server: Tetherd;
  let browser: Browser;
  const pages: Page[] = [];
  const clients: TetherClient[] = [];

  before(async () => {
    server = await Tetherd.start({
      set: {
        'heartbeat.interval_ms': HEARTBEAT_MS,
        'heartbeat.max_missed': MAX_MISSED,
        'session.resume_window_ms': RESUME_WINDOW_MS,
      },
    });
    browser = await launchChromium(BUNDLE);
  });
  after(async () => {
    await browser?.close();
    await server?.dispose();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of pages.splice(0)) if (!p.isClosed()) await p.close();
  });

  interface DemoPage {
    page: Page;
    /** The user id the page connected as (a guest's, once the server makes guests; else the token's). */
    userId: string;
    errors: string[];
  }

  /**
   * Opens the demo as `name`. The page asks POST /api/guests first; on a server without guests it
   * falls back to the token in its URL (minted here for `user`).
   */
  async function openDemo(user: string, name: string, query = ''): Promise<DemoPage> {
    const token = server.signToken({ sub: user, name, exp: Math.floor(Date.now() / 1000) + 3600 });
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    pages.push(page);
    const errors = collectErrors(page);
    page.setDefaultTimeout(10000);
    await page.goto(`${server.httpBase}/demo/study-room/?name=${encodeURIComponent(name)}&token=${encodeURIComponent(token)}${query}`);
    await page.waitForSelector('#state[data-state="open"]');
    const userId = await page.waitForFunction(() => document.body.dataset.userId).then((h) => h.jsonValue() as Promise<string>);
    return { page, userId, errors };
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

  /** Two pages in `roomId`, each seeing the other; returns them. */
  async function twoInRoom(roomId: string, a: [string, string], b: [string, string]) {
    const pa = await openDemo(...a);
    const pb = await openDemo(...b);
    await joinRoom(pa, roomId);
    await joinRoom(pb, roomId);
    await pa.page.waitForSelector(`#participants li[data-user-id="${pb.userId}"]`);
    assert.deepEqual(await participantNames(pa.page), [a[1], b[1]].sort());
    assert.deepEqual(await participantNames(pb.page), [a[1], b[1]].sort());
    // The room list is live (watch_rooms): both pages count 2 in the room.
    for (const p of [pa, pb]) await p.page.waitForSelector(`#rooms li[data-room-id="${roomId}"][data-occupancy="2"]`);
    return [pa, pb] as const;
  }

  /** Waits until `page` no longer lists `gone` and logged its user_left; returns the logged reason and when it was seen. */
  async function waitGone(page: Page, gone: DemoPage, timeoutMs: number): Promise<{ reason: string; at: number }> {
    await page.waitForSelector(`#participants li[data-user-id="${gone.userId}"]`, { state: 'detached', timeout: timeoutMs });
    const at = performance.now();
    const entry = await page.waitForSelector(`#log li[data-kind="user_left"][data-user-id="${gone.userId}"]`, { timeout: 1000 });
    return { reason: (await entry.getAttribute('data-reason')) ?? '', at };
  }

  it('two pages in one room; one page closes -> the other shows it gone (left) at once, occupancy 1', async (t) => {
    const [ann, ben] = await twoInRoom('library', ['ann', 'Ann'], ['ben', 'Ben']);
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
    const [cat, dov] = await twoInRoom('quiet-corner', ['cat', 'Cat'], ['dov', 'Dov']);
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
    const [eli, fay] = await twoInRoom('night-owls', ['eli', 'Eli'], ['fay', 'Fay']);
    // Chromium answers the server's WebSocket pings in its network process, so a page whose main thread
    // is stopped still answers them as long as it can take in data; once a busy room fills its receive
    // pipe, Chromium stops reading the socket and the pings go unanswered. Freeze Fay's page (debugger
    // pause: no script, no task runs), then make the room busy with ~2 MB of room messages (which the
    // demo does not display) from a third member.
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

  it('gets a guest token from POST /api/guests when the server answers 201, and keeps it for the tab', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    pages.push(page);
    const errors = collectErrors(page);
    page.setDefaultTimeout(10000);
    const asked: unknown[] = [];
    await page.route('**/api/guests', async (route) => {
      asked.push(route.request().postDataJSON());
      const token = server.signToken({ sub: 'guest-7f3a', name: 'Gus', guest: true, exp: Math.floor(Date.now() / 1000) + 3600 });
      await route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ user_id: 'guest-7f3a', token }) });
    });
    await page.goto(`${server.httpBase}/demo/study-room/`);
    await page.fill('#name', 'Gus');
    await page.click('#start button');
    await page.waitForSelector('#state[data-state="open"]');
    assert.deepEqual(asked, [{ display_name: 'Gus' }]);
    assert.match((await page.textContent('#who')) ?? '', /^Gus · guest-7f3a · guest$/);
    await joinRoom({ page, userId: 'guest-7f3a', errors }, 'library');
    assert.match((await page.textContent('#participants li[data-user-id="guest-7f3a"]')) ?? '', /Gus\s*\(you\)/);

    // A reload keeps the guest of this tab (sessionStorage): no second guest.
    await page.reload();
    await page.waitForSelector('#state[data-state="open"]');
    assert.equal(await page.evaluate(() => document.body.dataset.userId), 'guest-7f3a');
    assert.equal(asked.length, 1);
    assert.deepEqual(errors, []);
  });

  it('without guests on the server and without ?token=, the page says how to get in', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    pages.push(page);
    page.setDefaultTimeout(10000);
    await page.route('**/api/guests', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no such route"}}' }));
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${server.httpBase}/demo/study-room/?name=Hal`);
    const notice = await page.waitForSelector('#notice:not([hidden])');
    assert.match((await notice.textContent()) ?? '', /POST \/api\/guests answered 404.*\?token=/);
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

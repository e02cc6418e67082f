// The chat demo (web/demo/chat/) in Debian's Chromium, driven by playwright-core, served by the real
// tetherd: two pages (alice and bob, each with a token in the page URL) in their direct chat. A message
// sent in one appears in the other, its ticks turn delivered then read, the other page shows the typing
// indicator, and closing bob's last page turns bob offline in alice's online list.
// Needs the browser bundle (`npm run demo`, which `npm test` runs first).
//
// Environment: CHROMIUM (default /usr/bin/chromium), TETHER_SKIP_BROWSER=1 skips these tests,
// DEMO_SCREENSHOT=/path.png saves a screenshot of alice's page after the message was read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from './chromium.js';
import { Tetherd, WEB_DIR } from '../integration/tetherd.js';

const BUNDLE = join(WEB_DIR, 'demo/chat/tether-client.js');
const PAGE_VIEWPORT = { width: 900, height: 700 };

interface ChatPage {
  page: Page;
  errors: string[];
}

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return errors;
}

describe('chat demo in Chromium', { skip: SKIP_BROWSER && 'TETHER_SKIP_BROWSER=1' }, () => {
  let server: Tetherd;
  let browser: Browser;
  const pages: Page[] = [];

  before(async () => {
    server = await Tetherd.start();
    browser = await launchChromium(BUNDLE);
  });
  after(async () => {
    await browser?.close();
    await server?.dispose();
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) if (!p.isClosed()) await p.close();
  });

  /** Opens the demo as `user` (token name `name`) chatting with `peer`; waits until the chat is open (input enabled). */
  async function openChat(user: string, name: string, peer: string): Promise<ChatPage> {
    const token = server.signToken({ sub: user, name, exp: Math.floor(Date.now() / 1000) + 3600 });
    const page = await browser.newPage({ viewport: PAGE_VIEWPORT });
    pages.push(page);
    page.setDefaultTimeout(10000);
    const errors = collectErrors(page);
    await page.goto(`${server.httpBase}/demo/chat/?token=${encodeURIComponent(token)}&peer=${encodeURIComponent(peer)}`);
    await page.waitForSelector('#state[data-state="open"]');
    await page.waitForSelector('#text:not([disabled])');
    assert.equal(await page.evaluate(() => document.body.dataset.userId), user);
    return { page, errors };
  }

  /**
   * Records the data-status values own message bubbles go through (window.__ticks): the value
   * before each change (attributeOldValue, so changes that land in one batch are all seen).
   */
  async function recordTicks(page: Page): Promise<void> {
    await page.evaluate(() => {
      const w = window as unknown as { __ticks: string[] };
      w.__ticks = [];
      new MutationObserver((records) => {
        for (const r of records) {
          const el = r.target as HTMLElement;
          if (r.type === 'attributes' && el.dataset.own === 'true' && r.oldValue) w.__ticks.push(r.oldValue);
        }
      }).observe(document.getElementById('messages')!, { attributes: true, attributeFilter: ['data-status'], attributeOldValue: true, subtree: true });
    });
  }

  /** The statuses the own bubble went through, the current one last, without repeats. */
  async function tickHistory(page: Page, li: import('playwright-core').ElementHandle): Promise<string[]> {
    const before = await page.evaluate(() => (window as unknown as { __ticks: string[] }).__ticks);
    const all = [...before, (await li.getAttribute('data-status')) ?? ''];
    return all.filter((s, i) => s !== all[i - 1]);
  }

  it('a message sent in one page appears in the other; its ticks turn delivered then read; typing shows', async () => {
    const alice = await openChat('alice', 'Alice', 'bob');
    const bob = await openChat('bob', 'Bob', 'alice');
    assert.equal(await alice.page.evaluate(() => document.body.dataset.chatId), 'dm:alice:bob');
    assert.equal(await bob.page.evaluate(() => document.body.dataset.chatId), 'dm:alice:bob');

    // Typing: bob's page shows alice typing, and stops showing it when her message comes.
    await alice.page.type('#text', 'Hi Bob, how are you?');
    await bob.page.waitForSelector('#typing[data-users="alice"]');
    assert.match((await bob.page.textContent('#typing')) ?? '', /Alice is typing/);

    await recordTicks(alice.page);
    await alice.page.press('#text', 'Enter');
    const received = await bob.page.waitForSelector('#messages li[data-own="false"][data-message-id]');
    assert.equal(await received.$eval('.text', (e) => e.textContent), 'Hi Bob, how are you?');
    assert.equal(await received.getAttribute('data-sender-id'), 'alice');
    await bob.page.waitForSelector('#typing[data-users=""]');

    // Bob's page is visible: the message counts as read, and alice's bubble turns read (blue ticks).
    const mine = await alice.page.waitForSelector('#messages li[data-own="true"][data-status="read"]');
    assert.equal(await mine.$eval('.text', (e) => e.textContent), 'Hi Bob, how are you?');
    assert.equal(await mine.getAttribute('data-message-id'), await received.getAttribute('data-message-id'));
    // pending (on its way) -> sent (stored) -> delivered -> read, never back.
    const order = await tickHistory(alice.page, mine);
    // (A delivered receipt may come before the stored message itself: then the bubble goes from pending to delivered.)
    const stages = order.filter((s) => s !== 'pending');
    const expected = stages.length === 3 ? ['sent', 'delivered', 'read'] : ['delivered', 'read'];
    assert.deepEqual(stages, expected, `ticks went ${order.join(' -> ')}`);
    if (process.env.DEMO_SCREENSHOT) await alice.page.screenshot({ path: process.env.DEMO_SCREENSHOT, fullPage: true });

    // And the other way round.
    await bob.page.fill('#text', 'Fine, thanks!');
    await bob.page.press('#text', 'Enter');
    await alice.page.waitForSelector('#messages li[data-own="false"][data-message-id] >> text=Fine, thanks!');
    await bob.page.waitForSelector('#messages li[data-own="true"][data-status="read"] >> text=Fine, thanks!');
    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
  });

  it("the online list: closing bob's last page turns bob offline in alice's list (not closing the first of two)", async () => {
    const amy = await openChat('amy', 'Amy', 'ben');
    const ben1 = await openChat('ben', 'Ben', 'amy');
    await amy.page.waitForSelector('#online li[data-user-id="ben"]');
    await amy.page.waitForSelector('#peer-state[data-online="true"]');
    assert.equal(await amy.page.textContent('#online li[data-user-id="ben"] .name'), 'Ben');
    await ben1.page.waitForSelector('#online li[data-user-id="amy"]');
    const ben2 = await openChat('ben', 'Ben', 'amy');

    await ben1.page.close({ runBeforeUnload: true }); // pagehide -> before_disconnect: that session ends at once
    // A barrier: someone else comes online after it; an offline for ben would have shown first.
    const cat = await openChat('cat', 'Cat', 'amy');
    await amy.page.waitForSelector('#online li[data-user-id="cat"]');
    assert.ok(await amy.page.$('#online li[data-user-id="ben"]'), 'ben still online with one page left');

    await ben2.page.close({ runBeforeUnload: true });
    await amy.page.waitForSelector('#online li[data-user-id="ben"]', { state: 'detached' });
    await amy.page.waitForSelector('#peer-state[data-online="false"]');
    assert.ok(await amy.page.$('#online li[data-user-id="amy"]'), 'amy lists herself');
    assert.deepEqual(amy.errors, []);
    assert.deepEqual(cat.errors, []);
  });
});

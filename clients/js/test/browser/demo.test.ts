// The create-post demo page (web/demo/create-post/) in Debian's Chromium, driven by playwright-core,
// served by the real tetherd. Needs the browser bundle (`npm run demo`, which `npm test` runs first).
//
// Environment: CHROMIUM (default /usr/bin/chromium), TETHER_SKIP_BROWSER=1 skips these tests,
// DEMO_SCREENSHOT=/path.png saves a screenshot of the page after the upload.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from './chromium.js';
import { Tetherd, WEB_DIR, waitFor } from '../integration/tetherd.js';

const BUNDLE = join(WEB_DIR, 'demo/create-post/tether-client.js');

// A 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('create-post demo in Chromium', { skip: SKIP_BROWSER && 'TETHER_SKIP_BROWSER=1' }, () => {
  let server: Tetherd;
  let browser: Browser;

  before(async () => {
    // The default resume window (5000 ms): leaving the page must not wait for it.
    server = await Tetherd.start();
    browser = await launchChromium(BUNDLE);
  });
  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  /** Opens the demo as `user` and uploads two files through the file input; returns their ids. */
  async function openAndUpload(user: string): Promise<{ page: Page; ids: string[]; errors: string[] }> {
    const token = await server.token(user);
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
    });
    page.setDefaultTimeout(10000);
    await page.goto(`${server.httpBase}/demo/create-post/?token=${encodeURIComponent(token)}`);
    await page.waitForSelector('#state[data-state="open"]');
    await page.setInputFiles('#picker', [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(`notes of ${user}\n`) },
      { name: 'photo.png', mimeType: 'image/png', buffer: PNG },
    ]);
    await page.waitForFunction(() => document.querySelectorAll('#files .status.tracked').length === 2);
    const ids = await page.$$eval('#files li .id', (els) => els.map((e) => e.textContent ?? ''));
    assert.equal(ids.length, 2);
    for (const id of ids) {
      assert.match(id, /^f_/);
      assert.ok(server.blobExists(id), `blob ${id} on the server`);
      assert.ok((await server.fileEvents(id)).includes('file_tracked'), `${id} tracked`);
    }
    assert.deepEqual(await page.$$eval('#files li .name', (els) => els.map((e) => e.textContent)), ['notes.txt', 'photo.png']);
    return { page, ids, errors };
  }

  async function sessionClosed(user: string) {
    return waitFor(`session_closed of ${user} in the audit`, async () =>
      (await server.audit({ user_id: user })).find((r) => r.event === 'session_closed'),
    );
  }

  it('closing the page without posting deletes both files at once (pagehide -> before_disconnect)', async (t) => {
    const { page, ids, errors } = await openAndUpload('pat');
    if (process.env.DEMO_SCREENSHOT) await page.screenshot({ path: process.env.DEMO_SCREENSHOT, fullPage: true });

    const started = performance.now();
    await page.close({ runBeforeUnload: true });
    await waitFor(
      'both files deleted (blobs gone, file_deleted audited)',
      async () => {
        if (ids.some((id) => server.blobExists(id))) return false;
        for (const id of ids) if (!(await server.fileEvents(id)).includes('file_deleted')) return false;
        return true;
      },
      { timeoutMs: 8000, intervalMs: 10 },
    );
    const elapsed = Math.round(performance.now() - started);
    t.diagnostic(`page close -> both files deleted in ${elapsed} ms`);
    const closed = await sessionClosed('pat');
    assert.equal(closed.reason, 'left', 'the session ended through before_disconnect, not as a drop');
    assert.ok(elapsed < 1000, `deletion took ${elapsed} ms after the page closed (the resume window is 5000 ms)`);
    assert.deepEqual(errors, []);
  });

  it('an expired token: the page says why (asked through /api/whoami) and stops trying', async () => {
    const token = server.signToken({ sub: 'rita', exp: Math.floor(Date.now() / 1000) - 60 });
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const sockets: string[] = [];
    const whoami: number[] = [];
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('websocket', (ws) => sockets.push(ws.url()));
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/api/whoami') whoami.push(r.status());
    });
    page.setDefaultTimeout(10000);
    await page.goto(`${server.httpBase}/demo/create-post/?token=${encodeURIComponent(token)}`);
    const problem = await page.waitForSelector('#problem:not([hidden])');
    assert.equal(
      await problem.textContent(),
      'Cannot connect: invalid token: expired (HTTP 401). Get a new token with tetherd token USER.',
    );
    assert.equal(await page.textContent('#state'), 'closed (4001)');
    // No retry loop: a bounded look for something that must NOT happen (the backoff starts under 1 s).
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sockets.length, 1, `WebSocket attempts: ${sockets.join(', ')}`);
    assert.deepEqual(whoami, [401]);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('after posting, closing the page keeps both files', async (t) => {
    const { page, ids, errors } = await openAndUpload('quinn');
    await page.fill('#text', 'Holiday pictures');
    await page.click('#submit');
    const post = await page.waitForSelector('#posts .post');
    const text = (await post.textContent()) ?? '';
    assert.match(text, /Holiday pictures/);
    assert.match(text, /2 file\(s\) kept: notes\.txt, photo\.png/);
    assert.equal(await page.locator('#files li').count(), 0);

    await page.close({ runBeforeUnload: true });
    const closed = await sessionClosed('quinn');
    assert.equal(closed.reason, 'left');
    for (const id of ids) {
      assert.ok(server.blobExists(id), `blob ${id} kept`);
      const events = await server.fileEvents(id);
      assert.ok(!events.includes('deletion_queued') && !events.includes('file_deleted'), `${id}: ${events}`);
    }
    assert.deepEqual(errors, []);
    t.diagnostic(`kept ${ids.join(', ')}`);
  });
});

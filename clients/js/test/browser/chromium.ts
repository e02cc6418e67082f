// Debian's Chromium for the browser tests, driven by playwright-core.
//
// Environment: CHROMIUM (default /usr/bin/chromium), TETHER_SKIP_BROWSER=1 skips the browser tests.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const SKIP_BROWSER = process.env.TETHER_SKIP_BROWSER === '1';

/**
 * Checks that Chromium and the demo's client bundle are there (a clear error says how to get them)
 * and launches a headless Chromium without background traffic.
 */
export async function launchChromium(bundle: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (scripts/install-deps.sh), set CHROMIUM, or set TETHER_SKIP_BROWSER=1`);
  }
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run demo\` in clients/js first`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
    timeout: 30000,
  });
}

import type { TetherClient } from './client.js';

interface EventTargetLike {
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
}

export interface PageLifecycleOptions {
  /** Defaults to globalThis (window). */
  window?: EventTargetLike;
  /** Defaults to globalThis.document. */
  document?: EventTargetLike & { visibilityState: string };
}

/**
 * Ties a client to the browser page lifecycle:
 *
 * - `pagehide`: sends `before_disconnect` (best effort) and closes the client,
 *   so the server ends the session at once (and cleans up an unsubmitted draft);
 *   if the page comes back from the back/forward cache (`pageshow` with
 *   `persisted`), the client connects again.
 * - `visibilitychange`: while hidden, reconnects follow the backoff (never
 *   faster than baseMs, and a short-lived `connected` does not reset it); on
 *   becoming visible, an open socket is checked with a `ping` and a dropped
 *   one reconnects at once with the backoff reset.
 * - `online`: a dropped socket reconnects at once.
 *
 * Returns a function that removes the handlers. Does nothing outside a browser.
 */
export function attachPageLifecycle(client: TetherClient, options: PageLifecycleOptions = {}): () => void {
  const g = globalThis as { document?: PageLifecycleOptions['document']; addEventListener?: unknown };
  const win = options.window ?? (typeof g.addEventListener === 'function' ? (g as unknown as EventTargetLike) : undefined);
  const doc = options.document ?? g.document;
  if (!win || !doc) return () => {};

  let closedByPagehide = false;
  const onPageHide = (): void => {
    if (client.state === 'closed') return;
    closedByPagehide = true;
    client.close('pagehide');
  };
  const onPageShow = (event: { persisted?: boolean }): void => {
    if (!event?.persisted || !closedByPagehide) return;
    closedByPagehide = false;
    void client.connect();
  };
  const onVisibility = (): void => client.setPageHidden(doc.visibilityState === 'hidden');
  const onOnline = (): void => client.reconnectNow();

  client.setPageHidden(doc.visibilityState === 'hidden');
  win.addEventListener('pagehide', onPageHide);
  win.addEventListener('pageshow', onPageShow);
  win.addEventListener('online', onOnline);
  doc.addEventListener('visibilitychange', onVisibility);
  return () => {
    win.removeEventListener('pagehide', onPageHide);
    win.removeEventListener('pageshow', onPageShow);
    win.removeEventListener('online', onOnline);
    doc.removeEventListener('visibilitychange', onVisibility);
  };
}

import { TetherError } from './errors.js';
import { httpBaseFromWsUrl } from './url.js';

/** A guest account made by the server (`POST /api/guests`). */
export interface Guest {
  /** `g_` and 24 hex digits. */
  userId: string;
  /** The guest's JWT: pass it as the client's `token`. */
  token: string;
  /** The display name the server stored (others see it in rooms). */
  displayName: string;
  /** When the token expires (ISO 8601). The guest itself goes earlier if it is inactive (see the README). */
  expiresAt: string;
}

/**
 * Why `createGuest` failed. `status` is the HTTP status (undefined when the server could not be
 * reached), `code` the server's error code (`invalid_field`, `bad_json`, `rate_limited`, ...), or
 * `network` / `bad_response` / `http_<status>`. On 429, `retryAfterSeconds` says how long to wait.
 */
export class GuestError extends TetherError {
  readonly retryAfterSeconds?: number;

  constructor(code: string, message: string, options: { status?: number; body?: unknown; retryAfterSeconds?: number } = {}) {
    super(code, message, options.body, options.status);
    this.name = 'GuestError';
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * Makes a guest: `POST {baseUrl}/api/guests {display_name}`. `baseUrl` is the server's HTTP base
 * (`https://app.example.com`), its WebSocket URL (mapped like the client's `httpBase`), or `''` for
 * the page's own origin in a browser. Rejects with a GuestError (e.g. 429 `rate_limited` with
 * `retryAfterSeconds`, 400 `invalid_field` for an empty or too long name, 404 on a server without guests).
 */
export async function createGuest(baseUrl: string, displayName: string, fetchImpl?: typeof fetch): Promise<Guest> {
  const f = fetchImpl ?? globalThis.fetch;
  if (!f) throw new GuestError('unsupported', 'no fetch implementation available');
  let res: Response;
  try {
    res = await f(`${guestsBase(baseUrl)}/api/guests`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ display_name: displayName }),
    });
  } catch (err) {
    throw new GuestError('network', `POST /api/guests: no answer (${err instanceof Error ? err.message : String(err)})`);
  }
  const body = await readJson(res);
  if (res.status !== 201) throw guestErrorFromHttp(res, body);
  return parseGuest(body, res.status);
}

/** The HTTP base for a base URL given as http(s), ws(s) or '' (same origin), without a trailing slash. */
function guestsBase(baseUrl: string): string {
  const base = /^wss?:\/\//i.test(baseUrl) ? httpBaseFromWsUrl(baseUrl) : baseUrl;
  return base.replace(/\/+$/, '');
}

/** The parsed JSON body, or undefined (an error page of a proxy is not JSON). */
async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}

function guestErrorFromHttp(res: Response, body: unknown): GuestError {
  const e = TetherError.fromHttp(res.status, body, 'POST /api/guests');
  const retryAfterSeconds = res.status === 429 ? parseRetryAfter(res.headers.get('Retry-After')) : undefined;
  const options: { status: number; body: unknown; retryAfterSeconds?: number } = { status: res.status, body };
  if (retryAfterSeconds !== undefined) options.retryAfterSeconds = retryAfterSeconds;
  return new GuestError(e.code, e.message, options);
}

/**
 * `Retry-After` in whole seconds: delta-seconds (what tetherd sends) or an HTTP date. A 429 without
 * a usable header still gets a wait (60 s, the limit's window), so a caller never retries in a loop.
 */
export function parseRetryAfter(header: string | null, now = Date.now()): number {
  const DEFAULT_S = 60;
  if (header === null) return DEFAULT_S;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? DEFAULT_S : Math.max(0, Math.ceil((at - now) / 1000));
}

function parseGuest(body: unknown, status: number): Guest {
  const b = (body ?? {}) as Record<string, unknown>;
  const { user_id, token, display_name, expires_at } = b;
  if (typeof user_id !== 'string' || typeof token !== 'string') {
    throw new GuestError('bad_response', 'POST /api/guests: the answer has no user_id and token', { status, body });
  }
  return {
    userId: user_id,
    token,
    displayName: typeof display_name === 'string' ? display_name : '',
    expiresAt: typeof expires_at === 'string' ? expires_at : '',
  };
}

/**
 * How the server ends a deleted guest's session: close 4010 with this reason. (4010 also closes an
 * idle session, reason 'idle timeout', whose user still exists: only the reason tells them apart.)
 */
export const GUEST_DELETED_CLOSE_CODE = 4010;
export const GUEST_DELETED_REASON = 'guest deleted';
/** The server's message when it refuses a deleted guest's token (HTTP 401 on the upgrade). */
export const GUEST_GONE_MESSAGE = 'this guest no longer exists';

/** Whether a close (code, reason) is the server ending a deleted guest's session. */
export function isGuestDeletedClose(code: number | undefined, reason: string | undefined): boolean {
  return code === GUEST_DELETED_CLOSE_CODE && reason === GUEST_DELETED_REASON;
}

/**
 * Whether the client stopped because its guest no longer exists: the session was closed as deleted
 * (4010 'guest deleted'), or the token was refused as a deleted guest's (state code 4001 with the
 * server's message). Pass a `state` or `close` event. The guest cannot come back: make a new one.
 */
export function isGuestGone(event: { code?: number; reason?: string }): boolean {
  return isGuestDeletedClose(event.code, event.reason) || (event.code === 4001 && event.reason === GUEST_GONE_MESSAGE);
}

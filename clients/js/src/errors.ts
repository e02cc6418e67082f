/**
 * Error raised by the client: either an `error` reply from the server (code is
 * the server's, e.g. 'not_found', 'forbidden') or a client-side condition:
 *
 * - 'timeout'       no reply within the request timeout
 * - 'disconnected'  the socket dropped after the request was sent, before its reply
 * - 'dropped'       the request was still queued and was pushed out of the full queue
 * - 'closed'        the client was closed (close(), or a final close code) before the reply
 * - 'http_<status>' an HTTP request (upload, refused WebSocket upgrade) failed without a JSON error body
 *
 * `status` is the HTTP status when the error came from an HTTP answer: an
 * upload, or a refused WebSocket upgrade (e.g. 401 with code 'unauthorized'
 * and message 'invalid token: expired').
 */
export class TetherError extends Error {
  readonly code: string;
  /** The server's `error` message, when the error came from one. */
  readonly reply?: unknown;
  /** HTTP status, when the error came from an HTTP answer. */
  readonly status?: number;

  constructor(code: string, message: string, reply?: unknown, status?: number) {
    super(message);
    this.name = 'TetherError';
    this.code = code;
    if (reply !== undefined) this.reply = reply;
    if (status !== undefined) this.status = status;
  }

  /**
   * The error of an HTTP answer: the code and message of its
   * `{"error":{"code","message"}}` body when it has one, else `http_<status>`.
   */
  static fromHttp(status: number, body: unknown, fallback: string): TetherError {
    const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    return new TetherError(
      typeof e?.code === 'string' ? e.code : `http_${status}`,
      typeof e?.message === 'string' ? e.message : `${fallback}: HTTP ${status}`,
      body,
      status,
    );
  }
}

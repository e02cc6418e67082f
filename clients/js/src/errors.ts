/**
 * Error raised by the client: either an `error` reply from the server (code is
 * the server's, e.g. 'not_found', 'forbidden') or a client-side condition:
 *
 * - 'timeout'       no reply within the request timeout
 * - 'disconnected'  the socket dropped after the request was sent, before its reply
 * - 'dropped'       the request was still queued and was pushed out of the full queue
 * - 'closed'        the client was closed (close(), or a final close code) before the reply
 * - 'http_<status>' an HTTP upload failed without a JSON error body
 */
export class TetherError extends Error {
  readonly code: string;
  /** The server's `error` message, when the error came from one. */
  readonly reply?: unknown;

  constructor(code: string, message: string, reply?: unknown) {
    super(message);
    this.name = 'TetherError';
    this.code = code;
    if (reply !== undefined) this.reply = reply;
  }
}

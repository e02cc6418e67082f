import { TetherError } from './errors.js';
import type { AckMessage, ConnectedMessage, DraftRejectedEvent, OutgoingMessage, RegisteredMessage } from './types.js';

/** What the draft needs from its client (internal). */
export interface DraftHost {
  /** `front`: ahead of every queued message (used for re-registration after a reconnect). */
  request(message: OutgoingMessage, front: boolean): Promise<any>;
  getToken(): Promise<string | undefined>;
  httpBase(): string;
  fetch(): typeof fetch;
  emitRejected(event: DraftRejectedEvent): void;
}

/** Body of a `POST /api/files` answer. */
export interface UploadResult {
  file_id: string;
  size: number;
  name: string;
}

export type UploadData = Blob | ArrayBuffer | ArrayBufferView;

/** How many times a draft call is sent again when the connection drops before its reply. */
const RESEND_ON_DISCONNECT = 3;

/**
 * Client side of the abandoned-upload cleanup (PROTOCOL.md §5): the files of
 * the post being written are tracked by the session, and deleted by the server
 * if the session ends without `post_submitted`.
 *
 * Calls that lose their reply to a dropped connection are sent again once the
 * client is back (up to 3 times); after a reconnect that did not resume the
 * session, the tracked files are registered again on the new session.
 */
export class Draft {
  private readonly tracked = new Set<string>();
  private _submitted = false;

  /** @internal */
  constructor(private readonly host: DraftHost) {}

  /** The files tracked by the session, as far as the client knows (ack'd ones). */
  get files(): ReadonlySet<string> {
    return this.tracked;
  }

  /** True after `submit()` succeeded, until the next `track()`/`upload()`. */
  get submitted(): boolean {
    return this._submitted;
  }

  /** Tracks an uploaded file (`file_uploaded`); resolves on the server's ack. */
  async track(fileId: string): Promise<AckMessage> {
    this._submitted = false;
    const ack = (await this.resend({ type: 'file_uploaded', file_id: fileId })) as AckMessage;
    this.tracked.add(fileId);
    return ack;
  }

  /**
   * Stops tracking a file (`file_removed`; the file is not deleted). A file the
   * server does not track (`not_found`) counts as untracked too.
   */
  async untrack(fileId: string): Promise<void> {
    try {
      await this.resend({ type: 'file_removed', file_id: fileId });
    } catch (err) {
      if (!(err instanceof TetherError && err.code === 'not_found')) throw err;
    }
    this.tracked.delete(fileId);
  }

  /**
   * Submits the post (`post_submitted`): the tracked files are kept for good.
   * Resolves with the server's `kept` list (of the last attempt, if the
   * connection dropped on the way) and clears the tracked set.
   */
  async submit(postId?: string): Promise<string[]> {
    const msg: OutgoingMessage = { type: 'post_submitted' };
    if (postId !== undefined) msg.post_id = postId;
    const ack = (await this.resend(msg)) as AckMessage;
    const kept = Array.isArray(ack.kept) ? ack.kept : [];
    this.tracked.clear();
    this._submitted = true;
    return kept;
  }

  /**
   * Uploads a file (`POST {httpBase}/api/files?name=N`, Bearer token, raw body)
   * and tracks the returned file_id. `name` defaults to a File's name.
   */
  async upload(data: UploadData, name?: string, init?: { signal?: AbortSignal }): Promise<UploadResult> {
    const fileName = name ?? (data as { name?: unknown }).name;
    if (typeof fileName !== 'string' || fileName === '') throw new TypeError('upload: a file name is required');
    const url = `${this.host.httpBase()}/api/files?name=${encodeURIComponent(fileName)}`;
    const token = await this.host.getToken();
    const type = (data as { type?: unknown }).type;
    const headers: Record<string, string> = {
      'Content-Type': typeof type === 'string' && type !== '' ? type : 'application/octet-stream',
    };
    if (token) headers.Authorization = `Bearer ${token}`;
    const request: RequestInit = { method: 'POST', headers, body: data as BodyInit };
    if (init?.signal) request.signal = init.signal;
    const res = await this.host.fetch()(url, request);
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    if (!res.ok) throw TetherError.fromHttp(res.status, body, 'upload failed');
    const result = body as UploadResult | undefined;
    if (!result || typeof result.file_id !== 'string') {
      throw new TetherError('bad_response', 'upload answer has no file_id', body);
    }
    await this.track(result.file_id);
    return result;
  }

  /** @internal Called by the client on every `connected`, before the send queue is flushed. */
  _handleConnected(msg: ConnectedMessage): void {
    if (msg.resumed === true) {
      // Resumed: the server's state is authoritative. Take its list of tracked files when it sends one
      // (a call whose ack was lost is sent again and brings its own change).
      if (Array.isArray(msg.file_ids)) {
        this.tracked.clear();
        for (const id of msg.file_ids) if (typeof id === 'string') this.tracked.add(id);
      }
      return;
    }
    if (this.tracked.size === 0) return;
    const ids = [...this.tracked];
    this.host.request({ type: 'register', file_ids: ids }, true).then(
      (reg: RegisteredMessage) => {
        const rejected = Array.isArray(reg.rejected) ? reg.rejected : [];
        for (const r of rejected) this.tracked.delete(r.file_id);
        if (Array.isArray(reg.file_ids)) for (const id of reg.file_ids) this.tracked.add(id);
        if (rejected.length > 0) this.host.emitRejected({ rejected });
      },
      () => {
        // Dropped again: the next non-resumed `connected` registers again.
      },
    );
  }

  /** @internal Called by the client's close(): the server ends the session and cleans the draft up. */
  _handleClosed(): void {
    this.tracked.clear();
    this._submitted = false;
  }

  private async resend(msg: OutgoingMessage): Promise<unknown> {
    for (let i = 0; ; i++) {
      try {
        return await this.host.request(msg, false);
      } catch (err) {
        if (!(err instanceof TetherError && err.code === 'disconnected') || i >= RESEND_ON_DISCONNECT) throw err;
      }
    }
  }
}

// Runs the real tetherd binary for the integration and browser tests.
//
// The binary is $TETHERD, or ../../build/tetherd relative to clients/js. Every server gets a fresh
// temporary data dir and port 0; kill() (SIGKILL) and restart() keep the data dir and the port, so a
// client can reconnect to the same URL. All waits are bounded: polling with a deadline, or events with
// a timeout.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import type { ClientEventMap, TetherClient } from '../../src/index.js';

/** clients/js (this file runs from clients/js/.test-build/test/integration/). */
export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The repository's web/ folder, served by tetherd as server.web_dir. */
export const WEB_DIR = resolve(PACKAGE_DIR, '../../web');

export function tetherdPath(): string {
  return process.env.TETHERD ? resolve(process.env.TETHERD) : resolve(PACKAGE_DIR, '../../build/tetherd');
}

/** Throws a clear error when the tetherd binary is missing. */
export function requireTetherd(): string {
  const bin = tetherdPath();
  if (!existsSync(bin)) {
    throw new Error(
      `tetherd binary not found at ${bin}. Build it first (cd the repository root, then ` +
        '`cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --target tetherd`), ' +
        'or point the TETHERD environment variable at it.',
    );
  }
  return bin;
}

const execFileP = promisify(execFile);
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface AuditRecord {
  id: number;
  at: string;
  event: string;
  session_id: string;
  user_id: string;
  file_id: string;
  reason: string;
  details: unknown;
}

export interface TetherdOptions {
  /** Extra configuration, passed as `--set key=value`. */
  set?: Record<string, string | number | boolean>;
  /** Serve this folder as server.web_dir (default: the repository's web/). */
  webDir?: string;
  /** How long start-up (listening + readyz 200) may take (default 15000 ms). */
  startTimeoutMs?: number;
}

export class Tetherd {
  readonly bin: string;
  readonly dataDir: string;
  port = 0;
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  private constructor(private readonly options: TetherdOptions) {
    this.bin = requireTetherd();
    this.dataDir = mkdtempSync(join(tmpdir(), 'tether-js-it-'));
  }

  /** Starts tetherd on a fresh data dir and port 0, and waits until /readyz answers 200. */
  static async start(options: TetherdOptions = {}): Promise<Tetherd> {
    const t = new Tetherd(options);
    try {
      await t.launch();
    } catch (err) {
      await t.dispose();
      throw err;
    }
    return t;
  }

  get httpBase(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }
  get running(): boolean {
    return this.proc !== null;
  }
  /** The last part of the server's output (stdout and stderr), for failure messages. */
  get output(): string {
    return this.log.slice(-4000);
  }

  private async launch(): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 15000;
    const deadline = Date.now() + timeoutMs;
    const args = [
      '--set', `server.port=${this.port}`,
      '--set', `storage.data_dir=${this.dataDir}`,
      '--set', `server.web_dir=${this.options.webDir ?? WEB_DIR}`,
    ];
    for (const [k, v] of Object.entries(this.options.set ?? {})) args.push('--set', `${k}=${v}`);
    const proc = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    this.exited = new Promise((res) => proc.once('exit', () => res()));
    void this.exited.then(() => {
      live.delete(proc);
      if (this.proc === proc) this.proc = null;
    });

    const append = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-64 * 1024);
    };
    proc.stderr!.on('data', append);
    const port = await new Promise<number>((res, rej) => {
      let buf: string | null = '';
      const done = () => {
        buf = null;
        clearTimeout(timer);
        proc.off('exit', onExit);
        proc.off('error', fail);
      };
      const fail = (err: Error) => {
        done();
        proc.kill('SIGKILL');
        rej(new Error(`${err.message}\n--- tetherd output ---\n${this.output}`));
      };
      const onExit = (code: number | null, signal: string | null) =>
        fail(new Error(`tetherd exited during start-up (code ${code}, signal ${signal})`));
      const timer = setTimeout(() => fail(new Error(`tetherd did not print "listening on" within ${timeoutMs} ms`)), timeoutMs);
      proc.on('error', fail);
      proc.on('exit', onExit);
      proc.stdout!.on('data', (chunk: Buffer) => {
        append(chunk);
        if (buf === null) return;
        buf += chunk.toString();
        const m = /listening on [^\s:]+:(\d+)/.exec(buf);
        if (m) {
          done();
          res(Number(m[1]));
        }
      });
    });
    this.port = port;

    await waitFor(
      'GET /readyz -> 200',
      async () => {
        if (this.proc !== proc) throw new Error(`tetherd exited before /readyz turned 200\n${this.output}`);
        try {
          const r = await fetch(`${this.httpBase}/readyz`);
          await r.arrayBuffer();
          return r.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 25 },
    );
  }

  /** SIGKILL: the server dies without any cleanup (as in a crash). */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGKILL');
    await withTimeout(this.exited, 5000, 'tetherd to exit after SIGKILL');
  }

  /** Starts the server again on the same data dir and the same port. */
  async restart(): Promise<void> {
    if (this.proc) throw new Error('restart(): tetherd is still running');
    await this.launch();
  }

  /** SIGTERM (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGTERM');
    try {
      await withTimeout(this.exited, 5000, 'tetherd to exit after SIGTERM');
    } catch {
      proc.kill('SIGKILL');
      await withTimeout(this.exited, 5000, 'tetherd to exit after SIGKILL');
    }
  }

  /** Stops the server and removes its data dir. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A user token from `tetherd token USER` (the secret was generated into the data dir at first start). */
  async token(user: string): Promise<string> {
    const { stdout } = await execFileP(this.bin, ['token', user, '--ttl', '1h', '--set', `storage.data_dir=${this.dataDir}`]);
    return stdout.trim();
  }

  /**
   * An HS256 token with these claims, signed with the server's secret: for tokens `tetherd token`
   * cannot make, like expired ones (`exp` in the past).
   */
  signToken(claims: Record<string, unknown>): string {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    const secret = readFileSync(join(this.dataDir, 'jwt_secret'), 'utf8').trim();
    return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
  }

  get apiKey(): string {
    return readFileSync(join(this.dataDir, 'api_key'), 'utf8').trim();
  }

  blobPath(fileId: string): string {
    return join(this.dataDir, 'blobs', fileId);
  }
  blobExists(fileId: string): boolean {
    return existsSync(this.blobPath(fileId));
  }

  /** POST a JSON body to an HTTP API path (`/api/notify/post`, `/api/chats`, ...) with the API key. */
  async postApi(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.httpBase}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: r.status, body: parsed };
  }

  /** GET /api/audit with the API key. */
  async audit(query: { file_id?: string; session_id?: string; user_id?: string }): Promise<AuditRecord[]> {
    const qs = new URLSearchParams(query as Record<string, string>).toString();
    const r = await fetch(`${this.httpBase}/api/audit?${qs}`, { headers: { Authorization: `Bearer ${this.apiKey}` } });
    if (r.status !== 200) throw new Error(`GET /api/audit?${qs}: HTTP ${r.status} ${await r.text()}`);
    return ((await r.json()) as { records: AuditRecord[] }).records;
  }

  /** The audit events of one file, in order. */
  async fileEvents(fileId: string): Promise<string[]> {
    return (await this.audit({ file_id: fileId })).map((r) => r.event);
  }

  /** Uploads through the HTTP API (not through a client). */
  async upload(token: string, name: string, body: Uint8Array | string): Promise<{ file_id: string; size: number; name: string }> {
    const r = await fetch(`${this.httpBase}/api/files?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: body as unknown as BodyInit,
    });
    if (r.status !== 201) throw new Error(`upload ${name}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as { file_id: string; size: number; name: string };
  }
}

/**
 * One tetherd for the tests of the enclosing describe(): started before them (handed to `use`),
 * disposed after them.
 */
export function serverForSuite(use: (server: Tetherd) => void, options: TetherdOptions = {}): void {
  let server: Tetherd | undefined;
  before(async () => {
    server = await Tetherd.start(options);
    use(server);
  });
  after(async () => {
    await server?.dispose();
  });
}

// ---- bounded waits ------------------------------------------------------------

/** Rejects with a clear message when the promise does not settle within ms. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls check() every intervalMs until it returns something truthy (which is returned), for at most
 * timeoutMs. An exception thrown by check() ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until every one of these files is deleted: its blob gone and file_deleted in the audit. */
export async function filesDeleted(server: Tetherd, fileIds: string[], timeoutMs = 5000): Promise<void> {
  await waitFor(
    `${fileIds.join(', ')} deleted (blob gone, file_deleted audited)`,
    async () => {
      for (const id of fileIds) {
        if (server.blobExists(id) || !(await server.fileEvents(id)).includes('file_deleted')) return false;
      }
      return true;
    },
    { timeoutMs },
  );
}

/** The next client event of this type (that passes filter), within timeoutMs. Subscribe before acting. */
export function nextEvent<K extends keyof ClientEventMap>(
  client: TetherClient,
  type: K,
  timeoutMs = 5000,
  filter?: (event: ClientEventMap[K]) => boolean,
): Promise<ClientEventMap[K]> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      off();
      rej(new Error(`timed out after ${timeoutMs} ms waiting for the client's '${String(type)}' event`));
    }, timeoutMs);
    const off = client.on(type, (event) => {
      if (filter && !filter(event)) return;
      clearTimeout(timer);
      off();
      res(event);
    });
  });
}

/** Records the client's state changes, e.g. ['connecting', 'open', 'reconnecting', 'open']. */
export function recordStates(client: TetherClient): string[] {
  const states: string[] = [];
  client.on('state', (e) => states.push(e.state));
  return states;
}

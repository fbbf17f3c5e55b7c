/**
 * A protocol-level test client: speaks the binary frames directly over `ws`,
 * records everything the server sends, and lets a test wait for a frame.
 */
import WebSocket from 'ws';
import {
  decodeServerFrame,
  encodeClientFrame,
  type ClientFrame,
  type ConversationId,
  type CursorItem,
  type ServerFrame,
} from '@tidings/shared';

export interface Account {
  readonly userId: string;
  readonly deviceId: string;
  readonly token: string;
  readonly username: string;
}

export async function api<T = any>(base: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: T; headers: Headers }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

let counter = 0;
export async function register(base: string, name = `user${process.pid}x${++counter}`): Promise<Account> {
  const r = await api(base, 'POST', '/v1/accounts', { username: name, password: 'correct horse battery' });
  if (r.status !== 201) throw new Error(`register failed: ${JSON.stringify(r.json)}`);
  return { userId: r.json.user_id, deviceId: r.json.device_id, token: r.json.token, username: name };
}

export async function signIn(base: string, username: string, device = 'second'): Promise<Account> {
  const r = await api(base, 'POST', '/v1/sessions', { username, password: 'correct horse battery', device_name: device });
  if (r.status !== 201) throw new Error(`sign-in failed: ${JSON.stringify(r.json)}`);
  return { userId: r.json.user_id, deviceId: r.json.device_id, token: r.json.token, username };
}

export class RawClient {
  readonly frames: ServerFrame[] = [];
  private waiters: { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  closed: { code: number; reason: string } | undefined;
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const f = decodeServerFrame(new Uint8Array(data));
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
  }

  static async open(base: string): Promise<RawClient> {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + '/v1/ws');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawClient(ws);
  }

  /** Open, hello, and wait for synced. */
  static async connect(base: string, token: string, cursor: CursorItem[] = []): Promise<RawClient> {
    const c = await RawClient.open(base);
    c.send({ t: 'hello', token, cursor });
    await c.next((f) => f.t === 'synced');
    return c;
  }

  send(f: ClientFrame): void {
    this.ws.send(encodeClientFrame(f));
  }

  sendBytes(b: Uint8Array | string): void {
    this.ws.send(b);
  }

  /** The first frame (already received or coming) that matches. */
  next<F extends ServerFrame>(pred: (f: ServerFrame) => f is F, timeoutMs?: number): Promise<F>;
  next(pred: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  next(pred: (f: ServerFrame) => boolean, timeoutMs = 10_000): Promise<ServerFrame> {
    const seen = this.frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return this.waitFor(pred, timeoutMs);
  }

  /** The next matching frame received from now on. */
  waitFor(pred: (f: ServerFrame) => boolean, timeoutMs = 10_000): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a frame; got ${this.frames.map((f) => f.t).join(',')}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  whenClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push((c) => (clearTimeout(timer), resolve(c)));
    });
  }

  /** Every entry received for a conversation, in arrival order. */
  entries(conversationId: ConversationId | string) {
    const id = BigInt(conversationId);
    return this.frames.flatMap((f) => (f.t === 'entries' && f.conversationId === id ? f.entries : []));
  }

  close(): void {
    this.ws.close();
  }
}

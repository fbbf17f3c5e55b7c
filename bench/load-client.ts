/**
 * The benchmark's clients: HTTP setup (register, open DMs) and one socket per
 * simulated user, for the Tidings protocol or the bare relay. Each message
 * body carries its sequence number and scheduled send time, so a receiver
 * can compute latency from the body alone:
 *   server body: [seq u32 BE][scheduled ms f64 BE][filler]        (size bytes)
 *   relay msg:   [target u32 BE][seq u32 BE][scheduled ms f64 BE][filler] (4 + size bytes)
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  EntryType,
  decodeServerFrame,
  encodeClientFrame,
  type ConversationId,
  type ServerFrame,
  type UserId,
} from '@tidings/shared';
import { WebSocket, WS_OPEN, type WsSocket } from './ws.js';

/** Smallest --size: room for the sequence number and timestamp. */
export const MIN_BODY_BYTES = 12;
const FILL = randomBytes(1024 * 1024);

export interface PeerEvents {
  /** A message reached its recipient (any peer; the caller checks it was the intended one). */
  delivered(recipient: number, seq: number, scheduledMs: number, now: number): void;
  /** The server acknowledged a send after commit (server only). */
  acked(seq: number, now: number): void;
  /** An error frame (server) or socket error. */
  error(what: string): void;
  /** The socket closed while the run was still going. */
  closed(peer: number, code: number, reason: string): void;
}

export interface Peer {
  readonly index: number;
  /** Send message `seq` to peer `to`; false when the socket is no longer open. */
  send(seq: number, to: number, scheduledMs: number): boolean;
  ping(): void;
  readonly bufferedAmount: number;
  /** Close and resolve when closed (or after a bound). */
  close(): Promise<void>;
}

function openSocket(url: string, timeoutMs = 10_000): Promise<WsSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closeSocket(ws: WsSocket, timeoutMs = 2000): Promise<void> {
  if (ws.readyState === 3) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => (ws.terminate(), resolve()), timeoutMs);
    ws.once('close', () => (clearTimeout(timer), resolve()));
    ws.close(1000, 'bench done');
  });
}

function fill(buf: Uint8Array, from: number): void {
  for (let off = from; off < buf.length; off += FILL.length) buf.set(FILL.subarray(0, Math.min(FILL.length, buf.length - off)), off);
}

// ---- HTTP setup against the sync server ----

export interface Account {
  readonly userId: UserId;
  readonly token: string;
}

async function api<T>(base: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: T }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json: json as T };
}

export async function register(base: string, username: string): Promise<Account> {
  const r = await api<{ user_id: string; token: string }>(base, '/v1/accounts', { username, password: 'bench password 1234' });
  if (r.status !== 201) throw new Error(`register ${username}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return { userId: BigInt(r.json.user_id) as UserId, token: r.json.token };
}

export async function openDm(base: string, from: Account, to: Account): Promise<ConversationId> {
  const r = await api<{ conversation_id: string }>(base, '/v1/dms', { user_id: String(to.userId) }, from.token);
  if (r.status !== 200) throw new Error(`open DM: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return BigInt(r.json.conversation_id) as ConversationId;
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

// ---- sync-server peer ----

export class ServerPeer implements Peer {
  private readonly convTo = new Map<number, ConversationId>();
  private running = true;
  private pingNonce = 0;

  private constructor(
    readonly index: number,
    private readonly ws: WsSocket,
    private readonly size: number,
    private readonly ev: PeerEvents,
  ) {}

  /** Open a socket, hello with an empty cursor, and wait for `synced`. */
  static async connect(base: string, index: number, token: string, size: number, ev: PeerEvents): Promise<ServerPeer> {
    const ws = await openSocket(base.replace(/^http/, 'ws') + '/v1/ws');
    const peer = new ServerPeer(index, ws, size, ev);
    const synced = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer ${index}: no synced within 30 s`)), 30_000);
      peer.onSynced = () => (clearTimeout(timer), resolve());
      peer.onEarlyClose = (why) => (clearTimeout(timer), reject(new Error(`peer ${index}: closed before synced: ${why}`)));
    });
    ws.on('message', (data) => peer.onMessage(data));
    ws.on('close', (code, reason) => peer.onClose(code, reason.toString()));
    ws.on('error', (err) => ev.error(`socket: ${err.message}`));
    ws.send(encodeClientFrame({ t: 'hello', token, cursor: [] }));
    await synced;
    return peer;
  }

  private onSynced: (() => void) | undefined;
  private onEarlyClose: ((why: string) => void) | undefined;

  /** The conversation this peer uses to reach peer `to`. */
  route(to: number, conversationId: ConversationId): void {
    this.convTo.set(to, conversationId);
  }

  private onMessage(data: Buffer): void {
    const now = performance.now();
    let f: ServerFrame;
    try {
      f = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (err) {
      this.ev.error(`undecodable frame: ${(err as Error).message}`);
      return;
    }
    switch (f.t) {
      case 'entries':
        if (!f.live) return;
        for (const e of f.entries) {
          if (e.type !== EntryType.Text || e.body.length < MIN_BODY_BYTES) continue;
          const v = new DataView(e.body.buffer, e.body.byteOffset, e.body.byteLength);
          this.ev.delivered(this.index, v.getUint32(0), v.getFloat64(4), now);
        }
        return;
      case 'sent': {
        const seq = Number(f.clientMsgId.slice(1));
        if (Number.isInteger(seq)) this.ev.acked(seq, now);
        return;
      }
      case 'error':
        this.ev.error(f.code);
        return;
      case 'synced':
        this.onSynced?.();
        this.onSynced = undefined;
        return;
      default:
        return;
    }
  }

  private onClose(code: number, reason: string): void {
    this.onEarlyClose?.(`${code} ${reason}`);
    if (this.running) this.ev.closed(this.index, code, reason);
  }

  send(seq: number, to: number, scheduledMs: number): boolean {
    if (this.ws.readyState !== WS_OPEN) return false;
    const conversationId = this.convTo.get(to);
    if (conversationId === undefined) throw new Error(`peer ${this.index} has no conversation with ${to}`);
    const body = new Uint8Array(this.size);
    const v = new DataView(body.buffer);
    v.setUint32(0, seq);
    v.setFloat64(4, scheduledMs);
    fill(body, MIN_BODY_BYTES);
    this.ws.send(encodeClientFrame({ t: 'send', conversationId, clientMsgId: `m${seq}`, type: EntryType.Text, body }));
    return true;
  }

  ping(): void {
    if (this.ws.readyState === WS_OPEN) this.ws.send(encodeClientFrame({ t: 'ping', nonce: ++this.pingNonce }));
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  close(): Promise<void> {
    this.running = false;
    return closeSocket(this.ws);
  }
}

// ---- relay peer ----

export class RelayPeer implements Peer {
  private running = true;

  private constructor(
    readonly index: number,
    private readonly ws: WsSocket,
    private readonly size: number,
    ev: PeerEvents,
  ) {
    ws.on('message', (data) => {
      const now = performance.now();
      if (data.length < 4 + MIN_BODY_BYTES) return ev.error('short relay message');
      ev.delivered(this.index, data.readUInt32BE(4), data.readDoubleBE(8), now);
    });
    ws.on('close', (code, reason) => {
      if (this.running) ev.closed(this.index, code, reason.toString());
    });
    ws.on('error', (err) => ev.error(`socket: ${err.message}`));
  }

  static async connect(base: string, index: number, size: number, ev: PeerEvents): Promise<RelayPeer> {
    return new RelayPeer(index, await openSocket(`${base}/?id=${index}`), size, ev);
  }

  send(seq: number, to: number, scheduledMs: number): boolean {
    if (this.ws.readyState !== WS_OPEN) return false;
    const msg = Buffer.allocUnsafe(4 + this.size);
    msg.writeUInt32BE(to, 0);
    msg.writeUInt32BE(seq, 4);
    msg.writeDoubleBE(scheduledMs, 8);
    fill(msg, 4 + MIN_BODY_BYTES);
    this.ws.send(msg, { binary: true });
    return true;
  }

  ping(): void {}

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  close(): Promise<void> {
    this.running = false;
    return closeSocket(this.ws);
  }
}

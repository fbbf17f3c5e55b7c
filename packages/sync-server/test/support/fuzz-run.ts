/**
 * The hostile-input harness: sets up a small world on a running server, throws
 * fuzzed frames and HTTP requests at it, and checks every answer — typed
 * errors only, never a 5xx or a hang, the socket still answers a ping, and a
 * refused request changes nothing in the store. Shared by the server fuzz test
 * and bench/fuzz.ts.
 */
import http from 'node:http';
import fc from 'fast-check';
import WebSocket from 'ws';
import {
  CloseCode,
  ErrorCode,
  HTTP_STATUS,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  TidingsError,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  isErrorCode,
  type ClientFrame,
  type ServerFrame,
} from '@tidings/shared';
import type { SqlClient } from '../../src/storage/sql.js';
import { hostileFrameArb, stringLimitViolation, type FuzzFrame, type IdPool } from './fuzz-frames.js';
import { requestArb, type FuzzRequest, type HttpWorld, type RouteSpec } from './fuzz-http.js';

export interface FuzzStats {
  cases: number;
  frames: number;
  http: number;
  failures: FuzzFailure[];
  /** Error codes (and close codes, 2xx statuses) seen, by count. */
  by_code: Record<string, number>;
}
export interface FuzzFailure {
  readonly what: string;
  readonly kind: string;
  readonly detail: string;
  /** Enough to replay the case. */
  readonly repro: string;
}
export const newStats = (): FuzzStats => ({ cases: 0, frames: 0, http: 0, failures: [], by_code: {} });
const tally = (s: FuzzStats, key: string) => (s.by_code[key] = (s.by_code[key] ?? 0) + 1);
/** Codes that mean the server failed, not the request. */
const SERVER_FAULT = new Set<string>([ErrorCode.Internal, ErrorCode.Unavailable]);
const MAX_PER_KIND = 5;
const kindCounts = new WeakMap<FuzzStats, Map<string, number>>();
/** The failure's shape without its numbers: failures are kept up to MAX_PER_KIND of each shape. */
export const failureKey = (f: FuzzFailure): string => `${f.what}: ${f.detail.replace(/[0-9a-f]{8,}|\d+/g, '#').slice(0, 100)}`;
function fail(s: FuzzStats, f: FuzzFailure): void {
  let m = kindCounts.get(s);
  if (!m) kindCounts.set(s, (m = new Map()));
  const key = failureKey(f);
  const n = (m.get(key) ?? 0) + 1;
  m.set(key, n);
  tally(s, 'failures');
  if (n <= MAX_PER_KIND) s.failures.push(f);
}
const hex = (d: Uint8Array | string): string =>
  typeof d === 'string'
    ? `text:${JSON.stringify(d.slice(0, 300))}`
    : `hex:${Buffer.from(d).toString('hex').slice(0, 600)}${d.length > 300 ? `…(${d.length} bytes)` : ''}`;

// ---------------------------------------------------------------- the world

export interface Account {
  readonly userId: string;
  readonly deviceId: string;
  readonly token: string;
  readonly username: string;
}
export interface World extends HttpWorld {
  readonly base: string;
  readonly alice: Account;
  readonly bob: Account;
  readonly mallory: Account;
  /** Conversations mallory is in (her sends there may be accepted). */
  readonly malloryConversations: readonly string[];
  /** Conversations mallory is not in. */
  readonly foreignConversations: readonly string[];
  readonly pool: IdPool;
}

export interface HttpResult {
  readonly status: number;
  readonly text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One raw HTTP request (node:http: any method, any body, no client-side validation). */
export function rawRequest(
  base: string,
  r: Pick<FuzzRequest, 'method' | 'path' | 'headers' | 'body'>,
  timeoutMs = 15_000,
  keepAlive = true,
): Promise<HttpResult> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) },
        agent: keepAlive ? agent : false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

async function json<T>(base: string, method: string, path: string, body: unknown, token?: string): Promise<T> {
  const r = await rawRequest(base, {
    method,
    path,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return JSON.parse(r.text) as T;
}

let seq = 0;
export async function registerUser(base: string, prefix = 'fz'): Promise<Account> {
  const username = `${prefix}${process.pid}x${++seq}x${Date.now() % 100000}`;
  for (let attempt = 0; ; attempt++) {
    const res = await rawRequest(base, {
      method: 'POST',
      path: '/v1/accounts',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'correct horse battery' }),
    });
    if (res.status === 429 && attempt < 5) {
      // Sign-up is rate limited per address: wait as told.
      await new Promise((r) => setTimeout(r, 1000 * Math.min(30, Number(/retry in (\d+)/.exec(res.text)?.[1] ?? 5))));
      continue;
    }
    if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`);
    const r = JSON.parse(res.text) as { user_id: string; device_id: string; token: string };
    return { userId: r.user_id, deviceId: r.device_id, token: r.token, username };
  }
}

export async function setupWorld(base: string): Promise<World> {
  const [alice, bob, mallory] = await Promise.all([registerUser(base, 'alice'), registerUser(base, 'bob'), registerUser(base, 'mal')]);
  const dmAB = (await json<{ conversation_id: string }>(base, 'POST', '/v1/dms', { user_id: alice.userId }, bob.token)).conversation_id;
  const groupAB = (await json<{ group_id: string }>(base, 'POST', '/v1/groups', { name: 'ab', member_ids: [bob.userId] }, alice.token))
    .group_id;
  const dmMA = (await json<{ conversation_id: string }>(base, 'POST', '/v1/dms', { user_id: alice.userId }, mallory.token)).conversation_id;
  const groupM = (await json<{ group_id: string }>(base, 'POST', '/v1/groups', { name: 'm', member_ids: [alice.userId] }, mallory.token))
    .group_id;
  const send = (a: Account, to: string, id: string) =>
    json(
      base,
      'POST',
      '/sendMessage',
      { message_id: id, sender_id: a.userId, receiver_id: to, type: 'text', content: { ciphertext: 'aGk=' } },
      a.token,
    );
  await send(alice, groupAB, 'seed-1');
  await send(bob, alice.userId, 'seed-2');
  await send(mallory, groupM, 'seed-3');
  const convs = await json<{ conversations: { conversation_id: string; kind: string }[] }>(
    base,
    'GET',
    '/v1/conversations',
    undefined,
    mallory.token,
  ).catch(() => ({ conversations: [] }));
  const malloryConversations = [...new Set([dmMA, groupM, ...convs.conversations.map((c) => c.conversation_id)])];
  const aliceConvs = await json<{ conversations: { conversation_id: string }[] }>(base, 'GET', '/v1/conversations', undefined, alice.token);
  const foreignConversations = [...new Set([dmAB, groupAB, ...aliceConvs.conversations.map((c) => c.conversation_id)])].filter(
    (c) => !malloryConversations.includes(c),
  );
  return {
    base,
    alice,
    bob,
    mallory,
    malloryConversations,
    foreignConversations,
    token: mallory.token,
    otherTokens: [alice.token, bob.token],
    userIds: [alice.userId, bob.userId, mallory.userId],
    usernames: [alice.username, bob.username, mallory.username],
    ownGroups: [groupM],
    foreignGroups: [groupAB],
    deviceIds: [alice.deviceId, bob.deviceId, mallory.deviceId],
    pool: {
      conversations: [...malloryConversations, ...foreignConversations].map(BigInt),
      users: [alice.userId, bob.userId, mallory.userId].map(BigInt),
      tokens: [mallory.token],
    },
  };
}

// ---------------------------------------------------------------- store fingerprints

/** Everything a refused request must leave alone (last_seen and lease rows move on their own). */
export async function fingerprint(db: SqlClient): Promise<string> {
  const { rows } = await db.query<Record<string, unknown>>(`SELECT
      (SELECT count(*) FROM users) AS users,
      (SELECT md5(coalesce(string_agg(id || ':' || username || ':' || read_receipts || ':' || show_last_seen, ',' ORDER BY id), '')) FROM users) AS users_h,
      (SELECT md5(coalesce(string_agg(id || ':' || user_id || ':' || name || ':' || coalesce(revoked_at::text, '-'), ',' ORDER BY id), '')) FROM devices) AS devices_h,
      (SELECT md5(coalesce(string_agg(id || ':' || kind || ':' || name, ',' ORDER BY id), '')) FROM conversations) AS conversations_h,
      (SELECT md5(coalesce(string_agg(conversation_id || ':' || user_id || ':' || coalesce(until_id::text, '-'), ',' ORDER BY conversation_id, user_id), '')) FROM members) AS members_h,
      (SELECT count(*) || ':' || coalesce(max(id), 0) FROM entries) AS entries,
      (SELECT md5(coalesce(string_agg(conversation_id || ':' || user_id || ':' || delivered_upto || ':' || read_upto, ',' ORDER BY conversation_id, user_id), '')) FROM receipts) AS receipts_h,
      (SELECT count(*) FROM key_packages) AS key_packages,
      (SELECT count(*) FROM inbox) AS inbox`);
  return JSON.stringify(rows[0]);
}

/** Rows a socket of `userId` may not change: every entry outside its conversations, every other user's receipts. */
export async function foreignFingerprint(db: SqlClient, userId: string): Promise<string> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT
      (SELECT count(*) FROM users) AS users,
      (SELECT md5(coalesce(string_agg(id::text, ',' ORDER BY id), '')) FROM devices) AS devices,
      (SELECT md5(coalesce(string_agg(conversation_id || ':' || user_id || ':' || coalesce(until_id::text, '-'), ',' ORDER BY conversation_id, user_id), '')) FROM members) AS members,
      (SELECT count(*) FROM conversations) AS conversations,
      (SELECT count(*) || ':' || coalesce(max(id), 0) FROM entries WHERE conversation_id NOT IN (SELECT conversation_id FROM members WHERE user_id = $1::bigint AND until_id IS NULL)) AS foreign_entries,
      (SELECT md5(coalesce(string_agg(conversation_id || ':' || user_id || ':' || delivered_upto || ':' || read_upto, ',' ORDER BY conversation_id, user_id), '')) FROM receipts WHERE user_id <> $1::bigint) AS foreign_receipts,
      (SELECT count(*) FROM receipts r WHERE r.user_id = $1::bigint AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = r.conversation_id AND m.user_id = r.user_id)) AS receipts_outside,
      (SELECT count(*) FROM inbox WHERE device_id NOT IN (SELECT id FROM devices WHERE user_id = $1::bigint)) AS foreign_inbox`,
    [userId],
  );
  return JSON.stringify(rows[0]);
}

/** Ids of the entries in the user's conversations above `after` (an idempotent resend acks an older id). */
async function ownEntriesAbove(db: SqlClient, userId: string, after: bigint): Promise<Set<string>> {
  const { rows } = await db.query<{ id: unknown }>(
    'SELECT id FROM entries WHERE id > $2::bigint AND conversation_id IN (SELECT conversation_id FROM members WHERE user_id = $1::bigint)',
    [userId, String(after)],
  );
  return new Set(rows.map((r) => String(r.id)));
}
async function maxEntryId(db: SqlClient): Promise<bigint> {
  const { rows } = await db.query<{ m: unknown }>('SELECT coalesce(max(id), 0) AS m FROM entries');
  return BigInt(String(rows[0]?.m ?? 0));
}

// ---------------------------------------------------------------- HTTP

/** Check one answer: a 5xx, a hang or an untyped 4xx is a failure. Returns the code (or status) for the tally. */
export function judgeHttp(r: HttpResult): { key: string; problem?: string } {
  if (r.status >= 500) return { key: `http_${r.status}`, problem: `status ${r.status}: ${r.text.slice(0, 300)}` };
  if (r.status < 400) return { key: `http_${Math.floor(r.status / 100)}xx` };
  let body: { error?: { code?: unknown; message?: unknown } };
  try {
    body = JSON.parse(r.text) as typeof body;
  } catch {
    return {
      key: `http_${r.status}_untyped`,
      problem: `status ${r.status} without a JSON error body: ${JSON.stringify(r.text.slice(0, 200))}`,
    };
  }
  const code = body.error?.code;
  if (!isErrorCode(code) || typeof body.error?.message !== 'string')
    return { key: `http_${r.status}_untyped`, problem: `status ${r.status} without {error:{code,message}}: ${r.text.slice(0, 200)}` };
  // A request line or headers over Node's parser limit never reach a route: the server answers 431 (RFC 6585) with the same typed code.
  const headerOverflow = code === 'payload_too_large' && r.status === 431;
  if (HTTP_STATUS[code] !== r.status && !headerOverflow) return { key: code, problem: `code ${code} came with status ${r.status}, not ${HTTP_STATUS[code]}` };
  return { key: code };
}

const describeReq = (q: FuzzRequest): string =>
  JSON.stringify({
    method: q.method,
    path: q.path.length > 300 ? `${q.path.slice(0, 300)}…(${q.path.length})` : q.path,
    headers: q.headers,
    body:
      q.body === undefined
        ? undefined
        : typeof q.body === 'string'
          ? q.body.length > 400
            ? `${q.body.slice(0, 400)}…(${q.body.length} chars)`
            : q.body
          : `base64:${q.body.toString('base64')}`,
  });

/**
 * Run HTTP cases in batches of `concurrency`. A batch whose requests were all refused
 * (or read-only) must leave the store's fingerprint as it was.
 */
export async function runHttp(
  world: World,
  db: SqlClient,
  cases: readonly FuzzRequest[],
  stats: FuzzStats,
  opts: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<void> {
  const concurrency = opts.concurrency ?? 8;
  let before = await fingerprint(db);
  for (let i = 0; i < cases.length; i += concurrency) {
    const batch = cases.slice(i, i + concurrency);
    let mutatedOk = false;
    const refused: FuzzRequest[] = [];
    await Promise.all(
      batch.map(async (q) => {
        let r: HttpResult;
        try {
          try {
            r = await rawRequest(world.base, q);
          } catch (err) {
            // A reused keep-alive socket the server had just closed: retry once on a fresh connection.
            if (!/ECONNRESET|socket hang up/.test((err as Error).message)) throw err;
            tally(stats, 'http_retried_after_reset');
            r = await rawRequest(world.base, q, 15_000, false);
          }
        } catch (err) {
          tally(stats, 'http_no_answer');
          fail(stats, { what: 'http', kind: q.kind, detail: `no answer: ${(err as Error).message}`, repro: describeReq(q) });
          return;
        } finally {
          stats.http++;
          stats.cases++;
        }
        const j = judgeHttp(r);
        tally(stats, j.key);
        if (j.problem) fail(stats, { what: 'http', kind: q.kind, detail: j.problem, repro: describeReq(q) });
        if (r.status < 400 && q.method !== 'GET') mutatedOk = true;
        if (r.status >= 400) refused.push(q);
      }),
    );
    const after = await fingerprint(db);
    if (!mutatedOk && after !== before) {
      fail(stats, {
        what: 'http_state',
        kind: refused.map((q) => q.kind).join(' | '),
        detail: `refused requests changed the store: ${before} -> ${after}`,
        repro: refused.map(describeReq).join('\n'),
      });
    }
    before = after;
    opts.onProgress?.(Math.min(i + concurrency, cases.length));
  }
}

// ---------------------------------------------------------------- WebSocket

/** The decoder's verdict, computed locally: the oracle for what the server must answer. */
export function expectedFor(
  data: Uint8Array | string,
): { decodes: true; frame: ClientFrame } | { decodes: false; code: string; oversized: boolean } {
  if (typeof data === 'string') return { decodes: false, code: ErrorCode.InvalidFrame, oversized: false };
  if (data.length > MAX_FRAME_BYTES) return { decodes: false, code: ErrorCode.PayloadTooLarge, oversized: true };
  try {
    return { decodes: true, frame: decodeClientFrame(data) };
  } catch (err) {
    return { decodes: false, code: err instanceof TidingsError ? err.code : 'untyped', oversized: false };
  }
}

/** A fuzzing socket: records every frame, decodes them strictly, and answers "what came since". */
class Probe {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  problems: string[] = [];
  private waiters: (() => void)[] = [];
  badFrames = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.problems.push(`server sent a text message: ${String(data).slice(0, 100)}`);
      try {
        this.frames.push(decodeServerFrame(new Uint8Array(data)));
      } catch (err) {
        this.problems.push(`server frame does not decode: ${(err as Error).message}`);
      }
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static open(base: string): Promise<Probe> {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + '/v1/ws', { maxPayload: 64 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Probe(ws)));
      ws.once('error', reject);
    });
  }

  static async connect(base: string, token: string): Promise<Probe> {
    const p = await Probe.open(base);
    p.ws.send(encodeClientFrame({ t: 'hello', token, cursor: [] }));
    await p.until((f) => f.t === 'synced', 15_000);
    return p;
  }

  /** Wait until a frame from index `from` on matches (or the socket closes); undefined on timeout/close. */
  async until(pred: (f: ServerFrame) => boolean, timeoutMs = 10_000, from = 0): Promise<ServerFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  async whenClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string } | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    return this.closed;
  }

  send(d: Uint8Array | string): void {
    this.ws.send(d, { binary: typeof d !== 'string' });
  }
  close(): void {
    this.ws.close();
  }
}

let nonces = 1;

/**
 * Post-hello garbage on authenticated sockets (`lanes` in parallel): each bad frame
 * gets an error frame with the decoder's code, the socket still answers a ping, sends
 * are answered (sent or a typed error) and nothing outside the attacker's own
 * conversations changes.
 */
export async function runFrames(
  world: World,
  db: SqlClient,
  cases: readonly FuzzFrame[],
  stats: FuzzStats,
  opts: { lanes?: number; onProgress?: (done: number) => void; skip?: (c: FuzzFrame) => boolean } = {},
): Promise<void> {
  const lanes = opts.lanes ?? 4;
  const foreignBefore = await foreignFingerprint(db, world.mallory.userId);
  const mark = await maxEntryId(db);
  const accepted = new Set<string>();
  let done = 0;
  const lane = async (mine: readonly FuzzFrame[]) => {
    let p = await Probe.connect(world.base, world.mallory.token);
    for (const c of mine) {
      if (opts.skip?.(c)) {
        tally(stats, 'skipped_known_bug');
        continue;
      }
      // Reconnect before the server's bad-frame allowance (16) runs out, or after a close.
      if (p.closed || p.badFrames >= 12) {
        p.close();
        p = await Probe.connect(world.base, world.mallory.token);
      }
      await oneFrame(p, c, stats, accepted);
      stats.frames++;
      stats.cases++;
      if (++done % 500 === 0) opts.onProgress?.(done);
      for (const problem of p.problems.splice(0)) fail(stats, { what: 'frame', kind: c.kind, detail: problem, repro: hex(c.data) });
    }
    p.close();
  };
  const per = Math.ceil(cases.length / lanes);
  await Promise.all(Array.from({ length: lanes }, (_, i) => lane(cases.slice(i * per, (i + 1) * per))));
  opts.onProgress?.(done);
  // Let acks flush (receipts coalesce for 25 ms), then compare.
  await new Promise((r) => setTimeout(r, 100));
  const foreignAfter = await foreignFingerprint(db, world.mallory.userId);
  if (foreignAfter !== foreignBefore)
    fail(stats, {
      what: 'frame_state',
      kind: 'batch',
      detail: `frames changed rows outside the attacker's conversations: ${foreignBefore} -> ${foreignAfter}`,
      repro: '',
    });
  // Every new entry in the attacker's conversations is one her sends were acked for, and vice versa.
  const fresh = await ownEntriesAbove(db, world.mallory.userId, mark);
  const ackedFresh = [...accepted].filter((id) => BigInt(id) > mark);
  const unacked = [...fresh].filter((id) => !accepted.has(id));
  const missing = ackedFresh.filter((id) => !fresh.has(id));
  if (unacked.length > 0 || missing.length > 0) {
    fail(stats, {
      what: 'frame_state',
      kind: 'batch',
      detail: `entries stored without an ack: ${unacked.slice(0, 5).join(',')}; acked but not stored: ${missing.slice(0, 5).join(',')}`,
      repro: '',
    });
  }
}

async function oneFrame(p: Probe, c: FuzzFrame, stats: FuzzStats, accepted: Set<string>): Promise<void> {
  const exp = expectedFor(c.data);
  const from = p.frames.length;
  const nonce = nonces++;
  p.send(c.data);
  if (!exp.decodes && exp.oversized) {
    // ws enforces maxPayload before the app sees the frame: the socket is closed with 1009.
    const closed = await p.whenClosed(10_000);
    tally(stats, `close_${closed?.code ?? 'none'}`);
    if (!closed)
      fail(stats, { what: 'frame', kind: c.kind, detail: 'oversized frame: socket neither answered nor closed', repro: hex(c.data) });
    return;
  }
  p.send(encodeClientFrame({ t: 'ping', nonce }));
  const pong = await p.until((f) => f.t === 'pong' && f.nonce === nonce, 10_000, from);
  const got = p.frames.slice(from);
  const errors = got.filter((f): f is Extract<ServerFrame, { t: 'error' }> => f.t === 'error');
  for (const e of errors) {
    tally(stats, e.code);
    if (SERVER_FAULT.has(e.code))
      fail(stats, { what: 'frame', kind: c.kind, detail: `server fault: ${e.code} ${e.message}`, repro: hex(c.data) });
  }
  if (!pong) {
    tally(stats, 'no_pong');
    fail(stats, {
      what: 'frame',
      kind: c.kind,
      detail: `no pong after the frame (closed: ${JSON.stringify(p.closed)}; got ${got.map((f) => f.t).join(',')})`,
      repro: hex(c.data),
    });
    return;
  }
  if (!exp.decodes) {
    p.badFrames++;
    // Live pushes from other lanes may arrive in between: the first error before the pong is the answer.
    const first = got.slice(0, got.indexOf(pong)).find((g) => g.t === 'error');
    if (exp.code === 'untyped')
      fail(stats, { what: 'frame', kind: c.kind, detail: 'the decoder threw a non-TidingsError', repro: hex(c.data) });
    if (!first || first.t !== 'error' || first.code !== exp.code) {
      fail(stats, {
        what: 'frame',
        kind: c.kind,
        detail: `expected an error frame ${exp.code} before the pong, got ${JSON.stringify(first, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
        repro: hex(c.data),
      });
    }
    return;
  }
  const f = exp.frame;
  tally(stats, `ok_${f.t}`);
  if (f.t === 'hello') {
    if (!errors.some((e) => e.code === ErrorCode.InvalidArgument))
      fail(stats, { what: 'frame', kind: c.kind, detail: 'a second hello was not refused', repro: hex(c.data) });
  } else if (f.t === 'send') {
    // Every send is answered: `sent` (own conversation) or a typed error with its ref.
    const answer = await p.until(
      (g) => (g.t === 'sent' && g.clientMsgId === f.clientMsgId) || (g.t === 'error' && g.ref === f.clientMsgId),
      10_000,
      from,
    );
    if (!answer) {
      tally(stats, 'send_unanswered');
      fail(stats, {
        what: 'frame',
        kind: c.kind,
        detail: `send with clientMsgId ${JSON.stringify(f.clientMsgId)} (${Buffer.byteLength(f.clientMsgId)} bytes) was never answered (closed: ${JSON.stringify(p.closed)})`,
        repro: hex(c.data),
      });
    } else if (answer.t === 'sent') {
      accepted.add(String(answer.id));
      tally(stats, 'sent');
    } else if (answer.t === 'error' && !errors.includes(answer)) {
      tally(stats, answer.code);
      if (SERVER_FAULT.has(answer.code))
        fail(stats, { what: 'frame', kind: c.kind, detail: `server fault on send: ${answer.code} ${answer.message}`, repro: hex(c.data) });
    }
  }
}

/**
 * Hostile first frames on fresh sockets: a frame that does not decode, a non-hello
 * or a hello with a bad token gets an error frame and a 4001 close; a good hello
 * gets welcome and synced.
 */
export async function runHellos(
  world: World,
  cases: readonly FuzzFrame[],
  stats: FuzzStats,
  opts: { concurrency?: number; skip?: (c: FuzzFrame) => boolean } = {},
): Promise<void> {
  const concurrency = opts.concurrency ?? 8;
  for (let i = 0; i < cases.length; i += concurrency) {
    await Promise.all(
      cases.slice(i, i + concurrency).map(async (c) => {
        if (opts.skip?.(c)) {
          tally(stats, 'skipped_known_bug');
          return;
        }
        stats.frames++;
        stats.cases++;
        let p: Probe;
        try {
          p = await Probe.open(world.base);
        } catch (err) {
          return fail(stats, {
            what: 'hello',
            kind: c.kind,
            detail: `could not open a socket: ${(err as Error).message}`,
            repro: hex(c.data),
          });
        }
        const exp = expectedFor(c.data);
        p.send(c.data);
        const goodHello = exp.decodes && exp.frame.t === 'hello' && world.pool.tokens.includes(exp.frame.token);
        if (goodHello) {
          const synced = await p.until((f) => f.t === 'synced' || f.t === 'error', 15_000);
          tally(stats, synced?.t === 'synced' ? 'hello_ok' : `hello_${synced?.t ?? 'none'}`);
          if (synced?.t !== 'synced')
            fail(stats, {
              what: 'hello',
              kind: c.kind,
              detail: `a valid hello was not synced: ${JSON.stringify(synced)}`,
              repro: hex(c.data),
            });
          p.close();
          return;
        }
        const closed = await p.whenClosed(15_000);
        const err = p.frames.find((f): f is Extract<ServerFrame, { t: 'error' }> => f.t === 'error');
        tally(stats, `close_${closed?.code ?? 'none'}`);
        if (err) tally(stats, err.code);
        for (const problem of p.problems) fail(stats, { what: 'hello', kind: c.kind, detail: problem, repro: hex(c.data) });
        if (exp.decodes === false && exp.oversized) {
          if (!closed) fail(stats, { what: 'hello', kind: c.kind, detail: 'oversized first frame: not closed', repro: hex(c.data) });
          return;
        }
        const wantCode = exp.decodes ? ErrorCode.Unauthenticated : exp.code;
        if (!closed || closed.code !== CloseCode.Unauthenticated)
          fail(stats, { what: 'hello', kind: c.kind, detail: `expected close 4001, got ${JSON.stringify(closed)}`, repro: hex(c.data) });
        if (!err || err.code !== wantCode)
          fail(stats, {
            what: 'hello',
            kind: c.kind,
            detail: `expected an error frame ${wantCode}, got ${JSON.stringify(err)}`,
            repro: hex(c.data),
          });
        if (p.frames.some((f) => f.t === 'welcome'))
          fail(stats, { what: 'hello', kind: c.kind, detail: 'a bad hello was welcomed', repro: hex(c.data) });
      }),
    );
  }
}

// ---------------------------------------------------------------- known bugs

/**
 * Frames that hit BUG-1 (invalid UTF-8 in a clientMsgId decodes to U+FFFD and exceeds 64 bytes):
 * the server stores the send, then cannot encode sent/error/entries frames for it (an
 * unhandled rejection, and every later catch-up of that conversation fails). Skipped in the
 * main run so one case does not poison the rest; `knownBugRepro` checks it separately.
 */
export function hitsKnownBug(c: FuzzFrame): boolean {
  const exp = expectedFor(c.data);
  return exp.decodes && stringLimitViolation(exp.frame) !== undefined;
}

/**
 * Which reported bug a failure is an instance of (undefined: a new one). Remove entries as they are fixed.
 * BUG-2: Fastify/Node framework errors (bad percent-encoding, a path parameter over maxParamLength,
 *   headers over 16 KiB) bypass the error handler: 400/414/431 with Fastify's own body, not {error:{code,message}}.
 * BUG-3: a NUL character in a string that reaches a text column (device_name, group name, message_id,
 *   a WebSocket send's clientMsgId) fails in Postgres: 500 / an `internal` error frame.
 */
export function knownBugOf(f: FuzzFailure): string | undefined {
  if (/FST_ERR_BAD_URL|FST_ERR_MAX_PARAM_LENGTH|Request Header Fields Too Large/.test(f.detail)) return 'BUG-2';
  if (f.what === 'http' && /^status 500/.test(f.detail) && /\\u0000/.test(f.repro)) return 'BUG-3';
  if (f.what === 'frame' && /internal/.test(f.detail) && f.repro.startsWith('hex:')) {
    const exp = expectedFor(Buffer.from(f.repro.slice(4).replace(/….*$/, ''), 'hex'));
    if (exp.decodes && exp.frame.t === 'send' && exp.frame.clientMsgId.includes('\u0000')) return 'BUG-3';
  }
  return undefined;
}

/** Replays BUG-1 on a throwaway pair of users; returns what happened (undefined when fixed). */
export async function knownBugRepro(base: string, db: SqlClient): Promise<string | undefined> {
  const a = await registerUser(base, 'bug');
  const b = await registerUser(base, 'bug');
  const { conversation_id } = await json<{ conversation_id: string }>(base, 'POST', '/v1/dms', { user_id: b.userId }, a.token);
  const p = await Probe.connect(base, a.token);
  const id = BigInt(conversation_id);
  const u64 = new Uint8Array(8);
  new DataView(u64.buffer).setBigUint64(0, id);
  // send: version 1, tag 2, conversation id, clientMsgId = 64 x 0xff, type text, body of 1 byte.
  const frame = Uint8Array.from([PROTOCOL_VERSION, 2, ...u64, 64, ...new Array<number>(64).fill(0xff), 1, 1, 0]);
  p.send(frame);
  const answer = await p.until((f) => f.t === 'sent' || f.t === 'error', 3000);
  p.close();
  const { rows } = await db.query<{ n: unknown; len: unknown }>(
    'SELECT count(*) AS n, max(octet_length(client_msg_id)) AS len FROM entries WHERE conversation_id = $1::bigint',
    [conversation_id],
  );
  const stored = Number(rows[0]?.n ?? 0);
  const q = await Probe.open(base);
  q.send(encodeClientFrame({ t: 'hello', token: b.token, cursor: [] }));
  const synced = await q.until((f) => f.t === 'synced' || f.t === 'error', 5000);
  const closed = synced?.t === 'synced' ? undefined : await q.whenClosed(2000);
  q.close();
  if (answer?.t === 'error' && stored === 0 && synced?.t === 'synced') return undefined;
  return `send answered with ${answer ? answer.t : 'nothing'}; entries stored: ${stored} (client_msg_id ${String(rows[0]?.len)} bytes); the peer's next hello got ${synced ? synced.t : 'nothing'}${closed ? ` and close ${closed.code} "${closed.reason}"` : ''}`;
}

/** Sends the same text entry twice under `clientMsgId` in a fresh DM; the two answers and the entries stored under it. */
export async function retryTwice(base: string, db: SqlClient, clientMsgId: string): Promise<{ answers: (ServerFrame | undefined)[]; stored: number }> {
  const a = await registerUser(base, 'retry');
  const b = await registerUser(base, 'retry');
  const { conversation_id } = await json<{ conversation_id: string }>(base, 'POST', '/v1/dms', { user_id: b.userId }, a.token);
  const p = await Probe.connect(base, a.token);
  const answers: (ServerFrame | undefined)[] = [];
  for (let i = 0; i < 2; i++) {
    const from = p.frames.length;
    p.send(encodeClientFrame({ t: 'send', conversationId: BigInt(conversation_id) as never, clientMsgId, type: 1, body: Uint8Array.of(1, 2, 3) }));
    answers.push(await p.until((f) => f.t === 'sent' || f.t === 'error', 5000, from));
  }
  p.close();
  const { rows } = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM entries WHERE conversation_id = $1::bigint', [conversation_id]);
  return { answers, stored: Number(rows[0]?.n ?? 0) };
}

// ---------------------------------------------------------------- after the storm

/** A fresh pair of users can still register, open a DM, send and receive live. */
export async function normalUserWorks(base: string): Promise<void> {
  const a = await registerUser(base, 'after');
  const b = await registerUser(base, 'after');
  const { conversation_id } = await json<{ conversation_id: string }>(base, 'POST', '/v1/dms', { user_id: b.userId }, a.token);
  const pa = await Probe.connect(base, a.token);
  const pb = await Probe.connect(base, b.token);
  try {
    const body = new TextEncoder().encode('still here');
    pa.send(encodeClientFrame({ t: 'send', conversationId: BigInt(conversation_id) as never, clientMsgId: 'after-1', type: 1, body }));
    const sent = await pa.until((f) => f.t === 'sent' || f.t === 'error', 10_000);
    if (sent?.t !== 'sent')
      throw new Error(`send after fuzzing failed: ${JSON.stringify(sent, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    const got = await pb.until((f) => f.t === 'entries' && f.entries.some((e) => e.clientMsgId === 'after-1'), 10_000);
    if (!got) throw new Error('the receiver never got the message sent after fuzzing');
  } finally {
    pa.close();
    pb.close();
  }
}

// ---------------------------------------------------------------- case generation

export interface CaseMix {
  readonly seed: number;
  /** Post-hello frames. */
  readonly frames: number;
  /** First frames on fresh sockets. */
  readonly hellos: number;
  readonly http: number;
  /** Include > MAX_FRAME_BYTES frames. */
  readonly oversized?: boolean;
}

export function generate(
  world: World,
  mix: CaseMix,
  offset = 0,
  specs?: readonly RouteSpec[],
): { frames: FuzzFrame[]; hellos: FuzzFrame[]; http: FuzzRequest[] } {
  const frames =
    mix.frames > 0
      ? fc.sample(hostileFrameArb(world.pool, { oversized: mix.oversized ?? false }), { numRuns: mix.frames, seed: mix.seed + offset })
      : [];
  const hellos = mix.hellos > 0 ? fc.sample(helloArb(world.pool), { numRuns: mix.hellos, seed: mix.seed + offset + 1 }) : [];
  const http = mix.http > 0 ? fc.sample(requestArb(world, specs), { numRuns: mix.http, seed: mix.seed + offset + 2 }) : [];
  return { frames, hellos, http };
}

/** First frames: hostile frames of any kind, and hellos with tokens that are almost right. */
export function helloArb(pool: IdPool): fc.Arbitrary<FuzzFrame> {
  const tok = pool.tokens[0] ?? 'A'.repeat(43);
  const tokens = fc.constantFrom(tok, tok.slice(1), `${tok}x`, tok.toUpperCase(), '', ' ', 'A'.repeat(256), `${tok}\u0000`, `\uFEFF${tok}`);
  return fc.oneof(
    { weight: 3, arbitrary: hostileFrameArb(pool) },
    {
      weight: 2,
      arbitrary: fc.record({ token: tokens, n: fc.nat({ max: 3 }) }).map(({ token, n }) => ({
        kind: 'hello_token',
        data: encodeClientFrame({
          t: 'hello',
          token,
          cursor: Array.from({ length: n }, (_, i) => ({ conversationId: BigInt(i + 1) as never, upto: 0n as never })),
        }),
      })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'hello_wrong_version', data: Uint8Array.from([PROTOCOL_VERSION + 1, 1, 0, 0]) }) },
  );
}

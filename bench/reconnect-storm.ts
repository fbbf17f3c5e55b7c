/**
 * Reconnect storm: `--sockets` devices (5,000 by default) sit in one group on
 * one server (a child process), all are cut off at the same instant (a network
 * blip or a proxy restart: every socket dropped at once) and all reconnect at
 * the same moment with their cursors, while `--senders` devices send. Reports
 * how long until every socket is caught up, /healthz latency during the storm
 * (the server must stay responsive), send-ack latency during the storm, server
 * CPU, and correctness: entries lost by any socket, duplicates in the log, and
 * entries re-sent at or below a cursor. The CI test (faults.storm.e2e) runs
 * the server-restart variant with fewer sockets.
 *
 *   npx tsx bench/reconnect-storm.ts [--sockets 5000] [--users 50] [--senders 10] [--sends 20]
 *
 * One JSON line on stdout; progress on stderr.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { EntryType, decodeServerFrame, encodeClientFrame, type ClientFrame, type ConversationId, type EntryId, type ServerFrame } from '@tidings/shared';
import { runBench, choice, num, parseFlags } from './args.js';
import { pool, register, type Account } from './load-client.js';
import { pct, postJson, r1 } from './proto-client.js';
import { cpuMsPerSec, startServerChild } from './server-child.js';
import { DEFAULT_DATABASE_URL } from './target.js';
import { WebSocket, WS_OPEN, type WsSocket } from './ws.js';

const USAGE = `usage: npx tsx bench/reconnect-storm.ts [options]
  --sockets N              devices in the storm (default 5000)
  --users N                users they belong to, all in one group (default 50)
  --senders N              devices sending during the storm (default 10)
  --sends N                messages each sender sends, one after another's ack (default 20)
  --before N               messages in the log before the storm (default 20)
  --store pglite|postgres  store (default postgres)
  --database-url URL       admin URL for --store postgres (default $DATABASE_URL or ${DEFAULT_DATABASE_URL})
  --connect-concurrency N  sockets opened in parallel before the storm (default 100; the storm opens all at once)`;

const log = (line: string) => process.stderr.write(`[storm] ${line}\n`);

/** One device's socket, remembering every entry id of the group it ever got and the cursor it reconnects with. */
class StormSocket {
  readonly ids = new Set<bigint>();
  /** Idempotency key of each entry id (kept only when asked: the reader that checks the log for duplicates). */
  readonly keys = new Map<bigint, string>();
  upto = 0n;
  belowCursor = 0;
  deliveries = 0;
  private ws: WsSocket | undefined;
  private waiters: { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];

  constructor(
    private readonly base: string,
    readonly token: string,
    private readonly group: ConversationId,
    private readonly keepKeys = false,
  ) {}

  /** Open, hello with the current cursor, resolve at `synced`. */
  connect(timeoutMs = 300_000): Promise<void> {
    const cursorAtHello = this.upto;
    const ws: WsSocket = new WebSocket(this.base.replace(/^http/, 'ws') + '/v1/ws', { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    this.ws = ws;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (ws.terminate(), reject(new Error(`no synced within ${timeoutMs} ms`))), timeoutMs);
      ws.on('error', (err) => (clearTimeout(timer), reject(err))); // later errors (the drop) are expected and ignored
      ws.on('open', () => {
        const cursor = cursorAtHello > 0n ? [{ conversationId: this.group, upto: cursorAtHello as EntryId }] : [];
        ws.send(encodeClientFrame({ t: 'hello', token: this.token, cursor }));
      });
      ws.on('message', (data: Buffer) => {
        const f = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        if (f.t === 'entries' && f.conversationId === this.group) {
          for (const e of f.entries) {
            this.deliveries++;
            if (e.id <= cursorAtHello) this.belowCursor++;
            this.ids.add(e.id);
            if (this.keepKeys && e.type === EntryType.Text) this.keys.set(e.id, e.clientMsgId);
            if (e.id > this.upto) this.upto = e.id;
          }
        }
        if (f.t === 'synced') {
          clearTimeout(timer);
          resolve();
        }
        this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
      });
      ws.on('close', () => (clearTimeout(timer), reject(new Error('closed before synced'))));
    });
  }

  send(f: ClientFrame): void {
    if (this.ws?.readyState === WS_OPEN) this.ws.send(encodeClientFrame(f));
  }

  next(pred: (f: ServerFrame) => boolean, timeoutMs: number): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs);
      this.waiters.push({ pred, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  /** Drop the socket without a close handshake, as a dead network path does. */
  drop(): void {
    this.ws?.terminate();
  }
}

/** Send texts one after another, each after the last was acked; returns each ack's latency in ms. */
async function sendAll(c: StormSocket, group: ConversationId, keys: readonly string[], acked: Map<string, bigint>): Promise<number[]> {
  const lat: number[] = [];
  for (const key of keys) {
    const t0 = performance.now();
    const answer = c.next((f) => (f.t === 'sent' && f.clientMsgId === key) || (f.t === 'error' && f.ref === key), 120_000);
    c.send({ t: 'send', conversationId: group, clientMsgId: key, type: EntryType.Text, body: new TextEncoder().encode(key) });
    const f = await answer;
    if (f.t !== 'sent') throw new Error(`send ${key} refused: ${JSON.stringify(f)}`);
    acked.set(key, f.id);
    lat.push(performance.now() - t0);
  }
  return lat;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['sockets', 'users', 'senders', 'sends', 'before', 'store', 'database-url', 'connect-concurrency']);
  if (flags.has('help')) return void process.stdout.write(USAGE + '\n');
  const sockets = num(flags, 'sockets', 5000, 1, 50_000, true);
  const users = Math.min(sockets, num(flags, 'users', 50, 2, 2048, true));
  const senders = Math.min(sockets, num(flags, 'senders', 10, 0, 1000, true));
  const sends = num(flags, 'sends', 20, 1, 10_000, true);
  const before = num(flags, 'before', 20, 1, 10_000, true);
  const store = choice(flags, 'store', ['pglite', 'postgres'] as const, 'postgres');
  const concurrency = num(flags, 'connect-concurrency', 100, 1, 5000, true);
  const adminUrl = flags.get('database-url') ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const fdLimit = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  log(`fd limit (ulimit -n) ${fdLimit}; ${sockets} sockets need about ${2 * sockets + 100} descriptors across both processes`);

  const t0 = performance.now();
  const server = await startServerChild({ store, adminUrl, redisUrl: undefined, idleTimeoutMs: 600_000, log });
  try {
    const accounts: Account[] = await pool(Array.from({ length: users }, (_, i) => i), 8, (i) => register(server.url, `storm${i}`));
    const created = await postJson<{ group_id: string }>(server.url, '/v1/groups', { name: 'storm', member_ids: accounts.slice(1).map((a) => String(a.userId)) }, accounts[0]!.token);
    const group = BigInt(created.group_id) as ConversationId;
    const seeded = sockets > users ? await server.seedDevices(accounts.map((a) => String(a.userId)), sockets - users) : [];
    const tokens = [...accounts.map((a) => a.token), ...seeded.map((d) => d.token)].slice(0, sockets);
    const clients = tokens.map((t) => new StormSocket(server.url, t, group));
    const tConn = performance.now();
    let n = 0;
    await pool(clients, concurrency, async (c) => {
      await c.connect();
      if (++n % 1000 === 0 || n === clients.length) log(`connected ${n}/${clients.length} (${r1((performance.now() - tConn) / 1000)} s)`);
    });
    const connectS = (performance.now() - tConn) / 1000;

    const acked = new Map<string, bigint>();
    const beforeKeys = Array.from({ length: before }, (_, k) => `before-${k}`);
    await sendAll(clients[0]!, group, beforeKeys, acked);
    const lastBefore = acked.get(beforeKeys[before - 1]!)!;
    for (let deadline = Date.now() + 120_000; clients.some((c) => c.upto < lastBefore); await sleep(100)) {
      if (Date.now() > deadline) throw new Error('sockets did not receive the first messages');
    }
    log(`${before} messages in the log, every socket has them; dropping all ${sockets} sockets at once`);

    // ---- the storm ----
    const s0 = await server.stats({ reset: true });
    const tStorm = performance.now();
    for (const c of clients) c.drop();
    let storming = true;
    const health: number[] = [];
    let healthFailures = 0;
    const prober = (async () => {
      while (storming) {
        const h0 = performance.now();
        const ok = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(30_000) }).then((r) => r.ok, () => false);
        if (ok) health.push(performance.now() - h0);
        else healthFailures++;
        await sleep(100);
      }
    })();
    let synced = 0;
    const reconnect = Promise.all(
      clients.map(async (c) => {
        await c.connect();
        if (++synced % 1000 === 0) log(`resynced ${synced}/${sockets} (${r1((performance.now() - tStorm) / 1000)} s)`);
      }),
    );
    const sendKeys = (j: number) => Array.from({ length: sends }, (_, k) => `storm-${j}-${k}`);
    const sending = Promise.all(clients.slice(0, senders).map(async (c, j) => {
      await c.next((f) => f.t === 'synced', 300_000);
      return sendAll(c, group, sendKeys(j), acked);
    }));
    await reconnect;
    const stormS = (performance.now() - tStorm) / 1000;
    const ackLat = (await sending).flat();
    storming = false;
    await prober;
    const s1 = await server.stats({ reset: true });
    log(`all ${sockets} resynced in ${r1(stormS)} s; healthz p50 ${r1(pct(health, 50))} ms max ${r1(Math.max(...health))} ms`);

    // ---- correctness: everyone has the whole log, exactly once in it ----
    const last = [...acked.values()].reduce((m, id) => (id > m ? id : m), 0n);
    for (let deadline = Date.now() + 120_000; clients.some((c) => c.upto < last); await sleep(100)) {
      if (Date.now() > deadline) break;
    }
    const reader = new StormSocket(server.url, tokens[0]!, group, true);
    await reader.connect();
    const logIds = reader.ids;
    const lost = clients.reduce((sum, c) => sum + [...logIds].filter((id) => !c.ids.has(id)).length, 0);
    const ackedMissing = [...acked.values()].filter((id) => !logIds.has(id)).length;
    const keysInLog = new Map<string, number>();
    for (const k of reader.keys.values()) keysInLog.set(k, (keysInLog.get(k) ?? 0) + 1);
    const duplicatedInLog = [...keysInLog.values()].filter((v) => v > 1).length;
    const keysMissing = [...acked.keys()].filter((k) => !keysInLog.has(k)).length;
    const deliveries = clients.reduce((sum, c) => sum + c.deliveries, 0);
    const out = {
      bench: 'reconnect-storm',
      store,
      sockets,
      users,
      senders,
      sends_per_sender: sends,
      log_entries: logIds.size,
      connect_s: r1(connectS),
      storm_resync_s: r1(stormS),
      resyncs_per_s: r1(sockets / stormS),
      healthz_probes: health.length,
      healthz_failures: healthFailures,
      healthz_p50_ms: r1(pct(health, 50)),
      healthz_max_ms: r1(Math.max(...health)),
      send_ack_p50_ms: r1(pct(ackLat, 50)),
      send_ack_p99_ms: r1(pct(ackLat, 99)),
      server_cpu_ms_per_s_storm: r1(cpuMsPerSec(s0, s1)),
      server_rss_mb_end: Math.round(s1.rssKiB / 1024),
      lost_entries: lost,
      acked_missing_from_log: ackedMissing,
      acked_keys_missing_from_log: keysMissing,
      duplicated_in_log: duplicatedInLog,
      resent_at_or_below_cursor: clients.reduce((sum, c) => sum + c.belowCursor, 0),
      deliveries_per_socket: r1(deliveries / sockets),
      fd_limit: fdLimit,
      total_s: r1((performance.now() - t0) / 1000),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: os.loadavg().map(r1),
      date: new Date().toISOString(),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
    if (lost > 0 || ackedMissing > 0 || keysMissing > 0 || duplicatedInLog > 0) process.exitCode = 1;
    for (const c of [...clients, reader]) c.drop();
  } finally {
    await server.close();
  }
}

runBench('storm', USAGE, main);

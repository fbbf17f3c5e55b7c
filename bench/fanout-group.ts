/**
 * Group fan-out benchmark: one group of `--members` users, `--online` of them
 * connected (plus the sender); each round the sender sends one message and we
 * measure (a) send -> every online device has the live entry (max over devices)
 * and (b) send -> the sender has seen receipts frames showing every online
 * member's `delivered` >= that entry ("delivered to all online"). Each online
 * device acks `delivered` as soon as the live entry arrives.
 *
 *   npx tsx bench/fanout-group.ts [--store pglite|postgres] [--members 1000] [--online 100] [--rounds 5] [--redis]
 *
 * The server runs in a child process (server-child.ts). Registration (scrypt,
 * ~0.1 s CPU per user) is setup and is not measured. One JSON line on stdout;
 * progress on stderr.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { EntryType, type ConversationId, type EntryId, type UserId } from '@tidings/shared';
import { runBench, choice, num, parseFlags } from './args.js';
import { pool, register, type Account } from './load-client.js';
import { connectClient, pct, postJson, r1, type ProtoClient } from './proto-client.js';
import { cpuMsPerSec, startServerChild, type ServerChild } from './server-child.js';
import { DEFAULT_DATABASE_URL } from './target.js';

const USAGE = `usage: npx tsx bench/fanout-group.ts [options]
  --store pglite|postgres   store (default pglite)
  --members N               group size, 2..2048 (default 1000)
  --online N                members connected besides the sender (default 100)
  --rounds N                messages sent, one per round (default 5)
  --redis                   run the server with REDIS_URL (the Redis switchboard)
  --redis-url URL           (default redis://127.0.0.1:6379)
  --database-url URL        admin URL for --store postgres (default $DATABASE_URL or ${DEFAULT_DATABASE_URL})
  --size BYTES              message body size (default 256)
  --register-concurrency N  parallel sign-ups during setup (default 8)
  --round-timeout S         give up on a round after S seconds (default 30)`;

const log = (line: string) => process.stderr.write(`[fanout-group] ${line}\n`);

async function main(): Promise<void> {
  const argv = process.argv.slice(2).map((a) => (a === '--redis' ? '--redis=1' : a));
  const flags = parseFlags(argv, ['store', 'members', 'online', 'rounds', 'redis', 'redis-url', 'database-url', 'size', 'register-concurrency', 'round-timeout']);
  if (flags.has('help')) return void process.stdout.write(USAGE + '\n');
  const store = choice(flags, 'store', ['pglite', 'postgres'] as const, 'pglite');
  const members = num(flags, 'members', 1000, 2, 2048, true);
  const online = num(flags, 'online', 100, 1, members - 1, true);
  const rounds = num(flags, 'rounds', 5, 1, 1000, true);
  const size = num(flags, 'size', 256, 4, 64 * 1024, true);
  const concurrency = num(flags, 'register-concurrency', 8, 1, 256, true);
  const roundTimeoutMs = num(flags, 'round-timeout', 30, 1, 600) * 1000;
  const redis = flags.has('redis');
  const redisUrl = redis ? (flags.get('redis-url') ?? 'redis://127.0.0.1:6379') : undefined;
  const adminUrl = flags.get('database-url') ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;

  const errors: string[] = [];
  let unexpectedCloses = 0;
  const onError = (what: string) => {
    if (errors.length < 20) errors.push(what);
    log(`error: ${what}`);
  };
  const t0 = performance.now();
  const server: ServerChild = await startServerChild({ store, adminUrl, redisUrl, log });
  const clients: ProtoClient[] = [];
  try {
    log(`server pid ${server.pid} at ${server.url} (store ${store}${redis ? `, redis prefix ${server.redisPrefix}` : ''})`);

    // ---- setup: register, create the group, connect ----
    const tReg = performance.now();
    let done = 0;
    const accounts: Account[] = await pool(
      Array.from({ length: members }, (_, i) => i),
      concurrency,
      async (i) => {
        const a = await register(server.url, `member${i}`);
        if (++done % 100 === 0 || done === members) log(`registered ${done}/${members} (${r1((performance.now() - tReg) / 1000)} s)`);
        return a;
      },
    );
    const registerS = (performance.now() - tReg) / 1000;
    const sender = accounts[0]!;
    const tGroup = performance.now();
    const { group_id } = await postJson<{ group_id: string }>(
      server.url,
      '/v1/groups',
      { name: 'bench group', member_ids: accounts.slice(1).map((a) => String(a.userId)) },
      sender.token,
    );
    const groupId = BigInt(group_id) as ConversationId;
    const createGroupMs = performance.now() - tGroup;
    log(`group ${group_id} with ${members} members created in ${Math.round(createGroupMs)} ms`);

    // Per round: when each online device got the entry, and what the sender saw.
    const gotAt: Map<number, number>[] = Array.from({ length: rounds }, () => new Map());
    const sentAt: number[] = [];
    const ackAt: number[] = [];
    const entryId: (EntryId | undefined)[] = [];
    const allDeliveredAt: (number | undefined)[] = [];
    const senderReceiptFrames: number[] = new Array<number>(rounds).fill(0);
    const memberReceiptFrames: number[] = new Array<number>(rounds).fill(0);
    const memberReceiptItems: number[] = new Array<number>(rounds).fill(0);
    let current = -1;
    const onlineUsers = accounts.slice(1, 1 + online);
    const deliveredOf = new Map<UserId, EntryId>();
    let notify: (() => void) | undefined;
    const check = () => {
      const id = entryId[current];
      if (current < 0 || id === undefined || allDeliveredAt[current] !== undefined) return;
      for (const u of onlineUsers) if ((deliveredOf.get(u.userId) ?? 0n) < id) return;
      allDeliveredAt[current] = performance.now();
      notify?.();
    };

    const tConn = performance.now();
    const senderClient = await connectClient(
      server.url,
      sender.token,
      {
        frame: (f, now) => {
          if (f.t === 'sent' && f.conversationId === groupId) {
            const r = Number(f.clientMsgId.slice(1));
            ackAt[r] = now;
            entryId[r] = f.id;
            check();
          } else if (f.t === 'receipts' && f.conversationId === groupId) {
            if (current >= 0) senderReceiptFrames[current]!++;
            for (const it of f.items) if (it.delivered > (deliveredOf.get(it.userId) ?? 0n)) deliveredOf.set(it.userId, it.delivered);
            check();
          }
        },
        error: onError,
        closed: (code, reason) => (unexpectedCloses++, onError(`sender closed ${code} ${reason}`)),
      },
      120_000,
    );
    clients.push(senderClient);
    let connected = 0;
    await pool(onlineUsers, 20, async (a, idx) => {
      const self: { c?: ProtoClient } = {};
      const c = await connectClient(
        server.url,
        a.token,
        {
          frame: (f, now) => {
            if (f.t === 'entries' && f.live && f.conversationId === groupId) {
              let max = 0n as EntryId;
              for (const e of f.entries) {
                if (e.type !== EntryType.Text || e.body.length < 4) continue;
                const r = new DataView(e.body.buffer, e.body.byteOffset, e.body.byteLength).getUint32(0);
                if (r < rounds && !gotAt[r]!.has(idx)) gotAt[r]!.set(idx, now);
                if (e.id > max) max = e.id;
              }
              if (max > 0n) self.c?.send({ t: 'ack', conversationId: groupId, delivered: max, read: 0n as EntryId });
              if (current >= 0 && gotAt[current]!.size === online) notify?.();
            } else if (f.t === 'receipts' && f.conversationId === groupId && current >= 0) {
              memberReceiptFrames[current]!++;
              memberReceiptItems[current]! += f.items.length;
            }
          },
          error: onError,
          closed: (code, reason) => (unexpectedCloses++, onError(`member ${idx} closed ${code} ${reason}`)),
        },
        120_000,
      );
      self.c = c;
      clients.push(c);
      if (++connected % 25 === 0 || connected === online) log(`connected ${connected}/${online}`);
    });
    const connectS = (performance.now() - tConn) / 1000;
    await sleep(1000);
    const before = await server.stats({ gc: true, reset: true });
    log(`server rss ${Math.round(before.rssKiB / 1024)} MiB with ${before.connections} sockets; starting ${rounds} rounds`);

    // ---- measured rounds ----
    const body = new Uint8Array(size);
    for (let r = 0; r < rounds; r++) {
      current = r;
      new DataView(body.buffer).setUint32(0, r);
      const finished = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, roundTimeoutMs);
        notify = () => {
          if (gotAt[r]!.size === online && allDeliveredAt[r] !== undefined) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      sentAt[r] = performance.now();
      senderClient.send({ t: 'send', conversationId: groupId, clientMsgId: `r${r}`, type: EntryType.Text, body });
      await finished;
      notify = undefined;
      const got = [...gotAt[r]!.values()].map((t) => t - sentAt[r]!);
      log(
        `round ${r}: ${got.length}/${online} devices, all in ${r1(Math.max(...got))} ms (p50 ${r1(pct(got, 50))}), ` +
          `sent ack ${ackAt[r] === undefined ? '-' : r1(ackAt[r]! - sentAt[r]!)} ms, ` +
          `delivered-to-all-online ${allDeliveredAt[r] === undefined ? 'NOT SEEN' : `${r1(allDeliveredAt[r]! - sentAt[r]!)} ms`}, ` +
          `${senderReceiptFrames[r]} receipts frames at the sender`,
      );
      await sleep(1000); // let this round's receipts settle before the next send
    }
    const after = await server.stats({ gc: false, reset: true });

    const allMs = gotAt.map((m, r) => (m.size === online ? Math.max(...[...m.values()].map((t) => t - sentAt[r]!)) : NaN));
    const p50Ms = gotAt.map((m, r) => pct([...m.values()].map((t) => t - sentAt[r]!), 50));
    const rcptMs = allDeliveredAt.map((t, r) => (t === undefined ? NaN : t - sentAt[r]!));
    const ackMs = ackAt.map((t, r) => (t === undefined ? NaN : t - sentAt[r]!));
    const fin = (xs: number[]) => xs.filter(Number.isFinite);
    const incomplete = allMs.filter((x) => !Number.isFinite(x)).length;
    const noReceipts = rcptMs.filter((x) => !Number.isFinite(x)).length;
    const out = {
      bench: 'fanout-group',
      store,
      switchboard: redis ? 'redis' : 'local',
      members,
      online,
      rounds,
      size,
      all_online_have_it_p50_ms: r1(pct(fin(allMs), 50)),
      all_online_have_it_max_ms: r1(Math.max(...fin(allMs))),
      delivered_to_all_online_p50_ms: r1(pct(fin(rcptMs), 50)),
      delivered_to_all_online_max_ms: r1(Math.max(...fin(rcptMs))),
      sent_ack_p50_ms: r1(pct(fin(ackMs), 50)),
      device_p50_ms_per_round: p50Ms.map(r1),
      all_online_have_it_ms_per_round: allMs.map(r1),
      delivered_to_all_online_ms_per_round: rcptMs.map(r1),
      rounds_incomplete: incomplete,
      rounds_without_all_receipts: noReceipts,
      receipts_frames_to_sender_per_round: senderReceiptFrames,
      receipts_frames_to_members_per_round: memberReceiptFrames,
      receipts_items_to_members_per_round: memberReceiptItems,
      server_cpu_ms_per_s_during_rounds: r1(cpuMsPerSec(before, after)),
      server_elu_during_rounds: after.elu,
      server_eld_max_ms_during_rounds: after.eldMaxMs,
      server_rss_mb: Math.round(after.rssKiB / 1024),
      errors: errors.length,
      error_samples: errors.slice(0, 5),
      unexpected_closes: unexpectedCloses,
      setup_register_s: r1(registerS),
      setup_create_group_ms: Math.round(createGroupMs),
      setup_connect_s: r1(connectS),
      total_s: r1((performance.now() - t0) / 1000),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: os.loadavg().map(r1),
      date: new Date().toISOString(),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  }
}

runBench('fanout-group', USAGE, main);

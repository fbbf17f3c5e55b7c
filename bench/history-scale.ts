/**
 * Issue #11 target 6: does the durable path slow down as history grows?
 * Seeds `--entries` (default 10,000,000) log entries into a database of its
 * own (tidings_hist_<pid>_<random>, dropped afterwards; the shared `test`
 * database is never touched), spread over `--entries / --per-conversation`
 * DMs between seeded users, with ciphertext-like bodies of 100-499 bytes.
 * Seeded conversation ids are spread over the Snowflake range so the run's
 * own conversations land in the middle of every index, not at its right edge.
 * Then it runs the same open-loop load (bench/load.ts) on a fresh empty
 * database and on the seeded one, alternating `--rounds` times, and prints
 * seeded/empty ratios. It also reads Postgres' own scan counters over each
 * seeded run (a sequential scan of entries, conversations or members during
 * the load would grow with table size) and EXPLAINs the catch-up and history
 * reads against a seeded conversation.
 *
 *   npx tsx bench/history-scale.ts [--entries 10000000] [--per-conversation 100]
 *     [--rate 1000] [--pairs 50] [--duration 10] [--warmup 2] [--rounds 3]
 *
 * One JSON line on stdout; progress on stderr.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { migrate, openPostgres, type SqlClient } from '@tidings/sync-server';
import { runBench, num, parseFlags } from './args.js';
import { runLoad, type LoadOptions, type LoadResult } from './load.js';
import { DEFAULT_DATABASE_URL } from './target.js';

const USAGE = `usage: npx tsx bench/history-scale.ts [--entries N] [--per-conversation N] [--rate R] [--pairs N]
                                     [--duration S] [--warmup S] [--rounds N] [--chunk N]`;
/** The bar: seeded within 20% of empty. */
const MAX_SLOWDOWN = 1.2;
/** Seeded entry ids start here, well below the Snowflakes the run itself assigns (~1.2e17 in 2026). */
const SEED_ID_BASE = 1_000_000_000_000_000n;
/** Spacing of seeded conversation ids: 100,000 conversations cover 0..2.4e17, around today's Snowflakes. */
const SEED_CONV_SPACING = 2_400_000_000_000n;

const log = (line: string) => process.stderr.write(`[history] ${line}\n`);
const r2 = (v: number) => Math.round(v * 100) / 100;

async function seed(db: SqlClient, entries: number, perConv: number, chunk: number): Promise<number> {
  const convs = Math.ceil(entries / perConv);
  const users = Math.max(2, convs);
  const t = performance.now();
  await db.query("SET synchronous_commit = off"); // setup only: the measured runs commit as always
  await db.query(`INSERT INTO users (id, username, password_hash, created_at) SELECT i, 'seed' || i, 'x', 0 FROM generate_series(1, $1::int) i`, [users]);
  await db.query(`INSERT INTO devices (id, user_id, name, token_hash, created_at) SELECT i, i, 'seed', sha256(int8send(i)), 0 FROM generate_series(1, $1::int) i`, [users]);
  // Conversation n (1-based): DM between users n and n % users + 1 (a ring: every user is in two DMs).
  await db.query(
    `INSERT INTO conversations (id, kind, dm_key, created_by, last_id, created_at)
     SELECT n * $2::bigint, 1, 'seed:' || n, n, $3::bigint + $4::bigint * 4194304, 0 FROM generate_series(1, $1::int) n`,
    [convs, SEED_CONV_SPACING.toString(), SEED_ID_BASE.toString(), perConv],
  );
  await db.query(
    `INSERT INTO members (conversation_id, user_id, since_id, joined_at)
     SELECT n * $2::bigint, u, 0, 0 FROM generate_series(1, $1::int) n, LATERAL (VALUES (n), (n % $3::int + 1)) AS m(u)`,
    [convs, SEED_CONV_SPACING.toString(), users],
  );
  log(`seeded ${users} users, ${convs} conversations in ${r2((performance.now() - t) / 1000)} s; entries next`);
  const filler = randomBytes(512);
  let done = 0;
  for (let lo = 1; lo <= convs; lo += chunk) {
    const hi = Math.min(convs, lo + chunk - 1);
    await db.query(
      `INSERT INTO entries (conversation_id, id, prev_id, sender_user_id, sender_device_id, client_msg_id, type, body, created_at)
       SELECT n * $3::bigint, $4::bigint + k * 4194304, CASE WHEN k = 1 THEN 0 ELSE $4::bigint + (k - 1) * 4194304 END,
              s, s, left(md5(n || ':' || k), 22), 1, substring($6::bytea FROM 1 FOR 100 + (n * 131 + k * 31) % 400), 1767225600000 + k * 60000
         FROM generate_series($1::int, $2::int) n, generate_series(1, $5::int) k,
              LATERAL (SELECT CASE WHEN k % 2 = 0 THEN n ELSE n % $7::int + 1 END::bigint AS s) x
        ORDER BY 1, 2`,
      [lo, hi, SEED_CONV_SPACING.toString(), SEED_ID_BASE.toString(), perConv, filler, users],
    );
    done += (hi - lo + 1) * perConv;
    const s = (performance.now() - t) / 1000;
    log(`entries ${done.toLocaleString('en')}/${(convs * perConv).toLocaleString('en')} (${r2(s)} s, ${Math.round(done / s).toLocaleString('en')}/s)`);
  }
  // Steady state before measuring: hint bits set and the visibility map built (otherwise the first
  // reads of fresh rows write every page again), statistics current, dirty pages flushed.
  log('VACUUM ANALYZE and CHECKPOINT');
  await db.exec('VACUUM (ANALYZE) entries, conversations, members, users, devices');
  await db.exec('CHECKPOINT');
  return (performance.now() - t) / 1000;
}

interface ScanCounts {
  [table: string]: { seq_scan: number; idx_scan: number };
}
async function scans(db: SqlClient): Promise<ScanCounts> {
  const { rows } = await db.query<{ relname: string; seq_scan: string; idx_scan: string | null }>(
    `SELECT relname, seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname IN ('entries', 'conversations', 'members', 'devices', 'users')`,
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { seq_scan: Number(r.seq_scan), idx_scan: Number(r.idx_scan ?? 0) }]));
}
const scanDelta = (a: ScanCounts, b: ScanCounts) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, { seq_scan: b[k]!.seq_scan - (a[k]?.seq_scan ?? 0), idx_scan: b[k]!.idx_scan - (a[k]?.idx_scan ?? 0) }]));

/** Plans of the read shapes the log uses (store.ts readAfter / readBefore, the idempotency lookup), on a seeded conversation. */
async function plans(db: SqlClient): Promise<Record<string, string>> {
  const c = (SEED_CONV_SPACING * 777n).toString();
  const shapes: Record<string, string> = {
    catchup_read_after: `SELECT * FROM entries WHERE conversation_id = ${c} AND id > ${SEED_ID_BASE + 50n * 4194304n} AND (NULL::bigint IS NULL OR id <= NULL::bigint) ORDER BY id LIMIT 256`,
    history_read_before: `SELECT * FROM entries WHERE conversation_id = ${c} AND id > 0 AND (NULL::bigint IS NULL OR id < NULL::bigint) AND (NULL::bigint IS NULL OR id <= NULL::bigint) AND type = ANY('{1,2,3}'::smallint[]) ORDER BY id DESC LIMIT 50`,
    idempotency_lookup: `SELECT e.id FROM entries e JOIN unnest('{${c}}'::bigint[], '{777}'::bigint[], '{abc}'::text[]) AS x(c, d, m) ON e.conversation_id = x.c AND e.sender_device_id = x.d AND e.client_msg_id = x.m`,
    lock_conversations: `SELECT id, last_id FROM conversations WHERE id = ANY('{${c}}'::bigint[]) ORDER BY id`,
    active_members: `SELECT conversation_id, user_id FROM members WHERE conversation_id = ANY('{${c}}'::bigint[]) AND until_id IS NULL`,
  };
  const out: Record<string, string> = {};
  for (const [name, sql] of Object.entries(shapes)) {
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`);
    out[name] = rows.map((r) => r['QUERY PLAN'].trim()).join(' | ');
    log(`plan ${name}: ${out[name]}`);
  }
  return out;
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), ['entries', 'per-conversation', 'rate', 'pairs', 'duration', 'warmup', 'rounds', 'chunk']);
  if (f.has('help')) return void process.stdout.write(USAGE + '\n');
  const entries = num(f, 'entries', 10_000_000, 1000, 200_000_000, true);
  const perConv = num(f, 'per-conversation', 100, 1, 100_000, true);
  const rounds = num(f, 'rounds', 3, 1, 10, true);
  const chunk = num(f, 'chunk', 1000, 1, 1_000_000, true);
  const adminUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const load: LoadOptions = {
    target: 'server',
    store: 'postgres',
    pairs: num(f, 'pairs', 50, 1, 5000, true),
    rate: num(f, 'rate', 1000, 1, 200_000),
    durationS: num(f, 'duration', 10, 1, 600),
    warmupS: num(f, 'warmup', 2, 0, 60),
    size: 1024,
    url: undefined,
    thread: 'worker',
    adminUrl,
  };
  const name = `tidings_hist_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres({ connectionString: adminUrl, maxConnections: 1, onIdleError: () => {} });
  await admin.exec(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const seededUrl = u.toString();
  log(`created database ${name}`);
  const db = await openPostgres({ connectionString: seededUrl, maxConnections: 1, onIdleError: () => {} });
  try {
    await migrate(db);
    const seedS = await seed(db, entries, perConv, chunk);
    const { rows } = await db.query<{ n: string; bytes: string }>(`SELECT count(*) AS n, pg_total_relation_size('entries') AS bytes FROM entries`);
    log(`seeded ${rows[0]!.n} entries (${Math.round(Number(rows[0]!.bytes) / 1048576)} MiB with indexes) in ${r2(seedS)} s`);
    const explained = await plans(db);
    const runs: { db: 'empty' | 'seeded'; result: LoadResult; scans?: ReturnType<typeof scanDelta> }[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const which of ['empty', 'seeded'] as const) {
        log(`round ${r + 1}/${rounds}: ${which} database`);
        const before = which === 'seeded' ? await scans(db) : undefined;
        const result = await runLoad({ ...load, databaseUrl: which === 'seeded' ? seededUrl : undefined }, (l) => log(`  ${which}: ${l}`));
        runs.push({ db: which, result, scans: before ? scanDelta(before, await scans(db)) : undefined });
        log(`${which}: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ${result.delivered_per_s}/s, lost ${result.lost}`);
      }
    }
    const med = (which: 'empty' | 'seeded', k: 'p50_ms' | 'p99_ms' | 'delivered_per_s') => {
      const v = runs.filter((x) => x.db === which).map((x) => x.result[k] ?? NaN).sort((a, b) => a - b);
      return v[Math.floor((v.length - 1) / 2)]!;
    };
    // Each round's seeded run over the empty run just before it (the machine's noise drifts over minutes), then the median.
    const ratio = (k: 'p50_ms' | 'p99_ms' | 'delivered_per_s') => {
      const per = Array.from({ length: rounds }, (_, i) => (runs[2 * i + 1]!.result[k] ?? NaN) / (runs[2 * i]!.result[k] ?? NaN)).sort((a, b) => a - b);
      return r2(per.length % 2 ? per[(per.length - 1) / 2]! : (per[per.length / 2 - 1]! + per[per.length / 2]!) / 2);
    };
    const perRound = Array.from({ length: rounds }, (_, i) => ({
      p50: r2((runs[2 * i + 1]!.result.p50_ms ?? NaN) / (runs[2 * i]!.result.p50_ms ?? NaN)),
      p99: r2((runs[2 * i + 1]!.result.p99_ms ?? NaN) / (runs[2 * i]!.result.p99_ms ?? NaN)),
    }));
    const seqScansDuringLoad = runs.reduce((s, x) => s + (x.scans ? (x.scans.entries?.seq_scan ?? 0) + (x.scans.conversations?.seq_scan ?? 0) + (x.scans.members?.seq_scan ?? 0) : 0), 0);
    const out = {
      bench: 'history-scale',
      store: 'postgres',
      seeded_entries: Number(rows[0]!.n),
      per_conversation: perConv,
      entries_mib: Math.round(Number(rows[0]!.bytes) / 1048576),
      seed_s: r2(seedS),
      offered_rate: load.rate,
      pairs: load.pairs,
      duration_s: load.durationS,
      rounds,
      empty: { p50_ms: med('empty', 'p50_ms'), p99_ms: med('empty', 'p99_ms'), delivered_per_s: med('empty', 'delivered_per_s') },
      seeded: { p50_ms: med('seeded', 'p50_ms'), p99_ms: med('seeded', 'p99_ms'), delivered_per_s: med('seeded', 'delivered_per_s') },
      ratio_p50: ratio('p50_ms'),
      ratio_p99: ratio('p99_ms'),
      ratio_throughput: ratio('delivered_per_s'),
      ratios_per_round: perRound,
      within_20_percent: ratio('p50_ms') <= MAX_SLOWDOWN && ratio('p99_ms') <= MAX_SLOWDOWN && ratio('delivered_per_s') >= 1 / MAX_SLOWDOWN,
      seq_scans_of_log_tables_during_seeded_load: seqScansDuringLoad,
      lost: runs.reduce((s, x) => s + x.result.lost, 0),
      duplicates: runs.reduce((s, x) => s + x.result.duplicates, 0),
      runs: runs.map((x) => ({ db: x.db, p50_ms: x.result.p50_ms, p99_ms: x.result.p99_ms, delivered_per_s: x.result.delivered_per_s, lost: x.result.lost, target_elu: x.result.target_elu, gen_lag_p99_ms: x.result.gen_lag_p99_ms, scans: x.scans })),
      plans: explained,
      node: process.version,
      cpus: os.availableParallelism(),
      loadavg: os.loadavg().map(r2),
      date: new Date().toISOString(),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await db.close();
    await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err: unknown) => log(`drop failed: ${String(err)}`));
    await admin.close();
    log(`dropped database ${name}`);
  }
}

runBench('history', USAGE, main);

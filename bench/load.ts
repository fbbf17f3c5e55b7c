/**
 * Open-loop load benchmark for the Tidings sync server (or the bare relay as
 * a reference). N pairs of users each share a DM; messages are scheduled at
 * fixed intervals for the offered rate, round-robin over the pairs and
 * alternating direction, and sent at their scheduled time whether or not
 * earlier ones were acked. Latency is measured from the scheduled time, so a
 * stalled server shows up as latency instead of as a slower generator
 * (no coordinated omission).
 *
 *   npx tsx bench/load.ts [--target server|relay] [--store pglite|postgres]
 *     [--pairs 50] [--rate 1000] [--duration 10] [--size 1024] [--warmup 2]
 *     [--url http://127.0.0.1:8787 | ws://127.0.0.1:9000] [--thread worker|main]
 *
 * Progress goes to stderr once per second; exactly one JSON line goes to stdout.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { MAX_BODY_BYTES } from '@tidings/shared';
import { UsageError, choice, num, parseFlags } from './args.js';
import { MIN_BODY_BYTES, RelayPeer, ServerPeer, openDm, pool, register, type Account, type Peer, type PeerEvents } from './load-client.js';
import { DEFAULT_DATABASE_URL, startTarget, type Target } from './target.js';
import { cpuSnapshot, cpuSplit, type CpuSnapshot, type CpuSplit } from './cpu.js';
import type { TargetStats } from './target-host.js';

export interface LoadOptions {
  readonly target: 'server' | 'relay';
  readonly store: 'pglite' | 'postgres';
  readonly pairs: number;
  /** Offered messages per second, all pairs together. */
  readonly rate: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** Body bytes per message. */
  readonly size: number;
  /** Use a running target instead of starting one. */
  readonly url: string | undefined;
  /** Where an in-process target runs: its own worker thread (default) or the generator's thread. */
  readonly thread: 'worker' | 'main';
  readonly adminUrl: string;
  /** Postgres only: an existing database to run on (bench/history-scale.ts), instead of a fresh one. */
  readonly databaseUrl?: string;
}

const MAX_MESSAGES = 20_000_000;
/** How long to wait for stragglers after the last scheduled send. */
const DRAIN_MS = 5000;
const PING_EVERY_MS = 15_000;

export const USAGE = `usage: tsx bench/load.ts [--target server|relay] [--store pglite|postgres] [--pairs N] [--rate MSGS_PER_S]
                         [--duration S] [--warmup S] [--size BYTES] [--url URL] [--thread worker|main]
  --target   server (default) or relay (bare ws relay, no storage: the reference)
  --store    pglite (default) or postgres (uses DATABASE_URL, default ${DEFAULT_DATABASE_URL};
             a fresh database tidings_bench_<random> is created and dropped)
  --pairs    DM pairs, 2 users each (default 50)        --rate      offered msgs/s in total (default 1000)
  --duration measured seconds (default 10)              --warmup    unmeasured seconds first (default 2)
  --size     body bytes per message (default 1024)      --url       use a running server/relay instead
  --thread   run the in-process target on its own worker thread (default) or on the generator's thread`;

export function parseLoadArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadOptions | 'help' {
  const f = parseFlags(argv, ['target', 'store', 'pairs', 'rate', 'duration', 'warmup', 'size', 'url', 'thread']);
  if (f.has('help')) return 'help';
  const target = choice(f, 'target', ['server', 'relay'] as const, 'server');
  const store = choice(f, 'store', ['pglite', 'postgres'] as const, 'pglite');
  const pairs = num(f, 'pairs', 50, 1, 5000, true);
  const rate = num(f, 'rate', 1000, 0.1, 200_000);
  const durationS = num(f, 'duration', 10, 0.5, 3600);
  const warmupS = num(f, 'warmup', 2, 0, 600);
  const size = num(f, 'size', 1024, MIN_BODY_BYTES, MAX_BODY_BYTES, true);
  const thread = choice(f, 'thread', ['worker', 'main'] as const, 'worker');
  const url = f.get('url');
  if (url !== undefined) {
    const want = target === 'server' ? /^https?:\/\/[^/]+$/ : /^wss?:\/\/[^/]+$/;
    if (!want.test(url)) throw new UsageError(`--url for --target ${target} must look like ${target === 'server' ? 'http://127.0.0.1:8787' : 'ws://127.0.0.1:9000'} (no path), got ${JSON.stringify(url)}`);
    if (f.has('store')) throw new UsageError('--store applies only when the benchmark starts the server (no --url)');
  }
  if (target === 'relay' && f.has('store')) throw new UsageError('--store applies only to --target server');
  if (rate * (durationS + warmupS) > MAX_MESSAGES) throw new UsageError(`rate x (duration + warmup) is over ${MAX_MESSAGES} messages; shorten the run`);
  const adminUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  if (store === 'postgres' && !/^postgres(ql)?:\/\//.test(adminUrl)) throw new UsageError(`DATABASE_URL must be a postgres:// URL, got ${JSON.stringify(adminUrl)}`);
  return { target, store, pairs, rate, durationS, warmupS, size, url, thread, adminUrl };
}

export interface LoadResult {
  readonly bench: 'load';
  readonly target: string;
  readonly store: string | null;
  readonly pairs: number;
  readonly offered_rate: number;
  readonly duration_s: number;
  readonly size: number;
  readonly sent: number;
  readonly delivered: number;
  readonly delivered_per_s: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly max_ms: number | null;
  readonly acks_p50_ms: number | null;
  readonly acks_p99_ms: number | null;
  readonly node: string;
  readonly cpus: number;
  readonly date: string;
  // ---- beyond the headline fields: what helps read them ----
  readonly warmup_s: number;
  readonly thread: string;
  /** Messages (in the measured window) whose sender socket was already closed. Counted in lost. */
  readonly send_failed: number;
  /** Losses among warm-up messages (not in sent/lost). */
  readonly warmup_lost: number;
  /** Entries received by a peer other than the recipient or the sender's own echo. */
  readonly misrouted: number;
  readonly errors: Record<string, number>;
  readonly unexpected_closes: number;
  /** How late the generator itself sent, vs schedule (high = the generator, not the target, is saturated). */
  readonly gen_lag_p99_ms: number | null;
  readonly gen_lag_max_ms: number | null;
  /** Event-loop utilization of the generator thread during the measured window. */
  readonly gen_elu: number;
  /** CPU over the measured window by process (Linux; null elsewhere): machine, PostgreSQL, this process, and the threads' busy time. */
  readonly cpu: (CpuSplit & { readonly us_per_msg: CpuSplit['us_per_msg'] & { readonly gen_thread: number; readonly target_thread: number | null } }) | null;
  readonly target_elu: number | null;
  readonly target_eld_p99_ms: number | null;
  readonly target_eld_max_ms: number | null;
  readonly target_heap_peak_mb: number | null;
  readonly process_rss_peak_mb: number | null;
  readonly setup_s: number;
}

/** Nearest-rank percentile of an ascending array. */
function pct(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
const r2 = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);

export async function runLoad(o: LoadOptions, log: (line: string) => void): Promise<LoadResult> {
  const setupStart = performance.now();
  const cleanups: (() => Promise<void>)[] = [];
  const onSignal = () => {
    log('interrupted; cleaning up');
    void Promise.allSettled(cleanups.splice(0).reverse().map((c) => c())).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // ---- target ----
    let target: Target | undefined;
    let base = o.url;
    if (!base) {
      target = await startTarget({ kind: o.target, store: o.store, adminUrl: o.adminUrl, thread: o.thread, log, databaseUrl: o.databaseUrl });
      cleanups.push(target.close);
      base = target.url;
      log(`${o.target}${o.target === 'server' ? ` (${o.store})` : ''} on ${base}, thread=${o.thread}`);
    }

    // ---- schedule bookkeeping ----
    const interval = 1000 / o.rate;
    const total = Math.floor(o.rate * (o.durationS + o.warmupS));
    const measuredFrom = Math.min(total, Math.ceil((o.warmupS * 1000) / interval - 1e-9));
    const measured = total - measuredFrom;
    const recv = new Uint8Array(total);
    const acked = new Uint8Array(total);
    const failed = new Uint8Array(total);
    const lat = new Float64Array(measured);
    const ackLat = new Float64Array(measured);
    const lag = new Float64Array(measured);
    let nLat = 0;
    let nAck = 0;
    let nLag = 0;
    let receivedAll = 0;
    let misrouted = 0;
    let closes = 0;
    const errors: Record<string, number> = {};
    let window: number[] = [];
    const route = (seq: number) => {
      const pair = seq % o.pairs;
      const dir = Math.floor(seq / o.pairs) % 2;
      return { from: 2 * pair + dir, to: 2 * pair + 1 - dir };
    };
    let t0 = 0;
    const scheduled = (seq: number) => t0 + seq * interval;

    const events: PeerEvents = {
      delivered(recipient, seq, scheduledMs, now) {
        if (!(seq < total)) return void misrouted++;
        const { from, to } = route(seq);
        if (recipient !== to) {
          if (recipient !== from) misrouted++; // the sender's own device gets its entry too: ignore that echo
          return;
        }
        const n = recv[seq]!;
        if (n < 255) recv[seq] = n + 1;
        if (n > 0) return;
        receivedAll++;
        if (seq >= measuredFrom) {
          lat[nLat++] = now - scheduledMs;
          window.push(now - scheduledMs);
        }
      },
      acked(seq, now) {
        if (!(seq < total) || acked[seq]) return;
        acked[seq] = 1;
        if (seq >= measuredFrom) ackLat[nAck++] = now - scheduled(seq);
      },
      error(what) {
        errors[what] = (errors[what] ?? 0) + 1;
      },
      closed(peer, code, reason) {
        if (++closes <= 5) log(`peer ${peer} socket closed during the run: ${code} ${reason}`);
      },
    };

    // ---- users, DMs, sockets ----
    const nPeers = 2 * o.pairs;
    let peers: Peer[];
    if (o.target === 'server') {
      const tag = randomBytes(3).toString('hex');
      const t = performance.now();
      const accounts = await pool(Array.from({ length: nPeers }, (_, i) => `b${tag}_${i}`), 4, (name) => register(base, name));
      log(`registered ${nPeers} users in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      const convs = await pool(Array.from({ length: o.pairs }, (_, p) => p), 8, (p) => openDm(base, accounts[2 * p] as Account, accounts[2 * p + 1] as Account));
      const sp = await pool(accounts, 16, (a, i) => ServerPeer.connect(base, i, a.token, o.size, events));
      for (let p = 0; p < o.pairs; p++) {
        sp[2 * p]!.route(2 * p + 1, convs[p]!);
        sp[2 * p + 1]!.route(2 * p, convs[p]!);
      }
      peers = sp;
    } else {
      peers = await pool(Array.from({ length: nPeers }, (_, i) => i), 16, (i) => RelayPeer.connect(base, i, o.size, events));
    }
    cleanups.push(async () => void (await Promise.all(peers.map((p) => p.close()))));
    const pinger = setInterval(() => peers.forEach((p) => p.ping()), PING_EVERY_MS);
    cleanups.push(async () => clearInterval(pinger));
    const setupS = (performance.now() - setupStart) / 1000;
    log(`${nPeers} sockets ready after ${setupS.toFixed(1)} s; offering ${o.rate} msg/s for ${o.warmupS} s warm-up + ${o.durationS} s`);

    // ---- the open-loop generator ----
    let next = 0;
    let maxBuffered = 0;
    let genElu: ReturnType<typeof performance.eventLoopUtilization> | undefined;
    let cpuFrom: CpuSnapshot | undefined;
    t0 = performance.now() + 20;
    const markAt = scheduled(measuredFrom);
    const sendDue = () => {
      const now = performance.now();
      if (!genElu && now >= markAt) {
        genElu = performance.eventLoopUtilization();
        cpuFrom = cpuSnapshot();
        void target?.mark();
      }
      while (next < total && scheduled(next) <= now) {
        const seq = next++;
        const { from, to } = route(seq);
        const peer = peers[from]!;
        if (!peer.send(seq, to, scheduled(seq))) failed[seq] = 1;
        if (seq >= measuredFrom) lag[nLag++] = now - scheduled(seq);
        if ((seq & 255) === 0) maxBuffered = Math.max(maxBuffered, peer.bufferedAmount);
      }
    };
    const progress = setInterval(() => {
      const el = (performance.now() - t0) / 1000;
      const w = Float64Array.from(window).sort();
      window = [];
      const ackedN = acked.reduce((s, v) => s + v, 0);
      log(`t=${el.toFixed(0).padStart(3)}s sent=${next} received=${receivedAll} acked=${o.target === 'server' ? ackedN : 'n/a'} p99(last 1s)=${w.length ? pct(w, 0.99)!.toFixed(1) + 'ms' : '-'}${Object.keys(errors).length ? ` errors=${JSON.stringify(errors)}` : ''}`);
    }, 1000);
    cleanups.push(async () => clearInterval(progress));
    await new Promise<void>((resolve) => {
      const tick = () => {
        sendDue();
        if (next >= total) return resolve();
        setTimeout(tick, Math.max(0, Math.min(1, scheduled(next) - performance.now())));
      };
      setTimeout(tick, Math.max(0, t0 - performance.now()));
    });
    const sentAll = next - failed.reduce((s, v) => s + v, 0);

    // ---- drain ----
    const drainStart = performance.now();
    const waitAcks = o.target === 'server';
    const ackedCount = () => acked.reduce((s, v) => s + v, 0);
    while (performance.now() - drainStart < DRAIN_MS && (receivedAll < sentAll || (waitAcks && ackedCount() < sentAll))) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const genU = genElu ? performance.eventLoopUtilization(genElu).utilization : 0;
    const cpu = cpuSplit(cpuFrom, cpuSnapshot(), measured);
    clearInterval(progress);
    log(`drained in ${((performance.now() - drainStart) / 1000).toFixed(2)} s; max client send buffer ${(maxBuffered / 1024).toFixed(0)} KiB`);
    let ts: TargetStats | undefined;
    if (target) ts = await target.stats().catch(() => undefined);

    // ---- results ----
    let delivered = 0;
    let duplicates = 0;
    let sendFailed = 0;
    let warmupLost = 0;
    for (let s = 0; s < total; s++) {
      if (s < measuredFrom) {
        if (!recv[s]) warmupLost++;
        continue;
      }
      if (recv[s]) delivered++;
      if (recv[s]! > 1) duplicates += recv[s]! - 1;
      if (failed[s]) sendFailed++;
    }
    const sorted = (a: Float64Array, n: number) => a.subarray(0, n).sort();
    const L = sorted(lat, nLat);
    const A = sorted(ackLat, nAck);
    const G = sorted(lag, nLag);
    return {
      bench: 'load',
      target: o.target,
      store: o.target === 'server' ? (o.url ? 'external' : o.store) : null,
      pairs: o.pairs,
      offered_rate: o.rate,
      duration_s: o.durationS,
      size: o.size,
      sent: measured,
      delivered,
      delivered_per_s: Math.round((delivered / o.durationS) * 10) / 10,
      lost: measured - delivered,
      duplicates,
      p50_ms: r2(pct(L, 0.5)),
      p99_ms: r2(pct(L, 0.99)),
      max_ms: r2(pct(L, 1)),
      acks_p50_ms: o.target === 'server' ? r2(pct(A, 0.5)) : null,
      acks_p99_ms: o.target === 'server' ? r2(pct(A, 0.99)) : null,
      node: process.version,
      cpus: os.availableParallelism(),
      date: new Date().toISOString(),
      warmup_s: o.warmupS,
      thread: o.url ? 'external' : o.thread,
      send_failed: sendFailed,
      warmup_lost: warmupLost,
      misrouted,
      errors,
      unexpected_closes: closes,
      gen_lag_p99_ms: r2(pct(G, 0.99)),
      gen_lag_max_ms: r2(pct(G, 1)),
      gen_elu: r2(genU)!,
      target_elu: ts?.elu ?? null,
      target_eld_p99_ms: ts?.eld_p99_ms ?? null,
      target_eld_max_ms: ts?.eld_max_ms ?? null,
      target_heap_peak_mb: ts && o.thread === 'worker' ? ts.heap_peak_mb : null,
      process_rss_peak_mb: ts?.rss_peak_mb ?? null,
      setup_s: r2(setupS)!,
      cpu: cpu && {
        ...cpu,
        // The two threads' busy time (ELU x window) per message, next to the processes' CPU time.
        us_per_msg: {
          ...cpu.us_per_msg,
          gen_thread: Math.round(((genU * cpu.window_s * 1e6) / measured) * 10) / 10,
          target_thread: ts?.elu == null ? null : Math.round(((ts.elu * cpu.window_s * 1e6) / measured) * 10) / 10,
        },
      },
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const c of cleanups.splice(0).reverse()) {
      await c().catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = (line: string) => process.stderr.write(`[load] ${line}\n`);
  let opts: LoadOptions | 'help';
  try {
    opts = parseLoadArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench/load.ts: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // Bounded: setup, the run, the drain and teardown all fit well inside this.
  const budgetMs = (180 + opts.warmupS + opts.durationS + DRAIN_MS / 1000 + 60) * 1000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench/load.ts: did not finish within ${budgetMs / 1000} s; giving up\n`);
    process.exit(3);
  }, budgetMs);
  try {
    const result = await runLoad(opts, log);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = 0;
  } catch (err) {
    process.stderr.write(`bench/load.ts failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
  // Everything is closed by now; if a stray handle keeps the loop alive, do not hang.
  setTimeout(() => {
    process.stderr.write('bench/load.ts: a handle stayed open after teardown; exiting\n');
    process.exit(process.exitCode ?? 0);
  }, 5000).unref();
}

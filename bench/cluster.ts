/**
 * Multi-node throughput: the open-loop load of bench/load.ts against 1, 2, 3
 * ... real sync-server node processes sharing one Postgres database and one
 * Redis (as `pnpm cluster` runs them). Users are registered and DMs opened
 * through the round-robin proxy; then each client connects DIRECTLY to a
 * node chosen so that the two members of a pair sit on different nodes when
 * N > 1 (pair p: member 0 on node p mod N, member 1 on node (p+1) mod N), so
 * every message is committed by the sender's node and reaches the recipient
 * through Redis (route lookup + one PUBLISH on the recipient node's channel).
 * With N = 1 the node still runs with Redis, but every delivery is local.
 *
 *   npx tsx bench/cluster.ts [--nodes 1,2,3] [--pairs 50] [--rate 1000] [--duration 10] [--warmup 2]
 *     [--size 1024] [--sweep 500,1000,2000,3000,4000] [--step-duration 5] [--max-p99 100] [--server worktree|HEAD]
 *
 * For each N: a fresh database tidings_bench_<pid>_<random> (dropped after),
 * REDIS_URL (default redis://127.0.0.1:6379) with a unique REDIS_PREFIX (its
 * keys deleted after). One measured run at --rate, then (with --sweep) a
 * ladder of offered rates on the same nodes and sockets: it stops at the
 * first rate that fails p99 < --max-p99 ms with 0 lost and 0 duplicates
 * (a failing step is rerun once), then bisects once. Sequence numbers are
 * never reused between runs on the same sockets, so a late message from one
 * run cannot count in the next.
 *
 * Progress goes to stderr; exactly one JSON line goes to stdout.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MAX_BODY_BYTES, type ConversationId } from '@tidings/shared';
import { startProxy } from '../packages/sync-server/src/cluster/proxy.js';
import { UsageError, num, parseFlags } from './args.js';
import { MIN_BODY_BYTES, ServerPeer, openDm, pool, register, type Account, type PeerEvents } from './load-client.js';
import { DEFAULT_DATABASE_URL } from './target.js';
import { cpuUse, serverSnapshot, snapshot, startCluster, type Cluster, type CpuSnapshot, type CpuUse } from './cluster-nodes.js';
import { procRssMb } from './cpu.js';

const USAGE = `usage: tsx bench/cluster.ts [--nodes 1,2,3] [--pairs N] [--rate MSGS_PER_S] [--duration S] [--warmup S] [--size BYTES]
                            [--sweep R1,R2,...] [--step-duration S] [--max-p99 MS]
  --nodes    node counts to run, each with fresh nodes and a fresh database (default 1,2,3)
  --pairs    DM pairs, 2 users each (default 50)      --rate     offered msgs/s for the main run (default 1000)
  --duration measured seconds (default 10)            --warmup   unmeasured seconds first (default 2)
  --size     body bytes (default 1024)                --sweep    increasing offered rates to try after the main run (default: none)
  --step-duration  measured seconds per sweep step (default 5, with 1 s warm-up)
  --max-p99  pass threshold for a sweep step (default 100 ms; also needs 0 lost, 0 duplicates)
  --server   worktree (default: run packages/sync-server as it is on disk) or a git revision such as HEAD
             (run the nodes from a read-only git archive of that commit, when the tree is being edited)
  env DATABASE_URL (admin URL, default ${DEFAULT_DATABASE_URL}), REDIS_URL (default redis://127.0.0.1:6379)`;

interface Options {
  readonly nodes: number[];
  readonly pairs: number;
  readonly rate: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly size: number;
  readonly sweep: number[];
  readonly stepS: number;
  readonly maxP99: number;
  readonly adminUrl: string;
  readonly redisUrl: string;
  /** Run the nodes from this working tree, or from a snapshot of a commit. */
  readonly server: string;
}

function parseArgs(argv: readonly string[]): Options | 'help' {
  const f = parseFlags(argv, ['nodes', 'pairs', 'rate', 'duration', 'warmup', 'size', 'sweep', 'step-duration', 'max-p99', 'server']);
  if (f.has('help')) return 'help';
  const list = (name: string, raw: string, integer: boolean, max: number) => {
    const v = raw.split(',').map(Number);
    if (v.length === 0 || v.length > 30 || v.some((x) => !Number.isFinite(x) || x <= 0 || x > max || (integer && !Number.isInteger(x)))) {
      throw new UsageError(`--${name} must be a comma list of ${integer ? 'integers' : 'numbers'} in (0, ${max}], got ${JSON.stringify(raw)}`);
    }
    return v;
  };
  const nodes = list('nodes', f.get('nodes') ?? '1,2,3', true, 16);
  const sweep = f.has('sweep') ? list('sweep', f.get('sweep')!, false, 200_000) : [];
  if (sweep.some((r, i) => i > 0 && r <= sweep[i - 1]!)) throw new UsageError('--sweep rates must increase');
  const adminUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  if (!/^postgres(ql)?:\/\//.test(adminUrl)) throw new UsageError(`DATABASE_URL must be a postgres:// URL, got ${JSON.stringify(adminUrl)}`);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl)) throw new UsageError(`REDIS_URL must be a redis:// URL, got ${JSON.stringify(redisUrl)}`);
  const o: Options = {
    nodes,
    pairs: num(f, 'pairs', 50, 1, 5000, true),
    rate: num(f, 'rate', 1000, 0.1, 200_000),
    durationS: num(f, 'duration', 10, 0.5, 3600),
    warmupS: num(f, 'warmup', 2, 0, 600),
    size: num(f, 'size', 1024, MIN_BODY_BYTES, MAX_BODY_BYTES, true),
    sweep,
    stepS: num(f, 'step-duration', 5, 1, 600),
    maxP99: num(f, 'max-p99', 100, 1, 60_000),
    adminUrl,
    redisUrl,
    server: f.get('server') ?? 'worktree',
  };
  if (!/^(worktree|[A-Za-z0-9_.~^/-]{1,80})$/.test(o.server)) throw new UsageError(`--server must be worktree or a git revision, got ${JSON.stringify(o.server)}`);
  const totalMsgs = o.rate * (o.durationS + o.warmupS) + o.sweep.reduce((s, r) => s + 2 * r * (o.stepS + 1), 0);
  if (totalMsgs > 2 ** 31) throw new UsageError('too many messages for one run; shorten it');
  return o;
}

const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
const DRAIN_MS = 5000;
const PING_EVERY_MS = 15_000;

function pct(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
const r2 = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);

/** Routes socket events to whichever run is current (the sockets outlive runs). */
class Dispatch implements PeerEvents {
  current: PeerEvents | undefined;
  closes = 0;
  delivered(recipient: number, seq: number, scheduledMs: number, now: number): void {
    this.current?.delivered(recipient, seq, scheduledMs, now);
  }
  acked(seq: number, now: number): void {
    this.current?.acked(seq, now);
  }
  error(what: string): void {
    this.current?.error(what);
  }
  closed(peer: number, code: number, reason: string): void {
    if (++this.closes <= 5) log(`peer ${peer} socket closed during the run: ${code} ${reason}`);
    this.current?.closed(peer, code, reason);
  }
}

interface Rig {
  readonly cluster: Cluster;
  readonly peers: ServerPeer[];
  readonly dispatch: Dispatch;
  readonly pairs: number;
  /** Next unused sequence number on these sockets. */
  seqBase: number;
}

interface RunResult {
  readonly offered_rate: number;
  readonly duration_s: number;
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
  readonly send_failed: number;
  readonly warmup_lost: number;
  readonly misrouted: number;
  /** Deliveries of sequence numbers from an earlier run on the same sockets (late stragglers). */
  readonly stale: number;
  readonly errors: Record<string, number>;
  readonly unexpected_closes: number;
  readonly gen_lag_p99_ms: number | null;
  readonly gen_lag_max_ms: number | null;
  /** CPU over the measured window (from the end of warm-up to the last scheduled send). */
  readonly cpu: CpuUse | null;
  readonly drain_s: number;
}

/** One open-loop run, as in bench/load.ts: scheduled sends, latency from the scheduled time. */
async function runOnce(rig: Rig, rate: number, durationS: number, warmupS: number, label: string): Promise<RunResult> {
  const { peers, pairs, cluster } = rig;
  const base = rig.seqBase;
  const interval = 1000 / rate;
  const total = Math.floor(rate * (durationS + warmupS));
  rig.seqBase += total;
  const measuredFrom = Math.min(total, Math.ceil((warmupS * 1000) / interval - 1e-9));
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
  let nAcked = 0;
  let receivedAll = 0;
  let misrouted = 0;
  let stale = 0;
  let closes = 0;
  const errors: Record<string, number> = {};
  let window: number[] = [];
  const route = (i: number) => {
    const pair = i % pairs;
    const dir = Math.floor(i / pairs) % 2;
    return { from: 2 * pair + dir, to: 2 * pair + 1 - dir };
  };
  let t0 = 0;
  const scheduled = (i: number) => t0 + i * interval;

  rig.dispatch.current = {
    delivered(recipient, seq, scheduledMs, now) {
      const i = seq - base;
      if (i < 0) return void stale++;
      if (!(i < total)) return void misrouted++;
      const { from, to } = route(i);
      if (recipient !== to) {
        if (recipient !== from) misrouted++; // the sender's own device gets its entry too: ignore that echo
        return;
      }
      const n = recv[i]!;
      if (n < 255) recv[i] = n + 1;
      if (n > 0) return;
      receivedAll++;
      if (i >= measuredFrom) {
        lat[nLat++] = now - scheduledMs;
        window.push(now - scheduledMs);
      }
    },
    acked(seq, now) {
      const i = seq - base;
      if (!(i >= 0 && i < total) || acked[i]) return;
      acked[i] = 1;
      nAcked++;
      if (i >= measuredFrom) ackLat[nAck++] = now - scheduled(i);
    },
    error(what) {
      errors[what] = (errors[what] ?? 0) + 1;
    },
    closed() {
      closes++;
    },
  };

  let next = 0;
  let startSnap: Promise<CpuSnapshot> | undefined;
  let endSnap: Promise<CpuSnapshot> | undefined;
  t0 = performance.now() + 20;
  const markAt = scheduled(measuredFrom);
  const sendDue = () => {
    const now = performance.now();
    if (!startSnap && now >= markAt) startSnap = snapshot(cluster, () => performance.now());
    while (next < total && scheduled(next) <= now) {
      const i = next++;
      const { from, to } = route(i);
      if (!peers[from]!.send(base + i, to, scheduled(i))) failed[i] = 1;
      if (i >= measuredFrom) lag[nLag++] = now - scheduled(i);
    }
  };
  const progress = setInterval(() => {
    const el = (performance.now() - t0) / 1000;
    const w = Float64Array.from(window).sort();
    window = [];
    log(`${label} t=${el.toFixed(0).padStart(3)}s sent=${next} received=${receivedAll} acked=${nAcked} p99(last 1s)=${w.length ? pct(w, 0.99)!.toFixed(1) + 'ms' : '-'}${Object.keys(errors).length ? ` errors=${JSON.stringify(errors)}` : ''}`);
  }, 1000);
  try {
    await new Promise<void>((resolve) => {
      const tick = () => {
        sendDue();
        if (next >= total) return resolve();
        setTimeout(tick, Math.max(0, Math.min(1, scheduled(next) - performance.now())));
      };
      setTimeout(tick, Math.max(0, t0 - performance.now()));
    });
    endSnap = snapshot(cluster, () => performance.now());
    const sentAll = next - failed.reduce((s, v) => s + v, 0);
    const drainStart = performance.now();
    while (performance.now() - drainStart < DRAIN_MS && (receivedAll < sentAll || nAcked < sentAll)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const drainS = (performance.now() - drainStart) / 1000;
    const [a, b] = await Promise.all([startSnap, endSnap]);

    let delivered = 0;
    let duplicates = 0;
    let sendFailed = 0;
    let warmupLost = 0;
    for (let i = 0; i < total; i++) {
      if (i < measuredFrom) {
        if (!recv[i]) warmupLost++;
        continue;
      }
      if (recv[i]) delivered++;
      if (recv[i]! > 1) duplicates += recv[i]! - 1;
      if (failed[i]) sendFailed++;
    }
    const L = lat.subarray(0, nLat).sort();
    const A = ackLat.subarray(0, nAck).sort();
    const G = lag.subarray(0, nLag).sort();
    return {
      offered_rate: rate,
      duration_s: durationS,
      sent: measured,
      delivered,
      delivered_per_s: Math.round((delivered / durationS) * 10) / 10,
      lost: measured - delivered,
      duplicates,
      p50_ms: r2(pct(L, 0.5)),
      p99_ms: r2(pct(L, 0.99)),
      max_ms: r2(pct(L, 1)),
      acks_p50_ms: r2(pct(A, 0.5)),
      acks_p99_ms: r2(pct(A, 0.99)),
      send_failed: sendFailed,
      warmup_lost: warmupLost,
      misrouted,
      stale,
      errors,
      unexpected_closes: closes,
      gen_lag_p99_ms: r2(pct(G, 0.99)),
      gen_lag_max_ms: r2(pct(G, 1)),
      cpu: a && b ? cpuUse(a, b) : null,
      drain_s: Math.round(drainS * 100) / 100,
    };
  } finally {
    clearInterval(progress);
    rig.dispatch.current = undefined;
  }
}

const passes = (r: RunResult, maxP99: number) => r.lost === 0 && r.duplicates === 0 && r.p99_ms !== null && r.p99_ms < maxP99;
const brief = (r: RunResult) => ({
  rate: r.offered_rate,
  delivered_per_s: r.delivered_per_s,
  lost: r.lost,
  duplicates: r.duplicates,
  p50_ms: r.p50_ms,
  p99_ms: r.p99_ms,
  max_ms: r.max_ms,
  gen_lag_p99_ms: r.gen_lag_p99_ms,
  nodes_cpu_ms_per_s: r.cpu?.nodes_ms_per_s ?? null,
  machine_busy: r.cpu?.machine_busy ?? null,
  errors: r.errors,
});

async function sweepRates(rig: Rig, o: Options, n: number) {
  const steps: (ReturnType<typeof brief> & { pass: boolean; retry?: boolean })[] = [];
  const step = async (rate: number): Promise<boolean> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      await new Promise((r) => setTimeout(r, 1000));
      const r = await runOnce(rig, rate, o.stepS, 1, `N=${n} sweep ${rate}/s${attempt ? ' (retry)' : ''}`);
      const ok = passes(r, o.maxP99);
      steps.push({ ...brief(r), pass: ok, ...(attempt ? { retry: true } : {}) });
      log(`N=${n} sweep ${rate}/s: ${ok ? 'pass' : 'FAIL'} p50 ${r.p50_ms} p99 ${r.p99_ms} lost ${r.lost} dup ${r.duplicates} gen lag p99 ${r.gen_lag_p99_ms}`);
      if (ok) return true;
    }
    return false;
  };
  let lastPass: number | null = null;
  let firstFail: number | null = null;
  for (const rate of o.sweep) {
    if (await step(rate)) lastPass = rate;
    else {
      firstFail = rate;
      break;
    }
  }
  if (firstFail !== null) {
    const lo = lastPass ?? firstFail / 2;
    const mid = Math.round(Math.sqrt(lo * firstFail));
    if (mid > lo && mid < firstFail && (await step(mid))) lastPass = mid;
  }
  return { max_rate_pass: lastPass, first_fail: firstFail, steps };
}

async function runForN(o: Options, n: number, main: string | undefined) {
  const setupStart = performance.now();
  const cluster = await startCluster({ nodes: n, adminUrl: o.adminUrl, redisUrl: o.redisUrl, log, ...(main ? { main } : {}) });
  const closers: (() => Promise<void>)[] = [cluster.close];
  const onSignal = () => {
    log('interrupted; cleaning up');
    void Promise.allSettled(closers.splice(0).reverse().map((c) => c())).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const proxy = await startProxy(cluster.nodes.map((nd) => ({ host: '127.0.0.1', port: nd.port })));
    closers.push(() => proxy.close());
    const tag = randomBytes(3).toString('hex');
    const nPeers = 2 * o.pairs;
    let t = performance.now();
    const accounts = await pool(Array.from({ length: nPeers }, (_, i) => `c${tag}_${i}`), 4, (name) => register(proxy.url, name));
    log(`N=${n}: registered ${nPeers} users through the proxy in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const convs: ConversationId[] = await pool(Array.from({ length: o.pairs }, (_, p) => p), 8, (p) => openDm(proxy.url, accounts[2 * p] as Account, accounts[2 * p + 1] as Account));
    const httpPerNode = [...proxy.counts];
    // pair p: member 0 on node p mod N, member 1 on node (p+1) mod N — different nodes whenever N > 1
    const home = (i: number) => (Math.floor(i / 2) + (i % 2)) % n;
    const dispatch = new Dispatch();
    t = performance.now();
    const peers = await pool(accounts, 16, (a, i) => ServerPeer.connect(cluster.nodes[home(i)]!.url, i, a.token, o.size, dispatch));
    closers.push(async () => void (await Promise.all(peers.map((p) => p.close()))));
    for (let p = 0; p < o.pairs; p++) {
      peers[2 * p]!.route(2 * p + 1, convs[p]!);
      peers[2 * p + 1]!.route(2 * p, convs[p]!);
    }
    const pinger = setInterval(() => peers.forEach((p) => p.ping()), PING_EVERY_MS);
    closers.push(async () => clearInterval(pinger));
    const health = await Promise.all(cluster.nodes.map((_, i) => cluster.healthz(i)));
    const crossPairs = Array.from({ length: o.pairs }, (_, p) => home(2 * p) !== home(2 * p + 1)).filter(Boolean).length;
    log(`N=${n}: ${nPeers} sockets ready in ${((performance.now() - t) / 1000).toFixed(1)} s; connections per node ${JSON.stringify(health.map((h) => h.connections))}; ${crossPairs}/${o.pairs} pairs span two nodes`);
    const setupS = (performance.now() - setupStart) / 1000;

    const rig: Rig = { cluster, peers, dispatch, pairs: o.pairs, seqBase: 0 };
    // Baseline: sockets connected, no traffic (lease renewal, route refresh, Redis subscriptions).
    const idleA = await snapshot(cluster, () => performance.now());
    await new Promise((r) => setTimeout(r, 3000));
    const idle = cpuUse(idleA, await snapshot(cluster, () => performance.now()));
    log(`N=${n}: idle for 3 s: node CPU ms/s ${JSON.stringify(idle.nodes_ms_per_s)}, machine busy ${idle.machine_busy}`);
    const appendedBefore = await Promise.all(cluster.nodes.map((_, i) => cluster.metric(i, 'tidings_log_appended_total')));
    log(`N=${n}: offering ${o.rate} msg/s for ${o.warmupS} s warm-up + ${o.durationS} s`);
    const run = await runOnce(rig, o.rate, o.durationS, o.warmupS, `N=${n}`);
    const appendedAfter = await Promise.all(cluster.nodes.map((_, i) => cluster.metric(i, 'tidings_log_appended_total')));
    const rss = cluster.nodes.map((nd) => procRssMb(nd.pid) ?? null);
    log(`N=${n}: delivered ${run.delivered_per_s}/s, p50 ${run.p50_ms} p99 ${run.p99_ms} max ${run.max_ms} ms, lost ${run.lost}, dup ${run.duplicates}, node CPU ms/s ${JSON.stringify(run.cpu?.nodes_ms_per_s)}, machine busy ${run.cpu?.machine_busy}`);
    const sweep = o.sweep.length ? await sweepRates(rig, o, n) : null;
    const rssEnd = cluster.nodes.map((nd) => procRssMb(nd.pid) ?? null);
    const alive = cluster.nodes.map((nd) => nd.proc.exitCode === null && nd.proc.signalCode === null);
    return {
      nodes: n,
      snowflake_node_ids: cluster.nodes.map((nd) => nd.nodeId),
      connections_per_node: health.map((h) => h.connections),
      cross_node_pairs: crossPairs,
      http_setup_requests_per_node: httpPerNode,
      ...run,
      idle_cpu: idle,
      appended_per_node_in_run: appendedAfter.map((v, i) => (v === undefined || appendedBefore[i] === undefined ? null : v - appendedBefore[i]!)),
      node_rss_mb_after_run: rss,
      node_rss_mb_at_end: rssEnd,
      node_log_lines: cluster.nodes.map((nd) => nd.lines.length),
      nodes_alive_at_end: alive,
      setup_s: Math.round(setupS * 10) / 10,
      sweep,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const c of closers.splice(0).reverse()) await c().catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
  }
}

let opts: Options | 'help';
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`bench/cluster.ts: ${err.message}\n${USAGE}\n`);
  process.exit(2);
}
if (opts === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const o = opts;
const perN = 240 + o.warmupS + o.durationS + DRAIN_MS / 1000 + o.sweep.length * 2 * (o.stepS + 1 + DRAIN_MS / 1000 + 1) * 1.5;
const budgetMs = perN * o.nodes.length * 1000;
const watchdog = setTimeout(() => {
  process.stderr.write(`bench/cluster.ts: did not finish within ${Math.round(budgetMs / 1000)} s; giving up\n`);
  process.exit(3);
}, budgetMs);
const started = new Date().toISOString();
const load0 = os.loadavg()[0]!;
const runs: unknown[] = [];
let serverCommit = 'worktree';
try {
  let snap: Awaited<ReturnType<typeof serverSnapshot>> | undefined;
  if (o.server !== 'worktree') {
    snap = await serverSnapshot(o.server);
    serverCommit = snap.commit;
    log(`nodes run from a snapshot of ${o.server} (${snap.commit.slice(0, 12)}) at ${snap.main}`);
  }
  try {
    for (const n of o.nodes) {
      log(`==== ${n} node(s) ====`);
      runs.push(await runForN(o, n, snap?.main));
    }
  } finally {
    await snap?.remove();
  }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'cluster',
      pairs: o.pairs,
      offered_rate: o.rate,
      duration_s: o.durationS,
      warmup_s: o.warmupS,
      size: o.size,
      sweep_rates: o.sweep,
      max_p99_ms: o.maxP99,
      server: o.server,
      server_commit: serverCommit,
      node: process.version,
      cpus: os.availableParallelism(),
      started,
      date: new Date().toISOString(),
      loadavg_start: Math.round(load0 * 100) / 100,
      loadavg_end: Math.round(os.loadavg()[0]! * 100) / 100,
      runs,
    })}\n`,
  );
  process.exitCode = 0;
} catch (err) {
  process.stderr.write(`bench/cluster.ts failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
setTimeout(() => {
  process.stderr.write('bench/cluster.ts: a handle stayed open after teardown; exiting\n');
  process.exit(process.exitCode ?? 0);
}, 5000).unref();

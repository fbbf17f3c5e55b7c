/**
 * Issue #11 target 3: `--devices` (default 20,000) idle authenticated
 * WebSocket connections on one server node, heartbeats included, and what
 * they cost the server in memory. The server runs in its own child process
 * (bench/server-child.ts), so its RSS is its own. Each device has its own
 * token (50 users registered over HTTP, the other devices inserted directly),
 * says hello, waits for `synced`, and from then on pings every
 * `--interval-ms` with a random phase, as real clients do, under the
 * server's default idle timeout. RSS is read after gc() with no sockets,
 * with every socket connected, and again after `--duration` seconds of
 * heartbeats.
 *
 * A socket is a file descriptor on both ends, so the clients run in
 * `--client-procs` child processes (each far under its fd limit) and spread
 * over `--source-addresses` loopback addresses (127.0.0.1, 127.0.0.2, ...)
 * so no address runs out of ephemeral ports. The server process can hold no
 * more sockets than its fd limit allows: where the hard limit (`ulimit -Hn`)
 * is below devices + FD_HEADROOM and cannot be raised, the run is capped there
 * and says so (`capped_by_fd_limit`).
 *
 *   npx tsx bench/connections.ts [--devices 20000] [--duration 60] [--interval-ms 15000]
 *
 * One JSON line on stdout; progress on stderr.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBench, UsageError, num, parseFlags } from './args.js';
import { pool, register } from './load-client.js';
import { r1 } from './proto-client.js';
import { cpuMsPerSec, startServerChild } from './server-child.js';
import type { ProcStats } from './server-proc.js';
import type { ConnCounts, FromConnClient, ToConnClient } from './connections-client.js';
import { DEFAULT_DATABASE_URL } from './target.js';

const USAGE = `usage: npx tsx bench/connections.ts [--devices 20000] [--users 50] [--duration 60] [--interval-ms 15000]
                                   [--client-procs 4] [--source-addresses 4] [--connect-concurrency 100] [--database-url URL]`;
/** The bar: server memory per idle authenticated connection. */
const TARGET_KIB_PER_CONNECTION = 10;
/** File descriptors the server process needs beyond its sockets (database pool, listener, stdio, IPC, epoll, files). */
const FD_HEADROOM = 100;

const log = (line: string) => process.stderr.write(`[connections] ${line}\n`);
const fdLimit = (flag: '-n' | '-Hn') => Number(spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).stdout.trim());

/** One client child process and its IPC requests. */
function startClientProc(): { proc: ChildProcess; request: <T extends FromConnClient['type']>(type: T, msg: ToConnClient, timeoutMs: number) => Promise<Extract<FromConnClient, { type: T }>>; onProgress: (fn: (n: number) => void) => void } {
  const proc = fork(fileURLToPath(new URL('./connections-client.ts', import.meta.url)), [], {
    execArgv: ['--import', import.meta.resolve('tsx/esm')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters: { type: string; resolve: (m: FromConnClient) => void; reject: (e: Error) => void }[] = [];
  let progress: (n: number) => void = () => {};
  const fail = (e: Error) => waiters.splice(0).forEach((w) => w.reject(e));
  proc.on('message', (m: FromConnClient) => {
    if (m.type === 'progress') return progress(m.connected);
    if (m.type === 'error') return fail(new Error(`client process: ${m.message}`));
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
  });
  proc.on('exit', (code) => fail(new Error(`client process exited (code ${code})`)));
  return {
    proc,
    onProgress: (fn) => void (progress = fn),
    request: (type, msg, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`client process: no ${type} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m as never)), reject: (e) => (clearTimeout(timer), reject(e)) });
        proc.send(msg);
      }),
  };
}

const sum = (cs: readonly ConnCounts[], k: 'connected' | 'pings' | 'pongs' | 'closes' | 'errors') => cs.reduce((a, c) => a + c[k], 0);

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['devices', 'users', 'duration', 'interval-ms', 'client-procs', 'source-addresses', 'connect-concurrency', 'database-url']);
  if (flags.has('help')) return void process.stdout.write(USAGE + '\n');
  const wanted = num(flags, 'devices', 20_000, 1, 200_000, true);
  const users = Math.min(wanted, num(flags, 'users', 50, 1, 10_000, true));
  const durationS = num(flags, 'duration', 60, 1, 3600);
  const intervalMs = num(flags, 'interval-ms', 15_000, 100, 3_600_000, true);
  const procs = num(flags, 'client-procs', 4, 1, 64, true);
  const sources = num(flags, 'source-addresses', 4, 1, 250, true);
  const concurrency = num(flags, 'connect-concurrency', 100, 1, 5000, true);
  const adminUrl = flags.get('database-url') ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  // The server child inherits this process's limit; it cannot hold more sockets than that.
  const serverFds = fdLimit('-n');
  const devices = Math.min(wanted, serverFds - FD_HEADROOM);
  if (devices < wanted) log(`fd limit ${serverFds} (hard ${fdLimit('-Hn')}) caps the server at ${devices} sockets, not ${wanted}`);
  if (Math.ceil(devices / procs) > serverFds - FD_HEADROOM) throw new UsageError(`--client-procs ${procs} leaves more than ${serverFds - FD_HEADROOM} sockets per client process`);

  const t0 = performance.now();
  const server = await startServerChild({ store: 'postgres', adminUrl, redisUrl: undefined, log });
  const clients = Array.from({ length: procs }, () => startClientProc());
  try {
    const accounts = await pool(Array.from({ length: users }, (_, i) => i), 8, (i) => register(server.url, `conn${i}`));
    const seeded = devices > users ? await server.seedDevices(accounts.map((a) => String(a.userId)), devices - users) : [];
    const tokens = [...accounts.map((a) => a.token), ...seeded.map((d) => d.token)];
    log(`server pid ${server.pid}; ${users} users, ${tokens.length} device tokens; ${procs} client processes, ${sources} source addresses`);

    await sleep(2000);
    const before = await server.stats({ gc: true, reset: true });
    log(`no sockets: rss ${r1(before.rssKiB / 1024)} MiB`);

    const tConn = performance.now();
    const progress = new Array<number>(procs).fill(0);
    let shown = 0;
    clients.forEach((c, k) =>
      c.onProgress((n) => {
        progress[k] = n;
        const total = progress.reduce((a, b) => a + b, 0);
        if (total - shown >= 2000) log(`connected ${(shown = total)}/${tokens.length} (${r1((performance.now() - tConn) / 1000)} s)`);
      }),
    );
    const addresses = Array.from({ length: sources }, (_, i) => `127.0.0.${i + 1}`);
    await Promise.all(
      clients.map((c, k) =>
        c.request('connected', { cmd: 'connect', url: server.url, tokens: tokens.filter((_, i) => i % procs === k), sourceAddresses: addresses, intervalMs, concurrency: Math.ceil(concurrency / procs) }, 1_800_000),
      ),
    );
    const connectS = (performance.now() - tConn) / 1000;
    const counts = async () => Promise.all(clients.map(async (c) => (await c.request('counts', { cmd: 'counts' }, 60_000)).counts));
    await sleep(3000);
    const connected: ProcStats = await server.stats({ gc: true, reset: true });
    const c0 = await counts();
    log(`${connected.connections} sockets in ${r1(connectS)} s: rss ${r1(connected.rssKiB / 1024)} MiB; heartbeats for ${durationS} s`);
    for (let left = durationS; left > 0; left -= 15) {
      await sleep(Math.min(15, left) * 1000);
      const c = await counts();
      log(`heartbeats: ${sum(c, 'pings') - sum(c0, 'pings')} pings, ${sum(c, 'pongs') - sum(c0, 'pongs')} pongs, ${sum(c, 'closes')} closes`);
    }
    const after = await server.stats({ gc: true, reset: true });
    await Promise.all(clients.map((c) => c.proc.send({ cmd: 'stop-pings' } satisfies ToConnClient)));
    // Pongs still in flight when the pings stop: wait for them (bounded), then count what never came.
    let c1 = await counts();
    for (let i = 0; i < 60 && sum(c1, 'pongs') < sum(c1, 'pings'); i++) {
      await sleep(500);
      c1 = await counts();
    }
    const n = sum(c1, 'connected');
    const perConn = (s: ProcStats) => r1((s.rssKiB - before.rssKiB) / Math.max(1, n));
    const out = {
      bench: 'connections',
      store: 'postgres',
      devices_wanted: wanted,
      devices,
      capped_by_fd_limit: devices < wanted,
      server_fd_limit: serverFds,
      connected: connected.connections,
      connected_after_heartbeats: after.connections,
      users,
      duration_s: durationS,
      interval_ms: intervalMs,
      server_rss_mib_before: r1(before.rssKiB / 1024),
      server_rss_mib_connected: r1(connected.rssKiB / 1024),
      server_rss_mib_after_heartbeats: r1(after.rssKiB / 1024),
      rss_kib_per_connection: perConn(connected),
      rss_kib_per_connection_after_heartbeats: perConn(after),
      heap_external_kib_per_connection: r1((after.heapUsedKiB + after.externalKiB - before.heapUsedKiB - before.externalKiB) / Math.max(1, n)),
      target_kib_per_connection: TARGET_KIB_PER_CONNECTION,
      memory_target_met: Math.max(perConn(connected), perConn(after)) < TARGET_KIB_PER_CONNECTION,
      heartbeat_server_cpu_ms_per_s: r1(cpuMsPerSec(connected, after)),
      heartbeat_server_elu: after.elu,
      heartbeat_server_eld_max_ms: after.eldMaxMs,
      pings_per_s: r1((sum(c1, 'pings') - sum(c0, 'pings')) / durationS),
      pongs_missing: sum(c1, 'pings') - sum(c1, 'pongs'),
      unexpected_closes: sum(c1, 'closes'),
      errors: sum(c1, 'errors'),
      error_samples: c1.flatMap((c) => c.errorSamples).slice(0, 5),
      connect_s: r1(connectS),
      connections_per_s: r1(n / connectS),
      client_procs: procs,
      source_addresses: sources,
      total_s: r1((performance.now() - t0) / 1000),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: os.loadavg().map(r1),
      date: new Date().toISOString(),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    log('closing sockets');
    await Promise.allSettled(clients.map((c) => c.request('closed', { cmd: 'close' }, 120_000)));
    for (const c of clients) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await server.close();
  }
}

runBench('connections', USAGE, main);

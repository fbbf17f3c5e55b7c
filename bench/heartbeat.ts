/**
 * Heartbeat cost: `--devices` authenticated sockets idle on the server, first
 * with no traffic at all and then each sending `ping` every `--interval-ms`
 * (random phase, like real clients). Reports the SERVER process's CPU time per
 * second of wall time in each phase (the server runs in a child process, so
 * the load generator's CPU is not mixed in), the difference (the heartbeat
 * cost itself), and server RSS before/after connecting (KiB per connection).
 * Phases alternate (idle, ping, idle, ping, ...) `--repeats` times, because the
 * machine is noisy.
 *
 *   npx tsx bench/heartbeat.ts [--devices 5000] [--interval-ms 15000] [--duration 30] [--redis]
 *
 * One JSON line on stdout; progress on stderr.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBench, choice, num, parseFlags } from './args.js';
import { pool, register, type Account } from './load-client.js';
import { connectClient, pct, postJson, r1, type ProtoClient } from './proto-client.js';
import { cpuMsPerSec, redisCpuSeconds, startServerChild, type ServerChild } from './server-child.js';
import type { ProcStats } from './server-proc.js';
import { DEFAULT_DATABASE_URL } from './target.js';

const USAGE = `usage: npx tsx bench/heartbeat.ts [options]
  --devices N              connected devices (default 5000)
  --users N                users they belong to (default 50; devices are spread over them)
  --interval-ms MS         ping interval per device (default 15000)
  --duration S             length of each measured phase (default 30)
  --repeats N              idle/ping phase pairs (default 2)
  --setup sql|sessions     extra devices: inserted directly (default, fast) or via POST /v1/sessions (one scrypt each)
  --store pglite|postgres  store (default postgres)
  --redis                  run the server with REDIS_URL (the Redis switchboard)
  --redis-url URL          (default redis://127.0.0.1:6379)
  --database-url URL       admin URL for --store postgres (default $DATABASE_URL or ${DEFAULT_DATABASE_URL})
  --connect-concurrency N  sockets opened in parallel (default 100)`;

const log = (line: string) => process.stderr.write(`[heartbeat] ${line}\n`);

interface Phase {
  kind: 'idle' | 'ping';
  server_cpu_ms_per_s: number;
  server_elu: number;
  server_eld_max_ms: number;
  pings_per_s: number;
  pongs_per_s: number;
  generator_cpu_ms_per_s: number;
  redis_cpu_ms_per_s: number | null;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2).map((a) => (a === '--redis' ? '--redis=1' : a));
  const flags = parseFlags(argv, ['devices', 'users', 'interval-ms', 'duration', 'repeats', 'setup', 'store', 'redis', 'redis-url', 'database-url', 'connect-concurrency']);
  if (flags.has('help')) return void process.stdout.write(USAGE + '\n');
  const devices = num(flags, 'devices', 5000, 1, 100_000, true);
  const users = Math.min(devices, num(flags, 'users', 50, 1, 10_000, true));
  const intervalMs = num(flags, 'interval-ms', 15_000, 10, 3_600_000, true);
  const durationS = num(flags, 'duration', 30, 1, 3600);
  const repeats = num(flags, 'repeats', 2, 1, 20, true);
  const setup = choice(flags, 'setup', ['sql', 'sessions'] as const, 'sql');
  const store = choice(flags, 'store', ['pglite', 'postgres'] as const, 'postgres');
  const concurrency = num(flags, 'connect-concurrency', 100, 1, 2000, true);
  const redis = flags.has('redis');
  const redisUrl = redis ? (flags.get('redis-url') ?? 'redis://127.0.0.1:6379') : undefined;
  const adminUrl = flags.get('database-url') ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const fdLimit = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  log(`fd limit (ulimit -n) ${fdLimit}`);

  const errors: string[] = [];
  let unexpectedCloses = 0;
  const onError = (what: string) => {
    if (errors.length < 20) errors.push(what);
    if (errors.length <= 5) log(`error: ${what}`);
  };
  const t0 = performance.now();
  // Idle timeout raised to 10 min so the no-ping phases do not get sockets swept (default 60 s).
  const server: ServerChild = await startServerChild({ store, adminUrl, redisUrl, idleTimeoutMs: 600_000, log });
  const clients: ProtoClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    log(`server pid ${server.pid} at ${server.url} (store ${store}${redis ? `, redis prefix ${server.redisPrefix}` : ''})`);
    const tSetup = performance.now();
    const accounts: Account[] = await pool(
      Array.from({ length: users }, (_, i) => i),
      8,
      (i) => register(server.url, `hb${i}`),
    );
    let tokens = accounts.map((a) => a.token);
    const extra = devices - users;
    if (extra > 0 && setup === 'sql') {
      const seeded = await server.seedDevices(accounts.map((a) => String(a.userId)), extra);
      tokens = tokens.concat(seeded.map((d) => d.token));
    } else if (extra > 0) {
      let n = 0;
      const more = await pool(Array.from({ length: extra }, (_, i) => i), 8, async (i) => {
        const r = await postJson<{ token: string }>(server.url, '/v1/sessions', {
          username: `hb${i % users}`,
          password: 'bench password 1234',
          device_name: `bench device ${i}`,
        });
        if (++n % 250 === 0) log(`signed in ${n}/${extra}`);
        return r.token;
      });
      tokens = tokens.concat(more);
    }
    const setupS = (performance.now() - tSetup) / 1000;
    log(`${users} users, ${tokens.length} device tokens in ${r1(setupS)} s (${setup})`);

    await sleep(2000);
    const base = await server.stats({ gc: true, reset: true });
    await sleep(5000);
    const baseEnd = await server.stats({ gc: false, reset: true });
    const emptyCpu = cpuMsPerSec(base, baseEnd);
    log(`no sockets: rss ${Math.round(base.rssKiB / 1024)} MiB, cpu ${r1(emptyCpu)} ms/s`);

    // ---- connect ----
    let pongs = 0;
    let otherFrames = 0;
    const tConn = performance.now();
    let n = 0;
    await pool(tokens, concurrency, async (token, i) => {
      const c = await connectClient(server.url, token, {
        frame: (f) => {
          if (f.t === 'pong') pongs++;
          else otherFrames++;
        },
        error: onError,
        closed: (code, reason) => (unexpectedCloses++, onError(`device ${i} closed ${code} ${reason}`)),
      });
      clients.push(c);
      if (++n % 500 === 0 || n === tokens.length) log(`connected ${n}/${tokens.length} (${r1((performance.now() - tConn) / 1000)} s)`);
    });
    const connectS = (performance.now() - tConn) / 1000;
    await sleep(3000);
    const conn = await server.stats({ gc: true, reset: true });
    const kibPerConn = (conn.rssKiB - base.rssKiB) / clients.length;
    const heapKibPerConn = (conn.heapUsedKiB + conn.externalKiB - base.heapUsedKiB - base.externalKiB) / clients.length;
    log(`${conn.connections} sockets: rss ${Math.round(conn.rssKiB / 1024)} MiB (+${r1(kibPerConn)} KiB/conn, heap+external +${r1(heapKibPerConn)} KiB/conn)`);

    // ---- phases ----
    let pingsSent = 0;
    let nonce = 0;
    const phases: Phase[] = [];
    const measure = async (kind: Phase['kind']) => {
      const a = await server.stats({ reset: true });
      const g0 = process.cpuUsage();
      const gt0 = performance.now();
      const r0 = redisUrl ? redisCpuSeconds(redisUrl) : undefined;
      const p0 = pingsSent;
      const q0 = pongs;
      await sleep(durationS * 1000);
      const b: ProcStats = await server.stats({ reset: true });
      const g = process.cpuUsage(g0);
      const wallS = (performance.now() - gt0) / 1000;
      const r1_ = redisUrl ? redisCpuSeconds(redisUrl) : undefined;
      const ph: Phase = {
        kind,
        server_cpu_ms_per_s: r1(cpuMsPerSec(a, b)),
        server_elu: b.elu,
        server_eld_max_ms: b.eldMaxMs,
        pings_per_s: r1((pingsSent - p0) / wallS),
        pongs_per_s: r1((pongs - q0) / wallS),
        generator_cpu_ms_per_s: r1((g.user + g.system) / 1000 / wallS),
        redis_cpu_ms_per_s: r0 !== undefined && r1_ !== undefined ? r1(((r1_ - r0) * 1000) / wallS) : null,
      };
      phases.push(ph);
      log(`${kind}: server ${ph.server_cpu_ms_per_s} ms CPU/s (elu ${ph.server_elu}, longest block ${ph.server_eld_max_ms} ms), ` +
        `${ph.pings_per_s} pings/s, ${ph.pongs_per_s} pongs/s, generator ${ph.generator_cpu_ms_per_s} ms/s` +
        (ph.redis_cpu_ms_per_s !== null ? `, redis ${ph.redis_cpu_ms_per_s} ms/s` : ''));
    };
    const startPings = () => {
      for (const c of clients) {
        timers.push(
          setTimeout(() => {
            const tick = () => {
              if (c.send({ t: 'ping', nonce: ++nonce })) pingsSent++;
            };
            tick();
            timers.push(setInterval(tick, intervalMs));
          }, Math.random() * intervalMs),
        );
      }
    };
    const stopPings = () => {
      for (const t of timers.splice(0)) clearTimeout(t);
    };
    for (let i = 0; i < repeats; i++) {
      await measure('idle');
      startPings();
      await measure('ping');
      stopPings();
    }
    const end = await server.stats({ gc: true, reset: true });

    const idle = phases.filter((p) => p.kind === 'idle').map((p) => p.server_cpu_ms_per_s);
    const ping = phases.filter((p) => p.kind === 'ping').map((p) => p.server_cpu_ms_per_s);
    const pingRate = pct(phases.filter((p) => p.kind === 'ping').map((p) => p.pings_per_s), 50);
    const idleMed = pct(idle, 50);
    const pingMed = pct(ping, 50);
    const out = {
      bench: 'heartbeat',
      store,
      switchboard: redis ? 'redis' : 'local',
      devices,
      connected: conn.connections,
      users,
      interval_ms: intervalMs,
      duration_s: durationS,
      repeats,
      server_cpu_ms_per_s_no_sockets: r1(emptyCpu),
      server_cpu_ms_per_s_idle: r1(idleMed),
      server_cpu_ms_per_s_ping: r1(pingMed),
      heartbeat_cpu_ms_per_s: r1(pingMed - idleMed),
      pings_per_s: pingRate,
      heartbeat_cpu_us_per_ping: r1(((pingMed - idleMed) * 1000) / pingRate),
      server_rss_mb_before: Math.round(base.rssKiB / 1024),
      server_rss_mb_connected: Math.round(conn.rssKiB / 1024),
      server_rss_mb_end: Math.round(end.rssKiB / 1024),
      rss_kib_per_connection: r1(kibPerConn),
      heap_external_kib_per_connection: r1(heapKibPerConn),
      phases,
      pongs_missing: pingsSent - pongs,
      non_pong_frames_received: otherFrames,
      errors: errors.length,
      error_samples: errors.slice(0, 5),
      unexpected_closes: unexpectedCloses,
      server_connections_end: end.connections,
      setup_s: r1(setupS),
      setup_devices: setup,
      connect_s: r1(connectS),
      fd_limit: fdLimit,
      total_s: r1((performance.now() - t0) / 1000),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: os.loadavg().map(r1),
      date: new Date().toISOString(),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    for (const t of timers.splice(0)) clearTimeout(t);
    log('closing sockets');
    await pool(clients, 500, (c) => c.close());
    await server.close();
  }
}

runBench('heartbeat', USAGE, main);

/**
 * Child-process entry for fanout-group.ts and heartbeat.ts: runs one sync
 * server in its own process (so its CPU time and RSS are its own, not mixed
 * with the load generator's) and answers the parent over IPC.
 * Spec comes from env BENCH_SERVER_SPEC (JSON). Start it with server-child.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DEFAULTS, startServer } from '@tidings/sync-server';

export interface ServerProcSpec {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string;
  readonly idleTimeoutMs: number;
  readonly logLevel: string;
}

export interface ProcStats {
  /** process.cpuUsage() of the server process, µs (all threads, incl. PGlite and libuv pool). */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  /** performance.now() in the child, ms (for rates). */
  readonly at: number;
  readonly rssKiB: number;
  readonly heapUsedKiB: number;
  readonly externalKiB: number;
  readonly connections: number;
  /** Event-loop utilisation and longest loop block since the previous `stats` with reset. */
  readonly elu: number;
  readonly eldMaxMs: number;
}

export type ToProc = { cmd: 'stats'; gc: boolean; reset: boolean } | { cmd: 'seed-devices'; userIds: string[]; count: number } | { cmd: 'close' };
export type FromProc =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'stats'; stats: ProcStats }
  | { type: 'seeded'; devices: { userId: string; token: string }[] }
  | { type: 'closed' }
  | { type: 'error'; message: string };

const send = (m: FromProc) => process.send?.(m);
if (!process.send) throw new Error('server-proc.ts must be started with an IPC channel (server-child.ts)');

try {
  const spec = JSON.parse(process.env.BENCH_SERVER_SPEC ?? '') as ServerProcSpec;
  const config = {
    ...DEFAULTS,
    port: 0,
    host: '127.0.0.1',
    dataDir: spec.dataDir,
    databaseUrl: spec.databaseUrl,
    redisUrl: spec.redisUrl,
    redisPrefix: spec.redisPrefix,
    idleTimeoutMs: spec.idleTimeoutMs,
    logLevel: spec.logLevel,
    rateLimit: false, // load from one address at rates no person sends
    sendRatePerSecond: Infinity, // nor per socket: a catch-up backlog is sealed and sent over one
  };
  const server = await startServer(config);
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  let elu = performance.eventLoopUtilization();
  let deviceSeq = 0n;
  process.on('message', (m: ToProc) => {
    void (async () => {
      if (m.cmd === 'stats') {
        // Loop figures first: the forced gc() below blocks the loop and is not the server's doing.
        const loop = { elu: Math.round(performance.eventLoopUtilization(elu).utilization * 1000) / 1000, eldMaxMs: Math.round((eld.max / 1e6) * 10) / 10 };
        const cpu = process.cpuUsage();
        if (m.gc && typeof globalThis.gc === 'function') {
          globalThis.gc();
          globalThis.gc();
        }
        const mem = process.memoryUsage();
        const stats: ProcStats = {
          cpuUserUs: cpu.user,
          cpuSystemUs: cpu.system,
          at: performance.now(),
          rssKiB: Math.round(mem.rss / 1024),
          heapUsedKiB: Math.round(mem.heapUsed / 1024),
          externalKiB: Math.round((mem.external + mem.arrayBuffers) / 1024),
          connections: server.connections(),
          ...loop,
        };
        if (m.reset) {
          elu = performance.eventLoopUtilization();
          eld.reset();
        }
        send({ type: 'stats', stats });
      } else if (m.cmd === 'seed-devices') {
        // Benchmark setup shortcut: extra devices for existing users, inserted directly
        // (a sign-in would cost one scrypt, ~0.1 s CPU, per device). Same row as insertDevice().
        const out: { userId: string; token: string }[] = [];
        const now = Date.now();
        const base = (1n << 61n) + BigInt(process.pid) * 1_000_000n;
        for (let i = 0; i < m.count; i += 500) {
          const rows: unknown[] = [];
          const values: string[] = [];
          for (let j = i; j < Math.min(m.count, i + 500); j++) {
            const userId = m.userIds[j % m.userIds.length]!;
            const token = randomBytes(32).toString('base64url');
            const id = base + ++deviceSeq;
            const k = rows.length;
            values.push(`($${k + 1}, $${k + 2}, $${k + 3}, $${k + 4}, $${k + 5})`);
            rows.push(String(id), userId, `bench device ${j}`, createHash('sha256').update(token).digest(), now);
            out.push({ userId, token });
          }
          await server.db.query(`INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES ${values.join(', ')}`, rows);
        }
        send({ type: 'seeded', devices: out });
      } else if (m.cmd === 'close') {
        await server.close();
        send({ type: 'closed' });
        setTimeout(() => process.exit(0), 100).unref();
      }
    })().catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
  send({ type: 'ready', url: server.url, pid: process.pid });
} catch (err) {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  setTimeout(() => process.exit(1), 100).unref();
}

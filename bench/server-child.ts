/**
 * Parent side of server-proc.ts: a temp data dir or a fresh Postgres database
 * (dropped afterwards), the server in a child Node process (--expose-gc, tsx
 * hooks), and IPC requests for stats, seeded devices and shutdown.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPostgres } from '@tidings/sync-server';
import type { FromProc, ProcStats, ServerProcSpec, ToProc } from './server-proc.js';

export interface ChildOptions {
  readonly store: 'pglite' | 'postgres';
  readonly adminUrl: string;
  readonly redisUrl: string | undefined;
  readonly idleTimeoutMs?: number;
  readonly logLevel?: string;
  readonly log: (line: string) => void;
}

export interface ServerChild {
  readonly url: string;
  readonly pid: number;
  readonly redisPrefix: string;
  stats(opts?: { gc?: boolean; reset?: boolean }): Promise<ProcStats>;
  seedDevices(userIds: readonly string[], count: number): Promise<{ userId: string; token: string }[]>;
  /** Stop the server, drop its database, remove its data dir, delete its Redis keys. Safe to call twice. */
  close(): Promise<void>;
}

async function adminExec(adminUrl: string, sql: string): Promise<void> {
  const db = await openPostgres({ connectionString: adminUrl, maxConnections: 1, onIdleError: () => {} });
  try {
    await db.exec(sql);
  } finally {
    await db.close();
  }
}

/** Delete the run's keys with redis-cli (best effort; they also expire on their own TTLs). */
function dropRedisKeys(url: string, prefix: string, log: (l: string) => void): void {
  const scan = spawnSync('redis-cli', ['-u', url, '--scan', '--pattern', `${prefix}*`], { encoding: 'utf8' });
  if (scan.status !== 0) return log(`redis cleanup skipped: ${scan.error?.message ?? scan.stderr}`);
  const keys = scan.stdout.split('\n').filter(Boolean);
  for (let i = 0; i < keys.length; i += 500) spawnSync('redis-cli', ['-u', url, 'del', ...keys.slice(i, i + 500)]);
}

export async function startServerChild(o: ChildOptions): Promise<ServerChild> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tidings-bench-'));
  const redisPrefix = `tidings-bench-${process.pid}-${randomBytes(3).toString('hex')}:`;
  const cleanups: (() => Promise<void>)[] = [() => rm(dataDir, { recursive: true, force: true })];
  if (o.redisUrl) {
    const url = o.redisUrl;
    cleanups.push(async () => dropRedisKeys(url, redisPrefix, o.log));
  }
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => o.log(`cleanup failed: ${String(err)}`));
  };
  let child: ChildProcess | undefined;
  try {
    let databaseUrl: string | undefined;
    if (o.store === 'postgres') {
      const name = `tidings_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
      await adminExec(o.adminUrl, `CREATE DATABASE ${name}`);
      cleanups.push(() => adminExec(o.adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      const u = new URL(o.adminUrl);
      u.pathname = `/${name}`;
      databaseUrl = u.toString();
      o.log(`created database ${name}`);
    }
    const spec: ServerProcSpec = {
      dataDir,
      databaseUrl,
      redisUrl: o.redisUrl,
      redisPrefix,
      idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
      logLevel: o.logLevel ?? 'warn',
    };
    const entry = fileURLToPath(new URL('./server-proc.ts', import.meta.url));
    const proc = fork(entry, [], {
      execArgv: ['--expose-gc', '--import', import.meta.resolve('tsx/esm')],
      env: { ...process.env, BENCH_SERVER_SPEC: JSON.stringify(spec) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = proc;
    const waiters: { type: FromProc['type']; resolve: (m: FromProc) => void; reject: (e: Error) => void }[] = [];
    let dead: Error | undefined;
    const fail = (e: Error) => {
      dead ??= e;
      for (const w of waiters.splice(0)) w.reject(e);
    };
    proc.on('message', (m: FromProc) => {
      if (m.type === 'error') return fail(new Error(`server process: ${m.message}`));
      const i = waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
    });
    proc.on('exit', (code, signal) => fail(new Error(`server process exited (code ${code}, signal ${signal})`)));
    const request = <T extends FromProc['type']>(type: T, msg: ToProc | undefined, timeoutMs: number) =>
      new Promise<Extract<FromProc, { type: T }>>((resolve, reject) => {
        if (dead) return reject(dead);
        const timer = setTimeout(() => reject(new Error(`server process: no ${type} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m as Extract<FromProc, { type: T }>)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        if (msg) proc.send(msg);
      });
    const ready = await request('ready', undefined, 120_000);
    cleanups.push(async () => {
      try {
        if (!dead) await request('closed', { cmd: 'close' }, 30_000);
      } catch (err) {
        o.log(`server close: ${String(err)}`);
      } finally {
        if (proc.exitCode === null && proc.signalCode === null) {
          const exited = new Promise<void>((r) => proc.once('exit', () => r()));
          proc.kill('SIGKILL');
          await exited;
        }
      }
    });
    let closing: Promise<void> | undefined;
    return {
      url: ready.url,
      pid: ready.pid,
      redisPrefix,
      stats: async (s = {}) => (await request('stats', { cmd: 'stats', gc: s.gc ?? false, reset: s.reset ?? false }, 60_000)).stats,
      seedDevices: async (userIds, count) => (await request('seeded', { cmd: 'seed-devices', userIds: [...userIds], count }, 120_000)).devices,
      close: () => (closing ??= cleanup()),
    };
  } catch (err) {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await cleanup();
    throw err;
  }
}

/** CPU of the server process between two stats, as ms of CPU per second of wall time. */
export function cpuMsPerSec(a: ProcStats, b: ProcStats): number {
  const cpuMs = (b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1000;
  return cpuMs / ((b.at - a.at) / 1000);
}

/** Redis server CPU seconds (user + sys) from INFO, or undefined without redis-cli. */
export function redisCpuSeconds(url: string): number | undefined {
  const r = spawnSync('redis-cli', ['-u', url, 'info', 'cpu'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(r.stdout)?.[1] ?? NaN);
  const v = get('used_cpu_user') + get('used_cpu_sys');
  return Number.isFinite(v) ? v : undefined;
}

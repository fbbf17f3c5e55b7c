/**
 * Process side of bench/cluster.ts: a fresh Postgres database (dropped
 * afterwards), a unique Redis key prefix on a shared Redis (keys deleted
 * afterwards), N real sync-server node processes (`src/main.ts`, as
 * `pnpm cluster` starts them: each leases its own Snowflake node id), and
 * CPU/RSS readings from /proc for the nodes, the database's Postgres
 * backends, Redis (INFO), this process and the whole machine.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, realpathSync, symlinkSync, mkdirSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPostgres, type SqlClient } from '@tidings/sync-server';
import { machineJiffies, procCpuMs } from './cpu.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKTREE_MAIN = path.join(ROOT, 'packages/sync-server/src/main.ts');

/**
 * A read-only copy of a commit's server (`git archive <rev>` of packages/sync-server and
 * packages/shared) with node_modules linked to the installed packages, so a benchmark
 * does not run a working tree that someone is editing. Returns main.ts and a remover.
 */
export async function serverSnapshot(rev: string): Promise<{ main: string; commit: string; remove: () => Promise<void> }> {
  const commit = spawnSync('git', ['-C', ROOT, 'rev-parse', rev], { encoding: 'utf8' }).stdout.trim();
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`cannot resolve ${rev} in ${ROOT}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'tidings-bench-tree-'));
  const tar = spawnSync('sh', ['-c', `git -C '${ROOT}' archive ${commit} packages/sync-server packages/shared tsconfig.json | tar -x -C '${dir}'`], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`git archive failed: ${tar.stderr}`);
  for (const pkg of ['sync-server', 'shared']) {
    const from = path.join(ROOT, 'packages', pkg, 'node_modules');
    const to = path.join(dir, 'packages', pkg, 'node_modules');
    const link = (rel: string) => {
      const name = rel.startsWith('@tidings/') ? rel.slice('@tidings/'.length) : undefined;
      const target = name !== undefined ? path.join(dir, 'packages', name) : realpathSync(path.join(from, rel));
      if (name === undefined || existsSync(target)) symlinkSync(target, path.join(to, rel));
    };
    mkdirSync(to, { recursive: true });
    for (const e of readdirSync(from)) {
      if (e === '.bin') continue;
      if (e.startsWith('@')) {
        mkdirSync(path.join(to, e), { recursive: true });
        for (const f of readdirSync(path.join(from, e))) link(`${e}/${f}`);
      } else link(e);
    }
  }
  return { main: path.join(dir, 'packages/sync-server/src/main.ts'), commit, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface NodeProc {
  readonly index: number;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Snowflake node id leased by the node (from /healthz). */
  readonly nodeId: number;
  readonly proc: ChildProcess;
  /** Log lines the node printed (LOG_LEVEL=warn, so warnings and errors only). */
  readonly lines: string[];
}

export interface Cluster {
  readonly nodes: NodeProc[];
  readonly dbName: string;
  readonly redisPrefix: string;
  /** pids of Postgres backends connected to this run's database. */
  backendPids(): Promise<number[]>;
  /** Redis server CPU seconds (user + sys), or undefined. */
  redisCpuS(): Promise<number | undefined>;
  healthz(i: number): Promise<{ node: number; connections: number }>;
  /** A counter from the node's /metrics (Prometheus text), or undefined. */
  metric(i: number, name: string): Promise<number | undefined>;
  /** Stop nodes (SIGTERM, then SIGKILL), drop the database, delete the Redis keys. Safe to call twice. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly adminUrl: string;
  readonly redisUrl: string;
  readonly log: (line: string) => void;
  /** main.ts to run (default: this working tree's). */
  readonly main?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function adminExec(adminUrl: string, sql: string): Promise<void> {
  const db = await openPostgres({ connectionString: adminUrl, maxConnections: 1, onIdleError: () => {} });
  try {
    await db.exec(sql);
  } finally {
    await db.close();
  }
}

function redisCli(url: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('redis-cli', ['-u', url, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

async function dropRedisKeys(url: string, prefix: string, log: (l: string) => void): Promise<number> {
  try {
    const keys = (await redisCli(url, ['--scan', '--pattern', `${prefix}*`])).split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) await redisCli(url, ['del', ...keys.slice(i, i + 500)]);
    return keys.length;
  } catch (err) {
    log(`redis cleanup failed: ${String(err)}`);
    return -1;
  }
}

async function waitHealthy(url: string, proc: ChildProcess, lines: string[], timeoutMs = 90_000): Promise<{ node: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`node exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${lines.join('\n')}`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return (await r.json()) as { node: number };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`node on ${url} not healthy within ${timeoutMs} ms:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const tag = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const dbName = `tidings_bench_${tag}`;
  const redisPrefix = `tidings-bench-cluster-${tag}:`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tidings-bench-cluster-'));
  const cleanups: (() => Promise<void>)[] = [() => rm(dataDir, { recursive: true, force: true })];
  const nodes: NodeProc[] = [];
  const procs: ChildProcess[] = [];
  let admin: SqlClient | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => o.log(`cleanup failed: ${String(err)}`));
    })());
  try {
    cleanups.push(async () => {
      const n = await dropRedisKeys(o.redisUrl, redisPrefix, o.log);
      if (n >= 0) o.log(`deleted ${n} redis keys under ${redisPrefix}`);
    });
    await adminExec(o.adminUrl, `CREATE DATABASE ${dbName}`);
    cleanups.push(async () => {
      await adminExec(o.adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      o.log(`dropped database ${dbName}`);
    });
    const u = new URL(o.adminUrl);
    u.pathname = `/${dbName}`;
    const databaseUrl = u.toString();
    o.log(`created database ${dbName}; redis prefix ${redisPrefix}`);
    admin = await openPostgres({ connectionString: o.adminUrl, maxConnections: 1, onIdleError: () => {} });
    const adminDb = admin;
    cleanups.push(() => adminDb.close());

    // Stop the nodes before the database is dropped and the keys deleted (cleanups run in reverse).
    cleanups.push(async () => {
      await Promise.all(
        procs.map(async (p) => {
          if (p.exitCode !== null || p.signalCode !== null) return;
          const exited = new Promise<void>((r) => p.once('exit', () => r()));
          p.kill('SIGTERM');
          const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    });

    const { NODE_ID: _leasedInstead, ...inherited } = process.env; // each node leases its own id
    const tsx = import.meta.resolve('tsx/esm');
    const startOne = async (index: number): Promise<NodeProc> => {
      const port = await freePort();
      const lines: string[] = [];
      const proc = spawn(process.execPath, ['--import', tsx, o.main ?? WORKTREE_MAIN], {
        env: {
          ...inherited,
          PORT: String(port),
          HOST: '127.0.0.1',
          DATA_DIR: path.join(dataDir, `node${index}`),
          DATABASE_URL: databaseUrl,
          REDIS_URL: o.redisUrl,
          REDIS_PREFIX: redisPrefix,
          LOG_LEVEL: 'warn',
          RATE_LIMIT: 'off', // load from one address, as bench/server-proc.ts does
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(proc);
      const onData = (d: Buffer) => {
        for (const line of d.toString().split('\n')) {
          if (!line.trim() || line.startsWith('Tidings is running')) continue;
          if (lines.length < 200) lines.push(line);
          if (lines.length <= 20) o.log(`node ${index}: ${line.slice(0, 300)}`);
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.on('exit', (code, signal) => {
        if (!closing) o.log(`node ${index} (pid ${proc.pid}) exited unexpectedly: code ${code} signal ${signal}`);
      });
      const url = `http://127.0.0.1:${port}`;
      const h = await waitHealthy(url, proc, lines);
      return { index, url, port, pid: proc.pid!, nodeId: h.node, proc, lines };
    };
    // The first node runs the migrations on the fresh database; the rest start together.
    nodes.push(await startOne(0));
    nodes.push(...(await Promise.all(Array.from({ length: o.nodes - 1 }, (_, i) => startOne(i + 1)))));
    o.log(`${o.nodes} node(s) up: ${nodes.map((n) => `#${n.index} pid ${n.pid} port ${n.port} snowflake node ${n.nodeId}`).join('; ')}`);

    return {
      nodes,
      dbName,
      redisPrefix,
      backendPids: async () =>
        (await adminDb.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName])).rows.map((r) => Number(r.pid)),
      redisCpuS: async () => {
        try {
          const out = await redisCli(o.redisUrl, ['info', 'cpu']);
          const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(out)?.[1] ?? NaN);
          const v = get('used_cpu_user') + get('used_cpu_sys');
          return Number.isFinite(v) ? v : undefined;
        } catch {
          return undefined;
        }
      },
      healthz: async (i) => (await (await fetch(`${nodes[i]!.url}/healthz`, { signal: AbortSignal.timeout(10_000) })).json()) as { node: number; connections: number },
      metric: async (i, name) => {
        try {
          const text = await (await fetch(`${nodes[i]!.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
          const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(text);
          return m ? Number(m[1]) : undefined;
        } catch {
          return undefined;
        }
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

// ---- /proc readings (bench/cpu.ts) ----

export interface CpuSnapshot {
  readonly at: number;
  readonly nodes: (number | undefined)[];
  readonly backends: Map<number, number>;
  readonly redisS: number | undefined;
  readonly selfUs: number;
  readonly machine: { busy: number; total: number };
}

/** Take the synchronous readings now, then the asynchronous ones (backend pids, Redis INFO). */
export async function snapshot(c: Cluster, now: () => number): Promise<CpuSnapshot> {
  const at = now();
  const nodes = c.nodes.map((n) => procCpuMs(n.pid));
  const cpu = process.cpuUsage();
  const machine = machineJiffies();
  const [pids, redisS] = await Promise.all([c.backendPids().catch(() => [] as number[]), c.redisCpuS()]);
  const backends = new Map<number, number>();
  for (const pid of pids) {
    const v = procCpuMs(pid);
    if (v !== undefined) backends.set(pid, v);
  }
  return { at, nodes, backends, redisS, selfUs: cpu.user + cpu.system, machine };
}

export interface CpuUse {
  /** CPU ms per second of wall time for each node process. */
  readonly nodes_ms_per_s: (number | null)[];
  /** Postgres backends connected to this run's database (not the WAL writer, checkpointer etc.). */
  readonly postgres_backends_ms_per_s: number;
  /** The whole Redis server (shared with other users of this Redis). */
  readonly redis_ms_per_s: number | null;
  /** This process: the load generator. */
  readonly generator_ms_per_s: number;
  /** Busy fraction of all cores of the machine (everything on it, including other sessions). */
  readonly machine_busy: number;
}

export function cpuUse(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const s = (b.at - a.at) / 1000;
  const r = (v: number) => Math.round(v * 10) / 10;
  let pg = 0;
  for (const [pid, end] of b.backends) pg += end - (a.backends.get(pid) ?? 0); // a backend born in the window counts whole
  return {
    nodes_ms_per_s: b.nodes.map((end, i) => (end === undefined || a.nodes[i] === undefined ? null : r((end - a.nodes[i]!) / s))),
    postgres_backends_ms_per_s: r(pg / s),
    redis_ms_per_s: a.redisS === undefined || b.redisS === undefined ? null : r(((b.redisS - a.redisS) * 1000) / s),
    generator_ms_per_s: r((b.selfUs - a.selfUs) / 1000 / s),
    machine_busy: Math.round(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * 1000) / 1000,
  };
}

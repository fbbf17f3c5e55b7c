/**
 * Start and stop the system under test for one benchmark run: a temp data
 * dir, a fresh Postgres database (dropped afterwards) when asked, and the
 * server or relay on its own worker thread (so the load generator and the
 * target each have an event loop), or on the calling thread with thread='main'.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { openPostgres } from '@tidings/sync-server';
import { hostTarget, type TargetSpec, type TargetStats } from './target-host.js';
import type { FromWorker, ToWorker } from './target-worker.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface TargetOptions {
  readonly kind: 'server' | 'relay';
  readonly store: 'pglite' | 'postgres';
  /** Admin URL of the Postgres server; a fresh database is made beside it. */
  readonly adminUrl: string;
  readonly thread: 'worker' | 'main';
  readonly log: (line: string) => void;
  /** Run the server on this existing database (neither created nor dropped) instead of a fresh one. */
  readonly databaseUrl?: string;
}

export interface Target {
  readonly url: string;
  mark(): Promise<void>;
  stats(): Promise<TargetStats>;
  /** Stop the target, drop its database, remove its data dir. Safe to call twice. */
  close(): Promise<void>;
}

async function withAdmin<T>(adminUrl: string, fn: (exec: (sql: string) => Promise<void>) => Promise<T>): Promise<T> {
  const db = await openPostgres({ connectionString: adminUrl, maxConnections: 1, onIdleError: () => {} });
  try {
    return await fn((sql) => db.exec(sql));
  } finally {
    await db.close();
  }
}

export async function startTarget(o: TargetOptions): Promise<Target> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tidings-bench-'));
  let databaseUrl: string | undefined;
  let dropDb = async () => {};
  const cleanups: (() => Promise<void>)[] = [() => rm(dataDir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      await c().catch((err: unknown) => o.log(`cleanup failed: ${String(err)}`));
    }
  };
  try {
    if (o.kind === 'server' && o.store === 'postgres' && o.databaseUrl) {
      databaseUrl = o.databaseUrl;
    } else if (o.kind === 'server' && o.store === 'postgres') {
      const name = `tidings_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
      await withAdmin(o.adminUrl, (exec) => exec(`CREATE DATABASE ${name}`));
      const u = new URL(o.adminUrl);
      u.pathname = `/${name}`;
      databaseUrl = u.toString();
      dropDb = () => withAdmin(o.adminUrl, (exec) => exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      cleanups.push(dropDb);
      o.log(`created database ${name}`);
    }
    const spec: TargetSpec = { kind: o.kind, dataDir, databaseUrl };
    const hosted = o.thread === 'main' ? await mainThread(spec) : await workerThread(spec);
    cleanups.push(hosted.close);
    return { url: hosted.url, mark: hosted.mark, stats: hosted.stats, close: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function mainThread(spec: TargetSpec): Promise<Target> {
  const t = await hostTarget(spec, false);
  return { url: t.url, mark: async () => t.mark(), stats: async () => t.stats(), close: () => t.close() };
}

/** tsx's hooks do not reach a worker's entry file on Node 20, so the worker registers them first. */
async function workerThread(spec: TargetSpec): Promise<Target> {
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./target-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: spec });
  const waiters: { type: FromWorker['type']; resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  let dead: Error | undefined;
  const fail = (e: Error) => {
    dead ??= e;
    for (const w of waiters.splice(0)) w.reject(e);
  };
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'error') return fail(new Error(`target worker: ${m.message}`));
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
  });
  worker.on('error', (e) => fail(e));
  worker.on('exit', (code) => fail(new Error(`target worker exited (code ${code})`)));
  const request = <T extends FromWorker['type']>(type: T, msg: ToWorker | undefined, timeoutMs: number) =>
    new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
      if (dead) return reject(dead);
      const timer = setTimeout(() => reject(new Error(`target worker: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({
        type,
        resolve: (m) => (clearTimeout(timer), resolve(m as Extract<FromWorker, { type: T }>)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      if (msg) worker.postMessage(msg);
    });
  let ready: { url: string };
  try {
    ready = await request('ready', undefined, 60_000);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url: ready.url,
    mark: async () => void worker.postMessage({ cmd: 'mark' } satisfies ToWorker),
    stats: async () => (await request('stats', { cmd: 'stats' }, 10_000)).stats,
    close: () =>
      (closing ??= (async () => {
        try {
          if (!dead) await request('closed', { cmd: 'close' }, 20_000);
        } finally {
          await worker.terminate();
        }
      })()),
  };
}

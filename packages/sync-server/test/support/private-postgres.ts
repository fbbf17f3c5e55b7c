/**
 * A private PostgreSQL server for fault tests that stop and restart it: the
 * shared one on 5432 serves other suites at the same time and must never go
 * down. Debian's binaries (/usr/lib/postgresql/<major>/bin, or $PG_BIN) in a
 * temp directory on a free port; as root they run as the `postgres` OS user,
 * because initdb and postgres refuse to run as root. Under CI=true missing
 * binaries fail the run instead of skipping it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { freePort, waitFor } from './processes.js';
import { REQUIRE_SERVICES } from './stores.js';

const DEBIAN_ROOT = '/usr/lib/postgresql';
/** How long a start (crash recovery included) may take on a loaded 2-core machine, in ms. */
const START_TIMEOUT_MS = 60_000;

/** The directory holding initdb and postgres, or undefined (throws under CI=true). */
export function postgresBinaries(): string | undefined {
  const fromEnv = process.env.PG_BIN;
  const majors = existsSync(DEBIAN_ROOT) ? execFileSync('ls', [DEBIAN_ROOT], { encoding: 'utf8' }).split('\n').filter((v) => /^\d+$/.test(v)) : [];
  const candidates = [...(fromEnv ? [fromEnv] : []), ...majors.sort((a, b) => Number(b) - Number(a)).map((m) => path.join(DEBIAN_ROOT, m, 'bin'))];
  const dir = candidates.find((d) => existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'postgres')));
  if (!dir) {
    if (REQUIRE_SERVICES) throw new Error(`CI=true but no PostgreSQL server binaries (initdb, postgres) under ${fromEnv ?? `${DEBIAN_ROOT}/*/bin`}`);
    process.stderr.write('PostgreSQL server binaries not found; the private-Postgres fault tests are skipped here (they run in CI)\n');
  }
  return dir;
}

/** The uid/gid to run as: ours, or the postgres OS user's when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export interface PostgresProcess {
  /** Connection URL of the `postgres` database (trust auth). */
  readonly url: string;
  /** Immediate shutdown (SIGQUIT to the postmaster): no checkpoint, every session cut off; the next start runs crash recovery. */
  stop(): Promise<void>;
  /** Start again on the same port and data directory; resolves once it answers queries. */
  start(): Promise<void>;
  /** Stop and delete the data directory (also done after the file's tests). */
  destroy(): Promise<void>;
}

const live = new Set<PostgresProcess>();
afterAll(async () => {
  for (const p of live) await p.destroy();
});

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A fresh cluster (initdb) started on a free port; undefined when the binaries are missing and CI does not require them. */
export async function privatePostgres(): Promise<PostgresProcess | undefined> {
  const bin = postgresBinaries();
  if (!bin) return undefined;
  const user = runAs();
  const dir = await mkdtemp(path.join(tmpdir(), 'tidings-pg-'));
  if (user) await chown(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  const spawnOpts = { cwd: dir, ...(user ?? {}) };
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], { ...spawnOpts, stdio: 'pipe' });
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: ChildProcess | undefined;
  let output = '';
  // fsync off: a stopped process (not a crashed machine) loses nothing the OS has; commits still wait for their WAL write.
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=50'];
  const p: PostgresProcess = {
    url,
    async start() {
      if (proc) return;
      const child = spawn(path.join(bin, 'postgres'), args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
      proc = child;
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const died = new Promise<never>((_, reject) =>
        child.once('exit', (code, signal) => reject(new Error(`postgres exited (${code ?? signal}) before it was ready:\n${output.slice(-2000)}`))),
      );
      died.catch(() => undefined);
      await Promise.race([waitFor(() => answers(url), `private postgres on ${port}`, START_TIMEOUT_MS), died]);
    },
    async stop() {
      const child = proc;
      if (!child) return;
      proc = undefined;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await gone;
    },
    async destroy() {
      live.delete(p);
      await p.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  live.add(p);
  await p.start();
  return p;
}

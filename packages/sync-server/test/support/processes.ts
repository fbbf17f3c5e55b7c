/**
 * Real processes for fault tests: sync-server nodes (so kill -9 is real) and a
 * private redis-server the test may stop and restart without disturbing others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { REQUIRE_SERVICES } from './stores.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(here, '../../src/main.ts');
const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

const live = new Set<ChildProcess>();
afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
});

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

/** Poll `check` every 100 ms until it holds (a thrown error counts as not yet); fail after timeoutMs. */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface NodeProcess {
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  nodeId(): Promise<number>;
  /** kill -9: no graceful shutdown, nothing flushed. */
  kill9(): Promise<void>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

export async function startNode(env: Record<string, string>, opts: { waitReady?: boolean; port?: number } = {}): Promise<NodeProcess> {
  const port = opts.port ?? (await freePort());
  let output = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  live.add(proc);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => (live.delete(proc), resolve(code))));
  const url = `http://127.0.0.1:${port}`;
  if (opts.waitReady !== false) {
    await Promise.race([
      waitFor(async () => (await fetch(`${url}/healthz`)).ok, `node on ${port}`),
      exited.then((code) => {
        throw new Error(`node exited with ${code} before it was ready:\n${output}`);
      }),
    ]);
  }
  return {
    url,
    port,
    proc,
    exited,
    nodeId: async () => ((await (await fetch(`${url}/healthz`)).json()) as { node: number }).node,
    kill9: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface RedisProcess {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A private redis-server on a free port (undefined when the binary is missing and CI does not require it). */
export async function privateRedis(): Promise<RedisProcess | undefined> {
  if (!REDIS_SERVER) {
    if (REQUIRE_SERVICES) throw new Error('CI=true but redis-server is not installed');
    return undefined;
  }
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const ping = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
      s.on('data', (d) => (s.destroy(), resolve(d.toString().includes('PONG'))));
      s.on('error', () => resolve(false));
    });
  const r: RedisProcess = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      live.add(proc);
      await waitFor(ping, `redis on ${port}`);
    },
    async stop() {
      if (!proc) return;
      const p = proc;
      proc = undefined;
      const gone = new Promise((resolve) => p.on('exit', resolve));
      p.kill('SIGKILL');
      await gone;
      live.delete(p);
    },
  };
  await r.start();
  return r;
}

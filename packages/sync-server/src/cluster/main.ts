/**
 * `pnpm cluster --nodes 3`: N sync-server nodes on this machine sharing one
 * Postgres and one Redis, behind a round-robin proxy on PORT (8787). For local
 * use: production runs nodes on separate machines behind a load balancer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startProxy } from './proxy.js';

const MAX_NODES = 16;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const nodes = Number(arg('nodes', '3'));
if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
  process.stderr.write(`--nodes must be an integer from 1 to ${MAX_NODES}\n`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8787);
const basePort = Number(arg('base-port', String(port + 100)));
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tidings_cluster';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// Make sure the database exists (a fresh machine has only 'test').
const url = new URL(databaseUrl);
const dbName = url.pathname.slice(1);
const admin = new pg.Client({ connectionString: Object.assign(new URL(databaseUrl), { pathname: '/postgres' }).toString() });
try {
  await admin.connect();
  const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
  if (rows.length === 0 && /^[a-z_][a-z0-9_]*$/.test(dbName)) await admin.query(`CREATE DATABASE ${dbName}`);
} catch (err) {
  process.stderr.write(`cannot reach PostgreSQL at ${url.host}: ${(err as Error).message}\n`);
  process.exit(1);
} finally {
  await admin.end().catch(() => undefined);
}

const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const children: ChildProcess[] = [];
const { NODE_ID: _leasedInstead, ...inherited } = process.env; // each node leases its own id
for (let i = 0; i < nodes; i++) {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...inherited, PORT: String(basePort + i), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  process.stderr.write(`node ${i + 1}/${nodes} starting on port ${basePort + i}\n`);
}
const proxy = await startProxy(children.map((_, i) => ({ host: '127.0.0.1', port: basePort + i })), port);
process.stdout.write(`Tidings cluster of ${nodes} nodes behind http://localhost:${proxy.port}\n`);
const stop = () => {
  for (const c of children) c.kill('SIGTERM');
  void proxy.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

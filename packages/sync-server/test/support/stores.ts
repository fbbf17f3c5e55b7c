/**
 * The store backends every store-level suite runs against: embedded PGlite
 * and a real PostgreSQL server. Each Postgres suite gets a database of its
 * own, dropped afterwards. Under CI=true a missing Postgres fails loudly;
 * elsewhere the Postgres run is skipped with the reason printed.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REQUIRE_SERVICES = process.env.CI === 'true';

let reachable: Promise<boolean> | undefined;
export function postgresReachable(): Promise<boolean> {
  return (reachable ??= (async () => {
    const c = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch (err) {
      if (REQUIRE_SERVICES) throw new Error(`CI=true but PostgreSQL is not reachable at ${POSTGRES_URL}: ${(err as Error).message}`);
      process.stderr.write(`PostgreSQL not reachable at ${POSTGRES_URL}; its suites are skipped here (they run in CI)\n`);
      return false;
    }
  })());
}

/** A fresh database on the test server; returns its URL and a function that drops it. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tidings_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export const STORE_KINDS = ['pglite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let redisOk: Promise<boolean> | undefined;
export function redisReachable(): Promise<boolean> {
  return (redisOk ??= (async () => {
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
    try {
      await r.connect();
      await r.ping();
      r.disconnect();
      return true;
    } catch (err) {
      r.disconnect();
      if (REQUIRE_SERVICES) throw new Error(`CI=true but Redis is not reachable at ${REDIS_URL}: ${(err as Error).message}`);
      process.stderr.write(`Redis not reachable at ${REDIS_URL}; its suites are skipped here (they run in CI)\n`);
      return false;
    }
  })());
}

/** A key prefix no other test run shares. */
export const redisPrefix = (): string => `tidings-test-${process.pid}-${randomBytes(4).toString('hex')}:`;
export const SWITCHBOARD_KINDS = ['local', 'redis'] as const;
export type SwitchboardKind = (typeof SWITCHBOARD_KINDS)[number];

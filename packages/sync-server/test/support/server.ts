/**
 * Real servers on port 0 for tests, each on its own data directory or
 * Postgres database, torn down by the helper that made them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll } from 'vitest';
import { DEFAULTS, startServer, type RunningServer, type ServerConfig } from '../../src/index.js';
import { freshPostgresDatabase, type StoreKind } from './stores.js';

export interface TestBackend {
  readonly kind: StoreKind;
  /** Config pointing at this backend's storage (data dir or database). */
  readonly config: ServerConfig;
  /** Start a server on it (several may be started in turn, e.g. to test restarts). */
  start(overrides?: Partial<ServerConfig>): Promise<RunningServer>;
}

/** A backend whose storage survives server restarts and is removed after the file's tests. */
export async function testBackend(kind: StoreKind): Promise<TestBackend> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tidings-test-'));
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (kind === 'postgres') ({ url: databaseUrl, drop } = await freshPostgresDatabase());
  // Tests register many users from one address: rate limits are off here and tested on their own (security.e2e.test.ts).
  const config: ServerConfig = { ...DEFAULTS, port: 0, host: '127.0.0.1', dataDir, databaseUrl, redisUrl: undefined, logLevel: 'silent', rateLimit: false };
  const running = new Set<RunningServer>();
  afterAll(async () => {
    for (const s of running) await s.close();
    await drop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return {
    kind,
    config,
    async start(overrides = {}) {
      const s = await startServer({ ...config, ...overrides }, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
      running.add(s);
      const close = s.close;
      return { ...s, close: async () => { running.delete(s); await close(); } };
    },
  };
}

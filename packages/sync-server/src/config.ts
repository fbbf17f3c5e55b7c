/**
 * The server's one config object. Environment variables are read here and
 * nowhere else; every option says its default, unit and why.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MAX_NODE_ID } from '@tidings/shared';

export interface ServerConfig {
  /** TCP port; 0 picks a free one (tests). Env PORT, default 8787. */
  readonly port: number;
  /** Interface to bind. Env HOST, default 127.0.0.1 (put a reverse proxy in front to expose it). */
  readonly host: string;
  /** Where embedded state lives (PGlite database, media). Env DATA_DIR, default ./data. */
  readonly dataDir: string;
  /** Postgres server URL; when unset the embedded PGlite under dataDir is used. Env DATABASE_URL. */
  readonly databaseUrl: string | undefined;
  /** Snowflake node id to lease, 0..1023; unset leases the lowest free one. Env NODE_ID. */
  readonly nodeId?: number | undefined;
  /** A node-id lease lives this long without renewal, in ms (renewed every third). Env NODE_LEASE_TTL_MS, default 30000. */
  readonly nodeLeaseTtlMs: number;
  /** pino level. Env LOG_LEVEL, default info. */
  readonly logLevel: string;
  /** Most appends per group-commit transaction. Env LOG_MAX_BATCH, default 512. */
  readonly maxBatch: number;
  /** Postgres pool size. Env DATABASE_POOL, default 8. */
  readonly dbPool: number;
  /** Bytes buffered for one socket before it is dropped as too slow. Env MAX_SOCKET_BUFFER, default 8 MiB. */
  readonly maxSocketBufferBytes: number;
  /** A socket that sends nothing (not even a ping) for this long is closed, in ms. Env IDLE_TIMEOUT_MS, default 60000 (four missed 15 s heartbeats). */
  readonly idleTimeoutMs: number;
  /** Redis URL; when set, routes, presence and cross-node fan-out go through Redis. Env REDIS_URL. */
  readonly redisUrl: string | undefined;
  /** Prefix of Redis keys and channels. Env REDIS_PREFIX, default "tidings:". */
  readonly redisPrefix: string;
  /** A user stays online this long after their last device leaves, in ms, so flaky networks do not flap. Env PRESENCE_GRACE_MS, default 15000. */
  readonly presenceGraceMs: number;
  /** Lifetime of a node's route entries in Redis without a refresh, in ms. Env ROUTE_TTL_MS, default 30000. */
  readonly routeTtlMs: number;
  /** Directory of the built web app to serve at `/`; unset or missing means API only. Env WEB_DIR, default apps/web/dist of this checkout. */
  readonly webDir: string | undefined;
  /** How long graceful shutdown waits for pending writes, in ms. Env SHUTDOWN_GRACE_MS, default 10000. */
  readonly shutdownGraceMs: number;
}

/** apps/web/dist of the checkout this server runs from. */
const CHECKOUT_WEB_DIR = fileURLToPath(new URL('../../../apps/web/dist', import.meta.url));

export const DEFAULTS: Omit<ServerConfig, 'databaseUrl' | 'redisUrl' | 'nodeId'> = {
  nodeLeaseTtlMs: 30_000,
  webDir: CHECKOUT_WEB_DIR,
  redisPrefix: 'tidings:',
  presenceGraceMs: 15_000,
  routeTtlMs: 30_000,
  port: 8787,
  host: '127.0.0.1',
  dataDir: './data',
  logLevel: 'info',
  maxBatch: 512,
  dbPool: 8,
  maxSocketBufferBytes: 8 * 1024 * 1024,
  idleTimeoutMs: 60_000,
  shutdownGraceMs: 10_000,
};

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const EnvSchema = z.object({
  PORT: int(0, 65535).optional(),
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  NODE_ID: int(0, MAX_NODE_ID).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_MAX_BATCH: int(1, 10_000).optional(),
  DATABASE_POOL: int(1, 1000).optional(),
  MAX_SOCKET_BUFFER: int(64 * 1024, 1024 * 1024 * 1024).optional(),
  IDLE_TIMEOUT_MS: int(1000, 3_600_000).optional(),
  SHUTDOWN_GRACE_MS: int(0, 600_000).optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  REDIS_PREFIX: z.string().min(1).max(64).optional(),
  PRESENCE_GRACE_MS: int(0, 600_000).optional(),
  ROUTE_TTL_MS: int(1000, 600_000).optional(),
  WEB_DIR: z.string().min(1).optional(),
  NODE_LEASE_TTL_MS: int(3000, 600_000).optional(),
});

/** Read the config from the environment; a bad value fails with a message naming the variable. */
export function configFromEnv(env: NodeJS.ProcessEnv): ServerConfig {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT ?? DEFAULTS.port,
    host: e.HOST ?? DEFAULTS.host,
    dataDir: e.DATA_DIR ?? DEFAULTS.dataDir,
    databaseUrl: e.DATABASE_URL,
    nodeId: e.NODE_ID,
    nodeLeaseTtlMs: e.NODE_LEASE_TTL_MS ?? DEFAULTS.nodeLeaseTtlMs,
    logLevel: e.LOG_LEVEL ?? DEFAULTS.logLevel,
    maxBatch: e.LOG_MAX_BATCH ?? DEFAULTS.maxBatch,
    dbPool: e.DATABASE_POOL ?? DEFAULTS.dbPool,
    maxSocketBufferBytes: e.MAX_SOCKET_BUFFER ?? DEFAULTS.maxSocketBufferBytes,
    idleTimeoutMs: e.IDLE_TIMEOUT_MS ?? DEFAULTS.idleTimeoutMs,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS ?? DEFAULTS.shutdownGraceMs,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX ?? DEFAULTS.redisPrefix,
    presenceGraceMs: e.PRESENCE_GRACE_MS ?? DEFAULTS.presenceGraceMs,
    routeTtlMs: e.ROUTE_TTL_MS ?? DEFAULTS.routeTtlMs,
    webDir: e.WEB_DIR ?? DEFAULTS.webDir,
  };
}

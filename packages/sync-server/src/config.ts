/**
 * The server's one config object. Environment variables are read here and
 * nowhere else; every option says its default, unit and why.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MAX_NODE_ID, MLS_DEFAULT_SUITE, MLS_SUITES, type MlsSuiteName } from '@tidings/shared';
import { MAX_UPLOAD_CHUNK_BYTES, MEDIA_DEFAULTS, MIN_UPLOAD_CHUNK_BYTES, type MediaConfig } from './media/config.js';
import { PUSH_DEFAULTS, type PushConfig } from './push/config.js';

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
  /** Browser origins allowed to call the API cross-origin (CORS); empty = same origin only. Env CORS_ORIGINS (comma-separated). */
  readonly corsOrigins: readonly string[];
  /** Rate limits on sign-up, sign-in and sends. Env RATE_LIMIT=off disables them (load tests from one address). Default on. */
  readonly rateLimit: boolean;
  /** Sustained sends per second one device socket may make (burst 10x). Env SEND_RATE_PER_SECOND, default 100. */
  readonly sendRatePerSecond: number;
  /** How long graceful shutdown waits for pending writes, in ms. Env SHUTDOWN_GRACE_MS, default 10000. */
  readonly shutdownGraceMs: number;
  /**
   * The MLS ciphersuite of this deployment: every device's KeyPackages and every group use it (uploads of
   * another suite are refused; clients configured otherwise refuse to run). Advertised at GET /v1/config.
   * Env MLS_CIPHERSUITE, default MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519; MLS_256_XWING_AES256GCM_SHA512_Ed25519
   * is the post-quantum hybrid (X-Wing KEM; clients need @hpke/hybridkem-x-wing). Choose it before the first
   * device registers: changing it later strands existing groups.
   */
  readonly mlsSuite: MlsSuiteName;
  /** Web Push: VAPID keys, coalescing, retries (see push/config.ts for each option). */
  readonly push: PushConfig;
  /** Media: blob store (fs under DATA_DIR/media, or S3), size limits, quota, retention (see media/config.ts for each option). Env MEDIA_*, S3_*. */
  readonly media: MediaConfig;
}

/** apps/web/dist of the checkout this server runs from. */
const CHECKOUT_WEB_DIR = fileURLToPath(new URL('../../../apps/web/dist', import.meta.url));

export const DEFAULTS: Omit<ServerConfig, 'databaseUrl' | 'redisUrl' | 'nodeId'> = {
  corsOrigins: [],
  rateLimit: true,
  sendRatePerSecond: 100,
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
  mlsSuite: MLS_DEFAULT_SUITE,
  push: PUSH_DEFAULTS,
  media: MEDIA_DEFAULTS,
};

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const EnvSchema = z.object({
  PORT: int(0, 65535).optional(),
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  NODE_ID: int(0, MAX_NODE_ID).optional(),
  MLS_CIPHERSUITE: z.enum(MLS_SUITES).optional(),
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
  CORS_ORIGINS: z
    .string()
    .regex(/^(https?:\/\/[^,\s/]+)(,https?:\/\/[^,\s/]+)*$/, 'a comma-separated list of origins like https://chat.example.org')
    .optional(),
  RATE_LIMIT: z.enum(['on', 'off']).optional(),
  SEND_RATE_PER_SECOND: int(1, 1_000_000).optional(),
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{87}$/, 'must be a base64url P-256 public key').optional(),
  VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url P-256 private key').optional(),
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)/, 'must be a mailto: or https: URL').optional(),
  PUSH_COALESCE_MS: int(0, 600_000).optional(),
  PUSH_POLL_MS: int(10, 600_000).optional(),
  PUSH_RETRY_BASE_MS: int(10, 3_600_000).optional(),
  PUSH_RETRY_MAX_MS: int(10, 86_400_000).optional(),
  PUSH_MAX_ATTEMPTS: int(1, 1000).optional(),
  PUSH_TTL_SECONDS: int(0, 2_419_200).optional(),
  PUSH_SEND_TIMEOUT_MS: int(100, 600_000).optional(),
  PUSH_ALLOW_INSECURE_ENDPOINTS: z.enum(['0', '1', 'true', 'false']).optional(),
  PUSH_ENDPOINT_HOSTS: z
    .string()
    .regex(/^(\*|[a-z0-9.-]+)(,(\*|[a-z0-9.-]+))*$/i, 'a comma-separated list of host names (or *)')
    .optional(),
  MEDIA_STORE: z.enum(['fs', 's3']).optional(),
  MEDIA_MAX_BLOB_BYTES: int(1, Number.MAX_SAFE_INTEGER).optional(),
  MEDIA_MAX_SINGLE_UPLOAD_BYTES: int(1, 1024 * 1024 * 1024).optional(),
  MEDIA_CHUNK_BYTES: int(MIN_UPLOAD_CHUNK_BYTES, MAX_UPLOAD_CHUNK_BYTES).optional(),
  MEDIA_QUOTA_BYTES: int(0, Number.MAX_SAFE_INTEGER).optional(),
  MEDIA_RETENTION_MS: int(0, Number.MAX_SAFE_INTEGER).optional(),
  MEDIA_UPLOAD_TTL_MS: int(60_000, Number.MAX_SAFE_INTEGER).optional(),
  MEDIA_SWEEP_INTERVAL_MS: int(0, 7 * 24 * 3600_000).optional(),
  S3_BUCKET: z.string().min(3).max(63).optional(),
  S3_PREFIX: z.string().max(200).optional(),
  S3_ENDPOINT: z.string().regex(/^https?:\/\//, 'must be an http(s):// URL').optional(),
  S3_REGION: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_PART_BYTES: int(5 * 1024 * 1024, 5 * 1024 * 1024 * 1024).optional(),
})
  .refine((e) => (e.VAPID_PUBLIC_KEY === undefined) === (e.VAPID_PRIVATE_KEY === undefined), {
    message: 'set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither',
    path: ['VAPID_PRIVATE_KEY'],
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
    corsOrigins: e.CORS_ORIGINS ? e.CORS_ORIGINS.split(',') : DEFAULTS.corsOrigins,
    rateLimit: e.RATE_LIMIT ? e.RATE_LIMIT === 'on' : DEFAULTS.rateLimit,
    sendRatePerSecond: e.SEND_RATE_PER_SECOND ?? DEFAULTS.sendRatePerSecond,
    mlsSuite: e.MLS_CIPHERSUITE ?? DEFAULTS.mlsSuite,
    push: {
      vapidPublicKey: e.VAPID_PUBLIC_KEY,
      vapidPrivateKey: e.VAPID_PRIVATE_KEY,
      vapidSubject: e.VAPID_SUBJECT ?? PUSH_DEFAULTS.vapidSubject,
      coalesceMs: e.PUSH_COALESCE_MS ?? PUSH_DEFAULTS.coalesceMs,
      pollMs: e.PUSH_POLL_MS ?? PUSH_DEFAULTS.pollMs,
      retryBaseMs: e.PUSH_RETRY_BASE_MS ?? PUSH_DEFAULTS.retryBaseMs,
      retryMaxMs: e.PUSH_RETRY_MAX_MS ?? PUSH_DEFAULTS.retryMaxMs,
      maxAttempts: e.PUSH_MAX_ATTEMPTS ?? PUSH_DEFAULTS.maxAttempts,
      ttlSeconds: e.PUSH_TTL_SECONDS ?? PUSH_DEFAULTS.ttlSeconds,
      sendTimeoutMs: e.PUSH_SEND_TIMEOUT_MS ?? PUSH_DEFAULTS.sendTimeoutMs,
      allowInsecureEndpoints: e.PUSH_ALLOW_INSECURE_ENDPOINTS === '1' || e.PUSH_ALLOW_INSECURE_ENDPOINTS === 'true',
      endpointHosts: e.PUSH_ENDPOINT_HOSTS ? e.PUSH_ENDPOINT_HOSTS.toLowerCase().split(',') : PUSH_DEFAULTS.endpointHosts,
    },
    media: {
      store: e.MEDIA_STORE ?? MEDIA_DEFAULTS.store,
      s3: e.S3_BUCKET
        ? {
            bucket: e.S3_BUCKET,
            prefix: e.S3_PREFIX ?? 'media/',
            endpoint: e.S3_ENDPOINT,
            region: e.S3_REGION ?? 'us-east-1',
            forcePathStyle: e.S3_FORCE_PATH_STYLE ? e.S3_FORCE_PATH_STYLE === 'true' : e.S3_ENDPOINT !== undefined,
            credentials: e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } : undefined,
            partBytes: e.S3_PART_BYTES ?? 8 * 1024 * 1024,
          }
        : undefined,
      maxBlobBytes: e.MEDIA_MAX_BLOB_BYTES ?? MEDIA_DEFAULTS.maxBlobBytes,
      maxSingleUploadBytes: e.MEDIA_MAX_SINGLE_UPLOAD_BYTES ?? MEDIA_DEFAULTS.maxSingleUploadBytes,
      chunkBytes: e.MEDIA_CHUNK_BYTES ?? MEDIA_DEFAULTS.chunkBytes,
      quotaBytes: e.MEDIA_QUOTA_BYTES ?? MEDIA_DEFAULTS.quotaBytes,
      retentionMs: e.MEDIA_RETENTION_MS ?? MEDIA_DEFAULTS.retentionMs,
      uploadTtlMs: e.MEDIA_UPLOAD_TTL_MS ?? MEDIA_DEFAULTS.uploadTtlMs,
      sweepIntervalMs: e.MEDIA_SWEEP_INTERVAL_MS ?? MEDIA_DEFAULTS.sweepIntervalMs,
    },
  };
}

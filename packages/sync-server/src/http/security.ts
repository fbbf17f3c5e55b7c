/**
 * Web security at the HTTP edge: a strict Content-Security-Policy and secure
 * headers for the PWA (helmet), CORS only for configured origins, and rate
 * limits (in Redis when several nodes share the budget) answering 429 with
 * retry-after. Tokens never appear in URLs or logs: auth reads only the
 * Authorization header and the logger redacts it.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyHelmet from '@fastify/helmet';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import { Redis } from 'ioredis';
import { ErrorCode, TidingsError } from '@tidings/shared';
import { AttemptLimiter } from './attempts.js';

/** Named HTTP rate limits: [max requests, window in ms]. */
export const HTTP_LIMITS = {
  /** Sign-ups per IP. */
  accountsPerIp: [10, 60_000],
  /** Sign-in attempts per IP. */
  sessionsPerIp: [30, 60_000],
  /** Sign-in attempts per username (slows password guessing spread over many IPs). */
  sessionsPerUsername: [10, 60_000],
  /** HTTP sends per device token. */
  sendsPerDevice: [600, 60_000],
  /** Uploads started (POST /v1/uploads, POST /uploadFile) per device token; chunks of a started upload are not counted. */
  uploadsPerDevice: [120, 60_000],
  /** Uploads started per client address (many devices behind one address, or one attacker with many tokens). */
  uploadsPerIp: [600, 60_000],
} as const satisfies Record<string, readonly [number, number]>;

export interface SecurityOptions {
  /** Origins allowed to call the API from a browser (CORS); empty means same-origin only. */
  readonly corsOrigins: readonly string[];
  /** Rate limits on (production) or off (load tests from one address). */
  readonly rateLimit: boolean;
  /** Shared rate-limit counters across nodes. */
  readonly redisUrl: string | undefined;
  /** Prefix of the Redis keys (the deployment's REDIS_PREFIX). */
  readonly redisPrefix: string;
}

const tokenKey = (req: FastifyRequest): string =>
  createHash('sha256')
    .update(req.headers.authorization ?? req.ip)
    .digest('base64url')
    .slice(0, 22);

export async function installSecurity(app: FastifyInstance, opts: SecurityOptions): Promise<{ close(): Promise<void>; attempts: AttemptLimiter | undefined }> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'blob:', 'data:'],
        mediaSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        workerSrc: ["'self'"],
        manifestSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(fastifyCors, {
    origin: opts.corsOrigins.length === 0 ? false : [...opts.corsOrigins],
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  });
  let redis: Redis | undefined;
  if (opts.rateLimit) {
    if (opts.redisUrl) {
      redis = new Redis(opts.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
      redis.on('error', () => undefined);
    }
    await app.register(fastifyRateLimit, {
      global: false,
      ...(redis ? { redis, nameSpace: `${opts.redisPrefix}rl:` } : {}),
      // A Redis outage must not take sign-in down with it: limits then apply per node only.
      skipOnError: true,
      errorResponseBuilder: (_req, ctx) => {
        const err = new TidingsError(ErrorCode.RateLimited, `too many requests; retry in ${ctx.after}`, { retryAfterMs: ctx.ttl });
        return Object.assign(err, { statusCode: 429 });
      },
    });
  }
  const attempts = opts.rateLimit
    ? new AttemptLimiter(HTTP_LIMITS.sessionsPerUsername[0], HTTP_LIMITS.sessionsPerUsername[1], Date.now, redis, `${opts.redisPrefix}rl-user:`)
    : undefined;
  return { close: async () => void (await redis?.quit().catch(() => undefined)), attempts };
}

/** Route options for a named limit, keyed by client address, or by a function of the request. */
export function limit(enabled: boolean, [max, timeWindow]: readonly [number, number], key?: (req: FastifyRequest) => string) {
  if (!enabled) return {};
  return { config: { rateLimit: { max, timeWindow, ...(key ? { keyGenerator: key } : {}) } } };
}

export const byDeviceToken = tokenKey;

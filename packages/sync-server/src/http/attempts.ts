/**
 * Fixed-window attempt counters for limits keyed by something other than the
 * caller's address (sign-in attempts per username). In Redis when nodes share
 * it (INCR + PEXPIRE in one MULTI), in memory otherwise; a Redis error falls
 * back to the local count rather than locking everyone out.
 */
import type { Redis } from 'ioredis';
import { ErrorCode, TidingsError } from '@tidings/shared';

/** Most distinct keys counted in memory at once (oldest windows are dropped first). */
const MAX_LOCAL_KEYS = 100_000;

export class AttemptLimiter {
  private readonly local = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly clock: () => number,
    private readonly redis: Redis | undefined,
    private readonly prefix: string,
  ) {}

  /** Count one attempt for `key`; throws rate_limited (with retry-after) past the limit. */
  async hit(key: string): Promise<void> {
    const { count, ttlMs } = await this.count(key);
    if (count > this.max) {
      throw new TidingsError(ErrorCode.RateLimited, `too many attempts; retry in ${Math.ceil(ttlMs / 1000)} s`, { retryAfterMs: ttlMs });
    }
  }

  private async count(key: string): Promise<{ count: number; ttlMs: number }> {
    if (this.redis && this.redis.status === 'ready') {
      try {
        const k = `${this.prefix}${key}`;
        const res = await this.redis.multi().incr(k).pexpire(k, this.windowMs, 'NX').pttl(k).exec();
        const count = Number(res?.[0]?.[1]);
        const ttl = Number(res?.[2]?.[1]);
        if (Number.isFinite(count)) return { count, ttlMs: ttl > 0 ? ttl : this.windowMs };
      } catch {
        // fall through to the local count
      }
    }
    const now = this.clock();
    let w = this.local.get(key);
    if (!w || w.resetAt <= now) {
      if (this.local.size >= MAX_LOCAL_KEYS) this.local.delete(this.local.keys().next().value as string);
      w = { count: 0, resetAt: now + this.windowMs };
      this.local.set(key, w);
    }
    w.count++;
    return { count: w.count, ttlMs: w.resetAt - now };
  }
}

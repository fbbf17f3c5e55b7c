/**
 * Exponential backoff with full jitter: the n-th delay is uniform in
 * [0, min(maxMs, baseMs * 2^n)). Reset after a successful handshake.
 */

export interface BackoffOptions {
  /** First ceiling, in ms. Default 500: quick retry after a blip. */
  readonly baseMs?: number;
  /** Largest ceiling, in ms. Default 30000: a down server is probed twice a minute. */
  readonly maxMs?: number;
}

export const DEFAULT_BACKOFF_BASE_MS = 500;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(
    options: BackoffOptions,
    /** Uniform in [0, 1); injected so tests are deterministic. */
    private readonly random: () => number,
  ) {
    this.baseMs = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  }

  /** The ceiling the next delay is drawn under. */
  ceiling(): number {
    // 2^attempt overflows to Infinity long after the cap applies; min keeps it finite.
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 52));
  }

  /** The next delay in ms; each call doubles the ceiling up to maxMs. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt += 1;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** One full-jitter delay for the n-th attempt (0-based), without state. */
export function jitteredDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const max = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  return Math.floor(random() * Math.min(max, base * 2 ** Math.min(attempt, 52)));
}

import { describe, expect, it } from 'vitest';
import { Backoff, jitteredDelay } from '../src/sync/backoff.js';

describe('Backoff (full jitter)', () => {
  it('doubles the ceiling up to the max and draws uniformly under it', () => {
    const draws = [0.5, 0.5, 0.5, 0.5, 0.5, 0.999];
    const backoff = new Backoff({ baseMs: 100, maxMs: 1000 }, () => draws.shift() ?? 0);
    const delays = Array.from({ length: 6 }, () => backoff.next());
    expect(delays).toEqual([50, 100, 200, 400, 500, 999]);
  });

  it('resets to the base', () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0.5);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(50);
  });

  it('jitters across the whole range', () => {
    expect(jitteredDelay(3, { baseMs: 10, maxMs: 1000 }, () => 0)).toBe(0);
    expect(jitteredDelay(3, { baseMs: 10, maxMs: 1000 }, () => 0.75)).toBe(60);
    expect(jitteredDelay(500, { baseMs: 10, maxMs: 1000 }, () => 0.5)).toBe(500);
  });
});

/** SerialReload: one read at a time, a request during a read makes exactly one more, spaced by minGapMs. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SerialReload } from '../src/lib/serial-reload.js';

describe('SerialReload', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  /** A load whose reads finish only when the test says so; records when each started. */
  function gatedLoad() {
    const starts: number[] = [];
    const finishers: (() => void)[] = [];
    const load = () => {
      starts.push(Date.now());
      return new Promise<void>((resolve) => finishers.push(resolve));
    };
    return { starts, finishers, load };
  }

  it('coalesces a burst into one read after the first delay', async () => {
    const { starts, load } = gatedLoad();
    const r = new SerialReload(load, { firstDelayMs: 16, minGapMs: 250, now: Date.now });
    for (let i = 0; i < 100; i++) r.request();
    await vi.advanceTimersByTimeAsync(15);
    expect(starts).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toHaveLength(1);
  });

  it('never runs two reads at once, and a stream of requests reads at most once per gap', async () => {
    const { starts, finishers, load } = gatedLoad();
    const r = new SerialReload(load, { firstDelayMs: 16, minGapMs: 250, now: Date.now });
    const t0 = Date.now();
    r.request();
    await vi.advanceTimersByTimeAsync(16);
    expect(starts).toHaveLength(1);
    // Requests keep coming while the first read is slow: nothing else starts.
    for (let i = 0; i < 50; i++) {
      r.request();
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(starts).toHaveLength(1);
    finishers[0]!();
    await vi.advanceTimersByTimeAsync(16);
    expect(starts).toHaveLength(2); // exactly one follow-up, for all 50 requests
    // A quick read with requests every frame: reads start no closer than the gap.
    finishers[1]!();
    for (let i = 0; i < 60; i++) {
      r.request();
      await vi.advanceTimersByTimeAsync(16);
      finishers.forEach((f) => f());
    }
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    expect(gaps.every((g) => g >= 250)).toBe(true);
    expect(starts.length).toBeGreaterThan(3);
    expect(starts[0]! - t0).toBe(16);
  });

  it('keeps reading after a failed read', async () => {
    let calls = 0;
    const r = new SerialReload(() => (++calls === 1 ? Promise.reject(new Error('engine gone')) : Promise.resolve()), { firstDelayMs: 16, minGapMs: 100, now: Date.now });
    r.request();
    await vi.advanceTimersByTimeAsync(16);
    r.request();
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(2);
  });
});

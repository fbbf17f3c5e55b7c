import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_SEQUENCE,
  SnowflakeGenerator,
  TIDINGS_EPOCH_MS,
  composeSnowflake,
  decomposeSnowflake,
} from '../src/index.js';

describe('snowflake', () => {
  it('composes and decomposes losslessly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: TIDINGS_EPOCH_MS, max: TIDINGS_EPOCH_MS + 2 ** 41 - 1 }),
        fc.integer({ min: 0, max: 1023 }),
        fc.integer({ min: 0, max: MAX_SEQUENCE }),
        (timeMs, nodeId, sequence) => {
          const id = composeSnowflake({ timeMs, nodeId, sequence });
          expect(id).toBeLessThan(1n << 63n);
          expect(decomposeSnowflake(id)).toEqual({ timeMs, nodeId, sequence });
        },
      ),
    );
  });

  it('is strictly increasing under any clock, including one that steps backwards', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 3 }), { minLength: 1, maxLength: 3000 }), (steps) => {
        let t = TIDINGS_EPOCH_MS + 1_000_000;
        let i = 0;
        const gen = new SnowflakeGenerator(7, () => {
          t += steps[i++ % steps.length] ?? 0;
          return t;
        });
        let last = 0n;
        for (let n = 0; n < 5000; n++) {
          const id = gen.next();
          expect(id).toBeGreaterThan(last);
          expect(decomposeSnowflake(id).nodeId).toBe(7);
          last = id;
        }
      }),
      { numRuns: 30 },
    );
  });

  it('issues 4096 ids in one millisecond, then waits for the clock', () => {
    const t = TIDINGS_EPOCH_MS + 5000;
    let reads = 0;
    const gen = new SnowflakeGenerator(1, () => {
      reads++;
      // The clock only moves after the generator has had to wait for it.
      return reads > 4097 + 3 ? t + 1 : t;
    });
    const ids = Array.from({ length: 4096 }, () => gen.next());
    expect(new Set(ids).size).toBe(4096);
    expect(ids.every((id) => decomposeSnowflake(id).timeMs === t)).toBe(true);
    const next = gen.next();
    expect(decomposeSnowflake(next).timeMs).toBe(t + 1);
    expect(decomposeSnowflake(next).sequence).toBe(0);
  });

  it('nextAfter lands above an id from another node whose clock runs ahead', () => {
    const t = TIDINGS_EPOCH_MS + 10_000;
    const gen = new SnowflakeGenerator(2, () => t);
    const ahead = composeSnowflake({ timeMs: t + 5000, nodeId: 900, sequence: MAX_SEQUENCE });
    const id = gen.nextAfter(ahead);
    expect(id).toBeGreaterThan(ahead);
    expect(decomposeSnowflake(id).nodeId).toBe(2);
    expect(gen.next()).toBeGreaterThan(id);
  });

  it('rejects node ids outside 10 bits', () => {
    expect(() => new SnowflakeGenerator(1024)).toThrow(RangeError);
    expect(() => new SnowflakeGenerator(-1)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import type { ConversationId, EntryId } from '@tidings/shared';
import { ChainTracker } from '../src/sync/chain.js';
import { entry } from './support/replica-suite.js';

const C = 7n as ConversationId;
const ids = (es: readonly { id: bigint }[]) => es.map((e) => e.id);

describe('ChainTracker (the gap rule)', () => {
  it('applies live entries that connect and ignores duplicates', () => {
    const chain = new ChainTracker();
    chain.reset(new Map([[C, 5n as EntryId]]));
    expect(ids(chain.live(C, [entry(3n, 0n), entry(5n, 3n), entry(8n, 5n)], true).apply)).toEqual([8n]);
    expect(ids(chain.live(C, [entry(8n, 5n)], true).apply)).toEqual([]);
    expect(chain.cursorOf(C)).toBe(8n);
    expect(chain.settled()).toBe(true);
  });

  it('holds entries past a gap, pulls once, and applies them when the gap fills', () => {
    const chain = new ChainTracker();
    chain.reset(new Map([[C, 5n as EntryId]]));
    const first = chain.live(C, [entry(12n, 9n)], true);
    expect(first).toEqual({ apply: [], pull: { conversationId: C, after: 5n } });
    expect(chain.live(C, [entry(15n, 12n)], true).pull).toBeNull(); // already pulling
    expect(chain.settled()).toBe(false);
    const filled = chain.catchUp(C, [entry(9n, 5n), entry(12n, 9n)]);
    expect(ids(filled)).toEqual([9n, 12n, 15n]);
    expect(chain.settled()).toBe(true);
    expect(chain.cursorOf(C)).toBe(15n);
  });

  it('holds without pulling until allowed, then reports stalled pulls', () => {
    const chain = new ChainTracker();
    chain.reset(new Map());
    expect(chain.live(C, [entry(4n, 2n)], false)).toEqual({ apply: [], pull: null });
    expect(chain.stalledPulls()).toEqual([{ conversationId: C, after: 0n }]);
    expect(chain.stalledPulls()).toEqual([]);
  });

  it('applies reordered live entries once the earlier one arrives', () => {
    const chain = new ChainTracker();
    chain.reset(new Map());
    expect(chain.live(C, [entry(4n, 2n)], false).apply).toEqual([]);
    expect(ids(chain.live(C, [entry(2n, 0n)], false).apply)).toEqual([2n, 4n]);
    expect(chain.settled()).toBe(true);
  });

  it('catch-up skips entries at or below the cursor', () => {
    const chain = new ChainTracker();
    chain.reset(new Map([[C, 5n as EntryId]]));
    expect(ids(chain.catchUp(C, [entry(3n, 0n), entry(5n, 3n), entry(6n, 5n)]))).toEqual([6n]);
  });
});

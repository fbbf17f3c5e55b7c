/**
 * The conversation history's incremental parts, without a browser: day rows
 * rebuilt only where messages changed (always equal to a full `toRows`), and
 * the windowed list's geometry (heights kept by position across a prepend,
 * offsets equal to a naive prefix sum, the reader's anchor carried over). The
 * work counters show that a page added to a long history costs the page.
 */
import { describe, expect, it } from 'vitest';
import type { MessageView } from '../src/engine/api.js';
import { dayRowsWork, nextDayRows, type DayRows } from '../src/lib/day-rows.js';
import { ListGeometry, remapIndex } from '../src/lib/list-geometry.js';
import { toRows, upsertSorted, type Row } from '../src/lib/rows.js';

/** Deterministic PRNG (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = new Date(2026, 10, 29, 12).getTime();
const HOUR = 3_600_000;

/** A message numbered n (seq order), `hoursAgo` before NOW. */
function message(n: number, hoursAgo: number): MessageView {
  return { uid: `u${n}`, seq: String(n).padStart(12, '0'), createdAt: NOW - hoursAgo * HOUR, content: { kind: 'text', text: `m${n}` } } as unknown as MessageView;
}

/** Messages first..last (seq order), `perDay` to a calendar day, the newest today. */
function history(first: number, last: number, newest: number, perDay: number): MessageView[] {
  const out: MessageView[] = [];
  for (let n = first; n <= last; n++) out.push(message(n, ((newest - n) * 24) / perDay));
  return out;
}

function shape(rows: readonly Row[]): string[] {
  return rows.map((r) => (r.kind === 'day' ? `${r.key}|${r.label}` : `msg:${r.message.uid}`));
}

describe('day rows built incrementally', () => {
  it('equal a full rebuild through random prepends, appends, edits and removals', () => {
    const random = seeded(9);
    for (let round = 0; round < 40; round++) {
      const newest = 5_000;
      let oldest = newest - 30;
      const perDay = 1 + Math.floor(random() * 20);
      let messages = history(oldest, newest, newest, perDay);
      let state: DayRows | null = nextDayRows(null, messages, NOW);
      let next = newest + 1;
      for (let step = 0; step < 30; step++) {
        const op = random();
        if (op < 0.35) {
          const size = 1 + Math.floor(random() * 40);
          messages = history(oldest - size, oldest - 1, newest, perDay).concat(messages);
          oldest -= size;
        } else if (op < 0.55) {
          messages = upsertSorted(messages, message(next++, 0));
        } else if (op < 0.75 && messages.length > 0) {
          const at = Math.floor(random() * messages.length);
          const m = messages[at]!;
          messages = upsertSorted(messages, { ...m, content: { kind: 'text', text: 'edited' } } as MessageView);
        } else if (messages.length > 1) {
          const at = Math.floor(random() * messages.length);
          const count = 1 + Math.floor(random() * 5);
          messages = messages.filter((_, i) => i < at || i >= at + count);
        }
        state = nextDayRows(state, messages, NOW);
        expect(shape(state.rows)).toEqual(shape(toRows(messages, NOW)));
        const byUid = new Map(messages.map((m) => [m.uid, m]));
        for (const r of state.rows) if (r.kind === 'message') expect(r.message).toBe(byUid.get(r.message.uid));
      }
    }
  });

  it('builds only the page and reuses the rows of a 100,000-message history when a page is prepended', () => {
    const loaded = history(1_001, 101_000, 101_000, 250);
    const before = nextDayRows(null, loaded, NOW);
    const page = history(1, 1_000, 101_000, 250);
    const start = dayRowsWork.built;
    const after = nextDayRows(before, page.concat(loaded), NOW);
    expect(dayRowsWork.built - start).toBeLessThanOrEqual(page.length + 1);
    expect(shape(after.rows)).toEqual(shape(toRows(page.concat(loaded), NOW)));
    // The newest rows are the very objects of before: the list can tell by identity that they stayed.
    expect(after.rows[after.rows.length - 1]).toBe(before.rows[before.rows.length - 1]);
    expect(after.rows[after.rows.length - 50_000]).toBe(before.rows[before.rows.length - 50_000]);
  });

  it('relabels every day when the local day changed since the last build', () => {
    const messages = history(1, 10, 10, 24);
    const first = nextDayRows(null, messages, NOW);
    expect(first.rows[0]).toMatchObject({ kind: 'day', label: 'Today' });
    // Two days later a new message arrives: it is today's, and the old day is no longer "Today".
    const later = nextDayRows(first, messages.concat(message(11, -47)), NOW + 2 * 86_400_000);
    expect(shape(later.rows)).toEqual(shape(toRows(later.messages, NOW + 2 * 86_400_000)));
    expect(later.rows.filter((r) => r.kind === 'day').map((r) => r.kind === 'day' && r.label === 'Today')).toEqual([false, true]);
  });
});

interface Item {
  readonly key: string;
}
const keyOf = (item: Item): string => item.key;
const items = (from: number, to: number): Item[] => Array.from({ length: to - from + 1 }, (_, i) => ({ key: `k${from + i}` }));
const heightOf = (i: number): number => 20 + (i % 7) * 10;

describe('list geometry', () => {
  it('keeps measured heights across a prepend, with offsets equal to a naive prefix sum', () => {
    const geometry = new ListGeometry<Item>(44);
    const old = items(1_001, 101_000);
    geometry.update(old, keyOf);
    for (let i = old.length - 40; i < old.length; i++) geometry.setHeight(i, heightOf(i));
    const lookups = geometry.work.keyLookups;
    const next = items(1, 1_000).concat(old);
    const remap = geometry.update(next, keyOf);
    expect(remap).toEqual({ prefix: 0, suffix: 100_000, before: 100_000, after: 101_000 });
    // No key of the 100,000 kept rows was looked at.
    expect(geometry.work.keyLookups - lookups).toBe(0);
    let at = 0;
    for (let i = 0; i < next.length; i++) {
      expect(geometry.top(i)).toBe(at);
      at += i >= next.length - 40 ? heightOf(i - 1_000) : 44;
    }
    expect(geometry.total()).toBe(at);
    expect(geometry.rowAt(geometry.top(100_990) + 1)).toBe(100_990);
    expect(geometry.rowAt(-5)).toBe(0);
    expect(geometry.rowAt(at + 100)).toBe(next.length - 1);
  });

  it('agrees with a naive model through random prepends, appends, replacements, removals and measurements', () => {
    const random = seeded(11);
    const geometry = new ListGeometry<Item>(44);
    const model = new Map<string, number>();
    let next = 0;
    const fresh = (count: number): Item[] => Array.from({ length: count }, () => ({ key: `r${next++}` }));
    let list = fresh(50);
    for (let step = 0; step < 400; step++) {
      const op = random();
      const at = Math.floor(random() * (list.length + 1));
      if (op < 0.3) list = fresh(1 + Math.floor(random() * 300)).concat(list);
      else if (op < 0.5) list = list.concat(fresh(1 + Math.floor(random() * 5)));
      else if (op < 0.7) list = list.map((item, i) => (i >= at && i < at + 20 ? { ...item } : item));
      else if (op < 0.85) list = list.filter((_, i) => i < at || i >= at + 1 + Math.floor(random() * 30));
      else list = list.slice(0, at).concat(fresh(Math.floor(random() * 10)), list.slice(at));
      geometry.update(list, keyOf);
      const keys = new Set(list.map(keyOf));
      for (const key of [...model.keys()]) if (!keys.has(key)) model.delete(key);
      for (let k = 0; k < 10 && list.length > 0; k++) {
        const i = Math.floor(random() * list.length);
        const h = 10 + Math.floor(random() * 90);
        geometry.setHeight(i, h);
        model.set(list[i]!.key, h);
      }
      let top = 0;
      for (let i = 0; i < list.length; i++) {
        if (geometry.top(i) !== top) expect({ step, i, top: geometry.top(i) }).toEqual({ step, i, top });
        top += model.get(list[i]!.key) ?? 44;
      }
      expect(geometry.total()).toBe(top);
    }
  });

  it('looks up keys only for replaced rows, and finds their heights again', () => {
    const geometry = new ListGeometry<Item>(44);
    const list = items(1, 10_000);
    geometry.update(list, keyOf);
    for (let i = 9_990; i < 10_000; i++) geometry.setHeight(i, 100);
    const replaced = list.slice(0, 9_995).concat(list.slice(9_995).map((item) => ({ ...item })));
    const lookups = geometry.work.keyLookups;
    const remap = geometry.update(replaced, keyOf);
    expect(remap.prefix).toBe(9_995);
    expect(geometry.work.keyLookups - lookups).toBe(10);
    expect(geometry.measured(9_997)).toBe(true);
    expect(geometry.total()).toBe(9_990 * 44 + 10 * 100);
    expect(remapIndex(remap, 9_000)).toBe(9_000);
    expect(remapIndex(remap, 9_996)).toBeUndefined();
  });

  it('carries the anchor: kept rows by position, a replaced row to the first kept row below it, else by key', () => {
    const geometry = new ListGeometry<Item>(10);
    const old = items(100, 199);
    geometry.update(old, keyOf);
    // Kept row, rows added above: same row, same place relative to the viewport.
    const page = items(1, 99);
    let moved = geometry.align(page.concat(old), keyOf, { index: 5, rel: -3 }).anchor;
    expect(moved).toEqual({ index: 104, rel: -3 });
    // A replaced row above kept rows (a day separator that moved above the new page): the next kept row takes over, where it was.
    const withSeparator = [{ key: 'day:x' }, ...old];
    geometry.update(withSeparator, keyOf);
    geometry.setHeight(0, 30);
    const scrolledTo = geometry.top(0) - 0;
    moved = geometry.align([...page, { key: 'day:x' }, ...old], keyOf, { index: 0, rel: scrolledTo }).anchor;
    expect(moved).toEqual({ index: 100, rel: 30 });
    // Everything replaced (a re-read of the newest rows): found again by key.
    const copies = old.map((item) => ({ ...item }));
    geometry.update(old, keyOf);
    moved = geometry.align(copies, keyOf, { index: 42, rel: 7 }).anchor;
    expect(moved).toEqual({ index: 42, rel: 7 });
    // Gone without a trace: no anchor.
    expect(geometry.align(items(500, 510), keyOf, { index: 3, rel: 0 }).anchor).toBeNull();
  });
});

/**
 * The stored document stays bounded under repeated toggles (Yjs update format
 * v2, run-length encoded), snapshots travel in v2, and what was written in v1
 * before — stored documents and Snapshot entries — still loads.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { EntryType, type ConversationId, type DeviceId, type Entry, type EntryId, type UserId } from '@tidings/shared';
import { systemClock } from '../src/runtime/clock.js';
import { LOCAL, StateLayer, readStateData, snapshotData, type LoadedDoc } from '../src/state/state-layer.js';
import { ConversationState } from '../src/state/conversation-state.js';
import { MemoryStateStore } from './support/state-sim.js';

const CONV = 3n as ConversationId;
const entryOf = (i: number, type: EntryType, sender = 2n): Entry => ({
  conversationId: CONV,
  id: BigInt(i + 1) as EntryId,
  prevId: BigInt(i) as EntryId,
  senderUserId: sender as UserId,
  senderDeviceId: 2n as DeviceId,
  clientMsgId: `c${i}`,
  type,
  createdAt: 0,
  body: new Uint8Array(0),
});

/** A layer over `store` that records what it sends. */
function layerOn(store: MemoryStateStore, sent: { data: Uint8Array; snapshot: boolean }[] = []): StateLayer {
  return new StateLayer({ store, clock: systemClock, snapshotEvery: Number.MAX_SAFE_INTEGER, send: (_c, data, snapshot) => Promise.resolve(void sent.push({ data, snapshot })) });
}

/** Toggles one of 3 users' 3 reactions on one message (or only `only`'s), `n` times. */
async function toggle(layer: StateLayer, from: number, n: number, only?: string): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await layer.mutate(CONV, (d) => {
      const user = only ?? String(i % 3);
      const emoji = ['👍', '❤️', '😂'][Math.floor(i / 3) % 3]!;
      const on = d.conversation.annotations('9:m0', null).reactions[emoji]?.includes(user) !== true;
      d.conversation.react('9:m0', user, emoji, on, LOCAL);
    });
  }
}

describe('state compaction', () => {
  it('keeps the stored document the same size from 1,000 to 5,000 reaction toggles, and it loads back the same', async () => {
    const store = new MemoryStateStore();
    const layer = layerOn(store);
    await toggle(layer, 0, 1000);
    const after1k = store.docs.get(CONV)!;
    await toggle(layer, 1000, 4000);
    const after5k = store.docs.get(CONV)!;
    expect(after5k.format).toBe(2);
    expect(after5k.state.length).toBeLessThan(1024);
    expect(after5k.state.length).toBeLessThanOrEqual(after1k.state.length + 16);
    // Format v1 of the same document grows with every toggle: what v2 saves.
    const v1 = await layer.read(CONV, (d) => Y.encodeStateAsUpdate(d.doc).length);
    expect(v1).toBeGreaterThan(10 * after5k.state.length);
    const view = await layer.read(CONV, (d) => d.conversation.view());
    expect(await layerOn(store).read(CONV, (d) => d.conversation.view())).toEqual(view);
  });

  it('posts snapshots in v2, marked, and a device that only has the snapshot gets the same state', async () => {
    const store = new MemoryStateStore();
    const sent: { data: Uint8Array; snapshot: boolean }[] = [];
    const layer = layerOn(store, sent);
    await toggle(layer, 0, 300);
    await layer.mutate(CONV, (d) => d.conversation.setProfile({ name: 'Trio' }, LOCAL));
    await layer.postSnapshot(CONV);
    const snap = sent.filter((s) => s.snapshot).pop()!;
    expect(readStateData(snap.data).format).toBe(2);
    expect(readStateData(sent[0]!.data).format).toBe(1); // Crdt updates stay v1
    const other = layerOn(new MemoryStateStore());
    await other.received(CONV, entryOf(0, EntryType.Snapshot), snap.data);
    expect(await other.read(CONV, (d) => d.conversation.view())).toEqual(await layer.read(CONV, (d) => d.conversation.view()));
  });

  it('still loads a document stored in v1 and applies a v1 snapshot entry', async () => {
    const old = new Y.Doc();
    new ConversationState(old).setProfile({ name: 'Before v2' }, LOCAL);
    const store = new MemoryStateStore();
    store.docs.set(CONV, { state: Y.encodeStateAsUpdate(old), sinceSnapshot: 0 });
    expect(await layerOn(store).read(CONV, (d) => d.conversation.profile().name)).toBe('Before v2');

    const fresh = layerOn(new MemoryStateStore());
    await fresh.received(CONV, entryOf(0, EntryType.Snapshot), Y.encodeStateAsUpdate(old));
    expect(await fresh.read(CONV, (d) => d.conversation.profile().name)).toBe('Before v2');
    // Garbage after the v2 mark is dropped, not applied.
    await fresh.received(CONV, entryOf(1, EntryType.Snapshot), Uint8Array.of(...snapshotData(old).subarray(0, 4), 1, 2, 3));
    expect(await fresh.read(CONV, (d) => d.conversation.profile().name)).toBe('Before v2');
  });

  it('applies a catch-up page as one batch: the page\'s snapshot first, the rest after it, one change event, the count since the snapshot right', async () => {
    const source = new MemoryStateStore();
    const sent: { data: Uint8Array; snapshot: boolean }[] = [];
    const author = layerOn(source, sent);
    await toggle(author, 0, 50, '2');
    await author.mutate(CONV, (d) => d.conversation.setProfile({ name: 'Page' }, LOCAL));
    await author.postSnapshot(CONV);
    await toggle(author, 50, 5, '2');
    const page = sent.map((s, i) => ({ entry: entryOf(i, s.snapshot ? EntryType.Snapshot : EntryType.Crdt), data: s.data }));
    expect(page.filter((p) => p.entry.type === EntryType.Snapshot)).toHaveLength(1);

    const store = new MemoryStateStore();
    const reader = layerOn(store);
    const changes: ConversationId[] = [];
    reader.on('changed', ({ conversationId }) => void changes.push(conversationId));
    const opened = await reader.batch(CONV, async () => {
      for (const p of page) await reader.received(CONV, p.entry, p.data);
      expect(store.docs.get(CONV)).toBeUndefined(); // held until the page is opened
      return page.length;
    });
    expect(opened).toBe(page.length);
    expect(changes).toEqual([CONV]);
    expect(store.docs.get(CONV)!.sinceSnapshot).toBe(5);
    expect(await reader.read(CONV, (d) => d.conversation.view())).toEqual(await author.read(CONV, (d) => d.conversation.view()));
    // Outside a batch, updates apply one by one as before.
    const single = layerOn(new MemoryStateStore());
    for (const p of page) await single.received(CONV, p.entry, p.data);
    expect(await single.read(CONV, (d) => d.conversation.view())).toEqual(await author.read(CONV, (d) => d.conversation.view()));
  });

  it('drops a Crdt update that adds a record in another member\'s name, on every device alike; the sender\'s own records pass', async () => {
    const forger = layerOn(new MemoryStateStore(), []);
    const sent: { data: Uint8Array; snapshot: boolean }[] = [];
    const honest = layerOn(new MemoryStateStore(), sent);
    // User 2's devices write (each from a document of its own, so no update depends on another): its own
    // reaction (fine), then an edit, a deletion, a pin and a reaction in user 7's name.
    const one = async (change: (d: LoadedDoc) => void): Promise<{ data: Uint8Array; snapshot: boolean }> => {
      const out: { data: Uint8Array; snapshot: boolean }[] = [];
      await layerOn(new MemoryStateStore(), out).mutate(CONV, change);
      return out[0]!;
    };
    const forged = [
      await one((d) => d.conversation.react('7:m1', '2', '👍', true, LOCAL)),
      await one((d) => d.conversation.edit('7:m1', 'words 7 never wrote', '7', 1, LOCAL)),
      await one((d) => d.conversation.deleteForEveryone('7:m2', '7', 2, LOCAL)),
      await one((d) => d.conversation.pin('7:m3', '7', 3, true, LOCAL)),
      await one((d) => d.conversation.react('7:m1', '7', '👎', true, LOCAL)),
    ];
    for (const reader of [forger, honest]) {
      await reader.batch(CONV, async () => {
        for (const [i, f] of forged.entries()) await reader.received(CONV, entryOf(i, EntryType.Crdt, 2n), f.data);
      });
      const seen = await reader.read(CONV, (d) => ({ a: d.conversation.annotations('7:m1', '7'), deleted: d.conversation.deletedUids(), pins: d.conversation.pinnedUids() }));
      expect(seen.a.reactions).toEqual({ '👍': ['2'] });
      expect(seen.a.edits).toEqual([]);
      expect(seen.deleted).toEqual([]);
      expect(seen.pins).toEqual([]);
    }
    // The same edit, sent by user 7's own device, is taken.
    const own: { data: Uint8Array; snapshot: boolean }[] = [];
    await layerOn(new MemoryStateStore(), own).mutate(CONV, (d) => d.conversation.edit('7:m1', 'my own words', '7', 4, LOCAL));
    await honest.received(CONV, entryOf(9, EntryType.Crdt, 7n), own[0]!.data);
    expect((await honest.read(CONV, (d) => d.conversation.annotations('7:m1', '7'))).edits.map((e) => e.text)).toEqual(['my own words']);
    expect(sent).toEqual([]); // dropping sends nothing
  });
});

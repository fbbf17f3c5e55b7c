/**
 * The state side of the Dexie replica (documents, erasing, removing and
 * expiring rows) and the state layer's refusals: bad input gets a typed
 * error and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { EntryType, ErrorCode, TidingsError, type ConversationId } from '@tidings/shared';
import { openMemoryReplica } from '../src/node.js';
import { messageUid } from '../src/model/message.js';
import { LOCAL, StateLayer } from '../src/state/state-layer.js';
import { ManualClock } from './support/manual-clock.js';
import { OTHER, entry } from './support/replica-suite.js';

const CONV = 7n as ConversationId;
const text = (id: bigint, createdAt: number) => ({ entry: { ...entry(id, id - 1n), createdAt }, content: { kind: 'text' as const, text: `secret ${id}` } });
const uidOf = (id: bigint): string => messageUid(22n, `m${id}`);

describe('replica: state documents and row effects', () => {
  it('stores a document, erases content deleted for everyone, removes rows for me, expires by creation time', async () => {
    const replica = await openMemoryReplica(`state-${Math.random()}`);
    expect(await replica.loadDoc(CONV)).toBeNull();
    await replica.saveDoc(CONV, { state: new Uint8Array([1, 2]), sinceSnapshot: 3 });
    expect(await replica.loadDoc(CONV)).toEqual({ state: new Uint8Array([1, 2]), sinceSnapshot: 3 });

    const system = { entry: { ...entry(5n, 4n, undefined, 'm5', EntryType.System), createdAt: 150 }, content: { kind: 'system' as const, event: { op: 'members_added' as const, userIds: [], by: null } } };
    await replica.applyEntries(CONV, [text(1n, 100), text(2n, 200), text(3n, 300), text(4n, 400), system]);
    const author = String(OTHER.userId);
    expect(await replica.eraseMessage(uidOf(1n), '99')).toBeNull(); // only its author deletes a message for everyone
    const erased = await replica.eraseMessage(uidOf(1n), author);
    expect(erased?.content).toEqual({ kind: 'text', text: '' });
    expect(erased?.body.length).toBe(0);
    expect(await replica.eraseMessage(uidOf(1n), author)).toBeNull(); // already erased
    expect(await replica.eraseMessage('nope:x', author)).toBeNull();
    expect(Buffer.from(await replica.exportSnapshot()).toString()).not.toContain('secret 1');

    expect(await replica.removeMessages([uidOf(2n), 'nope:x'])).toEqual([uidOf(2n)]);
    // [since, before): 300 is in, 400 is not; System rows never expire.
    expect(await replica.expireMessages(CONV, 150, 400)).toEqual([uidOf(3n)]);
    const left = (await replica.messages(CONV, { limit: 10 })).map((m) => m.uid);
    expect(left).toEqual([uidOf(1n), uidOf(4n), `${system.entry.senderDeviceId}:m5`]);
    await replica.close();
  });
});

describe('state layer refusals', () => {
  it('rejects bad input with invalid_argument and sends and stores nothing', async () => {
    const replica = await openMemoryReplica(`state-${Math.random()}`);
    const sent: Uint8Array[] = [];
    const layer = new StateLayer({ store: replica, clock: new ManualClock(), send: (_c, d) => Promise.resolve(void sent.push(d)) });
    const bad = [
      (l: StateLayer) => l.mutate(CONV, (d) => d.conversation.edit('a:b', '', '1', 0, LOCAL)),
      (l: StateLayer) => l.mutate(CONV, (d) => d.conversation.react('a:b', '1', 'x'.repeat(64), true, LOCAL)),
      (l: StateLayer) => l.mutate(CONV, (d) => d.conversation.setTimer(-1, 0, LOCAL)),
      (l: StateLayer) => l.mutate(CONV, (d) => d.conversation.setTimer(1.5, 0, LOCAL)),
      (l: StateLayer) => l.mutate(CONV, (d) => d.conversation.setProfile({ name: 'n'.repeat(500) }, LOCAL)),
      (l: StateLayer) => l.mutate(CONV, (d) => d.account.archive('not-an-id', true, LOCAL)),
      (l: StateLayer) => l.mutate(CONV, (d) => d.account.setDraft('12', 'd'.repeat(10_000), LOCAL)),
    ];
    for (const b of bad) await expect(b(layer)).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(sent).toEqual([]);
    expect(await replica.loadDoc(CONV)).toBeNull();
    // A malformed update from another device is dropped and changes nothing.
    await layer.received(CONV, entry(9n, 8n, undefined, 'm9', EntryType.Crdt), new Uint8Array([255, 1, 2, 3]));
    expect(await layer.read(CONV, (d) => d.conversation.view())).toEqual(await new StateLayer({ store: await openMemoryReplica(`e-${Math.random()}`), clock: new ManualClock(), send: () => Promise.resolve() }).read(CONV, (d) => d.conversation.view()));
    // Edits after a delete for everyone are refused as a conflict.
    await layer.mutate(CONV, (d) => d.conversation.deleteForEveryone('a:b', '1', 0, LOCAL));
    await expect(layer.mutate(CONV, (d) => d.conversation.edit('a:b', 'again', '1', 0, LOCAL))).rejects.toMatchObject({ code: 'conflict' });
    expect(sent).toHaveLength(1);
    await replica.close();
  });

  it('a document too large for a snapshot entry keeps working: the change stands and is sent', async () => {
    const replica = await openMemoryReplica(`state-${Math.random()}`);
    const sent: boolean[] = [];
    const layer = new StateLayer({
      store: replica,
      clock: new ManualClock(),
      snapshotEvery: 1,
      send: (_c, _d, snapshot) => (snapshot ? Promise.reject(new TidingsError(ErrorCode.PayloadTooLarge, 'too big')) : Promise.resolve(void sent.push(snapshot))),
    });
    await layer.mutate(CONV, (d) => d.conversation.setProfile({ name: 'still works' }, LOCAL));
    expect(sent).toEqual([false]);
    expect((await layer.read(CONV, (d) => d.conversation.profile())).name).toBe('still works');
    await replica.close();
  });
});

/**
 * The catch-up path of the MLS log reader (issue #11 target 5): a batch of
 * application messages is decrypted with one group write, not one per
 * message, and what is written is the state after the whole batch, in the
 * same transaction as the batch's rows (a ratchet step stored without them
 * would leave those messages unreadable for good).
 */
import { EntryType, parseEntryId, type Entry } from '@tidings/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MlsGroup, isE2eeError, loadSuite } from '../../src/e2ee/index.js';
import { GroupCache } from '../../src/e2ee-engine/groups.js';
import { LogReader, partsAtCommits } from '../../src/e2ee-engine/log-reader.js';
import { encodePayload } from '../../src/e2ee-engine/payload.js';
import { openMemoryReplica } from '../../src/node.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { twoMemberGroups } from './devices.js';
import { failOnce } from '../support/fail-once.js';
import { stubHost } from './host.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function readerFor(bob: MlsGroup, logger = silentLogger) {
  const replica = await openMemoryReplica(`log-reader-${Math.random()}`);
  closers.push(() => replica.close());
  const self = bob.self;
  const credentials = { userId: self.userId, deviceId: self.deviceId, token: 'unused' };
  await replica.saveGroup(bob.conversationId, bob.serialize());
  const host = stubHost(replica, credentials, { logger });
  const groups = new GroupCache(replica, credentials, bob.suite);
  const reader = new LogReader(host, groups, { confirmed: async () => undefined, applied: async () => undefined, lostCreation: async () => undefined });
  return { reader, replica };
}

async function textEntries(alice: MlsGroup, from: number, count: number): Promise<Entry[]> {
  const sender = alice.self;
  const out: Entry[] = [];
  for (let i = from; i < from + count; i++) {
    out.push({
      conversationId: alice.conversationId,
      id: parseEntryId(1000 + i),
      prevId: parseEntryId(999 + i),
      senderUserId: sender.userId,
      senderDeviceId: sender.deviceId,
      clientMsgId: `m${i}`,
      type: EntryType.Text,
      createdAt: 0,
      body: await alice.encrypt(encodePayload({ t: 'text', text: `message ${i}` })),
    });
  }
  return out;
}

describe('LogReader catch-up batches', () => {
  it('decrypts a batch into one group state, stored with the batch, holding the state after it', async () => {
    const [alice, bob] = await twoMemberGroups(70);
    const { reader, replica } = await readerFor(bob);
    const saves = vi.spyOn(replica, 'saveGroup');
    const batch = await textEntries(alice, 0, 40);
    const page = await reader.open(alice.conversationId, batch);
    expect(page.entries.map((o) => (o.content?.kind === 'text' ? o.content.text : o.content?.kind))).toEqual(batch.map((_, i) => `message ${i}`));
    expect(saves).not.toHaveBeenCalled(); // nothing is written before the batch's own transaction
    expect(page.groups.map((g) => g.conversationId)).toEqual([alice.conversationId]);
    await replica.applyEntries(alice.conversationId, page.entries, page.groups);

    // The stored state is past every message of the batch (their keys are gone) and reads what follows.
    const stored = await replica.loadGroup(alice.conversationId);
    if (stored === null) throw new Error('group not stored');
    const restored = await MlsGroup.restore(stored);
    const replayed = await restored.decrypt(batch[5]!.body).catch((e: unknown) => e);
    expect(isE2eeError(replayed, 'decryption_failed')).toBe(true);
    const [next] = await textEntries(alice, 40, 1);
    expect(new TextDecoder().decode((await restored.decrypt(next!.body)).plaintext)).toContain('message 40');
  });

  it('a message that does not open is reported unreadable and the rest of the batch still opens and is saved', async () => {
    const [alice, bob] = await twoMemberGroups(80);
    const { reader, replica } = await readerFor(bob);
    const saves = vi.spyOn(replica, 'saveGroup');
    const batch = await textEntries(alice, 0, 3);
    const bad = batch[1]!.body.slice();
    bad[bad.length - 3] = (bad[bad.length - 3] as number) ^ 0xff;
    const page = await reader.open(alice.conversationId, [batch[0]!, { ...batch[1]!, body: bad }, batch[2]!]);
    expect(page.entries.map((o) => o.content?.kind)).toEqual(['text', 'unreadable', 'text']);
    expect(page.groups).toHaveLength(1);
    expect(saves).not.toHaveBeenCalled();
  });

  it('a batch that was not stored opens again: its group goes back to the stored state', async () => {
    const [alice, bob] = await twoMemberGroups(85);
    const { reader } = await readerFor(bob);
    const batch = await textEntries(alice, 0, 5);
    const texts = (page: { entries: { content: { kind: string; text?: string } | null }[] }) => page.entries.map((o) => o.content?.text ?? o.content?.kind);
    expect(texts(await reader.open(alice.conversationId, batch))).toEqual(batch.map((_, i) => `message ${i}`));
    // Without `unstored` the group in memory is past these messages: opening them again fails.
    expect(texts(await reader.open(alice.conversationId, batch.slice(0, 1)))).toEqual(['unreadable']);
    reader.unstored([alice.conversationId]);
    expect(texts(await reader.open(alice.conversationId, batch))).toEqual(batch.map((_, i) => `message ${i}`));
  });

  it('replays held entries in one write with the group state: a failed write keeps them held, and they open when replayed again', async () => {
    const [alice, bob] = await twoMemberGroups(95);
    const { reader, replica } = await readerFor(bob);
    const id = alice.conversationId;
    const batch = await textEntries(alice, 0, 3);
    // They arrived before the group: committed rows waiting for keys, the entries held.
    await replica.applyEntries(id, batch.map((entry) => ({ entry, content: { kind: 'unreadable', reason: 'awaiting_keys' } })));
    for (const entry of batch) await replica.hold(entry);
    const saves = vi.spyOn(replica, 'saveGroup');
    failOnce(replica, 'settleHeld', 'disk full');
    await expect(reader.replay(id)).rejects.toThrow('disk full');
    expect(saves).not.toHaveBeenCalled(); // no ratchet step stored without its rows
    expect(await replica.held(id)).toHaveLength(3);

    await reader.replay(id);
    const rows = await replica.messages(id, { limit: 10 });
    expect(rows.map((m) => (m.content.kind === 'text' ? m.content.text : m.content.kind))).toEqual(['message 0', 'message 1', 'message 2']);
    expect(await replica.held(id)).toHaveLength(0);
    const stored = await replica.loadGroup(id);
    if (stored === null) throw new Error('group not stored');
    const restored = await MlsGroup.restore(stored);
    expect(isE2eeError(await restored.decrypt(batch[2]!.body).catch((e: unknown) => e), 'decryption_failed')).toBe(true); // stored past them
  });

  it('a message whose signature fails inside a batch is unreadable, and the rest opens (checks deferred, then redone one by one)', async () => {
    const [alice, bob] = await twoMemberGroups(90);
    const warnings: string[] = [];
    const { reader, replica } = await readerFor(bob, { ...silentLogger, warn: (message: string) => void warnings.push(message) });
    const head = await textEntries(alice, 0, 2);
    // Alice's member key signs message 2 with a wrong signature: its AEAD opens, only the signature check fails.
    const impl = await loadSuite(alice.suite);
    const sign = vi.spyOn(impl.signature, 'sign').mockImplementation(async () => new Uint8Array(64).fill(7));
    let forged: Entry[];
    try {
      forged = await textEntries(alice, 2, 1);
    } finally {
      sign.mockRestore();
    }
    const tail = await textEntries(alice, 3, 2);
    const page = await reader.open(alice.conversationId, [...head, ...forged, ...tail]);
    expect(page.entries.map((o) => (o.content?.kind === 'text' ? o.content.text : o.content?.kind))).toEqual(['message 0', 'message 1', 'unreadable', 'message 3', 'message 4']);
    expect(warnings).toContain('MLS signature check failed in a batch; opening it again message by message');
    await replica.applyEntries(alice.conversationId, page.entries, page.groups);

    // What was stored is past the good messages and still reads what follows.
    const stored = await replica.loadGroup(alice.conversationId);
    if (stored === null) throw new Error('group not stored');
    const restored = await MlsGroup.restore(stored);
    expect(isE2eeError(await restored.decrypt(tail[0]!.body).catch((e: unknown) => e), 'decryption_failed')).toBe(true);
    const [next] = await textEntries(alice, 5, 1);
    expect(new TextDecoder().decode((await restored.decrypt(next!.body)).plaintext)).toContain('message 5');
  });

  it('splits a page before each Commit, so the messages ahead of one are stored before it saves the group', () => {
    const e = (id: number, type: EntryType) => ({ id: parseEntryId(id), type }) as Entry;
    const ids = (parts: Entry[][]) => parts.map((p) => p.map((x) => Number(x.id)));
    expect(ids(partsAtCommits([e(1, EntryType.Text), e(2, EntryType.Mls), e(3, EntryType.Text), e(4, EntryType.Mls), e(5, EntryType.Mls)]))).toEqual([[1], [2, 3], [4], [5]]);
    expect(ids(partsAtCommits([e(1, EntryType.Mls), e(2, EntryType.Text), e(3, EntryType.Crdt)]))).toEqual([[1, 2, 3]]);
    expect(ids(partsAtCommits([e(1, EntryType.Text), e(2, EntryType.Text)]))).toEqual([[1, 2]]);
    expect(partsAtCommits([])).toEqual([]);
  });
});

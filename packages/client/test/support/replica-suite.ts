/** The acceptance suite every Replica implementation runs against its real backend. */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import {
  ConversationKind,
  EntryType,
  type ConversationId,
  type DeviceId,
  type Entry,
  type EntryId,
  type UserId,
} from '@tidings/shared';
import { committedSeq, messageUid, pendingSeq, type Message } from '../../src/model/message.js';
import type { Replica } from '../../src/replica/replica.js';

const CONV = 7n as ConversationId;
const ME = { userId: 1n as UserId, deviceId: 11n as DeviceId };
export const OTHER = { userId: 2n as UserId, deviceId: 22n as DeviceId };

export function entry(id: bigint, prevId: bigint, from = OTHER, clientMsgId = `m${id}`, type: EntryType = EntryType.Text): Entry {
  return {
    conversationId: CONV,
    id: id as EntryId,
    prevId: prevId as EntryId,
    senderUserId: from.userId,
    senderDeviceId: from.deviceId,
    clientMsgId,
    type,
    createdAt: Number(id),
    body: new Uint8Array([1, 2, 3]),
  };
}
const text = (e: Entry, t = `text ${e.id}`) => ({ entry: e, content: { kind: 'text' as const, text: t } });

function pending(clientMsgId: string, at: number): Message {
  return {
    uid: messageUid(ME.deviceId, clientMsgId),
    conversationId: CONV,
    seq: pendingSeq(at),
    id: null,
    ...{ senderUserId: ME.userId, senderDeviceId: ME.deviceId },
    clientMsgId,
    type: EntryType.Text,
    body: new Uint8Array([9]),
    content: { kind: 'text', text: `mine ${clientMsgId}` },
    createdAt: at,
    state: 'pending',
  };
}
const outboxItem = (m: Message) => ({
  clientMsgId: m.clientMsgId,
  conversationId: m.conversationId,
  type: m.type,
  body: m.body,
  createdAt: m.createdAt,
  attempts: 0,
});

export function replicaSuite(name: string, open: () => Promise<Replica>): void {
  describe(`Replica conformance: ${name}`, () => {
    let replica: Replica;
    beforeEach(async () => {
      replica = await open();
      await replica.upsertConversation({
        id: CONV,
        kind: ConversationKind.Dm,
        name: '',
        members: [ME.userId, OTHER.userId],
        lastId: 0n as EntryId,
        left: false,
      });
    });
    afterEach(async () => replica.close());

    it('applies entries and advances the cursor together', async () => {
      const changed = await replica.applyEntries(CONV, [text(entry(5n, 0n)), text(entry(9n, 5n))]);
      expect(changed.map((m) => m.id)).toEqual([5n, 9n]);
      expect((await replica.cursor()).get(CONV)).toBe(9n);
      const [conv] = await replica.conversations();
      expect(conv).toMatchObject({ kind: 'dm', cursor: 9n, lastId: 9n, members: [1n, 2n] });
    });

    it('is idempotent: re-applying changes nothing', async () => {
      await replica.applyEntries(CONV, [text(entry(5n, 0n)), text(entry(9n, 5n))]);
      expect(await replica.applyEntries(CONV, [text(entry(5n, 0n)), text(entry(9n, 5n))])).toEqual([]);
      expect(await replica.messages(CONV, { limit: 10 })).toHaveLength(2);
    });

    it('advances the cursor over entries that are not messages', async () => {
      await replica.applyEntries(CONV, [{ entry: entry(4n, 0n, OTHER, 'c', EntryType.Crdt), content: null }]);
      expect((await replica.cursor()).get(CONV)).toBe(4n);
      expect(await replica.messages(CONV, { limit: 10 })).toEqual([]);
    });

    it('keeps the cursor when the server re-describes the conversation', async () => {
      await replica.applyEntries(CONV, [text(entry(5n, 0n))]);
      await replica.upsertConversation({ id: CONV, kind: ConversationKind.Dm, name: '', members: [], lastId: 8n as EntryId, left: true });
      const [conv] = await replica.conversations();
      expect(conv).toMatchObject({ cursor: 5n, lastId: 8n, left: true });
    });

    it('creates a placeholder for entries of an unknown conversation', async () => {
      const other = 99n as ConversationId;
      await replica.applyEntries(other, [text({ ...entry(3n, 0n), conversationId: other })]);
      expect((await replica.cursor()).get(other)).toBe(3n);
      expect((await replica.conversations()).find((c) => c.id === other)?.kind).toBe('unknown');
    });

    it('writes the optimistic row and outbox item together, sorted after committed rows', async () => {
      await replica.applyEntries(CONV, [text(entry(5n, 0n))]);
      const m = pending('a', 1000);
      await replica.enqueue(m, outboxItem(m));
      expect(await replica.pending()).toEqual([outboxItem(m)]);
      const rows = await replica.messages(CONV, { limit: 10 });
      expect(rows.map((r) => r.state)).toEqual(['sent', 'pending']);
      expect(await replica.message(m.uid)).toEqual(m);
    });

    it('upgrades a pending own message in place when its entry arrives, and drops its outbox item', async () => {
      const m = pending('a', 1000);
      await replica.enqueue(m, outboxItem(m));
      const [upgraded] = await replica.applyEntries(CONV, [{ entry: entry(5n, 0n, ME, 'a'), content: { kind: 'unreadable', reason: 'own' } }]);
      expect(upgraded).toMatchObject({ uid: m.uid, id: 5n, seq: committedSeq(5n), state: 'sent', content: m.content });
      expect(await replica.pending()).toEqual([]);
      expect(await replica.messages(CONV, { limit: 10 })).toHaveLength(1);
    });

    it('applies a sent ack once; the later entry then only moves the cursor', async () => {
      const m = pending('a', 1000);
      await replica.enqueue(m, outboxItem(m));
      expect(await replica.markSent(ME.deviceId, 'a', 5n as EntryId, 77)).toMatchObject({ id: 5n, state: 'sent', createdAt: 77 });
      expect(await replica.markSent(ME.deviceId, 'a', 5n as EntryId, 77)).toBeNull();
      expect(await replica.pending()).toEqual([]);
      expect(await replica.applyEntries(CONV, [text(entry(5n, 0n, ME, 'a'))])).toEqual([]);
      expect((await replica.cursor()).get(CONV)).toBe(5n);
    });

    it('marks a send failed and drops it from the outbox', async () => {
      const m = pending('a', 1000);
      await replica.enqueue(m, outboxItem(m));
      await replica.recordAttempt('a');
      expect((await replica.pending())[0]?.attempts).toBe(1);
      const failed = await replica.markFailed(ME.deviceId, 'a', { code: 'not_a_member', message: 'no' });
      expect(failed).toMatchObject({ state: 'failed', error: { code: 'not_a_member' } });
      expect(await replica.pending()).toEqual([]);
    });

    it('lists the outbox oldest first', async () => {
      for (const [id, at] of [['c', 3], ['a', 1], ['b', 2]] as const) {
        const m = pending(id, at);
        await replica.enqueue(m, outboxItem(m));
      }
      expect((await replica.pending()).map((i) => i.clientMsgId)).toEqual(['a', 'b', 'c']);
    });

    it('pages history newest page first, each page oldest first', async () => {
      const entries = [];
      for (let i = 1n; i <= 7n; i++) entries.push(text(entry(i * 10n, (i - 1n) * 10n)));
      await replica.applyEntries(CONV, entries);
      const newest = await replica.messages(CONV, { limit: 3 });
      expect(newest.map((m) => m.id)).toEqual([50n, 60n, 70n]);
      const older = await replica.messages(CONV, { limit: 3, before: newest[0]!.seq });
      expect(older.map((m) => m.id)).toEqual([20n, 30n, 40n]);
      const oldest = await replica.messages(CONV, { limit: 3, before: older[0]!.seq });
      expect(oldest.map((m) => m.id)).toEqual([10n]);
    });

    it('stores receipt positions: delivered only forward and at least read, own read only forward, others\' read as given', async () => {
      const at = (d: bigint, r: bigint) => ({ delivered: d as EntryId, read: r as EntryId });
      const first = await replica.applyReceipts(CONV, [{ userId: OTHER.userId, ...at(9n, 5n) }, { userId: ME.userId, ...at(0n, 7n) }], ME.userId);
      expect(first).toEqual([
        { userId: OTHER.userId, ...at(9n, 5n) },
        { userId: ME.userId, ...at(7n, 7n) },
      ]);
      // Unchanged items are not reported; delivered never moves back; a hidden read (0) is stored as 0 for others only.
      const second = await replica.applyReceipts(CONV, [{ userId: OTHER.userId, ...at(4n, 0n) }, { userId: ME.userId, ...at(7n, 3n) }], ME.userId);
      expect(second).toEqual([{ userId: OTHER.userId, ...at(9n, 0n) }]);
      const stored = await replica.receipts(CONV);
      expect(stored).toHaveLength(2);
      expect(stored).toContainEqual({ userId: ME.userId, ...at(7n, 7n) });
      expect(await replica.receipts(99n as ConversationId)).toEqual([]);
    });

    it('counts unread exactly: others\' Text/Media/Document above the own read position', async () => {
      const sys = entry(2n, 0n, OTHER, 'sys', EntryType.System);
      await replica.applyEntries(CONV, [
        { entry: sys, content: { kind: 'system', event: { op: 'created', userIds: [], by: null } } },
        text(entry(3n, 2n)),
        text(entry(4n, 3n, ME, 'mine')),
        { entry: entry(5n, 4n, OTHER, 'media', EntryType.Media), content: { kind: 'unsupported', entryType: EntryType.Media } },
        { entry: entry(6n, 5n, OTHER, 'crdt', EntryType.Crdt), content: null },
        text(entry(8n, 6n)),
      ]);
      const m = pending('p', 1000);
      await replica.enqueue(m, outboxItem(m));
      expect(await replica.unreadCount(CONV, ME.userId)).toBe(3);
      expect(await replica.unreadCount(CONV, OTHER.userId)).toBe(2); // the own text and the pending one
      await replica.applyReceipts(CONV, [{ userId: ME.userId, delivered: 5n as EntryId, read: 5n as EntryId }], ME.userId);
      expect(await replica.unreadCount(CONV, ME.userId)).toBe(1);
      await replica.applyReceipts(CONV, [{ userId: ME.userId, delivered: 8n as EntryId, read: 8n as EntryId }], ME.userId);
      expect(await replica.unreadCount(CONV, ME.userId)).toBe(0);
      expect(await replica.unreadCount(99n as ConversationId, ME.userId)).toBe(0);
    });

    it('finds the newest committed message, ignoring pending ones', async () => {
      expect(await replica.newestMessageId(CONV)).toBeNull();
      await replica.applyEntries(CONV, [text(entry(5n, 0n)), text(entry(9n, 5n))]);
      const m = pending('p', 1000);
      await replica.enqueue(m, outboxItem(m));
      expect(await replica.newestMessageId(CONV)).toBe(9n);
      expect(await replica.conversation(CONV)).toMatchObject({ id: CONV, cursor: 9n });
      expect(await replica.conversation(99n as ConversationId)).toBeNull();
    });

    it('stores system events with their ids', async () => {
      const e = entry(5n, 0n, OTHER, 'sys', EntryType.System);
      const event = { op: 'members_added', userIds: [3n as UserId], by: 2n as UserId };
      await replica.applyEntries(CONV, [{ entry: e, content: { kind: 'system', event } }]);
      const [m] = await replica.messages(CONV, { limit: 1 });
      expect(m?.content).toEqual({ kind: 'system', event });
    });
  });
}

import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import type { ConversationId, DeviceId, EntryId, UserId } from '@tidings/shared';
import { EntryType } from '@tidings/shared';
import { DexieReplica } from '../src/replica/dexie-replica.js';
import { decodePayload, encodePayload } from '../src/e2ee-engine/payload.js';

const conv = 7n as ConversationId;

describe('E2EE key store in the replica (schema v3)', () => {
  it('upgrades a version 2 database, keeping its rows, and adds the key tables', async () => {
    const factory = new IDBFactory();
    const v2 = new Dexie('v2', { indexedDB: factory, IDBKeyRange });
    v2.version(1).stores({ conversations: 'id', messages: 'uid, [conversationId+seq]', outbox: 'clientMsgId, createdAt' });
    v2.version(2).stores({
      messages: 'uid, [conversationId+seq], [conversationId+countable+seq], [conversationId+senderUserId+countable+seq]',
      receipts: '[conversationId+userId]',
    });
    await v2.open();
    await v2.table('conversations').put({ id: '7', kind: 'dm', name: '', members: ['1', '2'], lastId: '6', left: false, cursor: '6' });
    v2.close();
    const replica = await DexieReplica.open({ name: 'v2', indexedDB: factory, IDBKeyRange });
    expect((await replica.conversation(conv))?.cursor).toBe(6n);
    expect(await replica.loadIdentity()).toBeNull();
    await replica.saveIdentity(new Uint8Array([1, 2, 3]));
    await replica.addKeyPackages([{ ref: 'ab', secret: new Uint8Array([9]) }]);
    await replica.saveGroup(conv, new Uint8Array([4, 5]));
    expect(await replica.loadIdentity()).toEqual(new Uint8Array([1, 2, 3]));
    expect(await replica.keyPackage('ab')).toEqual(new Uint8Array([9]));
    await replica.deleteKeyPackage('ab');
    expect(await replica.keyPackage('ab')).toBeUndefined();
    expect(await replica.loadGroup(conv)).toEqual(new Uint8Array([4, 5]));
    await replica.close();
  });

  it('holds entries in id order, and a snapshot round-trips every table', async () => {
    const replica = await DexieReplica.open({ name: 'held', indexedDB: new IDBFactory(), IDBKeyRange });
    const entry = (id: bigint, type: EntryType) => ({
      conversationId: conv,
      id: id as EntryId,
      prevId: 0n as EntryId,
      senderUserId: 1n as UserId,
      senderDeviceId: 2n as DeviceId,
      clientMsgId: `m${id}`,
      type,
      createdAt: 1,
      body: new Uint8Array([Number(id)]),
    });
    await replica.hold(entry(20n, EntryType.Text));
    await replica.hold(entry(3n, EntryType.Mls));
    expect((await replica.held(conv)).map((e) => e.id)).toEqual([3n, 20n]);
    expect(await replica.hasHeldCommit(conv)).toBe(true);
    await replica.storeHistory({ conversationId: conv, items: [{ id: 20n as EntryId, content: { kind: 'text', text: 'old' } }] }, []);
    await replica.saveIdentity(new Uint8Array([7]));
    const snapshot = await replica.exportSnapshot();
    const copy = await DexieReplica.open({ name: 'copy', indexedDB: new IDBFactory(), IDBKeyRange });
    await copy.importSnapshot(snapshot);
    expect((await copy.held(conv)).map((e) => e.body)).toEqual([new Uint8Array([3]), new Uint8Array([20])]);
    expect(await copy.historyContent(conv, 20n as EntryId)).toEqual({ kind: 'text', text: 'old' });
    expect(await copy.loadIdentity()).toEqual(new Uint8Array([7]));
    await copy.settleHeld(conv, [], [3n as EntryId], []);
    expect(await copy.hasHeldCommit(conv)).toBe(false);
    await replica.close();
    await copy.close();
  });

  it('encodes application payloads and rejects anything else', () => {
    expect(decodePayload(encodePayload({ t: 'text', text: 'hé' }))).toEqual({ t: 'text', text: 'hé' });
    const history = { t: 'history' as const, conversationId: conv, items: [{ id: 5n as EntryId, content: { kind: 'text' as const, text: 'x' } }] };
    expect(decodePayload(encodePayload(history))).toEqual(history);
    expect(() => decodePayload(new TextEncoder().encode('{"t":"nope"}'))).toThrow();
    expect(() => decodePayload(new Uint8Array([0xff]))).toThrow();
  });
});

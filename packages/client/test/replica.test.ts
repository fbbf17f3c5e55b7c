import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import { ConversationKind, EntryType, type ConversationId, type EntryId, type UserId } from '@tidings/shared';
import { DexieReplica } from '../src/replica/dexie-replica.js';
import { replicaSuite } from './support/replica-suite.js';

let n = 0;
replicaSuite('Dexie over fake-indexeddb', () =>
  DexieReplica.open({ name: `suite-${++n}`, indexedDB: new IDBFactory(), IDBKeyRange }),
);

describe('DexieReplica durability', () => {
  it('reopens a database by name with its cursor and outbox', async () => {
    const factory = new IDBFactory();
    const first = await DexieReplica.open({ name: 'durable', indexedDB: factory, IDBKeyRange });
    const conv = 3n as ConversationId;
    await first.upsertConversation({ id: conv, kind: ConversationKind.Group, name: 'g', members: [], lastId: 0n as EntryId, left: false });
    await first.close();
    const second = await DexieReplica.open({ name: 'durable', indexedDB: factory, IDBKeyRange });
    expect((await second.conversations())[0]).toMatchObject({ id: conv, kind: 'group', name: 'g', cursor: 0n });
    await second.close();
  });

  it('upgrades a version 1 database: existing messages count toward unread', async () => {
    const factory = new IDBFactory();
    const v1 = new Dexie('old', { indexedDB: factory, IDBKeyRange });
    v1.version(1).stores({ conversations: 'id', messages: 'uid, [conversationId+seq]', outbox: 'clientMsgId, createdAt' });
    await v1.open();
    await v1.table('conversations').put({ id: '3', kind: 'dm', name: '', members: ['1', '2'], lastId: '6', left: false, cursor: '6' });
    const row = (id: number, type: EntryType, sender: string) => ({
      uid: `22:m${id}`,
      conversationId: '3',
      seq: String(id).padStart(20, '0'),
      id: String(id),
      senderUserId: sender,
      senderDeviceId: '22',
      clientMsgId: `m${id}`,
      type,
      body: new Uint8Array([1]),
      content: { kind: 'text', text: `t${id}` },
      createdAt: id,
      state: 'sent',
    });
    await v1.table('messages').bulkPut([row(4, EntryType.System, '2'), row(5, EntryType.Text, '2'), row(6, EntryType.Text, '1')]);
    v1.close();

    const upgraded = await DexieReplica.open({ name: 'old', indexedDB: factory, IDBKeyRange });
    const conv = 3n as ConversationId;
    expect(await upgraded.unreadCount(conv, 1n as UserId)).toBe(1);
    expect(await upgraded.messages(conv, { limit: 10 })).toHaveLength(3);
    expect(await upgraded.receipts(conv)).toEqual([]);
    await upgraded.close();
  });
});

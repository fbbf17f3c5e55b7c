import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { ConversationKind, type ConversationId, type EntryId } from '@tidings/shared';
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
});

/** Node-only pieces of @tidings/client: the `ws` transport and an in-memory IndexedDB replica. */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { DexieReplica } from './replica/dexie-replica.js';

export { NodeWebSocketTransport } from './transport/node-ws.js';

/**
 * A Dexie replica over a fresh in-memory IndexedDB (fake-indexeddb): nothing
 * survives the process. Pass the same `factory` to reopen a database by name
 * within one process.
 */
export function openMemoryReplica(name: string, factory: IDBFactory = new IDBFactory()): Promise<DexieReplica> {
  return DexieReplica.open({ name, indexedDB: factory, IDBKeyRange });
}

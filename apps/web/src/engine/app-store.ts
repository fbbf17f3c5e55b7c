/**
 * The web app's own small IndexedDB database (beside the engine's replica):
 * the signed-in session (credentials stay here, in the worker, never in
 * localStorage), usernames learned from lookups, and drafts per conversation.
 */
import type { ConversationId, UserId } from '@tidings/shared';
import type { Credentials } from '@tidings/client';

export interface StoredSession {
  readonly credentials: Credentials;
  readonly username: string;
}

const DB_NAME = 'tidings-app';
const STORES = ['kv', 'names', 'drafts'] as const;
type StoreName = (typeof STORES)[number];

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

export class AppStore {
  private constructor(private readonly db: IDBDatabase) {}

  static open(factory: IDBFactory = indexedDB): Promise<AppStore> {
    const request = factory.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      for (const name of STORES) if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
    };
    return promised(request).then((db) => new AppStore(db));
  }

  private async get<T>(store: StoreName, key: IDBValidKey): Promise<T | undefined> {
    return (await promised(this.db.transaction(store).objectStore(store).get(key))) as T | undefined;
  }

  private async put(store: StoreName, key: IDBValidKey, value: unknown): Promise<void> {
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    await done(tx);
  }

  private async remove(store: StoreName, key: IDBValidKey): Promise<void> {
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).delete(key);
    await done(tx);
  }

  session(): Promise<StoredSession | undefined> {
    return this.get<StoredSession>('kv', 'session');
  }

  saveSession(session: StoredSession): Promise<void> {
    return this.put('kv', 'session', session);
  }

  /** The deployment's MLS ciphersuite as last read from the server (so the app starts offline with it). */
  suite(): Promise<string | undefined> {
    return this.get<string>('kv', 'mls-suite');
  }

  saveSuite(name: string): Promise<void> {
    return this.put('kv', 'mls-suite', name);
  }

  async clearSession(): Promise<void> {
    const tx = this.db.transaction(['kv', 'drafts'], 'readwrite');
    tx.objectStore('kv').delete('session');
    tx.objectStore('drafts').clear();
    await done(tx);
  }

  async names(userIds: readonly UserId[]): Promise<Map<UserId, string>> {
    const out = new Map<UserId, string>();
    const store = this.db.transaction('names').objectStore('names');
    await Promise.all(
      userIds.map(async (id) => {
        const name = (await promised(store.get(id.toString()))) as string | undefined;
        if (name !== undefined) out.set(id, name);
      }),
    );
    return out;
  }

  async saveNames(names: ReadonlyMap<UserId, string>): Promise<void> {
    const tx = this.db.transaction('names', 'readwrite');
    for (const [id, name] of names) tx.objectStore('names').put(name, id.toString());
    await done(tx);
  }

  async draft(id: ConversationId): Promise<string> {
    return (await this.get<string>('drafts', id.toString())) ?? '';
  }

  saveDraft(id: ConversationId, text: string): Promise<void> {
    return text === '' ? this.remove('drafts', id.toString()) : this.put('drafts', id.toString(), text);
  }
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

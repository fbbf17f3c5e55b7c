/**
 * The convergent-state side of the Dexie replica (schema version 4): one row
 * per conversation document (compacted Yjs state), and the row changes state
 * causes — erasing content deleted for everyone, removing rows deleted for me
 * or expired by the disappearing timer.
 */
import { Dexie, type EntityTable, type Table } from 'dexie';
import type { ConversationId } from '@tidings/shared';
import { messageFromRow, contentToRow, type MessageRow } from './dexie-rows.js';
import type { Message } from '../model/message.js';
import type { DocStore, MessageEraser, StoredDoc } from '../state/ports.js';

export interface DocRow {
  id: string;
  state: Uint8Array;
  /** Encoding of `state` (StoredDoc.format); absent on rows written before format 2. */
  format?: 1 | 2;
  sinceSnapshot: number;
}

/** Tables added by schema version 4. */
export const STATE_STORES = { docs: 'id' };

export interface StateTables {
  docs: Table<DocRow, string>;
  messages: EntityTable<MessageRow, 'uid'>;
  transaction: Dexie['transaction'];
}

const EMPTY = new Uint8Array(0);

export class DexieState implements DocStore, MessageEraser {
  constructor(private readonly db: StateTables) {}

  async loadDoc(conversationId: ConversationId): Promise<StoredDoc | null> {
    const row = await this.db.docs.get(String(conversationId));
    return row ? { state: row.state, sinceSnapshot: row.sinceSnapshot, ...(row.format === 2 ? { format: 2 as const } : {}) } : null;
  }

  async saveDoc(conversationId: ConversationId, doc: StoredDoc): Promise<void> {
    await this.db.docs.put({ id: String(conversationId), state: doc.state, sinceSnapshot: doc.sinceSnapshot, ...(doc.format === 2 ? { format: 2 as const } : {}) });
  }

  eraseMessage(uid: string, by: string): Promise<Message | null> {
    const { messages } = this.db;
    return this.db.transaction('rw', messages, async () => {
      const row = await messages.get(uid);
      if (!row || row.senderUserId !== by || (row.content.kind === 'text' && row.content.text === '' && row.body.length === 0)) return null;
      const erased: MessageRow = { ...row, body: EMPTY, content: contentToRow({ kind: 'text', text: '' }) };
      await messages.put(erased);
      return messageFromRow(erased);
    });
  }

  removeMessages(uids: readonly string[]): Promise<string[]> {
    const { messages } = this.db;
    return this.db.transaction('rw', messages, async () => {
      const present = (await messages.bulkGet([...uids])).flatMap((r) => (r ? [r.uid] : []));
      await messages.bulkDelete(present);
      return present;
    });
  }

  expireMessages(conversationId: ConversationId, since: number, before: number): Promise<string[]> {
    const { messages } = this.db;
    const cid = String(conversationId);
    return this.db.transaction('rw', messages, async () => {
      const uids = await messages
        .where('[conversationId+seq]')
        .between([cid, Dexie.minKey], [cid, Dexie.maxKey])
        .filter((r) => r.countable === 1 && r.createdAt >= since && r.createdAt < before)
        .primaryKeys();
      await messages.bulkDelete(uids);
      return uids;
    });
  }
}

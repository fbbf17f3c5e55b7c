/**
 * The Replica on IndexedDB through Dexie. It takes the IndexedDB factory and
 * key range class explicitly, so the same code runs on a browser's IndexedDB
 * and on fake-indexeddb in Node.
 */
import { Dexie, type EntityTable } from 'dexie';
import type { ConversationId, ConversationInfo, DeviceId, Entry, EntryId, ReceiptItem, UserId, VectorCursor } from '@tidings/shared';
import { parseConversationId, parseEntryId } from '@tidings/shared';
import { kindName, type Conversation } from '../model/conversation.js';
import { committedSeq, isCountable, messageUid, type Message } from '../model/message.js';
import {
  conversationFromRow,
  messageFromRow,
  messageToRow,
  outboxFromRow,
  outboxToRow,
  receiptFromRow,
  receiptToRow,
  type ConversationRow,
  type MessageRow,
  type OutboxRow,
  type ReceiptRow,
} from './dexie-rows.js';
import type { GroupWrite, OpenedEntry, OutboxItem, PageRequest, PendingUpload, Replica } from './replica.js';
import type { E2eeJournal, PeerKeys } from '../keys/journal.js';
import type { KeyStore } from '../keys/key-store.js';
import type { MessageContent } from '../model/message.js';
import { DexieE2ee, E2EE_STORES, type E2eeTables, type GroupRow, type HeldRow, type HistoryRow, type PeerRow, type SecretRow } from './dexie-e2ee.js';
import { contentToRow } from './dexie-rows.js';
import { exportTables, importTables } from './dexie-snapshot.js';
import { DexieState, STATE_STORES, type DocRow } from './dexie-state.js';
import { DexieUploads, UPLOAD_STORES, uploadToRow, type PendingUploadRow } from './dexie-uploads.js';

export interface DexieReplicaOptions {
  /** Database name; one per account and device (e.g. `tidings-<userId>-<deviceId>`). */
  readonly name: string;
  /** The IndexedDB factory: `globalThis.indexedDB` in browsers, `new IDBFactory()` from fake-indexeddb in Node. */
  readonly indexedDB: IDBFactory;
  /** The matching key range class (`globalThis.IDBKeyRange`, or fake-indexeddb's). */
  readonly IDBKeyRange: typeof IDBKeyRange;
}

const groupRow = (g: GroupWrite): GroupRow => ({ conversationId: String(g.conversationId), bytes: g.bytes });

class TidingsDb extends Dexie {
  conversations!: EntityTable<ConversationRow, 'id'>;
  messages!: EntityTable<MessageRow, 'uid'>;
  outbox!: EntityTable<OutboxRow, 'clientMsgId'>;
  receipts!: Dexie.Table<ReceiptRow, [string, string]>;
  secrets!: Dexie.Table<SecretRow, string>;
  groups!: Dexie.Table<GroupRow, string>;
  held!: Dexie.Table<HeldRow, [string, string]>;
  history!: Dexie.Table<HistoryRow, [string, string]>;
  peers!: Dexie.Table<PeerRow, [string, string]>;
  docs!: Dexie.Table<DocRow, string>;
  pendingUploads!: Dexie.Table<PendingUploadRow, string>;

  constructor(options: DexieReplicaOptions) {
    super(options.name, { indexedDB: options.indexedDB, IDBKeyRange: options.IDBKeyRange });
    this.version(1).stores({
      conversations: 'id',
      messages: 'uid, [conversationId+seq]',
      outbox: 'clientMsgId, createdAt',
    });
    // v2: receipt positions, and two indexes that make unread an index count:
    // countable rows above the read position, minus one's own countable rows there.
    this.version(2)
      .stores({
        messages: 'uid, [conversationId+seq], [conversationId+countable+seq], [conversationId+senderUserId+countable+seq]',
        receipts: '[conversationId+userId]',
      })
      .upgrade((tx) =>
        tx
          .table<MessageRow, string>('messages')
          .toCollection()
          .modify((row) => {
            row.countable = isCountable(row.type) ? 1 : 0;
          }),
      );
    // v3: end-to-end encryption (identity, KeyPackage secrets, MLS groups, held entries,
    // history for a new device, peer identity keys). New tables only: nothing to migrate.
    this.version(3).stores(E2EE_STORES);
    // v4: convergent-state documents (one compacted Yjs state per conversation). New table only.
    this.version(4).stores(STATE_STORES);
    // v5: sealed files sent while offline, waiting to be uploaded. New table only.
    this.version(5).stores(UPLOAD_STORES);
  }
}

const maxId = (a: string, b: string): string => (BigInt(a) >= BigInt(b) ? a : b);
/** Sorts above every committed seq and below every pending one (`~`). */
const COMMITTED_END = '~';

/** A row for entries whose conversation the server has not described yet. */
const placeholder = (id: string): ConversationRow => ({
  id,
  kind: 'unknown',
  name: '',
  members: [],
  lastId: '0',
  left: false,
  cursor: '0',
});

export class DexieReplica implements Replica {
  private readonly db: TidingsDb;
  private readonly e2ee: DexieE2ee;
  private readonly state: DexieState;
  private readonly uploads: DexieUploads;

  private constructor(options: DexieReplicaOptions) {
    this.db = new TidingsDb(options);
    const tables: E2eeTables = this.db;
    this.e2ee = new DexieE2ee(tables);
    this.state = new DexieState(this.db);
    this.uploads = new DexieUploads(this.db);
  }

  /** Opens (creating or upgrading) the database. */
  static async open(options: DexieReplicaOptions): Promise<DexieReplica> {
    const replica = new DexieReplica(options);
    await replica.db.open();
    return replica;
  }

  async close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }

  // ---- snapshot (file-backed persistence for Node processes) ----

  /** Every row of every table, as bytes (for a process that keeps the replica in a file). */
  exportSnapshot(): Promise<Uint8Array> {
    return exportTables(this.db);
  }

  /** Replaces every table's rows with a snapshot from `exportSnapshot`. */
  importSnapshot(bytes: Uint8Array): Promise<void> {
    return importTables(this.db, bytes);
  }

  // ---- convergent-state documents and the row changes they cause (delegated) ----

  loadDoc: Replica['loadDoc'] = (id) => this.state.loadDoc(id);
  saveDoc: Replica['saveDoc'] = (id, doc) => this.state.saveDoc(id, doc);
  eraseMessage: Replica['eraseMessage'] = (uid, by) => this.state.eraseMessage(uid, by);
  removeMessages: Replica['removeMessages'] = (uids) => this.state.removeMessages(uids);
  expireMessages: Replica['expireMessages'] = (id, since, before) => this.state.expireMessages(id, since, before);

  // ---- key store and E2EE journal (delegated) ----

  loadIdentity: KeyStore['loadIdentity'] = () => this.e2ee.loadIdentity();
  saveIdentity: KeyStore['saveIdentity'] = (b) => this.e2ee.saveIdentity(b);
  addKeyPackages: KeyStore['addKeyPackages'] = (i) => this.e2ee.addKeyPackages(i);
  keyPackage: KeyStore['keyPackage'] = (r) => this.e2ee.keyPackage(r);
  deleteKeyPackage: KeyStore['deleteKeyPackage'] = (r) => this.e2ee.deleteKeyPackage(r);
  loadGroup: KeyStore['loadGroup'] = (c) => this.e2ee.loadGroup(c);
  saveGroup: KeyStore['saveGroup'] = (c, b) => this.e2ee.saveGroup(c, b);
  hold: E2eeJournal['hold'] = (e) => this.e2ee.hold(e);
  held: E2eeJournal['held'] = (c) => this.e2ee.held(c);
  heldConversations: E2eeJournal['heldConversations'] = () => this.e2ee.heldConversations();
  hasHeldCommit: E2eeJournal['hasHeldCommit'] = (c) => this.e2ee.hasHeldCommit(c);
  historyContent: E2eeJournal['historyContent'] = (c, id) => this.e2ee.historyContent(c, id);
  peerKeys: E2eeJournal['peerKeys'] = (c) => this.e2ee.peerKeys(c);
  savePeerKeys: E2eeJournal['savePeerKeys'] = (items: readonly PeerKeys[]) => this.e2ee.savePeerKeys(items);

  // ---- conversations and cursor ----

  async upsertConversation(info: ConversationInfo): Promise<Conversation> {
    const { conversations } = this.db;
    return this.db.transaction('rw', conversations, async () => {
      const id = String(info.id);
      const old = await conversations.get(id);
      const row: ConversationRow = {
        id,
        kind: kindName(info.kind),
        name: info.name,
        members: info.members.map(String),
        lastId: maxId(String(info.lastId), old?.lastId ?? '0'),
        left: info.left,
        cursor: old?.cursor ?? '0',
      };
      await conversations.put(row);
      return conversationFromRow(row);
    });
  }

  async conversations(): Promise<Conversation[]> {
    return (await this.db.conversations.toArray()).map(conversationFromRow);
  }

  async conversation(id: ConversationId): Promise<Conversation | null> {
    const row = await this.db.conversations.get(String(id));
    return row ? conversationFromRow(row) : null;
  }

  async cursor(): Promise<VectorCursor> {
    const rows = await this.db.conversations.toArray();
    return new Map(rows.map((r) => [parseConversationId(r.id), parseEntryId(r.cursor)]));
  }

  // ---- messages ----

  async applyEntries(conversationId: ConversationId, entries: readonly OpenedEntry[], groupStates: readonly GroupWrite[] = []): Promise<Message[]> {
    const { conversations, messages, outbox, groups } = this.db;
    return this.db.transaction('rw', [conversations, messages, outbox, groups], async () => {
      if (groupStates.length > 0) await groups.bulkPut(groupStates.map(groupRow));
      const convKey = String(conversationId);
      const conv = (await conversations.get(convKey)) ?? placeholder(convKey);
      let cursor = BigInt(conv.cursor);
      // One bulk read and one bulk write per batch, not two awaited requests per entry (catch-up, issue #11).
      const fresh: { entry: Entry; content: MessageContent; uid: string }[] = [];
      const seen = new Set<string>();
      for (const { entry, content } of entries) {
        if (entry.id <= cursor) continue; // already stored: applying is idempotent
        cursor = entry.id;
        if (content === null) continue; // not a message (CRDT, MLS): only the cursor moves
        const uid = messageUid(entry.senderDeviceId, entry.clientMsgId);
        if (seen.has(uid)) continue;
        seen.add(uid);
        fresh.push({ entry, content, uid });
      }
      const existingRows = fresh.length === 0 ? [] : await messages.bulkGet(fresh.map((f) => f.uid));
      const changed: Message[] = [];
      const rows: MessageRow[] = [];
      const ownSent: string[] = [];
      fresh.forEach(({ entry, content, uid }, i) => {
        const existing = existingRows[i];
        if (existing?.id != null) return; // already committed (e.g. by a `sent` ack)
        const message: Message = {
          uid,
          conversationId,
          seq: committedSeq(entry.id),
          id: entry.id,
          senderUserId: entry.senderUserId,
          senderDeviceId: entry.senderDeviceId,
          clientMsgId: entry.clientMsgId,
          type: entry.type,
          body: entry.body,
          // Our own pending row keeps its local content: a sender cannot always open its own envelope.
          content: existing ? messageFromRow(existing).content : content,
          createdAt: entry.createdAt,
          state: 'sent',
        };
        rows.push(messageToRow(message));
        if (existing) ownSent.push(entry.clientMsgId);
        changed.push(message);
      });
      if (rows.length > 0) await messages.bulkPut(rows);
      if (ownSent.length > 0) await outbox.bulkDelete(ownSent);
      const cursorText = cursor.toString();
      await conversations.put({ ...conv, cursor: cursorText, lastId: maxId(conv.lastId, cursorText) });
      return changed;
    });
  }

  async messages(conversationId: ConversationId, page: PageRequest): Promise<Message[]> {
    const cid = String(conversationId);
    const upper = page.before ?? Dexie.maxKey;
    const rows = await this.db.messages
      .where('[conversationId+seq]')
      .between([cid, Dexie.minKey], [cid, upper], true, page.before === undefined)
      .reverse()
      .limit(page.limit)
      .toArray();
    return rows.reverse().map(messageFromRow);
  }

  async message(uid: string): Promise<Message | null> {
    const row = await this.db.messages.get(uid);
    return row ? messageFromRow(row) : null;
  }

  async newestMessageId(conversationId: ConversationId): Promise<EntryId | null> {
    const cid = String(conversationId);
    const row = await this.db.messages
      .where('[conversationId+seq]')
      .between([cid, Dexie.minKey], [cid, COMMITTED_END], true, false)
      .last();
    return row?.id == null ? null : parseEntryId(row.id);
  }

  // ---- receipts ----

  async applyReceipts(conversationId: ConversationId, items: readonly ReceiptItem[], self: UserId): Promise<ReceiptItem[]> {
    const { receipts } = this.db;
    return this.db.transaction('rw', receipts, async () => {
      const rows = items.map((item) => receiptToRow(conversationId, item));
      const old = await receipts.bulkGet(rows.map((r): [string, string] => [r.conversationId, r.userId]));
      const changed: ReceiptRow[] = [];
      rows.forEach((row, i) => {
        const before = old[i];
        const read = row.userId === String(self) && before ? maxId(before.read, row.read) : row.read;
        const delivered = maxId(maxId(before?.delivered ?? '0', row.delivered), read);
        if (before && before.delivered === delivered && before.read === read) return;
        changed.push({ ...row, delivered, read });
      });
      await receipts.bulkPut(changed);
      return changed.map(receiptFromRow);
    });
  }

  async receipts(conversationId: ConversationId): Promise<ReceiptItem[]> {
    const cid = String(conversationId);
    const rows = await this.db.receipts.where('[conversationId+userId]').between([cid, Dexie.minKey], [cid, Dexie.maxKey]).toArray();
    return rows.map(receiptFromRow);
  }

  async unreadCount(conversationId: ConversationId, self: UserId): Promise<number> {
    const { messages, receipts } = this.db;
    const cid = String(conversationId);
    const me = String(self);
    return this.db.transaction('r', messages, receipts, async () => {
      const own = await receipts.get([cid, me]);
      const above = committedSeq(BigInt(own?.read ?? '0'));
      const all = await messages
        .where('[conversationId+countable+seq]')
        .between([cid, 1, above], [cid, 1, Dexie.maxKey], false, true)
        .count();
      const mine = await messages
        .where('[conversationId+senderUserId+countable+seq]')
        .between([cid, me, 1, above], [cid, me, 1, Dexie.maxKey], false, true)
        .count();
      return all - mine;
    });
  }

  // ---- outbox ----

  async enqueue(message: Message, item: OutboxItem): Promise<void> {
    const { messages, outbox } = this.db;
    await this.db.transaction('rw', messages, outbox, async () => {
      await messages.put(messageToRow(message));
      await outbox.put(outboxToRow(item));
    });
  }

  async enqueueEntry(item: OutboxItem): Promise<void> {
    await this.db.outbox.put(outboxToRow(item));
  }

  async dropOutboxItem(clientMsgId: string): Promise<void> {
    await this.db.outbox.delete(clientMsgId);
  }

  async setContent(conversationId: ConversationId, id: EntryId, content: MessageContent, onlyUnreadable: boolean): Promise<Message | null> {
    return this.db.transaction('rw', this.db.messages, () => this.replaceContent(conversationId, id, content, onlyUnreadable));
  }

  async settleHeld(
    conversationId: ConversationId,
    contents: readonly { readonly id: EntryId; readonly content: MessageContent }[],
    released: readonly EntryId[],
    groupStates: readonly GroupWrite[],
  ): Promise<Message[]> {
    const { messages, held, groups } = this.db;
    return this.db.transaction('rw', [messages, held, groups], async () => {
      const changed: Message[] = [];
      for (const { id, content } of contents) {
        const message = await this.replaceContent(conversationId, id, content, true);
        if (message) changed.push(message);
      }
      if (groupStates.length > 0) await groups.bulkPut(groupStates.map(groupRow));
      await held.bulkDelete(released.map((id): [string, string] => [String(conversationId), committedSeq(id)]));
      return changed;
    });
  }

  async storeHistory(
    received: { readonly conversationId: ConversationId; readonly items: readonly { readonly id: EntryId; readonly content: MessageContent }[] } | null,
    groupStates: readonly GroupWrite[],
  ): Promise<Message[]> {
    const { messages, history, groups } = this.db;
    return this.db.transaction('rw', [messages, history, groups], async () => {
      const changed: Message[] = [];
      if (received !== null) {
        const cid = String(received.conversationId);
        await history.bulkPut(received.items.map((i) => ({ conversationId: cid, seq: committedSeq(i.id), content: contentToRow(i.content) })));
        for (const { id, content } of received.items) {
          const message = await this.replaceContent(received.conversationId, id, content, true);
          if (message) changed.push(message);
        }
      }
      if (groupStates.length > 0) await groups.bulkPut(groupStates.map(groupRow));
      return changed;
    });
  }

  /** Inside a transaction over messages: the committed row for `id` gets `content` (with `onlyUnreadable`, only if it has none readable). */
  private async replaceContent(conversationId: ConversationId, id: EntryId, content: MessageContent, onlyUnreadable: boolean): Promise<Message | null> {
    const { messages } = this.db;
    const row = await messages.where('[conversationId+seq]').equals([String(conversationId), committedSeq(id)]).first();
    if (!row || (onlyUnreadable && row.content.kind !== 'unreadable')) return null;
    const updated: MessageRow = { ...row, content: contentToRow(content) };
    await messages.put(updated);
    return messageFromRow(updated);
  }

  async pending(): Promise<OutboxItem[]> {
    const { outbox, pendingUploads } = this.db;
    return this.db.transaction('r', outbox, pendingUploads, async () => {
      const rows = await outbox.orderBy('createdAt').toArray();
      const waiting = new Set(await pendingUploads.toCollection().primaryKeys());
      return rows.map((row) => (waiting.has(row.clientMsgId) ? { ...outboxFromRow(row), awaitingUpload: true } : outboxFromRow(row)));
    });
  }

  // ---- pending uploads (files sent while offline) ----

  async enqueueUpload(message: Message, item: OutboxItem, upload: PendingUpload): Promise<void> {
    const { messages, outbox, pendingUploads } = this.db;
    await this.db.transaction('rw', messages, outbox, pendingUploads, async () => {
      await messages.put(messageToRow(message));
      await outbox.put(outboxToRow(item));
      await pendingUploads.put(uploadToRow(upload));
    });
  }

  pendingUploads: Replica['pendingUploads'] = () => this.uploads.pendingUploads();
  pendingUploadOf: Replica['pendingUploadOf'] = (blobId) => this.uploads.pendingUploadOf(blobId);
  uploadDone: Replica['uploadDone'] = (clientMsgId) => this.uploads.uploadDone(clientMsgId);

  async markSent(senderDeviceId: DeviceId, clientMsgId: string, id: EntryId, createdAt: number): Promise<Message | null> {
    const { messages, outbox } = this.db;
    return this.db.transaction('rw', messages, outbox, async () => {
      await outbox.delete(clientMsgId);
      const row = await messages.get(messageUid(senderDeviceId, clientMsgId));
      if (!row || row.id !== null) return null;
      const { error: _dropped, ...rest } = row;
      const updated: MessageRow = { ...rest, id: id.toString(), seq: committedSeq(id), state: 'sent', createdAt };
      await messages.put(updated);
      return messageFromRow(updated);
    });
  }

  async markFailed(
    senderDeviceId: DeviceId,
    clientMsgId: string,
    error: { code: string; message: string },
  ): Promise<Message | null> {
    const { messages, outbox, pendingUploads } = this.db;
    return this.db.transaction('rw', messages, outbox, pendingUploads, async () => {
      await outbox.delete(clientMsgId);
      await pendingUploads.delete(clientMsgId);
      const row = await messages.get(messageUid(senderDeviceId, clientMsgId));
      if (!row || row.state !== 'pending') return null;
      const updated: MessageRow = { ...row, state: 'failed', error: { ...error } };
      await messages.put(updated);
      return messageFromRow(updated);
    });
  }

  async recordAttempt(clientMsgId: string): Promise<void> {
    const { outbox } = this.db;
    await this.db.transaction('rw', outbox, async () => {
      const row = await outbox.get(clientMsgId);
      if (row) await outbox.put({ ...row, attempts: row.attempts + 1 });
    });
  }
}

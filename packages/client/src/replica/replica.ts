/**
 * The replica port: the device's durable copy of its conversations, messages,
 * vector cursor, receipt positions and outbox. The UI reads only from here.
 * Split into four small interfaces; `Replica` is all four plus `close`.
 */
import type {
  ConversationId,
  ConversationInfo,
  DeviceId,
  Entry,
  EntryId,
  EntryType,
  ReceiptItem,
  UserId,
  VectorCursor,
} from '@tidings/shared';
import type { MediaDescriptor } from '../media/descriptor.js';
import type { Conversation } from '../model/conversation.js';
import type { Message, MessageContent } from '../model/message.js';
import type { E2eeJournal } from '../keys/journal.js';
import type { KeyStore } from '../keys/key-store.js';
import type { DocStore, MessageEraser } from '../state/ports.js';

/** A committed entry plus what it says; `content` null means the entry is not a message (e.g. CRDT, MLS). */
export interface OpenedEntry {
  readonly entry: Entry;
  readonly content: MessageContent | null;
}

/** A conversation's MLS group state, serialized, to be stored together with the entries whose opening advanced it. */
export interface GroupWrite {
  readonly conversationId: ConversationId;
  readonly bytes: Uint8Array;
}

/** A send waiting for the server's ack. */
export interface OutboxItem {
  readonly clientMsgId: string;
  readonly conversationId: ConversationId;
  readonly type: EntryType;
  readonly body: Uint8Array;
  /** Local time the send was made; the outbox flushes in this order. */
  readonly createdAt: number;
  /** How many times the server answered with a retryable error. */
  readonly attempts: number;
  /**
   * Set by `pending()` when the item's file is still a pending upload: the item
   * is not sent, and its conversation's later items wait behind it.
   */
  readonly awaitingUpload?: boolean;
}

/** A sealed file kept in the replica until it can be uploaded (sent while offline). */
export interface PendingUpload {
  /** The media message's outbox item and row (uid = senderDeviceId:clientMsgId). */
  readonly clientMsgId: string;
  readonly conversationId: ConversationId;
  readonly descriptor: MediaDescriptor;
  /** The sealed file: ciphertext only, byte for byte the blob the server will store (`descriptor.blobId`). */
  readonly ciphertext: Uint8Array;
  /** Local time of the send; uploads go in this order. */
  readonly createdAt: number;
}

/** Sealed files waiting for the server (see media/send-file.ts). */
export interface PendingUploadStore {
  /** Writes the optimistic message row, its outbox item and the sealed file in ONE transaction; the item waits for the upload. */
  enqueueUpload(message: Message, item: OutboxItem, upload: PendingUpload): Promise<void>;
  /** Every pending upload, oldest first. */
  pendingUploads(): Promise<PendingUpload[]>;
  /** A pending upload of this blob, or null (the sender opens its own file before it is uploaded). */
  pendingUploadOf(blobId: string): Promise<PendingUpload | null>;
  /** The file is uploaded and attached: the sealed copy goes and the outbox item may be sent. */
  uploadDone(clientMsgId: string): Promise<void>;
}

/** One page of history: `limit` rows before `before` (a Message.seq), newest page first. */
export interface PageRequest {
  readonly limit: number;
  readonly before?: string;
}

export interface ConversationStore {
  /** Inserts or updates a conversation as the server describes it; keeps the local cursor. */
  upsertConversation(info: ConversationInfo): Promise<Conversation>;
  /** Every known conversation, including ones the user has left. */
  conversations(): Promise<Conversation[]>;
  /** One conversation, or null when unknown. */
  conversation(id: ConversationId): Promise<Conversation | null>;
  /** The vector cursor: for each known conversation, the highest entry id stored. */
  cursor(): Promise<VectorCursor>;
}

export interface MessageStore {
  /**
   * Stores entries of one conversation (oldest first) and advances its cursor to
   * the last one, in ONE transaction. Entries at or below the stored cursor are
   * skipped; an entry matching a pending own message upgrades that row in place
   * and removes its outbox item. Idempotent. Returns the rows added or changed.
   * `groups`: the MLS group states that opening these entries left, written in
   * the same transaction, so a ratchet step is never stored without the rows it
   * opened (its keys are gone once used) nor the rows without it.
   */
  applyEntries(conversationId: ConversationId, entries: readonly OpenedEntry[], groups?: readonly GroupWrite[]): Promise<Message[]>;
  /** A page of messages: the newest `limit` before `before`, returned oldest first. */
  messages(conversationId: ConversationId, page: PageRequest): Promise<Message[]>;
  /**
   * Replaces the content of the committed row for entry `id` (a message opened
   * later: its keys arrived, or history from another own device). With
   * `onlyUnreadable`, rows that already have readable content are kept. Null when nothing changed.
   */
  setContent(conversationId: ConversationId, id: EntryId, content: MessageContent, onlyUnreadable: boolean): Promise<Message | null>;
  /**
   * Settles held entries that were opened once their group appeared, in ONE
   * transaction: each committed row still unreadable gets its content, the MLS
   * group states their opening left are written, and the held entries are
   * forgotten. A ratchet step is never stored without the rows it opened.
   * Returns the rows changed.
   */
  settleHeld(
    conversationId: ConversationId,
    contents: readonly { readonly id: EntryId; readonly content: MessageContent }[],
    released: readonly EntryId[],
    groups: readonly GroupWrite[],
  ): Promise<Message[]>;
  /**
   * Stores history received from another own device (contents by entry id,
   * kept for entries still to arrive) and fills in the committed rows still
   * unreadable, with the MLS group states opening it left, in ONE transaction.
   * `history` null: the groups only. Returns the rows changed.
   */
  storeHistory(
    history: { readonly conversationId: ConversationId; readonly items: readonly { readonly id: EntryId; readonly content: MessageContent }[] } | null,
    groups: readonly GroupWrite[],
  ): Promise<Message[]>;
  /** One message by its uid, or null. */
  message(uid: string): Promise<Message | null>;
  /** The id of the newest committed row (a message or System event), or null when there is none. */
  newestMessageId(conversationId: ConversationId): Promise<EntryId | null>;
}

/**
 * Receipt positions: per (conversation, member) one delivered and one read
 * entry id. A receipt is O(1) writes here however many messages it covers;
 * delivery states and unread counts are derived from these positions.
 */
export interface ReceiptStore {
  /**
   * Stores positions in ONE transaction and returns the items that changed, as
   * stored. Delivered only moves forward and is at least read. `self`'s read
   * only moves forward too (a local markRead may be ahead of the server);
   * other members' read is taken as given, so it drops to 0 when their
   * privacy settings start hiding it.
   */
  applyReceipts(conversationId: ConversationId, items: readonly ReceiptItem[], self: UserId): Promise<ReceiptItem[]>;
  /** Every stored position of a conversation (members never reported are absent). */
  receipts(conversationId: ConversationId): Promise<ReceiptItem[]>;
  /**
   * Exact unread count: Text, Media and Document rows not sent by `self` above
   * `self`'s read position. Index counts only; no rows are loaded.
   */
  unreadCount(conversationId: ConversationId, self: UserId): Promise<number>;
}

export interface Outbox {
  /** Writes the optimistic message row and its outbox item in ONE transaction. */
  enqueue(message: Message, item: OutboxItem): Promise<void>;
  /** Writes an outbox item that is not a message (an MLS Commit). */
  enqueueEntry(item: OutboxItem): Promise<void>;
  /** Drops an outbox item without touching any message row. */
  dropOutboxItem(clientMsgId: string): Promise<void>;
  /** Every item waiting for an ack, oldest first; `awaitingUpload` marks one whose file is not uploaded yet. */
  pending(): Promise<OutboxItem[]>;
  /** Applies a `sent` ack: the row becomes sent with its id, the outbox item goes. Null if nothing changed. */
  markSent(senderDeviceId: DeviceId, clientMsgId: string, id: EntryId, createdAt: number): Promise<Message | null>;
  /** Marks a send failed for good and drops its outbox item (and its pending upload). Null if nothing changed. */
  markFailed(senderDeviceId: DeviceId, clientMsgId: string, error: { code: string; message: string }): Promise<Message | null>;
  /** Counts a retryable failure of an outbox item. */
  recordAttempt(clientMsgId: string): Promise<void>;
}

export interface Replica extends ConversationStore, MessageStore, ReceiptStore, Outbox, PendingUploadStore, KeyStore, E2eeJournal, DocStore, MessageEraser {
  /** Releases the underlying database. */
  close(): Promise<void>;
}

/**
 * The replica port: the device's durable copy of its conversations, messages,
 * vector cursor and outbox. The UI reads only from here. Split into three
 * small interfaces; `Replica` is all three plus `close`.
 */
import type { ConversationId, ConversationInfo, DeviceId, Entry, EntryId, EntryType, VectorCursor } from '@tidings/shared';
import type { Conversation } from '../model/conversation.js';
import type { Message, MessageContent } from '../model/message.js';

/** A committed entry plus what it says; `content` null means the entry is not a message (e.g. CRDT, MLS). */
export interface OpenedEntry {
  readonly entry: Entry;
  readonly content: MessageContent | null;
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
  /** The vector cursor: for each known conversation, the highest entry id stored. */
  cursor(): Promise<VectorCursor>;
}

export interface MessageStore {
  /**
   * Stores entries of one conversation (oldest first) and advances its cursor to
   * the last one, in ONE transaction. Entries at or below the stored cursor are
   * skipped; an entry matching a pending own message upgrades that row in place
   * and removes its outbox item. Idempotent. Returns the rows added or changed.
   */
  applyEntries(conversationId: ConversationId, entries: readonly OpenedEntry[]): Promise<Message[]>;
  /** A page of messages: the newest `limit` before `before`, returned oldest first. */
  messages(conversationId: ConversationId, page: PageRequest): Promise<Message[]>;
  /** One message by its uid, or null. */
  message(uid: string): Promise<Message | null>;
}

export interface Outbox {
  /** Writes the optimistic message row and its outbox item in ONE transaction. */
  enqueue(message: Message, item: OutboxItem): Promise<void>;
  /** Every item waiting for an ack, oldest first. */
  pending(): Promise<OutboxItem[]>;
  /** Applies a `sent` ack: the row becomes sent with its id, the outbox item goes. Null if nothing changed. */
  markSent(senderDeviceId: DeviceId, clientMsgId: string, id: EntryId, createdAt: number): Promise<Message | null>;
  /** Marks a send failed for good and drops its outbox item. Null if nothing changed. */
  markFailed(senderDeviceId: DeviceId, clientMsgId: string, error: { code: string; message: string }): Promise<Message | null>;
  /** Counts a retryable failure of an outbox item. */
  recordAttempt(clientMsgId: string): Promise<void>;
}

export interface Replica extends ConversationStore, MessageStore, Outbox {
  /** Releases the underlying database. */
  close(): Promise<void>;
}

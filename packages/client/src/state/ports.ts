/**
 * What the state layer needs from the device's storage: its documents, and a
 * way to erase or remove message rows (delete for everyone, delete for me,
 * disappearing messages). The Dexie replica implements both; the property
 * tests use the in-memory ones in test/support.
 */
import type { ConversationId } from '@tidings/shared';
import type { Message } from '../model/message.js';

/** A conversation's document as stored: compacted state and updates seen since the last snapshot. */
export interface StoredDoc {
  readonly state: Uint8Array;
  /**
   * How `state` is encoded: 2 is Yjs's update format v2 (Y.encodeStateAsUpdateV2), what is written
   * now; absent or 1 is format v1, what replicas written before held.
   */
  readonly format?: 1 | 2;
  readonly sinceSnapshot: number;
}

export interface DocStore {
  loadDoc(conversationId: ConversationId): Promise<StoredDoc | null>;
  saveDoc(conversationId: ConversationId, doc: StoredDoc): Promise<void>;
}

export interface MessageEraser {
  /**
   * Replaces a row's content with empty text and drops its body (delete for
   * everyone). Null when there is no such row, it is already erased, or its
   * sender is not `by` (only a message's author deletes it for everyone).
   */
  eraseMessage(uid: string, by: string): Promise<Message | null>;
  /** Removes rows from this device (delete for me). Returns the uids removed. */
  removeMessages(uids: readonly string[]): Promise<string[]>;
  /** Removes the conversation's rows created in [since, before) (disappearing messages). Returns the uids removed. */
  expireMessages(conversationId: ConversationId, since: number, before: number): Promise<string[]>;
}

/**
 * The E2EE journal port: what the MLS layer must remember besides keys —
 * entries that arrived before their group's keys (held, replayed in log
 * order once the group appears), history content received for a new device,
 * and the identity keys first seen for each peer (to warn when they change).
 */
import type { ConversationId, Entry, EntryId, UserId } from '@tidings/shared';
import type { MessageContent } from '../model/message.js';

/** The identity keys of one user as seen in one conversation. */
export interface PeerKeys {
  readonly conversationId: ConversationId;
  readonly userId: UserId;
  /** Hex identity keys, sorted. */
  readonly keys: readonly string[];
  /** True once the set changed after it was first seen, until acknowledged. */
  readonly changed: boolean;
}

export interface E2eeJournal {
  /** Keeps an entry that cannot be processed yet (no group). Idempotent. */
  hold(entry: Entry): Promise<void>;
  /** Held entries of a conversation, oldest first. */
  held(conversationId: ConversationId): Promise<Entry[]>;
  /** Conversations that have held entries. */
  heldConversations(): Promise<ConversationId[]>;
  /** True when a Commit of this conversation is held (someone else started its group). */
  hasHeldCommit(conversationId: ConversationId): Promise<boolean>;
  /** History content for one entry, or null. */
  historyContent(conversationId: ConversationId, id: EntryId): Promise<MessageContent | null>;
  /** Every stored peer key set of a conversation. */
  peerKeys(conversationId: ConversationId): Promise<PeerKeys[]>;
  /** Stores peer key sets. */
  savePeerKeys(items: readonly PeerKeys[]): Promise<void>;
}

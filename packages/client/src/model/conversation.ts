/** A conversation as the replica stores it and the app reads it. */
import { ConversationKind, type ConversationId, type EntryId, type UserId } from '@tidings/shared';

/**
 * The kind of a conversation by name. 'unknown' marks a placeholder row made
 * for entries that arrived before the server described their conversation.
 */
export type ConversationKindName = 'dm' | 'group' | 'self' | 'unknown';

export function kindName(kind: ConversationKind): Exclude<ConversationKindName, 'unknown'> {
  switch (kind) {
    case ConversationKind.Dm:
      return 'dm';
    case ConversationKind.Group:
      return 'group';
    case ConversationKind.Self:
      return 'self';
    default: {
      const never: never = kind;
      throw new TypeError(`unknown conversation kind ${String(never)}`);
    }
  }
}

export interface Conversation {
  /** For groups this is also the group id. */
  readonly id: ConversationId;
  readonly kind: ConversationKindName;
  /** Group name; empty for DMs and the self conversation. */
  readonly name: string;
  readonly members: readonly UserId[];
  /** Highest committed entry id the server last reported. */
  readonly lastId: EntryId;
  /** True once this user is no longer a member; history is kept. */
  readonly left: boolean;
  /** Highest entry id durably stored here: this conversation's slot of the vector cursor. */
  readonly cursor: EntryId;
}

/** A conversation as `TidingsClient.conversations()` lists it: with its exact unread count. */
export interface ConversationWithUnread extends Conversation {
  /** Messages (Text, Media, Document) from others above the user's own read position. */
  readonly unread: number;
}

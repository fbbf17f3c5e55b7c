/** Receipt views the app reads: per-member detail and unread counts. */
import type { ConversationId, EntryId, ReceiptItem, UserId } from '@tidings/shared';

/** Where one message stands for one other member. */
export type MemberDeliveryState = 'sent' | 'delivered' | 'read';

/** One other member's receipt positions, and what they mean for one message. */
export interface MemberReceipt {
  readonly userId: UserId;
  /** Highest entry id a device of this member stored (0 when unknown). Read implies delivered. */
  readonly delivered: EntryId;
  /** Highest entry id this member has read; 0 when unknown or hidden by either side's privacy settings. */
  readonly read: EntryId;
  /** The message relative to these positions. */
  readonly state: MemberDeliveryState;
}

/** Payload of the `receipts` event: positions that moved in one conversation (as stored). */
export interface ReceiptsChange {
  readonly conversationId: ConversationId;
  readonly items: readonly ReceiptItem[];
}

/** Payload of the `unread` event. */
export interface UnreadChange {
  readonly conversationId: ConversationId;
  readonly count: number;
}

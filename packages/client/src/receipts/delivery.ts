/**
 * Delivery states derived from receipt positions, never stored per message:
 * a message of one's own is delivered when every other member's delivered
 * position is at or above its id, and read likewise with read positions.
 * Pure functions; the engine caches one summary per conversation.
 */
import type { EntryId, ReceiptItem, UserId } from '@tidings/shared';
import { MessageState, type Message } from '../model/message.js';
import type { MemberDeliveryState, MemberReceipt } from '../model/receipt.js';

/** The other members' lowest positions in one conversation. */
export interface ReceiptSummary {
  /** Lowest delivered position among the other members; null when there are none (self conversation, alone in a group). */
  readonly delivered: bigint | null;
  /** Lowest read position among the other members (0 while read receipts are hidden); null when there are none. */
  readonly read: bigint | null;
}

/** What positions a conversation has, as the engine feeds them in. */
export interface ReceiptInputs {
  /** The conversation's current members (the caller among them). */
  readonly members: readonly UserId[];
  /** Stored positions; a member without one counts as 0. */
  readonly positions: readonly ReceiptItem[];
  /** False while the user's own read receipts are off: then no one's read is shown. */
  readonly readVisible: boolean;
}

const ZERO = 0n as EntryId;

/** Each other member's positions, 0 where unknown; read is 0 while hidden, and delivered is at least read. */
function others(self: UserId, inputs: ReceiptInputs): { userId: UserId; delivered: EntryId; read: EntryId }[] {
  const byUser = new Map(inputs.positions.map((p) => [p.userId, p]));
  return inputs.members
    .filter((m) => m !== self)
    .map((userId) => {
      const p = byUser.get(userId);
      const read = inputs.readVisible ? (p?.read ?? ZERO) : ZERO;
      const delivered = p ? (p.delivered > read ? p.delivered : read) : read;
      return { userId, delivered, read };
    });
}

export function summarize(self: UserId, inputs: ReceiptInputs): ReceiptSummary {
  let delivered: bigint | null = null;
  let read: bigint | null = null;
  for (const o of others(self, inputs)) {
    delivered = delivered === null || o.delivered < delivered ? o.delivered : delivered;
    read = read === null || o.read < read ? o.read : read;
  }
  return { delivered, read };
}

function positionState(id: bigint, delivered: bigint | null, read: bigint | null): MemberDeliveryState {
  if (read !== null && read >= id) return 'read';
  if (delivered !== null && delivered >= id) return 'delivered';
  return 'sent';
}

/** The state of a message as the app sees it: derived for one's own committed messages, as stored otherwise. */
export function deliveryState(message: Message, self: UserId, summary: ReceiptSummary): MessageState {
  if (message.senderUserId !== self || message.id === null || message.state !== MessageState.Sent) return message.state;
  return positionState(message.id, summary.delivered, summary.read);
}

/** Per-member detail for one message: each other member's positions and where the message stands for them. */
export function memberReceipts(self: UserId, inputs: ReceiptInputs, messageId: EntryId): MemberReceipt[] {
  return others(self, inputs).map((o) => ({ ...o, state: positionState(messageId, o.delivered, o.read) }));
}

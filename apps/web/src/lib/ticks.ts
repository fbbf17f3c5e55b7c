/**
 * Tick state of a message as a view shows it. Delivered and read are derived
 * for one's own committed messages from the conversation's receipt positions
 * (the other members' minimum), the same rule as the engine's deliveryState.
 */
import type { UserId } from '@tidings/shared';
import type { MessageState } from '@tidings/client';
import type { MessageView, ReceiptView } from '../engine/api.js';

export function tickState(message: MessageView, self: UserId, receipts: ReceiptView | null): MessageState {
  if (message.senderUserId !== self || message.id === null) return message.state;
  if (message.state === 'pending' || message.state === 'failed' || receipts === null) return message.state;
  if (receipts.read !== null && receipts.read >= message.id) return 'read';
  if (receipts.delivered !== null && receipts.delivered >= message.id) return 'delivered';
  return 'sent';
}

/** What a tick says, for screen readers and tooltips. */
export function tickLabel(state: MessageState): string {
  switch (state) {
    case 'pending':
      return 'Waiting to send';
    case 'sent':
      return 'Sent';
    case 'delivered':
      return 'Delivered';
    case 'read':
      return 'Read';
    case 'failed':
      return 'Not sent';
    default: {
      const never: never = state;
      return String(never);
    }
  }
}

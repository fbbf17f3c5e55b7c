/**
 * Who sees which read position. A user always sees their own (that is how read
 * state syncs across their devices). Another user's read position is shown only
 * when both have read receipts on — as the big messengers do. Delivered always shows.
 */
import { encodeServerFrame, type ConversationId, type EntryId, type ReceiptItem, type UserId } from '@tidings/shared';
import type { PrivacySettings } from '../privacy/settings.js';
import { DEFAULT_PRIVACY } from '../privacy/settings.js';

export function visibleTo(viewer: UserId, items: readonly ReceiptItem[], privacy: ReadonlyMap<UserId, PrivacySettings>): ReceiptItem[] {
  const viewerOn = (privacy.get(viewer) ?? DEFAULT_PRIVACY).readReceipts;
  return items.map((i) =>
    i.userId === viewer || (viewerOn && (privacy.get(i.userId) ?? DEFAULT_PRIVACY).readReceipts) ? i : { ...i, read: 0n as EntryId },
  );
}

/** Encode one receipts frame per distinct view, and say which viewers get which. */
export function receiptFrames(
  conversationId: ConversationId,
  items: readonly ReceiptItem[],
  viewers: Iterable<UserId>,
  privacy: ReadonlyMap<UserId, PrivacySettings>,
): { frame: Uint8Array; viewers: UserId[] }[] {
  const byView = new Map<string, { frame: Uint8Array; viewers: UserId[] }>();
  for (const viewer of viewers) {
    const view = visibleTo(viewer, items, privacy);
    const key = view.map((i) => `${i.userId}:${i.delivered}:${i.read}`).join(',');
    let group = byView.get(key);
    if (!group) byView.set(key, (group = { frame: encodeServerFrame({ t: 'receipts', conversationId, items: view }), viewers: [] }));
    group.viewers.push(viewer);
  }
  return [...byView.values()];
}

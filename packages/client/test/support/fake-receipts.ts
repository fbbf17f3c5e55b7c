/**
 * The fake server's receipt cursors and privacy settings, following the sync
 * server's semantics: per (conversation, user) one delivered and one read
 * position, only moving forward, read implying delivered; a reader's read is
 * shown to a viewer only when it is the viewer's own or both have read
 * receipts on.
 */
import type { ConversationId, EntryId, ReceiptItem, UserId } from '@tidings/shared';

export interface FakeSettings {
  readReceipts: boolean;
  showLastSeen: boolean;
}

interface Positions {
  delivered: bigint;
  read: bigint;
}

export class FakeReceipts {
  private readonly positions = new Map<ConversationId, Map<UserId, Positions>>();
  private readonly settings = new Map<UserId, FakeSettings>();

  settingsOf(userId: UserId): FakeSettings {
    return { ...(this.settings.get(userId) ?? { readReceipts: true, showLastSeen: true }) };
  }

  setSettings(userId: UserId, patch: Partial<FakeSettings>): FakeSettings {
    const next = { ...this.settingsOf(userId), ...patch };
    this.settings.set(userId, next);
    return { ...next };
  }

  /** The raw positions (for assertions). */
  get(conversationId: ConversationId, userId: UserId): Positions {
    return { ...(this.positions.get(conversationId)?.get(userId) ?? { delivered: 0n, read: 0n }) };
  }

  /** Applies an ack (0 = leave as is), capped at the conversation's last id. Returns whether anything moved. */
  advance(conversationId: ConversationId, userId: UserId, delivered: bigint, read: bigint, lastId: bigint): boolean {
    let conv = this.positions.get(conversationId);
    if (!conv) {
      conv = new Map();
      this.positions.set(conversationId, conv);
    }
    const old = conv.get(userId) ?? { delivered: 0n, read: 0n };
    const cap = (v: bigint): bigint => (v > lastId ? lastId : v);
    const nextRead = cap(read) > old.read ? cap(read) : old.read;
    let nextDelivered = cap(delivered) > old.delivered ? cap(delivered) : old.delivered;
    if (nextRead > nextDelivered) nextDelivered = nextRead;
    if (nextRead === old.read && nextDelivered === old.delivered) return false;
    conv.set(userId, { delivered: nextDelivered, read: nextRead });
    return true;
  }

  /** `userId`'s positions as `viewer` may see them. */
  item(conversationId: ConversationId, userId: UserId, viewer: UserId): ReceiptItem {
    const p = this.get(conversationId, userId);
    const visible = userId === viewer || (this.settingsOf(userId).readReceipts && this.settingsOf(viewer).readReceipts);
    return { userId, delivered: p.delivered as EntryId, read: (visible ? p.read : 0n) as EntryId };
  }
}

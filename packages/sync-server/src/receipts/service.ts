/** Receipts: take acks, publish moved positions to members as each may see them, and answer status queries. */
import { encodeServerFrame, type ConversationId, type EntryId, type ReceiptItem, type UserId } from '@tidings/shared';
import type { Logger } from 'pino';
import type { SqlClient } from '../storage/sql.js';
import type { PrivacyStore } from '../privacy/settings.js';
import type { Switchboard } from '../switchboard/port.js';
import { activeMembers } from '../log/store.js';
import { receiptsOf, type ReceiptUpdate } from './store.js';
import { receiptFrames, visibleTo } from './visibility.js';
import { ReceiptWriter } from './writer.js';

export type DeliveryStatus = 'sent' | 'delivered' | 'read';

export class Receipts {
  readonly writer: ReceiptWriter;

  constructor(
    private readonly d: { db: SqlClient; privacy: PrivacyStore; switchboard: Switchboard; clock: () => number; logger: Logger; onFlush?: (n: number) => void },
  ) {
    this.writer = new ReceiptWriter({
      db: d.db,
      clock: d.clock,
      logger: d.logger,
      onFlush: d.onFlush,
      // Awaited by the writer before its next flush. Each publish reads members and privacy first;
      // run at once, two could finish out of order, and the earlier flush's frame (read still 0)
      // landing last would take a read tick back, since another user's read position may go down
      // (hidden read receipts).
      onAdvanced: (moved) => this.publish(moved).catch((err: unknown) => d.logger.warn({ err }, 'receipt publish failed')),
    });
  }

  private async publish(moved: readonly ReceiptUpdate[]): Promise<void> {
    const byConv = new Map<ConversationId, ReceiptItem[]>();
    for (const m of moved) {
      let list = byConv.get(m.conversationId);
      if (!list) byConv.set(m.conversationId, (list = []));
      list.push({ userId: m.userId, delivered: m.delivered, read: m.read });
    }
    const members = await activeMembers(this.d.db, [...byConv.keys()]);
    const everyone = new Set<UserId>();
    for (const set of members.values()) for (const u of set) everyone.add(u);
    const privacy = await this.d.privacy.get(everyone);
    for (const [conversationId, items] of byConv) {
      for (const { frame, viewers } of receiptFrames(conversationId, items, members.get(conversationId) ?? [], privacy)) {
        this.d.switchboard.toUsers(viewers, frame);
      }
    }
  }

  /** Re-publish full positions of a user's conversations to all their members (after a privacy change alters who sees what). */
  async republishFor(userId: UserId): Promise<void> {
    const { rows } = await this.d.db.query<{ conversation_id: unknown }>(
      'SELECT conversation_id FROM members WHERE user_id = $1 AND until_id IS NULL',
      [String(userId)],
    );
    const convs = rows.map((r) => BigInt(r.conversation_id as string) as ConversationId);
    const all = await receiptsOf(this.d.db, convs);
    const everyone = new Set<UserId>();
    for (const items of all.values()) for (const i of items) everyone.add(i.userId);
    const privacy = await this.d.privacy.get(everyone);
    for (const [conversationId, items] of all) {
      for (const { frame, viewers } of receiptFrames(conversationId, items, items.map((i) => i.userId), privacy)) {
        this.d.switchboard.toUsers(viewers, frame);
      }
    }
  }

  /** One receipts frame per conversation with every member's positions as `viewer` may see them (sent after hello). */
  async snapshotFrames(viewer: UserId, conversationIds: readonly ConversationId[]): Promise<Uint8Array[]> {
    const all = await receiptsOf(this.d.db, conversationIds);
    const users = new Set<UserId>([viewer]);
    for (const items of all.values()) for (const i of items) users.add(i.userId);
    const privacy = await this.d.privacy.get(users);
    return [...all].map(([conversationId, items]) => encodeServerFrame({ t: 'receipts', conversationId, items: visibleTo(viewer, items, privacy) }));
  }

  /**
   * Status of the viewer's own messages: delivered once every other member has
   * stored it, read once every other member has read it (where visible).
   */
  async statusFor(viewer: UserId, conversationId: ConversationId): Promise<(id: EntryId) => DeliveryStatus> {
    const items = (await receiptsOf(this.d.db, [conversationId])).get(conversationId) ?? [];
    const privacy = await this.d.privacy.get([viewer, ...items.map((i) => i.userId)]);
    const others = visibleTo(viewer, items, privacy).filter((i) => i.userId !== viewer);
    if (others.length === 0) return () => 'sent';
    const delivered = others.reduce((m, i) => (i.delivered < m ? i.delivered : m), others[0]!.delivered);
    const read = others.reduce((m, i) => (i.read < m ? i.read : m), others[0]!.read);
    return (id) => (read >= id ? 'read' : delivered >= id ? 'delivered' : 'sent');
  }

  /** Writes and publishes what is pending, then takes no more acks. */
  close(): Promise<void> {
    return this.writer.close();
  }
}

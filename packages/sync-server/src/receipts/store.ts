/** Receipt positions in the server store: one row per (conversation, user), only moving forward. */
import type { ConversationId, EntryId, ReceiptItem, UserId } from '@tidings/shared';
import { big, str, type SqlExecutor } from '../storage/sql.js';

export interface ReceiptUpdate {
  readonly conversationId: ConversationId;
  readonly userId: UserId;
  readonly delivered: EntryId;
  readonly read: EntryId;
}

/**
 * Apply many position updates in one statement. Positions are clamped to the
 * conversation's last entry (nobody acks the future), read implies delivered,
 * only active members count, and only rows that moved come back.
 */
export async function advanceReceipts(db: SqlExecutor, updates: readonly ReceiptUpdate[], now: number): Promise<ReceiptUpdate[]> {
  if (updates.length === 0) return [];
  const { rows } = await db.query<{ conversation_id: unknown; user_id: unknown; delivered_upto: unknown; read_upto: unknown }>(
    `WITH input AS (
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS x(c, u, d, r)
     ), valid AS (
       SELECT i.c, i.u, LEAST(GREATEST(i.d, i.r), c.last_id) AS d, LEAST(i.r, c.last_id) AS r
         FROM input i
         JOIN conversations c ON c.id = i.c
         JOIN members m ON m.conversation_id = i.c AND m.user_id = i.u AND m.until_id IS NULL
     )
     INSERT INTO receipts AS t (conversation_id, user_id, delivered_upto, read_upto, updated_at)
     SELECT c, u, d, r, $5 FROM valid
     ON CONFLICT (conversation_id, user_id) DO UPDATE
       SET delivered_upto = GREATEST(t.delivered_upto, EXCLUDED.delivered_upto),
           read_upto = GREATEST(t.read_upto, EXCLUDED.read_upto),
           updated_at = EXCLUDED.updated_at
       WHERE EXCLUDED.delivered_upto > t.delivered_upto OR EXCLUDED.read_upto > t.read_upto
     RETURNING conversation_id, user_id, delivered_upto, read_upto`,
    [
      updates.map((u) => str(u.conversationId)),
      updates.map((u) => str(u.userId)),
      updates.map((u) => str(u.delivered)),
      updates.map((u) => str(u.read)),
      now,
    ],
  );
  return rows.map((r) => ({
    conversationId: big(r.conversation_id) as ConversationId,
    userId: big(r.user_id) as UserId,
    delivered: big(r.delivered_upto) as EntryId,
    read: big(r.read_upto) as EntryId,
  }));
}

/** Every active member's positions in these conversations (0 for members who never acked). */
export async function receiptsOf(db: SqlExecutor, conversationIds: readonly ConversationId[]): Promise<Map<ConversationId, ReceiptItem[]>> {
  const out = new Map<ConversationId, ReceiptItem[]>();
  if (conversationIds.length === 0) return out;
  const { rows } = await db.query<{ conversation_id: unknown; user_id: unknown; delivered_upto: unknown; read_upto: unknown }>(
    `SELECT m.conversation_id, m.user_id, COALESCE(r.delivered_upto, 0) AS delivered_upto, COALESCE(r.read_upto, 0) AS read_upto
       FROM members m LEFT JOIN receipts r ON r.conversation_id = m.conversation_id AND r.user_id = m.user_id
      WHERE m.conversation_id = ANY($1::bigint[]) AND m.until_id IS NULL`,
    [conversationIds.map(str)],
  );
  for (const r of rows) {
    const c = big(r.conversation_id) as ConversationId;
    let list = out.get(c);
    if (!list) out.set(c, (list = []));
    list.push({ userId: big(r.user_id) as UserId, delivered: big(r.delivered_upto) as EntryId, read: big(r.read_upto) as EntryId });
  }
  return out;
}

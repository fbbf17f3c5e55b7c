/**
 * Disappearing messages on the server. Members tell the server a
 * conversation's timer (it cannot read the encrypted one in the state
 * document); the sweep deletes message ciphertext (Text, Media, Document)
 * older than the timer plus a grace period, and Crdt updates as old that a
 * later Snapshot entry supersedes. Deleting entries leaves holes in the
 * `prev_id` chain; clients fill a hole by pulling from their cursor, and a
 * pull returns whatever is above it, so a hole is crossed like any gap.
 */
import { EntryType } from '@tidings/shared';
import { big, str, type SqlClient } from '../storage/sql.js';

/** Ciphertext stays this long after its timer ran out, in ms: devices that were offline for a moment can still expire it themselves. */
export const RETENTION_GRACE_MS = 60_000;
/** How often the sweep runs, in ms. */
export const RETENTION_SWEEP_MS = 60_000;

const MESSAGE_TYPES = [EntryType.Text, EntryType.Media, EntryType.Document];

export class RetentionStore {
  constructor(private readonly db: SqlClient) {}

  /** True when the user is an active member of the conversation. */
  async isMember(userId: bigint, conversationId: bigint): Promise<boolean> {
    const { rows } = await this.db.query('SELECT 1 FROM members WHERE conversation_id = $1::bigint AND user_id = $2::bigint AND until_id IS NULL', [
      str(conversationId),
      str(userId),
    ]);
    return rows.length > 0;
  }

  /** Sets (seconds > 0) or clears (0) a conversation's retention. */
  async set(conversationId: bigint, seconds: number, by: bigint, now: number): Promise<void> {
    if (seconds === 0) {
      await this.db.query('DELETE FROM retention WHERE conversation_id = $1::bigint', [str(conversationId)]);
      return;
    }
    await this.db.query(
      `INSERT INTO retention (conversation_id, seconds, set_by, updated_at) VALUES ($1::bigint, $2, $3::bigint, $4)
       ON CONFLICT (conversation_id) DO UPDATE SET seconds = EXCLUDED.seconds, set_by = EXCLUDED.set_by, updated_at = EXCLUDED.updated_at`,
      [str(conversationId), seconds, str(by), now],
    );
  }

  async get(conversationId: bigint): Promise<number> {
    const { rows } = await this.db.query<{ seconds: number }>('SELECT seconds FROM retention WHERE conversation_id = $1::bigint', [str(conversationId)]);
    return rows[0] ? Number(rows[0].seconds) : 0;
  }

  /** Deletes expired ciphertext as of `now` (ms); returns how many entries went. */
  async sweep(now: number): Promise<number> {
    const { rows } = await this.db.query<{ conversation_id: unknown; seconds: number }>('SELECT conversation_id, seconds FROM retention');
    let deleted = 0;
    for (const r of rows) {
      const cutoff = now - Number(r.seconds) * 1000 - RETENTION_GRACE_MS;
      const id = str(big(r.conversation_id));
      const messages = await this.db.query(
        'DELETE FROM entries WHERE conversation_id = $1::bigint AND created_at < $2 AND type = ANY($3::smallint[]) RETURNING id',
        [id, cutoff, MESSAGE_TYPES],
      );
      const updates = await this.db.query(
        `DELETE FROM entries WHERE conversation_id = $1::bigint AND created_at < $2 AND type = $3
           AND id < (SELECT coalesce(max(id), 0) FROM entries WHERE conversation_id = $1::bigint AND type = $4) RETURNING id`,
        [id, cutoff, EntryType.Crdt, EntryType.Snapshot],
      );
      deleted += messages.rows.length + updates.rows.length;
    }
    return deleted;
  }
}

/**
 * SQL of the push subsystem: subscriptions, mutes, the coalescing window
 * (push_pending, one row per user and conversation) and the durable outbox
 * (push_outbox, one row per subscription and conversation, retried with
 * backoff). Claims use FOR UPDATE SKIP LOCKED, so nodes sharing a store take
 * different rows.
 */
import { big, str, type SqlClient, type SqlExecutor } from '../storage/sql.js';

export interface Subscription {
  readonly endpoint: string;
  readonly userId: bigint;
  readonly deviceId: bigint;
  readonly p256dh: string;
  readonly auth: string;
  readonly createdAt: number;
}

/** One claimed outbox row: a push to send now. */
export interface OutboxItem {
  readonly endpoint: string;
  readonly conversationId: bigint;
  readonly userId: bigint;
  readonly count: number;
  /** Attempts so far, this one included. */
  readonly attempts: number;
  readonly rev: number;
  readonly p256dh: string;
  readonly auth: string;
}

/** Most subscriptions one device keeps; registering another drops its oldest. */
export const MAX_SUBSCRIPTIONS_PER_DEVICE = 4;

export class PushStore {
  constructor(private readonly db: SqlClient) {}

  /** Register (or move to this device) a subscription; keeps at most MAX_SUBSCRIPTIONS_PER_DEVICE per device. */
  async upsertSubscription(s: Subscription): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO push_subscriptions (endpoint, user_id, device_id, p256dh, auth, created_at) VALUES ($1, $2::bigint, $3::bigint, $4, $5, $6)
         ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, device_id = EXCLUDED.device_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, created_at = EXCLUDED.created_at`,
        [s.endpoint, str(s.userId), str(s.deviceId), s.p256dh, s.auth, s.createdAt],
      );
      const { rows } = await tx.query<{ endpoint: string }>(
        'SELECT endpoint FROM push_subscriptions WHERE device_id = $1::bigint ORDER BY created_at DESC, endpoint OFFSET $2',
        [str(s.deviceId), MAX_SUBSCRIPTIONS_PER_DEVICE],
      );
      for (const r of rows) await removeEndpoint(tx, r.endpoint);
    });
  }

  /** Remove a subscription of this user; false when there was none. */
  async deleteSubscription(userId: bigint, endpoint: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query('SELECT 1 FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2::bigint FOR UPDATE', [
        endpoint,
        str(userId),
      ]);
      if (rows.length === 0) return false;
      await removeEndpoint(tx, endpoint);
      return true;
    });
  }

  /** The push service said the subscription is gone. */
  async removeGone(endpoint: string): Promise<void> {
    await this.db.transaction((tx) => removeEndpoint(tx, endpoint));
  }

  async subscriptionsOfDevice(deviceId: bigint): Promise<Subscription[]> {
    const { rows } = await this.db.query<{
      endpoint: string;
      user_id: unknown;
      device_id: unknown;
      p256dh: string;
      auth: string;
      created_at: unknown;
    }>(
      'SELECT endpoint, user_id, device_id, p256dh, auth, created_at FROM push_subscriptions WHERE device_id = $1::bigint ORDER BY created_at',
      [str(deviceId)],
    );
    return rows.map((r) => ({
      endpoint: r.endpoint,
      userId: big(r.user_id),
      deviceId: big(r.device_id),
      p256dh: r.p256dh,
      auth: r.auth,
      createdAt: Number(r.created_at),
    }));
  }

  /** True when the user is an active member of the conversation. */
  async isMember(userId: bigint, conversationId: bigint): Promise<boolean> {
    const { rows } = await this.db.query(
      'SELECT 1 FROM members WHERE conversation_id = $1::bigint AND user_id = $2::bigint AND until_id IS NULL',
      [str(conversationId), str(userId)],
    );
    return rows.length > 0;
  }

  /** Mute (until `until` ms, or for ever when null) or unmute one conversation for one user. */
  async setMute(userId: bigint, conversationId: bigint, muted: boolean, until: number | null): Promise<void> {
    if (!muted) {
      await this.db.query('DELETE FROM push_mutes WHERE user_id = $1::bigint AND conversation_id = $2::bigint', [
        str(userId),
        str(conversationId),
      ]);
      return;
    }
    await this.db.query(
      `INSERT INTO push_mutes (user_id, conversation_id, muted_until) VALUES ($1::bigint, $2::bigint, $3)
       ON CONFLICT (user_id, conversation_id) DO UPDATE SET muted_until = EXCLUDED.muted_until`,
      [str(userId), str(conversationId), until],
    );
  }

  /**
   * Count new messages into the coalescing window of each (user, conversation).
   * Users with no subscription and muted conversations are skipped here, in SQL.
   * The window's due time is set by its first message and not moved by later ones.
   */
  async enqueue(items: readonly { userId: bigint; conversationId: bigint; count: number }[], dueAt: number, now: number): Promise<number> {
    if (items.length === 0) return 0;
    const { rows } = await this.db.query(
      `INSERT INTO push_pending (user_id, conversation_id, count, due_at)
       SELECT t.u, t.c, t.n, $4 FROM unnest($1::bigint[], $2::bigint[], $3::int[]) AS t(u, c, n)
        WHERE EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = t.u)
          AND NOT EXISTS (SELECT 1 FROM push_mutes m WHERE m.user_id = t.u AND m.conversation_id = t.c AND (m.muted_until IS NULL OR m.muted_until > $5))
       ON CONFLICT (user_id, conversation_id) DO UPDATE SET count = push_pending.count + EXCLUDED.count
       RETURNING user_id`,
      [items.map((i) => str(i.userId)), items.map((i) => str(i.conversationId)), items.map((i) => i.count), dueAt, now],
    );
    return rows.length;
  }

  /**
   * Close due windows: each becomes one outbox row per subscription of its user
   * (merged into an unsent row for the same subscription and conversation,
   * whose rev moves). Returns how many outbox rows were written.
   */
  async closeDueWindows(now: number, limit: number): Promise<number> {
    const { rows } = await this.db.query(
      `WITH due AS (
         DELETE FROM push_pending WHERE (user_id, conversation_id) IN (
           SELECT user_id, conversation_id FROM push_pending WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING user_id, conversation_id, count)
       INSERT INTO push_outbox (endpoint, conversation_id, user_id, count, due_at)
       SELECT s.endpoint, d.conversation_id, d.user_id, d.count, $1 FROM due d JOIN push_subscriptions s ON s.user_id = d.user_id
        WHERE NOT EXISTS (SELECT 1 FROM push_mutes m WHERE m.user_id = d.user_id AND m.conversation_id = d.conversation_id AND (m.muted_until IS NULL OR m.muted_until > $1))
       ON CONFLICT (endpoint, conversation_id) DO UPDATE SET count = push_outbox.count + EXCLUDED.count, rev = push_outbox.rev + 1
       RETURNING endpoint`,
      [now, limit],
    );
    return rows.length;
  }

  /** Take due outbox rows for sending: each is leased until `leaseUntil` (another node takes it over after that). */
  async claim(now: number, leaseUntil: number, limit: number): Promise<OutboxItem[]> {
    const { rows } = await this.db.query<{
      endpoint: string;
      conversation_id: unknown;
      user_id: unknown;
      count: unknown;
      attempts: unknown;
      rev: unknown;
      p256dh: string;
      auth: string;
    }>(
      `UPDATE push_outbox o SET due_at = $2, attempts = o.attempts + 1
         FROM push_subscriptions s
        WHERE s.endpoint = o.endpoint AND (o.endpoint, o.conversation_id) IN (
          SELECT endpoint, conversation_id FROM push_outbox WHERE due_at <= $1 ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING o.endpoint, o.conversation_id, o.user_id, o.count, o.attempts, o.rev, s.p256dh, s.auth`,
      [now, leaseUntil, limit],
    );
    return rows.map((r) => ({
      endpoint: r.endpoint,
      conversationId: big(r.conversation_id),
      userId: big(r.user_id),
      count: Number(r.count),
      attempts: Number(r.attempts),
      rev: Number(r.rev),
      p256dh: r.p256dh,
      auth: r.auth,
    }));
  }

  /** Sent: done, unless newer messages were merged in meanwhile; then send those at once. */
  async delivered(item: OutboxItem, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const key = [item.endpoint, str(item.conversationId)];
      const { rows } = await tx.query(
        'DELETE FROM push_outbox WHERE endpoint = $1 AND conversation_id = $2::bigint AND rev = $3 RETURNING 1',
        [...key, item.rev],
      );
      if (rows.length > 0) return;
      await tx.query(
        'UPDATE push_outbox SET count = GREATEST(count - $3, 1), attempts = 0, due_at = $4 WHERE endpoint = $1 AND conversation_id = $2::bigint',
        [...key, item.count, now],
      );
    });
  }

  /** Try again at `dueAt`. */
  async retryAt(item: OutboxItem, dueAt: number): Promise<void> {
    await this.db.query('UPDATE push_outbox SET due_at = $3 WHERE endpoint = $1 AND conversation_id = $2::bigint', [
      item.endpoint,
      str(item.conversationId),
      dueAt,
    ]);
  }

  /** Give up on one push (refused, or out of attempts). */
  async drop(item: OutboxItem): Promise<void> {
    await this.db.query('DELETE FROM push_outbox WHERE endpoint = $1 AND conversation_id = $2::bigint', [
      item.endpoint,
      str(item.conversationId),
    ]);
  }

  /** When the next window or outbox row falls due (ms), or null when nothing is queued. */
  async nextDue(): Promise<number | null> {
    const { rows } = await this.db.query<{ due: unknown }>(
      'SELECT LEAST((SELECT min(due_at) FROM push_pending), (SELECT min(due_at) FROM push_outbox)) AS due',
    );
    const due = rows[0]?.due;
    return due === null || due === undefined ? null : Number(due);
  }
}

async function removeEndpoint(tx: SqlExecutor, endpoint: string): Promise<void> {
  await tx.query('DELETE FROM push_outbox WHERE endpoint = $1', [endpoint]);
  await tx.query('DELETE FROM push_subscriptions WHERE endpoint = $1', [endpoint]);
}

/**
 * Privacy settings the server enforces: read receipts and last seen. Read
 * through a small cache because every receipt and presence frame consults them.
 */
import type { UserId } from '@tidings/shared';
import { big, str, type SqlClient } from '../storage/sql.js';

export interface PrivacySettings {
  /** When false the user neither sends nor sees read receipts (delivered still shows). */
  readonly readReceipts: boolean;
  /** When false the user neither shows nor sees last-seen times. */
  readonly showLastSeen: boolean;
}

export const DEFAULT_PRIVACY: PrivacySettings = { readReceipts: true, showLastSeen: true };

/** How long a cached setting may be served, in ms: a change made on another node shows within this. */
const CACHE_TTL_MS = 5_000;

export class PrivacyStore {
  private readonly cache = new Map<UserId, { at: number; value: PrivacySettings }>();

  constructor(
    private readonly db: SqlClient,
    private readonly clock: () => number,
  ) {}

  async get(userIds: Iterable<UserId>): Promise<Map<UserId, PrivacySettings>> {
    const now = this.clock();
    const out = new Map<UserId, PrivacySettings>();
    const missing: UserId[] = [];
    for (const u of userIds) {
      const c = this.cache.get(u);
      if (c && now - c.at < CACHE_TTL_MS) out.set(u, c.value);
      else missing.push(u);
    }
    if (missing.length > 0) {
      const { rows } = await this.db.query<{ id: unknown; read_receipts: boolean; show_last_seen: boolean }>(
        'SELECT id, read_receipts, show_last_seen FROM users WHERE id = ANY($1::bigint[])',
        [missing.map(str)],
      );
      for (const r of rows) {
        const value = { readReceipts: r.read_receipts, showLastSeen: r.show_last_seen };
        const id = big(r.id) as UserId;
        this.cache.set(id, { at: now, value });
        out.set(id, value);
      }
    }
    return out;
  }

  async one(userId: UserId): Promise<PrivacySettings> {
    return (await this.get([userId])).get(userId) ?? DEFAULT_PRIVACY;
  }

  async update(userId: UserId, patch: Partial<PrivacySettings>): Promise<PrivacySettings> {
    const { rows } = await this.db.query<{ read_receipts: boolean; show_last_seen: boolean }>(
      `UPDATE users SET read_receipts = COALESCE($2, read_receipts), show_last_seen = COALESCE($3, show_last_seen)
        WHERE id = $1 RETURNING read_receipts, show_last_seen`,
      [str(userId), patch.readReceipts ?? null, patch.showLastSeen ?? null],
    );
    const r = rows[0];
    const value = r ? { readReceipts: r.read_receipts, showLastSeen: r.show_last_seen } : DEFAULT_PRIVACY;
    this.cache.set(userId, { at: this.clock(), value });
    return value;
  }
}

/** Durable last-seen times in the users table (the switchboard's LastSeenStore). */
import type { UserId } from '@tidings/shared';
import { big, str, type SqlClient } from '../storage/sql.js';
import type { LastSeenStore } from '../switchboard/port.js';

export class SqlLastSeen implements LastSeenStore {
  constructor(private readonly db: SqlClient) {}

  async record(userId: UserId, at: number): Promise<void> {
    await this.db.query('UPDATE users SET last_seen = GREATEST(COALESCE(last_seen, 0), $2) WHERE id = $1', [str(userId), at]);
  }

  async lookup(userIds: readonly UserId[]): Promise<Map<UserId, number>> {
    const { rows } = await this.db.query<{ id: unknown; last_seen: unknown }>(
      'SELECT id, last_seen FROM users WHERE id = ANY($1::bigint[]) AND last_seen IS NOT NULL',
      [userIds.map(str)],
    );
    return new Map(rows.map((r) => [big(r.id) as UserId, Number(r.last_seen)]));
  }
}

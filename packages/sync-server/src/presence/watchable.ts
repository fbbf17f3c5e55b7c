/** Whose presence a user may watch: people they share an active conversation with. */
import type { UserId } from '@tidings/shared';
import { big, str, type SqlExecutor } from '../storage/sql.js';

export async function watchable(db: SqlExecutor, viewer: UserId, candidates: readonly UserId[]): Promise<UserId[]> {
  if (candidates.length === 0) return [];
  const { rows } = await db.query<{ user_id: unknown }>(
    `SELECT DISTINCT m2.user_id FROM members m1
       JOIN members m2 ON m2.conversation_id = m1.conversation_id AND m2.until_id IS NULL
      WHERE m1.user_id = $1 AND m1.until_id IS NULL AND m2.user_id = ANY($2::bigint[])`,
    [str(viewer), candidates.map(str)],
  );
  const ok = new Set(rows.map((r) => big(r.user_id)));
  return candidates.filter((u) => ok.has(u));
}

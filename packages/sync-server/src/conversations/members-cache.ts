/** Active members of a conversation, cached briefly for ephemeral traffic (typing) that must not hit the store each time. */
import type { ConversationId, UserId } from '@tidings/shared';
import type { SqlClient } from '../storage/sql.js';
import { activeMembers } from '../log/store.js';

/** How long a member list is served from cache, in ms. Typing to a just-removed member for this long is harmless. */
const MEMBERS_TTL_MS = 2_000;
/** Most conversations cached at once. */
const MAX_CACHED = 10_000;

export class MembersCache {
  private readonly cache = new Map<ConversationId, { at: number; members: ReadonlySet<UserId> }>();

  constructor(
    private readonly db: SqlClient,
    private readonly clock: () => number,
  ) {}

  async get(conversationId: ConversationId): Promise<ReadonlySet<UserId>> {
    const now = this.clock();
    const hit = this.cache.get(conversationId);
    if (hit && now - hit.at < MEMBERS_TTL_MS) return hit.members;
    const members = (await activeMembers(this.db, [conversationId])).get(conversationId) ?? new Set<UserId>();
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as ConversationId);
    this.cache.set(conversationId, { at: now, members });
    return members;
  }
}

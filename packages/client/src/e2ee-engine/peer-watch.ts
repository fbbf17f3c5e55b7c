/**
 * Watches peers' identity keys per conversation: the first set seen is
 * remembered; any later change raises `identityChanged` and sets the
 * conversation's warning flag until the user acknowledges it.
 */
import type { ConversationId, UserId } from '@tidings/shared';
import { toHex } from '../e2ee/bytes.js';
import type { MlsGroup } from '../e2ee/group.js';
import type { PeerKeys } from '../keys/journal.js';
import type { GroupCache } from './groups.js';
import type { E2eeHost } from './host.js';

const sameKeys = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((k, i) => k === b[i]);

export class PeerWatch {
  constructor(
    private readonly host: E2eeHost,
    private readonly groups: GroupCache,
  ) {}

  /** Compares the group's leaves with the key sets seen before. */
  async check(group: MlsGroup): Promise<void> {
    const { replica, credentials } = this.host;
    const conversationId = group.conversationId;
    const now = new Map<UserId, string[]>();
    for (const m of group.members()) {
      if (m.userId === credentials.userId) continue;
      now.set(m.userId, [...(now.get(m.userId) ?? []), toHex(m.signaturePublicKey)]);
    }
    const before = new Map((await replica.peerKeys(conversationId)).map((p) => [p.userId, p]));
    const updates: PeerKeys[] = [];
    const changed: UserId[] = [];
    for (const [userId, list] of now) {
      const keys = list.sort();
      const old = before.get(userId);
      if (old === undefined) updates.push({ conversationId, userId, keys, changed: false });
      else if (!sameKeys(old.keys, keys)) {
        updates.push({ conversationId, userId, keys, changed: true });
        changed.push(userId);
      }
    }
    if (updates.length > 0) await replica.savePeerKeys(updates);
    for (const userId of changed) this.host.identityChanged(conversationId, userId);
  }

  async warning(conversationId: ConversationId): Promise<boolean> {
    return (await this.host.replica.peerKeys(conversationId)).some((p) => p.changed);
  }

  async acknowledge(conversationId: ConversationId): Promise<void> {
    const all = await this.host.replica.peerKeys(conversationId);
    await this.host.replica.savePeerKeys(all.map((p) => ({ ...p, changed: false })));
    void this.groups;
  }
}

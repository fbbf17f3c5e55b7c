/**
 * Presence of the users this device watches, kept in memory only (it is not
 * history). The watch set is sent again after every (re)connect; while there
 * is no socket every known status becomes Unknown, since no change can arrive.
 */
import {
  ErrorCode,
  MAX_WATCHED_USERS,
  PresenceStatus,
  TidingsError,
  type PresenceItem,
  type UserId,
  type WatchFrame,
} from '@tidings/shared';

export class PresenceTracker {
  private watched: readonly UserId[] = [];
  private readonly known = new Map<UserId, PresenceItem>();

  constructor(
    /** Sends a frame; returns false when there is no welcomed socket (it is sent after the next welcome). */
    private readonly send: (frame: WatchFrame) => boolean,
    private readonly emit: (items: readonly PresenceItem[]) => void,
  ) {}

  /** Replaces the watched set (duplicates are dropped). Users no longer watched are forgotten. */
  watch(userIds: readonly UserId[]): void {
    const unique = [...new Set(userIds)];
    if (unique.length > MAX_WATCHED_USERS) {
      throw new TidingsError(ErrorCode.InvalidArgument, `at most ${MAX_WATCHED_USERS} users can be watched`);
    }
    this.watched = unique;
    const keep = new Set(unique);
    for (const userId of [...this.known.keys()]) if (!keep.has(userId)) this.known.delete(userId);
    this.send({ t: 'watch', userIds: unique });
  }

  /** A socket was welcomed: tell the server the watch set again. */
  welcomed(): void {
    if (this.watched.length > 0) this.send({ t: 'watch', userIds: this.watched });
  }

  /** A `presence` frame. Items for users not watched (any more) are ignored. */
  received(items: readonly PresenceItem[]): void {
    const watched = new Set(this.watched);
    const changed: PresenceItem[] = [];
    for (const item of items) {
      if (!watched.has(item.userId)) continue;
      const old = this.known.get(item.userId);
      if (old && old.status === item.status && old.lastSeen === item.lastSeen) continue;
      const copy = { userId: item.userId, status: item.status, lastSeen: item.lastSeen };
      this.known.set(item.userId, copy);
      changed.push(copy);
    }
    if (changed.length > 0) this.emit(changed);
  }

  /** The socket is gone: nothing known is current any more (last-seen times are kept). */
  lost(): void {
    const changed: PresenceItem[] = [];
    for (const [userId, item] of this.known) {
      if (item.status === PresenceStatus.Unknown) continue;
      const unknown = { ...item, status: PresenceStatus.Unknown };
      this.known.set(userId, unknown);
      changed.push(unknown);
    }
    if (changed.length > 0) this.emit(changed);
  }

  get(userId: UserId): PresenceItem {
    return this.known.get(userId) ?? { userId, status: PresenceStatus.Unknown, lastSeen: 0 };
  }
}

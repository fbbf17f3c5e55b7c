/**
 * The fake server's presence: a user is online while any device is connected
 * and for a grace period after the last one leaves (a timer on the server's
 * clock); then offline with last-seen = the moment the last device left.
 */
import { PresenceStatus, type PresenceItem, type UserId } from '@tidings/shared';
import type { Clock, TimerHandle } from '../../src/runtime/clock.js';

export class FakePresence {
  graceMs = 15_000;
  private readonly devices = new Map<UserId, number>();
  private readonly grace = new Map<UserId, TimerHandle>();
  private readonly lastSeen = new Map<UserId, number>();

  constructor(
    private readonly clock: () => Clock,
    /** Called when a user's status changes. */
    private readonly changed: (userId: UserId) => void,
  ) {}

  connected(userId: UserId): void {
    const n = this.devices.get(userId) ?? 0;
    this.devices.set(userId, n + 1);
    const timer = this.grace.get(userId);
    if (timer !== undefined) {
      // Back within the grace period: never went offline.
      this.clock().clearTimeout(timer);
      this.grace.delete(userId);
      return;
    }
    if (n === 0) this.changed(userId);
  }

  disconnected(userId: UserId): void {
    const n = (this.devices.get(userId) ?? 1) - 1;
    this.devices.set(userId, n);
    if (n > 0) return;
    const leftAt = this.clock().now();
    this.grace.set(
      userId,
      this.clock().setTimeout(() => {
        this.grace.delete(userId);
        this.lastSeen.set(userId, leftAt);
        this.changed(userId);
      }, this.graceMs),
    );
  }

  /** `userId`'s presence as a viewer sees it; `showLastSeen` is false when either side hides last-seen. */
  item(userId: UserId, showLastSeen: boolean): PresenceItem {
    if ((this.devices.get(userId) ?? 0) > 0 || this.grace.has(userId)) return { userId, status: PresenceStatus.Online, lastSeen: 0 };
    return { userId, status: PresenceStatus.Offline, lastSeen: showLastSeen ? (this.lastSeen.get(userId) ?? 0) : 0 };
  }
}

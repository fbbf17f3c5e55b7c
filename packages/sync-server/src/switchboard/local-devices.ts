/** The devices attached to this node, by user, and who watches whose presence. Shared by both switchboards. */
import type { DeviceId, UserId } from '@tidings/shared';
import type { DeviceSink, PresenceState } from './port.js';

export class LocalDevices {
  private readonly byUser = new Map<UserId, Set<DeviceSink>>();
  private readonly watchers = new Map<UserId, Set<DeviceSink>>();
  private readonly watching = new Map<DeviceSink, readonly UserId[]>();
  private count = 0;

  /** Adds the sink; true when it is the user's first device here. */
  add(sink: DeviceSink): boolean {
    let set = this.byUser.get(sink.userId);
    const first = !set || set.size === 0;
    if (!set) this.byUser.set(sink.userId, (set = new Set()));
    if (!set.has(sink)) this.count++;
    set.add(sink);
    return first;
  }

  /** Removes the sink and its watches; true when the user has no device left here. */
  remove(sink: DeviceSink): boolean {
    const set = this.byUser.get(sink.userId);
    if (set?.delete(sink)) this.count--;
    this.setWatch(sink, []);
    if (set?.size === 0) {
      this.byUser.delete(sink.userId);
      return true;
    }
    return false;
  }

  has(userId: UserId): boolean {
    return (this.byUser.get(userId)?.size ?? 0) > 0;
  }

  users(): IterableIterator<UserId> {
    return this.byUser.keys();
  }

  /** Deliver to every device of these users, or only to `onlyDevice` when given. */
  deliver(userIds: Iterable<UserId>, frame: Uint8Array, onlyDevice?: DeviceId): void {
    for (const u of userIds) {
      const set = this.byUser.get(u);
      if (set) for (const sink of set) if (onlyDevice === undefined || sink.deviceId === onlyDevice) sink.deliver(frame);
    }
  }

  /** Closes every sink of this device here (each detaches itself as it closes). */
  close(userId: UserId, deviceId: DeviceId, code: number, reason: string): void {
    const set = this.byUser.get(userId);
    if (set) for (const sink of [...set]) if (sink.deviceId === deviceId) sink.close(code, reason);
  }

  /** Replace a sink's watch list; returns users that gained or lost their first/last watcher here. */
  setWatch(sink: DeviceSink, userIds: readonly UserId[]): { added: UserId[]; removed: UserId[] } {
    const added: UserId[] = [];
    const removed: UserId[] = [];
    for (const u of this.watching.get(sink) ?? []) {
      const w = this.watchers.get(u);
      if (w?.delete(sink) && w.size === 0) {
        this.watchers.delete(u);
        removed.push(u);
      }
    }
    if (userIds.length === 0) this.watching.delete(sink);
    else this.watching.set(sink, userIds);
    for (const u of userIds) {
      let w = this.watchers.get(u);
      if (!w) {
        this.watchers.set(u, (w = new Set()));
        added.push(u);
      }
      w.add(sink);
    }
    return { added, removed: removed.filter((u) => !this.watchers.has(u)) };
  }

  watched(): IterableIterator<UserId> {
    return this.watchers.keys();
  }

  notify(state: PresenceState): void {
    for (const sink of this.watchers.get(state.userId) ?? []) sink.presenceChanged(state);
  }

  get size(): number {
    return this.count;
  }
}

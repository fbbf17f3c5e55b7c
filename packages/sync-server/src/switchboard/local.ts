/** The single-node switchboard: routes, presence and fan-out in process memory. */
import type { DeviceId, UserId } from '@tidings/shared';
import type { DeviceSink, PresenceState, Switchboard, SwitchboardOptions } from './port.js';
import { LocalDevices } from './local-devices.js';

export class LocalSwitchboard implements Switchboard {
  private readonly devices = new LocalDevices();
  /** Users with no device left, still online until their grace timer fires; value: when the last device left. */
  private readonly grace = new Map<UserId, { timer: ReturnType<typeof setTimeout>; leftAt: number }>();

  constructor(private readonly opts: SwitchboardOptions) {}

  attach(sink: DeviceSink): void {
    const inGrace = this.grace.get(sink.userId);
    if (inGrace) {
      clearTimeout(inGrace.timer);
      this.grace.delete(sink.userId);
    }
    if (this.devices.add(sink) && !inGrace) this.devices.notify({ userId: sink.userId, status: 'online', lastSeen: null });
  }

  detach(sink: DeviceSink): void {
    if (!this.devices.remove(sink)) return;
    const userId = sink.userId;
    const leftAt = this.opts.clock();
    const timer = setTimeout(() => {
      this.grace.delete(userId);
      this.devices.notify({ userId, status: 'offline', lastSeen: leftAt });
      this.opts.lastSeen.record(userId, leftAt).catch(() => undefined);
    }, this.opts.graceMs);
    timer.unref();
    this.grace.set(userId, { timer, leftAt });
  }

  toUsers(userIds: Iterable<UserId>, frame: Uint8Array): void {
    this.devices.deliver(userIds, frame);
  }

  async toUsersConfirmed(userIds: Iterable<UserId>, frame: Uint8Array): Promise<void> {
    this.devices.deliver(userIds, frame);
  }

  toDevice(userId: UserId, deviceId: DeviceId, frame: Uint8Array): void {
    this.devices.deliver([userId], frame, deviceId);
  }

  disconnect(userId: UserId, deviceId: DeviceId, code: number, reason: string): void {
    this.devices.close(userId, deviceId, code, reason);
  }

  async watch(sink: DeviceSink, userIds: readonly UserId[]): Promise<PresenceState[]> {
    this.devices.setWatch(sink, userIds);
    return this.presenceOf(userIds);
  }

  async presenceOf(userIds: readonly UserId[]): Promise<PresenceState[]> {
    const offline = userIds.filter((u) => !this.devices.has(u) && !this.grace.has(u));
    const seen = offline.length > 0 ? await this.opts.lastSeen.lookup(offline) : new Map<UserId, number>();
    return userIds.map((userId) =>
      this.devices.has(userId) || this.grace.has(userId)
        ? { userId, status: 'online', lastSeen: null }
        : { userId, status: 'offline', lastSeen: seen.get(userId) ?? null },
    );
  }

  get size(): number {
    return this.devices.size;
  }

  async close(): Promise<void> {
    // Everyone still here was seen now; users in grace were seen when they left.
    const now = this.opts.clock();
    const writes: Promise<void>[] = [];
    for (const [userId, g] of this.grace) {
      clearTimeout(g.timer);
      writes.push(this.opts.lastSeen.record(userId, g.leftAt));
    }
    this.grace.clear();
    for (const u of this.devices.users()) writes.push(this.opts.lastSeen.record(u, now));
    await Promise.allSettled(writes);
  }
}

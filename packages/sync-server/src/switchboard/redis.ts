/**
 * The multi-node switchboard over Redis (ioredis).
 * - Routes: `route:{user}` is a sorted set of node ids scored by expiry time;
 *   each node refreshes its users' entries every routeTtlMs/3, so a dead
 *   node's entries lapse on their own.
 * - Fan-out: one route lookup pipeline, then one PUBLISH per target node on
 *   that node's channel (never a broadcast); local devices get frames directly.
 * - Presence: transitions are published on `presence:{user}`; nodes subscribe
 *   only for users their devices watch, and reconcile watched users on each
 *   refresh so a crashed node's users go offline.
 * - With Redis unreachable, local delivery goes on and presence answers
 *   'unknown' for users not connected here.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeviceId, UserId } from '@tidings/shared';
import type { DeviceSink, PresenceState, Switchboard, SwitchboardOptions } from './port.js';
import { LocalDevices } from './local-devices.js';
import { decodeNodeMessage, encodeNodeClose, encodeNodeMessage } from './node-channel.js';

export interface RedisSwitchboardOptions extends SwitchboardOptions {
  readonly url: string;
  readonly nodeId: number;
  /** Prefix of every key and channel, so deployments (and tests) can share a Redis. */
  readonly keyPrefix: string;
  /** How long a route entry lives without a refresh, in ms (default 30000). */
  readonly routeTtlMs: number;
  readonly logger: Logger;
  /** Called when Redis is reachable again after an outage (devices elsewhere may have missed pushes). */
  readonly onRecovered?: () => void;
}

interface PresenceMessage {
  s: 'online' | 'offline';
  at: number | null;
}

export class RedisSwitchboard implements Switchboard {
  private readonly devices = new LocalDevices();
  private readonly grace = new Map<UserId, { timer: ReturnType<typeof setTimeout>; leftAt: number }>();
  /** Last presence told to local watchers, to report only changes. */
  private readonly told = new Map<UserId, PresenceState['status']>();
  private readonly refresher: ReturnType<typeof setInterval>;
  private wasDown = false;
  /** PUBLISH calls made for fan-out (tests check "one per target node"). */
  publishes = 0;

  private constructor(
    private readonly opts: RedisSwitchboardOptions,
    private readonly cmd: Redis,
    private readonly sub: Redis,
  ) {
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
    cmd.on('error', (err) => opts.logger.debug({ err }, 'redis error'));
    sub.on('error', () => undefined);
    cmd.on('close', () => (this.wasDown = true));
    cmd.on('ready', () => {
      if (!this.wasDown) return;
      this.wasDown = false;
      opts.logger.info('redis reachable again');
      void this.refresh();
      opts.onRecovered?.();
    });
    this.refresher = setInterval(() => void this.refresh(), Math.max(100, Math.floor(opts.routeTtlMs / 3)));
    this.refresher.unref();
  }

  static async connect(opts: RedisSwitchboardOptions): Promise<RedisSwitchboard> {
    const common = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
    const cmd = new Redis(opts.url, common);
    const sub = new Redis(opts.url, { ...common, enableOfflineQueue: true });
    const quiet = (): void => undefined;
    cmd.on('error', quiet);
    sub.on('error', quiet);
    try {
      await Promise.all([cmd.connect(), sub.connect()]);
    } catch (err) {
      cmd.disconnect();
      sub.disconnect();
      throw new Error(`cannot reach Redis at ${new URL(opts.url).host}: ${(err as Error).message}`);
    }
    const sb = new RedisSwitchboard(opts, cmd, sub);
    await sub.subscribe(sb.nodeChannel(opts.nodeId));
    return sb;
  }

  private key(userId: UserId): string {
    return `${this.opts.keyPrefix}route:${userId}`;
  }
  private nodeChannel(nodeId: number | string): string {
    return `${this.opts.keyPrefix}node:${nodeId}`;
  }
  private presenceChannel(userId: UserId): string {
    return `${this.opts.keyPrefix}presence:${userId}`;
  }
  private get me(): string {
    return String(this.opts.nodeId);
  }

  attach(sink: DeviceSink): void {
    const g = this.grace.get(sink.userId);
    if (g) {
      clearTimeout(g.timer);
      this.grace.delete(sink.userId);
    }
    if (this.devices.add(sink) && !g) void this.cameOnline(sink.userId);
  }

  detach(sink: DeviceSink): void {
    if (!this.devices.remove(sink)) return;
    const userId = sink.userId;
    const leftAt = this.opts.clock();
    const timer = setTimeout(() => {
      this.grace.delete(userId);
      if (!this.devices.has(userId)) void this.wentOffline(userId, leftAt);
    }, this.opts.graceMs);
    timer.unref();
    this.grace.set(userId, { timer, leftAt });
  }

  private async cameOnline(userId: UserId): Promise<void> {
    const now = this.opts.clock();
    try {
      const res = await this.cmd
        .multi()
        .zrangebyscore(this.key(userId), now, '+inf')
        .zadd(this.key(userId), now + this.opts.routeTtlMs, this.me)
        .pexpire(this.key(userId), this.opts.routeTtlMs * 2)
        .exec();
      const elsewhere = ((res?.[0]?.[1] as string[] | undefined) ?? []).filter((n) => n !== this.me);
      if (elsewhere.length === 0) await this.announce(userId, { s: 'online', at: null });
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not register route');
    }
  }

  private async wentOffline(userId: UserId, leftAt: number): Promise<void> {
    try {
      const now = this.opts.clock();
      const res = await this.cmd.multi().zrem(this.key(userId), this.me).zrangebyscore(this.key(userId), now, '+inf').exec();
      const elsewhere = (res?.[1]?.[1] as string[] | undefined) ?? [];
      if (elsewhere.length > 0) return;
      await this.opts.lastSeen.record(userId, leftAt);
      await this.announce(userId, { s: 'offline', at: leftAt });
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not record going offline');
    }
  }

  private async announce(userId: UserId, m: PresenceMessage): Promise<void> {
    await this.cmd.publish(this.presenceChannel(userId), JSON.stringify(m));
  }

  toUsers(userIds: Iterable<UserId>, frame: Uint8Array): void {
    const users = [...userIds];
    this.devices.deliver(users, frame);
    if (users.length > 0) void this.route(users, (list) => encodeNodeMessage(list, frame));
  }

  async toUsersConfirmed(userIds: Iterable<UserId>, frame: Uint8Array): Promise<void> {
    const users = [...userIds];
    this.devices.deliver(users, frame);
    if (users.length > 0) await this.route(users, (list) => encodeNodeMessage(list, frame)); // route() logs and swallows its own failures
  }

  toDevice(userId: UserId, deviceId: DeviceId, frame: Uint8Array): void {
    this.devices.deliver([userId], frame, deviceId);
    void this.route([userId], (list) => encodeNodeMessage(list, frame, deviceId));
  }

  disconnect(userId: UserId, deviceId: DeviceId, code: number, reason: string): void {
    this.devices.close(userId, deviceId, code, reason);
    void this.route([userId], () => encodeNodeClose(userId, deviceId, code, reason));
  }

  /** Publishes one message per node that has a device of these users (`payload` builds it from that node's users). */
  private async route(users: UserId[], payload: (users: UserId[]) => Buffer): Promise<void> {
    try {
      const now = this.opts.clock();
      const pipe = this.cmd.pipeline();
      for (const u of users) pipe.zrangebyscore(this.key(u), now, '+inf');
      const res = (await pipe.exec()) ?? [];
      const byNode = new Map<string, UserId[]>();
      res.forEach(([err, nodes], i) => {
        if (err) return;
        for (const n of nodes as string[]) {
          if (n === this.me) continue;
          let list = byNode.get(n);
          if (!list) byNode.set(n, (list = []));
          list.push(users[i]!);
        }
      });
      if (byNode.size === 0) return;
      const out = this.cmd.pipeline();
      for (const [node, list] of byNode) out.publish(this.nodeChannel(node), payload(list));
      this.publishes += byNode.size;
      await out.exec();
    } catch (err) {
      // Devices on other nodes catch up by cursor; the log is the source of truth.
      this.opts.logger.warn({ err, users: users.length }, 'cross-node fan-out failed');
    }
  }

  private onMessage(channel: string, message: Buffer): void {
    if (channel === this.nodeChannel(this.opts.nodeId)) {
      const m = decodeNodeMessage(message);
      if (m?.kind === 'deliver') this.devices.deliver(m.userIds, m.frame, m.onlyDevice);
      else if (m?.kind === 'close') this.devices.close(m.userId, m.deviceId, m.code, m.reason);
      return;
    }
    const prefix = `${this.opts.keyPrefix}presence:`;
    if (!channel.startsWith(prefix)) return;
    try {
      const userId = BigInt(channel.slice(prefix.length)) as UserId;
      const p = JSON.parse(message.toString()) as PresenceMessage;
      this.tell({ userId, status: p.s, lastSeen: p.s === 'offline' ? p.at : null });
    } catch {
      this.opts.logger.warn({ channel }, 'malformed presence message');
    }
  }

  private tell(state: PresenceState): void {
    if (this.told.get(state.userId) === state.status) return;
    this.told.set(state.userId, state.status);
    this.devices.notify(state);
  }

  async watch(sink: DeviceSink, userIds: readonly UserId[]): Promise<PresenceState[]> {
    const { added, removed } = this.devices.setWatch(sink, userIds);
    for (const u of removed) this.told.delete(u);
    try {
      if (added.length > 0) await this.sub.subscribe(...added.map((u) => this.presenceChannel(u)));
      if (removed.length > 0) await this.sub.unsubscribe(...removed.map((u) => this.presenceChannel(u)));
    } catch (err) {
      this.opts.logger.warn({ err }, 'presence subscription failed');
    }
    const states = await this.presenceOf(userIds);
    for (const s of states) if (!this.told.has(s.userId)) this.told.set(s.userId, s.status);
    return states;
  }

  async presenceOf(userIds: readonly UserId[]): Promise<PresenceState[]> {
    const here = (u: UserId) => this.devices.has(u) || this.grace.has(u);
    const remote = userIds.filter((u) => !here(u));
    const live = new Map<UserId, boolean>();
    if (remote.length > 0) {
      try {
        if (this.cmd.status !== 'ready') throw new Error('redis not ready');
        const now = this.opts.clock();
        const pipe = this.cmd.pipeline();
        for (const u of remote) pipe.zcount(this.key(u), now, '+inf');
        const res = (await pipe.exec()) ?? [];
        res.forEach(([err, n], i) => {
          if (!err) live.set(remote[i]!, Number(n) > 0);
        });
      } catch {
        // unknown, below
      }
    }
    const offline = remote.filter((u) => live.get(u) === false);
    const seen = offline.length > 0 ? await this.opts.lastSeen.lookup(offline).catch(() => new Map<UserId, number>()) : new Map<UserId, number>();
    return userIds.map((userId): PresenceState => {
      if (here(userId) || live.get(userId) === true) return { userId, status: 'online', lastSeen: null };
      if (live.get(userId) === false) return { userId, status: 'offline', lastSeen: seen.get(userId) ?? null };
      return { userId, status: 'unknown', lastSeen: null };
    });
  }

  /** Refresh this node's routes and reconcile watched users (a crashed node's users lapse to offline). */
  private async refresh(): Promise<void> {
    if (this.cmd.status !== 'ready') {
      for (const u of this.devices.watched()) if (!this.devices.has(u)) this.tell({ userId: u, status: 'unknown', lastSeen: null });
      return;
    }
    const now = this.opts.clock();
    const mine = new Set<UserId>([...this.devices.users(), ...this.grace.keys()]);
    try {
      if (mine.size > 0) {
        const pipe = this.cmd.pipeline();
        for (const u of mine) pipe.zadd(this.key(u), now + this.opts.routeTtlMs, this.me).pexpire(this.key(u), this.opts.routeTtlMs * 2);
        await pipe.exec();
      }
      const watched = [...this.devices.watched()];
      if (watched.length > 0) for (const s of await this.presenceOf(watched)) this.tell(s);
    } catch (err) {
      this.opts.logger.warn({ err }, 'route refresh failed');
    }
  }

  get size(): number {
    return this.devices.size;
  }

  async close(): Promise<void> {
    clearInterval(this.refresher);
    const now = this.opts.clock();
    const users = new Map<UserId, number>([...this.devices.users()].map((u) => [u, now]));
    for (const [u, g] of this.grace) {
      clearTimeout(g.timer);
      users.set(u, g.leftAt);
    }
    this.grace.clear();
    await Promise.allSettled([...users].map(([u, at]) => this.wentOffline(u, at)));
    this.sub.disconnect();
    await this.cmd.quit().catch(() => this.cmd.disconnect());
  }
}

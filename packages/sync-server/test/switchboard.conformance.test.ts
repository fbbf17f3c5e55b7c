/**
 * One conformance suite for presence, routing and fan-out, run against the
 * in-process switchboard and the Redis one (against the real Redis server);
 * then what only a shared switchboard can do: several nodes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { DeviceId, UserId } from '@tidings/shared';
import { LocalSwitchboard } from '../src/switchboard/local.js';
import { RedisSwitchboard } from '../src/switchboard/redis.js';
import type { DeviceSink, LastSeenStore, PresenceState, Switchboard } from '../src/switchboard/port.js';
import { REDIS_URL, SWITCHBOARD_KINDS, redisPrefix, redisReachable, type SwitchboardKind } from './support/stores.js';

const redisOk = await redisReachable();
const GRACE = 300;
const logger = pino({ level: 'silent' });
const opened: Switchboard[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

class MemoryLastSeen implements LastSeenStore {
  readonly seen = new Map<UserId, number>();
  async record(u: UserId, at: number) {
    this.seen.set(u, Math.max(at, this.seen.get(u) ?? 0));
  }
  async lookup(us: readonly UserId[]) {
    return new Map(us.flatMap((u) => (this.seen.has(u) ? [[u, this.seen.get(u)!] as const] : [])));
  }
}

class Sink implements DeviceSink {
  readonly frames: Uint8Array[] = [];
  readonly presence: PresenceState[] = [];
  readonly closes: number[] = [];
  /** Detaches from this switchboard when closed, as a real connection does. */
  board: Switchboard | undefined;
  private waiters: (() => void)[] = [];
  constructor(
    readonly userId: UserId,
    readonly deviceId: DeviceId,
  ) {}
  deliver(f: Uint8Array) {
    this.frames.push(f);
    this.wake();
  }
  presenceChanged(s: PresenceState) {
    this.presence.push(s);
    this.wake();
  }
  close(code: number) {
    this.closes.push(code);
    this.board?.detach(this);
    this.wake();
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Wait until `check` holds, re-checking on every delivery. */
  async until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out: ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.min(left, 100)).unref();
      });
    }
  }
}

async function make(kind: SwitchboardKind, lastSeen: LastSeenStore, shared?: { prefix: string; nodeId: number }): Promise<Switchboard> {
  const base = { graceMs: GRACE, lastSeen, clock: Date.now };
  const sb =
    kind === 'local'
      ? new LocalSwitchboard(base)
      : await RedisSwitchboard.connect({ ...base, url: REDIS_URL, nodeId: shared?.nodeId ?? 1, keyPrefix: shared?.prefix ?? redisPrefix(), routeTtlMs: 3000, logger });
  opened.push(sb);
  return sb;
}

const U = (n: number) => BigInt(n) as UserId;
const D = (n: number) => BigInt(n) as DeviceId;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (f: Uint8Array) => new TextDecoder().decode(f);

describe.each(SWITCHBOARD_KINDS)('switchboard conformance: %s', (kind) => {
  describe.skipIf(kind === 'redis' && !redisOk)('', () => {
    it("delivers a frame to every device of the named users and nobody else's", async () => {
      const sb = await make(kind, new MemoryLastSeen());
      const [a1, a2, b, c] = [new Sink(U(1), D(11)), new Sink(U(1), D(12)), new Sink(U(2), D(21)), new Sink(U(3), D(31))];
      for (const s of [a1, a2, b, c]) sb.attach(s);
      expect(sb.size).toBe(4);
      sb.toUsers([U(1), U(2)], bytes('hello'));
      for (const s of [a1, a2, b]) await s.until(() => s.frames.length === 1, 5000, 'delivery');
      expect([a1, a2, b].map((s) => text(s.frames[0]!))).toEqual(['hello', 'hello', 'hello']);
      expect(c.frames).toHaveLength(0);
      sb.detach(a2);
      sb.toUsers([U(1)], bytes('again'));
      await a1.until(() => a1.frames.length === 2);
      expect(a2.frames).toHaveLength(1);
      expect(sb.size).toBe(3);
    });

    it("disconnect closes that device's sockets only, with the close code", async () => {
      const sb = await make(kind, new MemoryLastSeen());
      const [a1, a1again, a2, b] = [new Sink(U(1), D(11)), new Sink(U(1), D(11)), new Sink(U(1), D(12)), new Sink(U(2), D(11))];
      for (const s of [a1, a1again, a2, b]) {
        s.board = sb;
        sb.attach(s);
      }
      sb.disconnect(U(1), D(11), 4010, 'revoked');
      expect([a1.closes, a1again.closes, a2.closes, b.closes]).toEqual([[4010], [4010], [], []]);
      expect(sb.size).toBe(2);
      sb.toUsers([U(1)], bytes('after'));
      await a2.until(() => a2.frames.length === 1);
      expect(a1.frames).toHaveLength(0);
    });

    it('presence: online on connect, online through a disconnect shorter than the grace period, offline after it with last seen', async () => {
      const lastSeen = new MemoryLastSeen();
      const sb = await make(kind, lastSeen);
      const watcher = new Sink(U(9), D(91));
      sb.attach(watcher);
      expect(await sb.watch(watcher, [U(5)])).toEqual([{ userId: U(5), status: 'offline', lastSeen: null }]);
      const dev = new Sink(U(5), D(51));
      sb.attach(dev);
      await watcher.until(() => watcher.presence.some((p) => p.status === 'online'), 5000, 'online');
      // a blip: leave and come back within the grace period — no offline in between
      sb.detach(dev);
      const again = new Sink(U(5), D(51));
      sb.attach(again);
      expect((await sb.presenceOf([U(5)]))[0]!.status).toBe('online');
      const leftAt = Date.now();
      sb.detach(again);
      expect((await sb.presenceOf([U(5)]))[0]!.status).toBe('online');
      await watcher.until(() => watcher.presence.some((p) => p.status === 'offline'), 5000, 'offline');
      const off = watcher.presence.find((p) => p.status === 'offline')!;
      expect(Date.now() - leftAt).toBeGreaterThanOrEqual(GRACE - 20);
      expect(off.lastSeen).toBeGreaterThanOrEqual(leftAt - 50);
      expect(off.lastSeen).toBeLessThanOrEqual(leftAt + 50);
      expect(watcher.presence.map((p) => p.status)).toEqual(['online', 'offline']);
      expect(lastSeen.seen.get(U(5))).toBe(off.lastSeen);
      expect(await sb.presenceOf([U(5)])).toEqual([{ userId: U(5), status: 'offline', lastSeen: off.lastSeen }]);
    });

    it('only watchers hear presence changes, and unwatching stops them', async () => {
      const sb = await make(kind, new MemoryLastSeen());
      const w1 = new Sink(U(1), D(1));
      const w2 = new Sink(U(2), D(2));
      sb.attach(w1);
      sb.attach(w2);
      await sb.watch(w1, [U(7)]);
      await sb.watch(w2, []);
      sb.attach(new Sink(U(7), D(71)));
      await w1.until(() => w1.presence.length === 1);
      await sb.watch(w1, []);
      const other = new Sink(U(8), D(81));
      sb.attach(other);
      expect(w2.presence).toHaveLength(0);
      expect(w1.presence).toHaveLength(1);
    });

    it('records last seen for connected users when it closes', async () => {
      const lastSeen = new MemoryLastSeen();
      const sb = await make(kind, lastSeen);
      sb.attach(new Sink(U(4), D(41)));
      const before = Date.now();
      opened.splice(opened.indexOf(sb), 1);
      await sb.close();
      expect(lastSeen.seen.get(U(4))).toBeGreaterThanOrEqual(before);
    });
  });
});

describe.skipIf(!redisOk)('redis switchboard across nodes', () => {
  it('routes to devices on other nodes with one publish per target node, and shares presence', async () => {
    const prefix = redisPrefix();
    const lastSeen = new MemoryLastSeen();
    const [n1, n2, n3] = (await Promise.all([1, 2, 3].map((nodeId) => make('redis', lastSeen, { prefix, nodeId })))) as RedisSwitchboard[];
    const sender = new Sink(U(1), D(1));
    n1!.attach(sender);
    // user 2 has two devices on node 2, user 3 one device on node 2 and one on node 3
    const [b1, b2, c2, c3] = [new Sink(U(2), D(21)), new Sink(U(2), D(22)), new Sink(U(3), D(31)), new Sink(U(3), D(32))];
    n2!.attach(b1);
    n2!.attach(b2);
    n2!.attach(c2);
    n3!.attach(c3);
    // routes are registered asynchronously; presence says when they are visible
    for (let i = 0; i < 50 && (await n1!.presenceOf([U(2), U(3)])).some((p) => p.status !== 'online'); i++) await new Promise((r) => setTimeout(r, 20));
    n1!.toUsers([U(2), U(3)], bytes('cross'));
    for (const s of [b1, b2, c2, c3]) await s.until(() => s.frames.length === 1, 5000, 'cross-node delivery');
    expect(n1!.publishes).toBe(2); // node 2 and node 3, once each
    expect([b1, b2, c2, c3].map((s) => text(s.frames[0]!))).toEqual(['cross', 'cross', 'cross', 'cross']);
    // presence across nodes: a watcher on node 1 sees user 3 go offline only when both nodes lost it
    await n1!.watch(sender, [U(3)]);
    n2!.detach(c2);
    n3!.detach(c3);
    await sender.until(() => sender.presence.some((p) => p.userId === U(3) && p.status === 'offline'), 5000, 'offline across nodes');
    expect(sender.presence.filter((p) => p.userId === U(3)).map((p) => p.status)).toEqual(['offline']);
  });

  it('disconnect closes the device on the node that holds it', async () => {
    const prefix = redisPrefix();
    const [n1, n2] = (await Promise.all([1, 2].map((nodeId) => make('redis', new MemoryLastSeen(), { prefix, nodeId })))) as RedisSwitchboard[];
    const [there, stays] = [new Sink(U(7), D(71)), new Sink(U(7), D(72))];
    for (const s of [there, stays]) {
      s.board = n2!;
      n2!.attach(s);
    }
    for (let i = 0; i < 50 && (await n1!.presenceOf([U(7)]))[0]?.status !== 'online'; i++) await new Promise((r) => setTimeout(r, 20));
    n1!.disconnect(U(7), D(71), 4010, 'revoked');
    await there.until(() => there.closes.length === 1, 5000, 'closed across nodes');
    expect(there.closes).toEqual([4010]);
    n1!.toUsers([U(7)], bytes('still routed'));
    await stays.until(() => stays.frames.length === 1, 5000, 'the other device still gets frames');
    expect(stays.closes).toEqual([]);
    expect(there.frames).toHaveLength(0);
  });

  it("a crashed node's users lapse to offline; an unreachable Redis answers unknown, never wrong", async () => {
    const prefix = redisPrefix();
    const lastSeen = new MemoryLastSeen();
    const n1 = (await make('redis', lastSeen, { prefix, nodeId: 1 })) as RedisSwitchboard;
    const n2 = (await make('redis', lastSeen, { prefix, nodeId: 2 })) as RedisSwitchboard;
    const w = new Sink(U(1), D(1));
    n1.attach(w);
    n2.attach(new Sink(U(2), D(2)));
    for (let i = 0; i < 50 && (await n1.presenceOf([U(2)]))[0]!.status !== 'online'; i++) await new Promise((r) => setTimeout(r, 20));
    await n1.watch(w, [U(2)]);
    // "crash" node 2: stop its refreshes without a goodbye
    (n2 as unknown as { refresher: NodeJS.Timeout }).refresher.unref();
    clearInterval((n2 as unknown as { refresher: NodeJS.Timeout }).refresher);
    (n2 as unknown as { cmd: { disconnect(): void }; sub: { disconnect(): void } }).cmd.disconnect();
    (n2 as unknown as { sub: { disconnect(): void } }).sub.disconnect();
    opened.splice(opened.indexOf(n2), 1);
    await w.until(() => w.presence.some((p) => p.userId === U(2) && p.status === 'offline'), 8000, 'lapsed');
    // node 1 loses Redis: users connected here are still known online, everyone else is 'unknown'
    const local = new Sink(U(3), D(3));
    n1.attach(local);
    (n1 as unknown as { cmd: { disconnect(): void } }).cmd.disconnect();
    expect(await n1.presenceOf([U(3), U(2), U(77)])).toEqual([
      { userId: U(3), status: 'online', lastSeen: null },
      { userId: U(2), status: 'unknown', lastSeen: null },
      { userId: U(77), status: 'unknown', lastSeen: null },
    ]);
    // and local delivery goes on without it
    n1.toUsers([U(3)], bytes('local only'));
    await local.until(() => local.frames.length === 1);
    await w.until(() => w.presence.some((p) => p.userId === U(2) && p.status === 'unknown'), 5000, 'watcher told unknown');
    // a node that cannot reach Redis at start fails fast with a clear error
    await expect(RedisSwitchboard.connect({ graceMs: GRACE, lastSeen, clock: Date.now, url: 'redis://127.0.0.1:1', nodeId: 9, keyPrefix: prefix, routeTtlMs: 3000, logger })).rejects.toThrow(/cannot reach Redis at 127.0.0.1:1/);
  });
});

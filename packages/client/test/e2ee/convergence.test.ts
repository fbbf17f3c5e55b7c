/**
 * 20 users × 2 devices in one group: it grows through adds, shrinks through
 * removes and survives concurrent Commits from different members (the log
 * accepts one per epoch; losers apply the winner and retry). At the end every
 * member device is at the same epoch with the same member list and reads
 * every other member's message; removed devices read none of them.
 */
import { describe, expect, it } from 'vitest';
import type { ConversationId } from '@tidings/shared';
import { sameDevice, type DeviceRef, type MlsGroup, type PendingCommit } from '../../src/e2ee/index.js';
import { FakeDeliveryService, deviceKey } from './delivery-service.js';
import { SimDevice, conversationId, text } from './devices.js';

const USERS = 20;
const GROUP: ConversationId = conversationId(7777);

interface Proposer {
  readonly device: SimDevice;
  /** Returns the Commit to try at the group's current epoch, or undefined when nothing is left to do. */
  readonly make: (g: MlsGroup) => Promise<PendingCommit | undefined>;
}

interface RaceStats {
  commits: number;
  rebases: number;
  dropped: number;
}

/** Everyone proposes at the same epoch; the log takes one per epoch; losers catch up and retry. */
async function race(ds: FakeDeliveryService, everyone: SimDevice[], proposers: Proposer[], stats: RaceStats): Promise<void> {
  let remaining = proposers;
  while (remaining.length > 0) {
    const attempts: { p: Proposer; pending: PendingCommit }[] = [];
    for (const p of remaining) {
      await p.device.sync(GROUP);
      const pending = await p.make(p.device.group(GROUP));
      if (pending === undefined) stats.dropped++;
      else attempts.push({ p, pending });
    }
    const losers: Proposer[] = [];
    for (const { p, pending } of attempts) {
      try {
        ds.submitCommit(pending);
        stats.commits++;
      } catch {
        losers.push(p);
        stats.rebases++;
      }
    }
    for (const d of everyone) await d.acceptInvitations();
    for (const { p } of attempts) {
      const superseded = await p.device.sync(GROUP);
      expect(superseded.length).toBe(losers.includes(p) ? 1 : 0);
      expect(p.device.group(GROUP).pending).toBeUndefined();
    }
    remaining = losers;
  }
}

const isMember = (g: MlsGroup, d: DeviceRef): boolean => g.members().some((m) => sameDevice(m, d));

function adder(ds: FakeDeliveryService, device: SimDevice, joiners: SimDevice[]): Proposer {
  const packages = new Map(joiners.map((j) => [deviceKey(j.identity), ds.claimKeyPackage(j.identity)]));
  return {
    device,
    make: async (g) => {
      const todo = joiners.filter((j) => !isMember(g, j.identity));
      return todo.length === 0 ? undefined : g.proposeAdd(todo.map((j) => packages.get(deviceKey(j.identity)) ?? new Uint8Array()));
    },
  };
}

function remover(device: SimDevice, targets: SimDevice[]): Proposer {
  return {
    device,
    make: async (g) => {
      const todo = targets.filter((t) => isMember(g, t.identity));
      return todo.length === 0 ? undefined : g.proposeRemove(todo.map((t) => t.identity));
    },
  };
}

describe('MLS convergence', () => {
  it('20 users × 2 devices converge through adds, removes and concurrent Commits', { timeout: 120_000 }, async () => {
    const ds = new FakeDeliveryService();
    const users: [SimDevice, SimDevice][] = [];
    for (let u = 1; u <= USERS; u++) users.push([await SimDevice.create(ds, u, 1, 2), await SimDevice.create(ds, u, 2, 2)]);
    const dev = (u: number, k: 1 | 2): SimDevice => {
      const d = users[u - 1]?.[k - 1];
      if (d === undefined) throw new Error(`no device ${u}/${k}`);
      return d;
    };
    const both = (u: number): SimDevice[] => [dev(u, 1), dev(u, 2)];
    const everyone = users.flat();
    const stats: RaceStats = { commits: 0, rebases: 0, dropped: 0 };

    // Growth. User 1 starts the group with its second device and users 2-3.
    await dev(1, 1).createConversation(GROUP);
    await race(ds, everyone, [adder(ds, dev(1, 1), [dev(1, 2), ...both(2), ...both(3)])], stats);
    // Then batches of two users, three members of different users proposing at once.
    let next = 4;
    const proposersFor = [dev(1, 2), dev(2, 1), dev(3, 2), dev(2, 2), dev(1, 1), dev(3, 1)];
    let turn = 0;
    while (next <= USERS) {
      const round: Proposer[] = [];
      for (let i = 0; i < 3 && next <= USERS; i++) {
        const batch = next + 1 <= USERS ? [...both(next), ...both(next + 1)] : both(next);
        next += 2;
        round.push(adder(ds, proposersFor[turn++ % proposersFor.length] ?? dev(1, 1), batch));
      }
      await race(ds, everyone, round, stats);
    }
    await dev(1, 1).sync(GROUP);
    expect(dev(1, 1).group(GROUP).members()).toHaveLength(USERS * 2);

    // Shrink, concurrently; two members race to remove the same device (the loser finds nothing left to do).
    await race(
      ds,
      everyone,
      [remover(dev(5, 1), [dev(19, 2)]), remover(dev(6, 2), [dev(19, 2)]), remover(dev(7, 1), both(20)), remover(dev(8, 2), [dev(18, 1)])],
      stats,
    );
    // Mixed: re-add user 20 (fresh KeyPackages) while another member removes user 17.
    for (const d of both(20)) await d.refill(1);
    await race(ds, everyone, [remover(dev(9, 1), both(17)), adder(ds, dev(10, 2), both(20))], stats);
    expect(stats.rebases).toBeGreaterThan(5);
    expect(stats.dropped).toBe(1);

    // Convergence: same epoch, same members, on every member device.
    const removed = [dev(19, 2), dev(18, 1), ...both(17)];
    const members = everyone.filter((d) => !removed.includes(d));
    for (const d of everyone) await d.sync(GROUP);
    const epoch = ds.epochOf(GROUP);
    const roster = (d: SimDevice): string[] => d.group(GROUP).members().map((m) => `${m.userId}:${m.deviceId}`).sort();
    const expected = members.map((d) => d.name).sort();
    for (const d of members) {
      expect(d.group(GROUP).epoch, d.name).toBe(epoch);
      expect(d.group(GROUP).active, d.name).toBe(true);
      expect(roster(d), d.name).toEqual(expected);
    }
    for (const d of removed) expect(d.group(GROUP).active, d.name).toBe(false);

    // Everyone reads everyone else; removed devices read nothing sent now.
    const before = new Map(everyone.map((d) => [d, d.received.length]));
    for (const d of members) await d.send(GROUP, `final from ${d.name}`);
    for (const d of everyone) await d.sync(GROUP);
    for (const d of members) {
      expect(d.failures, d.name).toEqual([]);
      const got = d.received.slice(before.get(d)).map(text).sort();
      expect(got, d.name).toEqual(members.filter((x) => x !== d).map((x) => `final from ${x.name}`).sort());
    }
    for (const d of removed) {
      expect(d.received.slice(before.get(d)), d.name).toEqual([]);
      expect(d.failures.length, d.name).toBeGreaterThanOrEqual(members.length);
    }
  });
});

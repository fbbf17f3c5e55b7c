/**
 * Convergence of the state layer over a seeded simulated network: three
 * devices (two of one user, one of another) make random concurrent changes
 * while the network delays, reorders and duplicates updates, devices go
 * offline and restart from storage, and snapshots compact documents. Once
 * everything is delivered, every device holds identical state, rows deleted
 * for everyone are erased everywhere, and a device that starts late catches
 * up from the log.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EntryType, ErrorCode, TidingsError, type ConversationId } from '@tidings/shared';
import { LOCAL } from '../src/state/state-layer.js';
import { ConversationState } from '../src/state/conversation-state.js';
import { AccountState } from '../src/state/account-state.js';
import { seededRandom } from './support/random.js';
import { SimNetwork, storedDoc, type SimDevice } from './support/state-sim.js';

const GROUP = 1n as ConversationId;
const SELF = 2n as ConversationId;
/** Messages in the group and their senders' user ids. */
const MESSAGES = [
  ['10:a', '1'],
  ['10:b', '1'],
  ['30:c', '2'],
  ['30:d', '2'],
] as const;
const EMOJI = ['👍', '❤️', '😂'];

/** Typed refusals (edit after delete, ...) are expected under concurrency; anything else fails the run. */
const tolerate = async (p: Promise<void>): Promise<void> => {
  try {
    await p;
  } catch (error) {
    if (!(error instanceof TidingsError) || error.code !== ErrorCode.Conflict) throw error;
  }
};

async function randomOp(net: SimNetwork, d: SimDevice, pick: <T>(xs: readonly T[]) => T, r: () => number): Promise<void> {
  const now = net.clock.now();
  const [uid, sender] = pick(MESSAGES);
  const op = Math.floor(r() * 9);
  const group = (f: (c: ConversationState) => void): Promise<void> => tolerate(d.layer.mutate(GROUP, (doc) => f(doc.conversation)));
  const account = (f: (a: AccountState) => void): Promise<void> => d.layer.mutate(SELF, (doc) => f(doc.account));
  switch (op) {
    case 0:
      if (sender === d.userId) await group((c) => c.edit(uid, `edit ${Math.floor(r() * 1000)}`, d.userId, now, LOCAL));
      return;
    case 1:
      if (sender === d.userId && r() < 0.3) await group((c) => c.deleteForEveryone(uid, d.userId, now, LOCAL));
      return;
    case 2:
    case 3:
      return group((c) => c.react(uid, d.userId, pick(EMOJI), r() < 0.6, LOCAL));
    case 4:
      return group((c) => c.pin(uid, d.userId, now, r() < 0.7, LOCAL));
    case 5:
      return group((c) => c.setProfile(r() < 0.5 ? { name: `name ${Math.floor(r() * 100)}` } : { description: `about ${Math.floor(r() * 100)}` }, LOCAL));
    case 6:
      return group((c) => c.setTimer(pick([0, 60, 3600]), now, LOCAL));
    default:
      if (d.userId !== '1') return;
      return account((a) => {
        const chat = pick(['1', '3', '4']);
        const k = Math.floor(r() * 4);
        if (k === 0) a.archive(chat, r() < 0.5, LOCAL);
        else if (k === 1) a.mute(chat, pick([0, Infinity, now + 1000]), LOCAL);
        else if (k === 2) a.pinChat(chat, r() < 0.5 ? now : null, LOCAL);
        else a.setDraft(chat, r() < 0.3 ? '' : `draft ${Math.floor(r() * 100)}`, LOCAL);
      });
  }
}

async function run(seed: number, steps: number): Promise<SimNetwork> {
  const r = seededRandom(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const members = new Map([
    [GROUP, [0, 1, 2, 3]],
    [SELF, [0, 1]],
  ]);
  const net = new SimNetwork(r, members, 1 + Math.floor(r() * 8));
  const devices = [net.addDevice('1'), net.addDevice('1'), net.addDevice('2')];
  for (const d of devices) for (const [uid, sender] of MESSAGES) d.store.rows.set(uid, { conversationId: GROUP, text: `text of ${uid}`, createdAt: net.clock.now(), sender });
  for (let i = 0; i < steps; i++) {
    net.clock.time += Math.floor(r() * 50);
    const x = r();
    const d = pick(devices);
    if (x < 0.45) await randomOp(net, d, pick, r);
    else if (x < 0.85) await net.deliverOne(0.2);
    else if (x < 0.95) d.online = !d.online;
    else await net.restart(d);
  }
  await net.settle();
  return net;
}

const views = (net: SimNetwork, id: ConversationId, devices: readonly SimDevice[]): Promise<unknown[]> =>
  Promise.all(devices.map((d) => d.layer.read(id, (doc) => ({ c: doc.conversation.view(), a: doc.account.view() }))));

describe('state convergence over a simulated network', () => {
  it('three devices end with identical state after random concurrent changes, delays, duplicates, reordering and disconnects', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 20, max: 160 }), async (seed, steps) => {
        const net = await run(seed, steps);
        const devices = net.devices;
        const group = await views(net, GROUP, devices);
        expect(group[1]).toEqual(group[0]);
        expect(group[2]).toEqual(group[0]);
        const self = await views(net, SELF, devices.slice(0, 2));
        expect(self[1]).toEqual(self[0]);
        // What is stored is what is shown (a restart loads the same state).
        for (const d of devices) expect({ c: new ConversationState(storedDoc(d.store, GROUP)).view(), a: new AccountState(storedDoc(d.store, GROUP)).view() }).toEqual(group[0]);
        // Deleted for everyone: the row is erased and nothing about the message is left, on every device.
        const deleted = await devices[0]!.layer.read(GROUP, (doc) => doc.conversation.deletedUids());
        for (const d of devices) {
          for (const uid of deleted) {
            expect(d.store.rows.get(uid)?.text).toBe('');
            const a = await d.layer.read(GROUP, (doc) => doc.conversation.annotations(uid, null));
            expect(a.edits).toEqual([]);
            expect(a.reactions).toEqual({});
            expect(a.pinned).toBeNull();
          }
        }
        // A device that joins after all of it, reading the log from the start, converges too.
        const late = net.addDevice('2');
        for (const { entry, data } of net.log) if (entry.conversationId === GROUP) await late.layer.received(GROUP, entry, data);
        expect((await views(net, GROUP, [late]))[0]).toEqual(group[0]);
        await Promise.all(devices.map((d) => d.layer.stop()));
      }),
      // The example: a reordered update that completed another device's waiting update was once taken for a forgery.
      { numRuns: 60, examples: [[1366396985, 20]] },
    );
  }, 60_000);

  it('the same seed replays the same run', async () => {
    const a = await run(1234, 120);
    const b = await run(1234, 120);
    expect(await views(a, GROUP, a.devices)).toEqual(await views(b, GROUP, b.devices));
    expect(a.log.length).toBe(b.log.length);
  });

  it('a new device starts from the latest snapshot plus the updates after it', async () => {
    const net = await run(99, 150);
    // A snapshot covers every entry its device had applied; posted once settled, it covers the whole log before it.
    await net.devices[0]!.layer.postSnapshot(GROUP);
    const r = seededRandom(7);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    for (let i = 0; i < 30; i++) await randomOp(net, pick(net.devices), pick, r);
    await net.settle();
    const group = net.log.filter((l) => l.entry.conversationId === GROUP);
    const last = group.map((l) => l.entry.type).lastIndexOf(EntryType.Snapshot);
    expect(last).toBeGreaterThanOrEqual(0);
    const fresh = net.addDevice('2');
    for (const { entry, data } of group.slice(last)) await fresh.layer.received(GROUP, entry, data);
    const [expected] = await views(net, GROUP, [net.devices[0]!]);
    expect((await views(net, GROUP, [fresh]))[0]).toEqual(expected);
    expect(group.slice(last).length).toBeLessThan(group.length);
  });
});

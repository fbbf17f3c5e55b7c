import { beforeEach, describe, expect, it } from 'vitest';
import { E2eeError, MlsGroup, isE2eeError } from '../../src/e2ee/index.js';
import { FakeDeliveryService } from './delivery-service.js';
import { SimDevice, conversationId, text } from './devices.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const DM = conversationId(1001);
const GROUP = conversationId(2002);

async function addAll(by: SimDevice, id: typeof DM, ds: FakeDeliveryService, joiners: SimDevice[]): Promise<void> {
  await by.commit(id, (g) => g.proposeAdd(joiners.map((d) => ds.claimKeyPackage(d.identity))));
  for (const d of joiners) await d.acceptInvitations();
}

describe('MLS groups', () => {
  let ds: FakeDeliveryService;
  let alice: SimDevice;
  let bob: SimDevice;

  beforeEach(async () => {
    ds = new FakeDeliveryService();
    alice = await SimDevice.create(ds, 1, 1);
    bob = await SimDevice.create(ds, 2, 1);
  });

  it('DM round trip both ways', async () => {
    await alice.createConversation(DM);
    await addAll(alice, DM, ds, [bob]);
    await alice.send(DM, 'hello bob');
    await bob.sync(DM);
    await bob.send(DM, 'hello alice');
    await alice.sync(DM);
    expect(bob.received.map(text)).toEqual(['hello bob']);
    expect(bob.received[0]?.sender).toEqual({ userId: alice.identity.userId, deviceId: alice.identity.deviceId });
    expect(alice.received.map(text)).toEqual(['hello alice']);
    expect(alice.received[0]?.sender.deviceId).toBe(bob.identity.deviceId);
    expect(alice.group(DM).epoch).toBe(1n);
    expect(bob.group(DM).members().map((m) => m.userId)).toEqual([alice.identity.userId, bob.identity.userId]);
  });

  it('a group message decrypts on every member device', async () => {
    const others = [bob, await SimDevice.create(ds, 1, 2), await SimDevice.create(ds, 3, 1), await SimDevice.create(ds, 3, 2)];
    await alice.createConversation(GROUP);
    await addAll(alice, GROUP, ds, others);
    const all = [alice, ...others];
    for (const d of all) await d.send(GROUP, `from ${d.name}`);
    for (const d of all) await d.sync(GROUP);
    for (const d of all) {
      expect(d.failures).toEqual([]);
      const expected = all.filter((x) => x !== d).map((x) => `from ${x.name}`);
      expect(d.received.map(text)).toEqual(expected);
      expect(d.received.map((m) => `${m.sender.userId}:${m.sender.deviceId}`)).toEqual(all.filter((x) => x !== d).map((x) => x.name));
    }
  });

  it('a removed device cannot decrypt anything sent after its removal', async () => {
    const carol = await SimDevice.create(ds, 3, 1);
    await alice.createConversation(GROUP);
    await addAll(alice, GROUP, ds, [bob, carol]);
    await alice.send(GROUP, 'before');
    await alice.commit(GROUP, (g) => g.proposeRemove([carol.identity]));
    await alice.send(GROUP, 'after');
    await bob.send(GROUP, 'after, from bob');
    await carol.sync(GROUP);
    await bob.sync(GROUP);
    expect(carol.group(GROUP).active).toBe(false);
    expect(carol.received.map(text)).toEqual(['before']);
    expect(carol.failures.map((e) => isE2eeError(e) && e.reason)).toEqual(['not_a_member', 'not_a_member']);
    expect(bob.received.map(text)).toEqual(['before', 'after']);
    expect(bob.group(GROUP).members().map((m) => m.userId)).toEqual([alice.identity.userId, bob.identity.userId]);
    // Nor can the removed device send or commit any more.
    await expect(carol.group(GROUP).encrypt(enc('x'))).rejects.toMatchObject({ reason: 'not_a_member' });
  });

  it('rejects a tampered ciphertext with a typed error and keeps working', async () => {
    await alice.createConversation(DM);
    await addAll(alice, DM, ds, [bob]);
    const g = bob.group(DM);
    const good = await alice.group(DM).encrypt(enc('secret'));
    const flipped = good.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0x01;
    await expect(g.decrypt(flipped)).rejects.toMatchObject({ reason: 'decryption_failed', code: 'invalid_frame' });
    // Every single-byte flip anywhere in the message fails with a typed error.
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x80;
      const err = await g.decrypt(bad).then(() => undefined, (e: unknown) => e);
      expect(err, `flip at byte ${i}`).toBeInstanceOf(E2eeError);
    }
    expect(text(await g.decrypt(good))).toBe('secret');
    // A replay of the same message is rejected too.
    await expect(g.decrypt(good)).rejects.toBeInstanceOf(E2eeError);
  });

  it('state serialization round-trips: a restored device keeps working', async () => {
    await alice.createConversation(DM);
    await addAll(alice, DM, ds, [bob]);
    const m1 = await alice.group(DM).encrypt(enc('one'));
    const restoredBob = await MlsGroup.restore(bob.group(DM).serialize());
    expect(restoredBob.epoch).toBe(1n);
    expect(restoredBob.members()).toEqual(bob.group(DM).members());
    expect(text(await restoredBob.decrypt(m1))).toBe('one');
    const reply = await restoredBob.encrypt(enc('two'));
    const restoredAlice = await MlsGroup.restore(alice.group(DM).serialize());
    expect(text(await restoredAlice.decrypt(reply))).toBe('two');
    // The restored copy and a round trip of it serialize identically.
    const bytes = restoredAlice.serialize();
    expect((await MlsGroup.restore(bytes)).serialize()).toEqual(bytes);
    await expect(MlsGroup.restore(bytes.subarray(0, bytes.length - 3))).rejects.toMatchObject({ reason: 'invalid_message' });
  });

  it('a pending Commit survives a restart and is confirmed when the log returns it', async () => {
    const carol = await SimDevice.create(ds, 3, 1);
    await alice.createConversation(GROUP);
    await addAll(alice, GROUP, ds, [bob]);
    const pending = await alice.group(GROUP).proposeAdd([ds.claimKeyPackage(carol.identity)]);
    await expect(alice.group(GROUP).proposeRemove([bob.identity])).rejects.toMatchObject({ reason: 'pending_commit' });
    const restored = await MlsGroup.restore(alice.group(GROUP).serialize());
    expect(restored.pending?.commit).toEqual(pending.commit);
    expect(restored.epoch).toBe(1n);
    ds.submitCommit(pending);
    expect(await restored.processCommit(pending.commit)).toEqual({ kind: 'confirmed', epoch: 2n });
    await bob.sync(GROUP);
    await carol.acceptInvitations();
    const msg = await restored.encrypt(enc('welcome carol'));
    expect(text(await carol.group(GROUP).decrypt(msg))).toBe('welcome carol');
    expect(text(await bob.group(GROUP).decrypt(msg))).toBe('welcome carol');
    // Our own Commit read again after confirming is a stale epoch.
    await expect(restored.processCommit(pending.commit)).rejects.toMatchObject({ reason: 'stale_epoch', code: 'conflict' });
  });

  it('concurrent Commits: the loser applies the winner and rebases', async () => {
    const carol = await SimDevice.create(ds, 3, 1);
    const dave = await SimDevice.create(ds, 4, 1);
    await alice.createConversation(GROUP);
    await addAll(alice, GROUP, ds, [bob]);
    const a = await alice.group(GROUP).proposeAdd([ds.claimKeyPackage(carol.identity)]);
    const b = await bob.group(GROUP).proposeAdd([ds.claimKeyPackage(dave.identity)]);
    expect(a.epoch).toBe(b.epoch);
    ds.submitCommit(a);
    expect(() => ds.submitCommit(b)).toThrow(E2eeError);
    // Bob reads Alice's Commit: applied, his own is superseded.
    const outcome = await bob.group(GROUP).processCommit(a.commit);
    expect(outcome).toMatchObject({ kind: 'applied', epoch: 2n, superseded: { commit: b.commit } });
    expect(bob.group(GROUP).pending).toBeUndefined();
    bob.cursors.set(GROUP, 2); // (bob applied entry 1 by hand above)
    await expect(bob.group(GROUP).processCommit(b.commit)).rejects.toMatchObject({ reason: 'stale_epoch' });
    // Bob retries against epoch 2.
    await bob.commit(GROUP, (g) => g.proposeAdd([ds.claimKeyPackage(dave.identity)]));
    await alice.sync(GROUP);
    await carol.acceptInvitations();
    await dave.acceptInvitations();
    await carol.sync(GROUP);
    for (const d of [alice, bob, carol, dave]) {
      expect(d.group(GROUP).epoch).toBe(3n);
      expect(d.group(GROUP).members().map((m) => m.userId)).toEqual([1n, 2n, 3n, 4n]);
    }
  });

  it('rejects a Commit from a future epoch and messages for another group', async () => {
    const carol = await SimDevice.create(ds, 3, 1);
    await alice.createConversation(GROUP);
    await addAll(alice, GROUP, ds, [bob]);
    await alice.commit(GROUP, (g) => g.proposeAdd([ds.claimKeyPackage(carol.identity)]));
    const next = await alice.group(GROUP).proposeRemove([carol.identity]);
    // Bob missed the epoch-1 Commit (cursor not advanced): epoch-2 Commit is from the future.
    const err = await bob.group(GROUP).processCommit(next.commit).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ reason: 'future_epoch', epochs: { messageEpoch: 2n, groupEpoch: 1n } });
    await alice.createConversation(DM);
    const other = await alice.group(DM).encrypt(enc('x'));
    await expect(bob.group(GROUP).decrypt(other)).rejects.toMatchObject({ reason: 'unknown_group' });
    await expect(bob.group(GROUP).decrypt(enc('not mls'))).rejects.toMatchObject({ reason: 'invalid_message' });
  });
});

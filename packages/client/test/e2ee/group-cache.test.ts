/**
 * GroupCache under concurrent first use. The engine queue and app calls
 * (groupState, media keys, safety numbers) ask for a group at any time; when
 * two first calls raced, each restored its own instance from the same bytes,
 * and a load that finished late replaced an instance that had already
 * encrypted. The device then encrypted again at a generation it had used, and
 * the recipient could not open the second message ("cannot decrypt message").
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GroupCache } from '../../src/e2ee-engine/groups.js';
import { openMemoryReplica } from '../../src/node.js';
import { twoMemberGroups } from './devices.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('GroupCache', () => {
  it('concurrent first loads share one instance, so a late load cannot bring back a used generation', async () => {
    const [alice, bob] = await twoMemberGroups(90);
    const replica = await openMemoryReplica(`group-cache-${Math.random()}`);
    closers.push(() => replica.close());
    await replica.saveGroup(alice.conversationId, alice.serialize());
    const self = alice.self;
    const groups = new GroupCache(replica, { userId: self.userId, deviceId: self.deviceId, token: 'unused' }, alice.suite);

    // Every load after the first reads the stored bytes, then waits until the test lets it finish.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = replica.loadGroup.bind(replica);
    const loads = vi.spyOn(replica, 'loadGroup');
    loads.mockImplementationOnce(load).mockImplementation(async (id) => {
      const bytes = await load(id);
      await gate;
      return bytes;
    });

    const first = groups.get(alice.conversationId); // e.g. the outbox sealing a message
    const second = groups.get(alice.conversationId); // e.g. the app asking for groupState
    const sealer = await first;
    if (sealer === undefined) throw new Error('group not loaded');
    const one = await sealer.encrypt(new TextEncoder().encode('one'));
    await groups.save(sealer);
    release();
    const other = await second;
    const current = await groups.get(alice.conversationId);
    expect(other).toBe(sealer);
    expect(current).toBe(sealer);
    const two = await current!.encrypt(new TextEncoder().encode('two'));

    // The recipient opens both: no generation was used twice.
    expect(text((await bob.decrypt(one)).plaintext)).toBe('one');
    expect(text((await bob.decrypt(two)).plaintext)).toBe('two');
    expect(loads).toHaveBeenCalledTimes(1);
  });

  it('a save made while a load is in flight wins over the bytes that load read', async () => {
    const [alice] = await twoMemberGroups(92);
    const replica = await openMemoryReplica(`group-cache-${Math.random()}`);
    closers.push(() => replica.close());
    await replica.saveGroup(alice.conversationId, alice.serialize());
    const self = alice.self;
    const groups = new GroupCache(replica, { userId: self.userId, deviceId: self.deviceId, token: 'unused' }, alice.suite);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = replica.loadGroup.bind(replica);
    vi.spyOn(replica, 'loadGroup').mockImplementation(async (id) => {
      const bytes = await load(id);
      await gate;
      return bytes;
    });
    const loading = groups.get(alice.conversationId);
    await groups.save(alice); // e.g. a Welcome joined while the stored (older) bytes were being read
    release();
    expect(await loading).toBe(alice);
    expect(await groups.get(alice.conversationId)).toBe(alice);
  });
});

/**
 * Decrypting with the signature check deferred (`verifyLater`, issue #11
 * target 5): checks overlap with the next decryption, nothing unchecked is
 * stored, and a failed check puts the group back where the run began.
 */
import { describe, expect, it, vi } from 'vitest';
import { MlsGroup, isE2eeError, loadSuite } from '../../src/e2ee/index.js';
import { twoMemberGroups } from './devices.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function seal(alice: MlsGroup, texts: string[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const t of texts) out.push(await alice.encrypt(enc.encode(t)));
  return out;
}

/** Seals with a wrong signature (the AEAD is right, so only the check can catch it). */
async function sealForged(alice: MlsGroup, text: string): Promise<Uint8Array> {
  const impl = await loadSuite(alice.suite);
  const sign = vi.spyOn(impl.signature, 'sign').mockImplementation(async () => new Uint8Array(64).fill(9));
  try {
    return await alice.encrypt(enc.encode(text));
  } finally {
    sign.mockRestore();
  }
}

describe('MlsGroup.decrypt with verifyLater', () => {
  it('opens a run, stores only the state before it until the checks pass, then the state after it', async () => {
    const [alice, bob] = await twoMemberGroups(300);
    const bodies = await seal(alice, ['a', 'b', 'c']);
    const before = bob.serialize();
    const texts = [];
    for (const body of bodies) texts.push(dec.decode((await bob.decrypt(body, { verifyLater: true })).plaintext));
    expect(texts).toEqual(['a', 'b', 'c']);
    expect(bob.serialize()).toEqual(before); // unchecked ratchet steps are never stored
    expect(await bob.verifyPending()).toBe(true);
    expect(bob.serialize()).not.toEqual(before);
    const restored = await MlsGroup.restore(bob.serialize());
    expect(isE2eeError(await restored.decrypt(bodies[1]!).catch((e: unknown) => e), 'decryption_failed')).toBe(true);
    expect(await bob.verifyPending()).toBe(true); // nothing open: nothing failed
  });

  it('a failed check rolls the group back to before the run, and the messages open again one by one', async () => {
    const [alice, bob] = await twoMemberGroups(310);
    const bodies = [...(await seal(alice, ['a'])), await sealForged(alice, 'forged'), ...(await seal(alice, ['c']))];
    for (const body of bodies) await bob.decrypt(body, { verifyLater: true }); // the forged one passes for now
    expect(await bob.verifyPending()).toBe(false);
    // Back before 'a': its key was not wiped, so it opens again; the forged one now fails at once.
    expect(dec.decode((await bob.decrypt(bodies[0]!)).plaintext)).toBe('a');
    expect(isE2eeError(await bob.decrypt(bodies[1]!).catch((e: unknown) => e), 'decryption_failed')).toBe(true);
    expect(dec.decode((await bob.decrypt(bodies[2]!)).plaintext)).toBe('c');
  });

  it('any other operation settles an open run first, and verifyPending still reports its failure', async () => {
    const [alice, bob] = await twoMemberGroups(320);
    const forged = await sealForged(alice, 'forged');
    await bob.decrypt(forged, { verifyLater: true });
    await bob.encrypt(enc.encode('reply')); // settles the run (and rolls it back) before encrypting
    expect(await bob.verifyPending()).toBe(false);
    expect(await bob.verifyPending()).toBe(true); // reported once
    expect(isE2eeError(await bob.decrypt(forged).catch((e: unknown) => e), 'decryption_failed')).toBe(true);
  });
});

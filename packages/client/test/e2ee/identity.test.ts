import { describe, expect, it } from 'vitest';
import { parseDeviceId, parseUserId } from '@tidings/shared';
import {
  E2eeError,
  createDeviceIdentity,
  decodeDeviceIdentity,
  encodeDeviceIdentity,
  generateKeyPackages,
  loadSuite,
  parseKeyPackage,
  peekMessage,
  safetyNumber,
} from '../../src/e2ee/index.js';

const device = (u: number, d: number) => ({ userId: parseUserId(u), deviceId: parseDeviceId(d) });

describe('device identity and KeyPackages', () => {
  it('an identity round-trips through bytes and rejects corrupt input', async () => {
    const id = await createDeviceIdentity(device(42, 4201));
    const back = decodeDeviceIdentity(encodeDeviceIdentity(id));
    expect(back).toEqual(id);
    expect(new TextDecoder().decode(back.credential.identity)).toBe('42:4201');
    const bytes = encodeDeviceIdentity(id);
    expect(() => decodeDeviceIdentity(bytes.subarray(0, 20))).toThrow(E2eeError);
    expect(() => decodeDeviceIdentity(Uint8Array.of(9, ...bytes.subarray(1)))).toThrow(E2eeError);
  });

  it('KeyPackages name their device and are distinct', async () => {
    const id = await createDeviceIdentity(device(7, 701));
    const bundles = await generateKeyPackages(id, 3);
    expect(new Set(bundles.map((b) => b.ref)).size).toBe(3);
    for (const b of bundles) {
      expect(peekMessage(b.publicBytes)).toEqual({ kind: 'key_package' });
      expect(parseKeyPackage(b.publicBytes).device).toEqual(device(7, 701));
      expect(parseKeyPackage(b.publicBytes).keyPackage.leafNode.signaturePublicKey).toEqual(id.signaturePublicKey);
    }
    await expect(generateKeyPackages(id, -1)).rejects.toBeInstanceOf(E2eeError);
  });

  it('the default suite loads; X-Wing reports a typed error when its optional dependency is missing', async () => {
    await expect(loadSuite()).resolves.toBeDefined();
    const xwing = await loadSuite('MLS_256_XWING_AES256GCM_SHA512_Ed25519').then(
      () => 'loaded',
      (e: unknown) => (e instanceof E2eeError ? e.reason : 'other'),
    );
    expect(['loaded', 'unsupported_suite']).toContain(xwing);
  });
});

describe('safety numbers', () => {
  it('match on both sides and change when a key changes', async () => {
    const alice1 = await createDeviceIdentity(device(1, 11));
    const alice2 = await createDeviceIdentity(device(1, 12));
    const bob1 = await createDeviceIdentity(device(2, 21));
    const alice = { userId: alice1.userId, identityKeys: [alice1.signaturePublicKey, alice2.signaturePublicKey] };
    const bob = { userId: bob1.userId, identityKeys: [bob1.signaturePublicKey] };
    const seenByAlice = await safetyNumber(alice, bob);
    const seenByBob = await safetyNumber(bob, { ...alice, identityKeys: [...alice.identityKeys].reverse() });
    expect(seenByAlice).toBe(seenByBob);
    expect(seenByAlice).toMatch(/^\d{5}( \d{5}){11}$/);

    const bobNew = await createDeviceIdentity(device(2, 21));
    expect(await safetyNumber(alice, { ...bob, identityKeys: [bobNew.signaturePublicKey] })).not.toBe(seenByAlice);
    // Dropping a device changes it too, and so does the same key under another user id.
    expect(await safetyNumber({ ...alice, identityKeys: [alice1.signaturePublicKey] }, bob)).not.toBe(seenByAlice);
    expect(await safetyNumber({ ...alice, userId: parseUserId(3) }, bob)).not.toBe(seenByAlice);
  });
});

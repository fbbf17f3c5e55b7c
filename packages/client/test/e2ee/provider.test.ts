/**
 * The fast CryptoProviders (node:crypto here; the WebCrypto one is loaded
 * directly, since Node has WebCrypto too) must compute exactly what ts-mls's
 * default provider computes: same digests, MACs and HKDF outputs, AES-GCM
 * ciphertexts either side can open, signatures either side verifies — and
 * MLS messages sealed under one provider open under the other.
 */
import { randomBytes } from 'node:crypto';
import { expand as nobleExpand, extract as nobleExtract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { defaultCryptoProvider, getCiphersuiteFromName, type CiphersuiteImpl } from 'ts-mls';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAST_PROVIDER_NAME } from '#e2ee-fast-provider';
import { RNG_POOL_BYTES, fastCryptoProvider as nodeProvider } from '../../src/e2ee/provider-node.js';
import { providerOf } from '../../src/e2ee/provider.js';
import { fastCryptoProvider as webProvider } from '../../src/e2ee/provider-web.js';
import { DEFAULT_SUITE, MlsGroup, isE2eeError, loadSuite } from '../../src/e2ee/index.js';
import { twoMemberGroups } from './devices.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const key16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonce12 = fc.uint8Array({ minLength: 12, maxLength: 12 });
const RUNS = 40;

describe('fast CryptoProviders agree with ts-mls default', () => {
  it('Node picks the node:crypto provider by itself (the `node` export condition)', () => {
    expect(FAST_PROVIDER_NAME).toBe('node:crypto');
    expect(providerOf('fast')).toBe(nodeProvider);
    expect(providerOf('reference')).toBe(defaultCryptoProvider);
  });

  let ref: CiphersuiteImpl;
  const fast: Record<string, CiphersuiteImpl> = {};

  beforeAll(async () => {
    const cs = getCiphersuiteFromName(DEFAULT_SUITE);
    ref = await loadSuite(DEFAULT_SUITE, 'reference');
    fast['node'] = await nodeProvider.getCiphersuiteImpl(cs);
    fast['web'] = await webProvider.getCiphersuiteImpl(cs);
  });

  for (const which of ['node', 'web'] as const) {
    const impl = (): CiphersuiteImpl => fast[which] as CiphersuiteImpl;

    it(`${which}: HKDF matches RFC 5869 test case 1 and 3`, async () => {
      const k = impl().kdf;
      const ikm = unhex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b');
      const prk1 = await k.extract(unhex('000102030405060708090a0b0c'), ikm);
      expect(hex(prk1)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
      expect(hex(await k.expand(prk1, unhex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
        '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
      );
      const prk3 = await k.extract(new Uint8Array(0), ikm); // empty salt
      expect(hex(prk3)).toBe('19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04');
      expect(hex(await k.expand(prk3, new Uint8Array(0), 42))).toBe(
        '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
      );
    });

    it(`${which}: hash, MAC and HKDF equal the reference and @noble/hashes`, async () => {
      await fc.assert(
        fc.asyncProperty(bytes(300), fc.uint8Array({ minLength: 1, maxLength: 80 }), bytes(80), fc.integer({ min: 0, max: 200 }), key32, async (data, key, info, len, prk) => {
          const f = impl();
          expect(hex(await f.hash.digest(data))).toBe(hex(await ref.hash.digest(data)));
          const mac = await f.hash.mac(key, data);
          expect(hex(mac)).toBe(hex(await ref.hash.mac(key, data)));
          expect(await f.hash.verifyMac(key, mac, data)).toBe(true);
          expect(await f.hash.verifyMac(key, mac.map((b, i) => (i === 0 ? b ^ 1 : b)), data)).toBe(false);
          expect(hex(await f.kdf.extract(key, data))).toBe(hex(nobleExtract(sha256, data, key)));
          expect(hex(await f.kdf.extract(new Uint8Array(0), data))).toBe(hex(nobleExtract(sha256, data)));
          expect(hex(await f.kdf.expand(data, info, len))).toBe(hex(nobleExpand(sha256, data, info, len)));
          expect(hex(await f.kdf.expand(prk, info, 32))).toBe(hex(await ref.kdf.expand(prk, info, 32)));
        }),
        { numRuns: RUNS },
      );
    });

    it(`${which}: AES-GCM interoperates with the reference and rejects tampering`, async () => {
      await fc.assert(
        fc.asyncProperty(key16, nonce12, bytes(64), bytes(2048), fc.nat(), async (key, nonce, aad, pt, flip) => {
          const f = impl().hpke;
          const ct = await f.encryptAead(key, nonce, aad, pt);
          expect(hex(ct)).toBe(hex(await ref.hpke.encryptAead(key, nonce, aad, pt)));
          expect(hex(await ref.hpke.decryptAead(key, nonce, aad, ct))).toBe(hex(pt));
          expect(hex(await f.decryptAead(key, nonce, aad, ct))).toBe(hex(pt));
          const bad = ct.slice();
          const at = flip % bad.length;
          bad[at] = (bad[at] as number) ^ 0x01;
          await expect(f.decryptAead(key, nonce, aad, bad)).rejects.toThrow();
          await expect(f.decryptAead(key, nonce, aad, ct.subarray(0, 15))).rejects.toThrow();
        }),
        { numRuns: RUNS },
      );
    });

    it(`${which}: Ed25519 keys and signatures cross-verify both ways`, async () => {
      const f = impl().signature;
      const message = randomBytes(1024);
      for (const [signer, verifier] of [
        [f, ref.signature],
        [ref.signature, f],
      ] as const) {
        const { publicKey, signKey } = await signer.keygen();
        expect(publicKey.length).toBe(32);
        const sig = await signer.sign(signKey, message);
        expect(await verifier.verify(publicKey, message, sig)).toBe(true);
        expect(await signer.verify(publicKey, message, await verifier.sign(signKey, message))).toBe(true);
        const tampered = message.slice();
        tampered[7] = (tampered[7] as number) ^ 0x80;
        expect(await f.verify(publicKey, tampered, sig)).toBe(false);
        expect(await f.verify(publicKey, message, sig.subarray(0, 63))).toBe(false);
        expect(await f.verify(new Uint8Array(31), message, sig)).toBe(false);
      }
    });
  }

  it('node: random bytes come from a pool that never hands out a byte twice, across refills', () => {
    const rng = (fast['node'] as CiphersuiteImpl).rng;
    for (const n of [0, 1, 4, 32, 64, 65, 200, RNG_POOL_BYTES + 1]) expect(rng.randomBytes(n).length).toBe(n);
    // Several pools' worth in small draws: each draw is fresh bytes, not zeros and not a repeat of an earlier one.
    const draws = Array.from({ length: (3 * RNG_POOL_BYTES) / 16 + 7 }, () => rng.randomBytes(16));
    expect(new Set(draws.map(hex)).size).toBe(draws.length);
    expect(draws.some((d) => d.every((b) => b === 0))).toBe(false);
    const seen = new Set<number>();
    for (let i = 0; i < 8192; i++) for (const b of rng.randomBytes(8)) seen.add(b);
    expect(seen.size).toBe(256);
    // Each draw is its own copy: changing one changes nothing handed out later.
    const a = rng.randomBytes(4);
    a.fill(0xee);
    expect(hex(rng.randomBytes(4))).not.toBe('eeeeeeee');
  });
});

describe('MLS messages cross providers', () => {
  const pair = twoMemberGroups;

  it.each([
    ['fast', 'reference'],
    ['reference', 'fast'],
  ] as const)('a %s sender and a %s receiver read each other', async (a, b) => {
    const [ga, gb] = await pair(a === 'fast' ? 10 : 20, a, b);
    for (let i = 0; i < 5; i++) {
      const body = randomBytes(1024);
      expect(hex((await gb.decrypt(await ga.encrypt(body))).plaintext)).toBe(hex(body));
      expect(hex((await ga.decrypt(await gb.encrypt(body))).plaintext)).toBe(hex(body));
    }
    // A group saved under one provider restores under the other and keeps talking.
    const restored = await MlsGroup.restore(gb.serialize(), { provider: a });
    const last = await restored.decrypt(await ga.encrypt(new TextEncoder().encode('after restore')));
    expect(new TextDecoder().decode(last.plaintext)).toBe('after restore');
  });

  it('a tampered message is rejected with a typed error and changes nothing (fast provider)', async () => {
    const [ga, gb] = await pair(30);
    const ct = await ga.encrypt(randomBytes(1024));
    const bad = ct.slice();
    bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 0x01;
    const err = await gb.decrypt(bad).catch((e: unknown) => e);
    expect(isE2eeError(err) && err.reason).toBe('decryption_failed');
    // The failed attempt consumed no key: the genuine message still opens.
    expect((await gb.decrypt(ct)).plaintext.length).toBe(1024);
  });
});

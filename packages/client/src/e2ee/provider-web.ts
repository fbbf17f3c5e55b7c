/**
 * The fast ts-mls CryptoProvider for browsers and workers (and any runtime
 * without the `node` export condition). What makes ts-mls's default slow
 * there is per-call overhead, not the primitives, so:
 * - Ed25519 keys are imported into WebCrypto once and the CryptoKeys cached
 *   (the default re-imports the PKCS#8 key on every sign and the public key
 *   on every verify);
 * - HKDF and HMAC (several small calls per message, each an async WebCrypto
 *   round trip plus a key import in the default) run synchronously in
 *   @noble/hashes;
 * - hashing and AES-GCM stay native WebCrypto. Message keys are single-use,
 *   so AES keys are imported per call and never cached (forward secrecy:
 *   no copy of a used message key outlives the call).
 * HPKE stays ts-mls's (RFC 9180 via @hpke/core).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { Ciphersuite, CiphersuiteImpl, CryptoProvider, Hash, Kdf, Signature } from 'ts-mls';
import { bytesEqual, toHex } from './bytes.js';
import { KeyCache, ed25519Pkcs8, referenceImpl, withAead, type AeadPrimitive } from './provider.js';

const NOBLE_HASH = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 } as const;
const HKDF_HASH = { 'HKDF-SHA256': sha256, 'HKDF-SHA384': sha384, 'HKDF-SHA512': sha512 } as const;
type NobleHash = (typeof NOBLE_HASH)[keyof typeof NOBLE_HASH];

/** WebCrypto wants BufferSource over an ArrayBuffer (not a SharedArrayBuffer); MLS bytes always are. */
const src = (b: Uint8Array): Uint8Array<ArrayBuffer> => b as Uint8Array<ArrayBuffer>;

function makeHash(subtle: SubtleCrypto, name: keyof typeof NOBLE_HASH): Hash {
  const h = NOBLE_HASH[name];
  return {
    digest: async (data) => new Uint8Array(await subtle.digest(name, src(data))),
    mac: async (key, data) => hmac(h, key, data),
    verifyMac: async (key, mac, data) => bytesEqual(hmac(h, key, data), mac),
  };
}

function makeKdf(h: NobleHash): Kdf {
  return {
    size: h.outputLen,
    extract: async (salt, ikm) => extract(h, ikm, salt),
    expand: async (prk, info, len) => expand(h, prk, info, len),
  };
}

function makeAead(subtle: SubtleCrypto): AeadPrimitive {
  const key = (raw: Uint8Array, use: KeyUsage): Promise<CryptoKey> => subtle.importKey('raw', src(raw), 'AES-GCM', false, [use]);
  return {
    async encrypt(raw, nonce, aad, plaintext) {
      const ct = await subtle.encrypt({ name: 'AES-GCM', iv: src(nonce), additionalData: src(aad) }, await key(raw, 'encrypt'), src(plaintext));
      return new Uint8Array(ct);
    },
    async decrypt(raw, nonce, aad, ciphertext) {
      const pt = await subtle.decrypt({ name: 'AES-GCM', iv: src(nonce), additionalData: src(aad) }, await key(raw, 'decrypt'), src(ciphertext));
      return new Uint8Array(pt);
    },
  };
}

function makeEd25519(subtle: SubtleCrypto, base: Signature): Signature {
  const signers = new KeyCache<Promise<CryptoKey>>();
  const verifiers = new KeyCache<Promise<CryptoKey | null>>();
  const signer = (signKey: Uint8Array): Promise<CryptoKey> =>
    // Keyed by a digest, so no copy of the private key lives on as a string.
    signers.get(toHex(sha256(signKey)), () => subtle.importKey('pkcs8', src(ed25519Pkcs8(signKey)), 'Ed25519', false, ['sign']));
  const verifier = (publicKey: Uint8Array): Promise<CryptoKey | null> =>
    verifiers.get(toHex(publicKey), () =>
      subtle.importKey('raw', src(publicKey), 'Ed25519', false, ['verify']).catch(() => null), // not a key: every signature fails
    );
  return {
    sign: async (signKey, message) => new Uint8Array(await subtle.sign('Ed25519', await signer(signKey), src(message))),
    async verify(publicKey, message, signature) {
      const key = await verifier(publicKey);
      if (key === null) return false;
      return subtle.verify('Ed25519', key, src(signature), src(message)).catch(() => false);
    },
    keygen: () => base.keygen(),
  };
}

async function getCiphersuiteImpl(cs: Ciphersuite): Promise<CiphersuiteImpl> {
  const base = await referenceImpl(cs);
  const subtle = globalThis.crypto.subtle;
  const aeadFast = cs.hpke.aead === 'AES128GCM' || cs.hpke.aead === 'AES256GCM';
  return {
    name: cs.name,
    hash: makeHash(subtle, cs.hash),
    kdf: makeKdf(HKDF_HASH[cs.hpke.kdf]),
    signature: cs.signature === 'Ed25519' ? makeEd25519(subtle, base.signature) : base.signature,
    hpke: aeadFast ? withAead(base.hpke, makeAead(subtle)) : base.hpke,
    rng: base.rng,
  };
}

export const fastCryptoProvider: CryptoProvider = { getCiphersuiteImpl };
/** Which platform the fast provider runs on (for benchmark output). */
export const FAST_PROVIDER_NAME = 'webcrypto';

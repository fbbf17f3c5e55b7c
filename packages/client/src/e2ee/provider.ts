/**
 * Which ts-mls CryptoProvider the E2EE layer runs on, and the pieces the
 * fast providers share. ts-mls's default provider pays per-operation
 * overhead on every call (it re-imports the Ed25519 key on every sign, makes
 * an asynchronous WebCrypto round trip per HMAC/HKDF/AES step), which caps
 * application messages at a few hundred per second (issue #11, target 4).
 *
 * The fast provider is picked by the `#e2ee-fast-provider` subpath import in
 * packages/client/package.json: under the `node` condition (Node, tsx,
 * vitest) it is `provider-node.ts` on node:crypto with cached KeyObjects;
 * everywhere else (Vite's browser and worker bundles) it is
 * `provider-web.ts` on WebCrypto with cached CryptoKeys. Browser code never
 * names a node: module. Both delegate every primitive to a platform or
 * library implementation; HPKE (off the application-message hot path) stays
 * ts-mls's RFC 9180 implementation (@hpke/core). The `reference` provider is
 * ts-mls's default, kept for cross-checks and benchmarks.
 */
import { fastCryptoProvider } from '#e2ee-fast-provider';
import { defaultCryptoProvider, type Ciphersuite, type CiphersuiteImpl, type CryptoProvider, type Hpke, type Signature } from 'ts-mls';
import { CryptoError } from 'ts-mls/mlsError.js';

/** `fast`: the platform provider (node:crypto or cached WebCrypto); `reference`: ts-mls's default provider. */
export type ProviderKind = 'fast' | 'reference';
export const DEFAULT_PROVIDER: ProviderKind = 'fast';

/** Imported keys (KeyObject / CryptoKey) kept per provider; a group touches a handful (own key, members' keys, epoch secrets). */
export const MAX_CACHED_KEYS = 512;

/** AES-GCM's tag length in bytes, as MLS uses it. */
export const AEAD_TAG_BYTES = 16;

/** Authenticated encryption under one raw key. Decrypt rejects (any error) when the tag does not verify. */
export interface AeadPrimitive {
  encrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  decrypt(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

const EMPTY = new Uint8Array(0);

/**
 * ts-mls's own HPKE (RFC 9180 via @hpke/core) with its bare-AEAD calls (the
 * ones MLS uses for message content, sender data and the Welcome's group
 * info) sent to a faster AES-GCM. Errors become ts-mls's CryptoError, as in
 * ts-mls's own wrapper.
 */
export function withAead(hpke: Hpke, aead: AeadPrimitive): Hpke {
  return {
    ...hpke,
    encryptAead: (key, nonce, aad, plaintext) => aead.encrypt(key, nonce, aad ?? EMPTY, plaintext),
    async decryptAead(key, nonce, aad, ciphertext) {
      try {
        return await aead.decrypt(key, nonce, aad ?? EMPTY, ciphertext);
      } catch (err) {
        throw new CryptoError(`AEAD decryption failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}

/**
 * A Signature that can also check a signature off the calling thread: in
 * Node, batched to a worker thread (verify-pool.ts).
 * Used where several checks can overlap with other work (a page of messages,
 * see MlsGroup.decrypt's `verifyLater`); a plain `verify` stays synchronous,
 * which is faster for one check that is awaited at once.
 */
export interface ConcurrentSignature extends Signature {
  verifyConcurrently?(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** The check to run when it may overlap with other work: off-thread where the provider can, else its `verify` (WebCrypto's is already asynchronous). Never rejects. */
export function concurrentVerify(signature: ConcurrentSignature): (publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array) => Promise<boolean> {
  const verify = signature.verifyConcurrently?.bind(signature) ?? signature.verify.bind(signature);
  return (publicKey, message, sig) => verify(publicKey, message, sig).catch(() => false);
}

/** ts-mls's default implementation of a suite: the base every fast provider overrides parts of. */
export const referenceImpl = (cs: Ciphersuite): Promise<CiphersuiteImpl> => defaultCryptoProvider.getCiphersuiteImpl(cs);

/** A bounded map of imported keys, oldest evicted first (insertion order; hits refresh). */
export class KeyCache<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly limit: number = MAX_CACHED_KEYS) {}

  get(id: string, make: () => V): V {
    const hit = this.map.get(id);
    if (hit !== undefined) {
      this.map.delete(id);
      this.map.set(id, hit);
      return hit;
    }
    const made = make();
    this.map.set(id, made);
    if (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    return made;
  }

  get size(): number {
    return this.map.size;
  }
}

/** The fixed PKCS#8 header of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
/** The fixed SubjectPublicKeyInfo header of an Ed25519 public key (RFC 8410 §4); the 32-byte key follows. */
const ED25519_SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
export const ED25519_KEY_BYTES = 32;

/**
 * An Ed25519 signing key as PKCS#8 DER. ts-mls's default provider stores
 * PKCS#8 (48 bytes, from WebCrypto's export); its noble provider stores the
 * raw 32-byte seed. Both are accepted so identities move between providers.
 */
export function ed25519Pkcs8(signKey: Uint8Array): Uint8Array {
  if (signKey.length !== ED25519_KEY_BYTES) return signKey;
  const out = new Uint8Array(ED25519_PKCS8_PREFIX.length + ED25519_KEY_BYTES);
  out.set(ED25519_PKCS8_PREFIX);
  out.set(signKey, ED25519_PKCS8_PREFIX.length);
  return out;
}

/** A raw 32-byte Ed25519 public key as SubjectPublicKeyInfo DER. */
export function ed25519Spki(publicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(ED25519_SPKI_PREFIX.length + publicKey.length);
  out.set(ED25519_SPKI_PREFIX);
  out.set(publicKey, ED25519_SPKI_PREFIX.length);
  return out;
}

/** The provider of a kind. */
export function providerOf(kind: ProviderKind): CryptoProvider {
  return kind === 'fast' ? fastCryptoProvider : defaultCryptoProvider;
}

/**
 * The fast ts-mls CryptoProvider for Node: every primitive on the hot path
 * of an application message is one synchronous node:crypto call, with the
 * Ed25519 keys imported once and cached as KeyObjects (ts-mls's default
 * provider re-imports the PKCS#8 key on every sign and makes an async
 * WebCrypto round trip per HMAC, HKDF and AES-GCM step).
 *
 * Only reached through the `#e2ee-fast-provider` import under the `node`
 * condition (see provider.ts), so browser bundles never see node:crypto.
 * HPKE stays ts-mls's (RFC 9180 via @hpke/core); only its bare-AEAD calls
 * come here. Suites whose primitives node:crypto does not cover keep
 * ts-mls's implementation for those parts.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomFillSync,
  sign as edSign,
  timingSafeEqual,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import hkdf from 'futoin-hkdf';
import type { Ciphersuite, CiphersuiteImpl, CryptoProvider, Hash, Kdf, Rng } from 'ts-mls';
import { toHex } from './bytes.js';
import { VerifyPool } from './verify-pool.js';
import { AEAD_TAG_BYTES, KeyCache, ed25519Pkcs8, ed25519Spki, referenceImpl, withAead, type AeadPrimitive, type ConcurrentSignature } from './provider.js';

/** A Node Buffer as a plain Uint8Array over the same bytes (Buffer's `slice` is a view; Uint8Array's copies). */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const NODE_HASH = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;
const HKDF_HASH = { 'HKDF-SHA256': 'sha256', 'HKDF-SHA384': 'sha384', 'HKDF-SHA512': 'sha512' } as const;
const HASH_BYTES = { sha256: 32, sha384: 48, sha512: 64 } as const;
type NodeHash = keyof typeof HASH_BYTES;

const hmac = (alg: NodeHash, key: Uint8Array, data: Uint8Array): Uint8Array => plain(createHmac(alg, key).update(data).digest());

function makeHash(alg: NodeHash): Hash {
  return {
    digest: async (data) => plain(createHash(alg).update(data).digest()),
    mac: async (key, data) => hmac(alg, key, data),
    async verifyMac(key, mac, data) {
      const expected = hmac(alg, key, data);
      return mac.length === expected.length && timingSafeEqual(mac, expected);
    },
  };
}

/** A Uint8Array as a Buffer over the same bytes (no copy). */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * HKDF (RFC 5869). Extract is one HMAC (native); Expand comes from
 * futoin-hkdf, which runs RFC 5869's Expand on node:crypto's HMAC (node:crypto
 * itself only offers extract-and-expand in one call, while MLS calls Expand
 * alone on derived secrets, and HKDF is not ours to write). It replaced
 * @noble/hashes' pure-JS Expand here (BENCHMARKS §10.4). Tests check both
 * against RFC 5869's vectors.
 */
function makeKdf(alg: NodeHash): Kdf {
  return {
    size: HASH_BYTES[alg],
    // An empty salt is HashLen zero bytes (§2.2), which HMAC's key padding makes identical.
    extract: async (salt, ikm) => hmac(alg, salt, ikm),
    expand: async (prk, info, len) => plain(hkdf.expand(alg, HASH_BYTES[alg], buf(prk), len, buf(info))),
  };
}

function makeAead(): AeadPrimitive {
  const cipher = (key: Uint8Array): 'aes-128-gcm' | 'aes-256-gcm' => {
    if (key.length === 16) return 'aes-128-gcm';
    if (key.length === 32) return 'aes-256-gcm';
    throw new RangeError(`AES-GCM key of ${key.length} bytes`);
  };
  return {
    async encrypt(key, nonce, aad, plaintext) {
      const c = createCipheriv(cipher(key), key, nonce, { authTagLength: AEAD_TAG_BYTES });
      c.setAAD(aad);
      const head = c.update(plaintext);
      const tail = c.final();
      const out = new Uint8Array(head.length + tail.length + AEAD_TAG_BYTES);
      out.set(head);
      out.set(tail, head.length);
      out.set(c.getAuthTag(), head.length + tail.length);
      return out;
    },
    async decrypt(key, nonce, aad, ciphertext) {
      if (ciphertext.length < AEAD_TAG_BYTES) throw new RangeError('AES-GCM ciphertext shorter than its tag');
      const split = ciphertext.length - AEAD_TAG_BYTES;
      const d = createDecipheriv(cipher(key), key, nonce, { authTagLength: AEAD_TAG_BYTES });
      d.setAAD(aad);
      d.setAuthTag(ciphertext.subarray(split));
      const head = d.update(ciphertext.subarray(0, split));
      const tail = d.final(); // throws when the tag does not verify
      if (tail.length === 0) return plain(head);
      const out = new Uint8Array(head.length + tail.length);
      out.set(head);
      out.set(tail, head.length);
      return out;
    },
  };
}

/** Imported public keys, made on first use (provider.ts, which defines KeyCache, imports this module). */
let verifiers: KeyCache<KeyObject | null> | undefined;
const verifier = (publicKey: Uint8Array): KeyObject | null =>
  (verifiers ??= new KeyCache()).get(toHex(publicKey), () => {
    try {
      return createPublicKey({ key: Buffer.from(ed25519Spki(publicKey)), format: 'der', type: 'spki' });
    } catch {
      return null; // not an Ed25519 key: every signature under it fails
    }
  });

/** An Ed25519 check on this thread, with the public key imported once; false for a bad key, signature or message. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = verifier(publicKey);
  if (key === null) return false;
  try {
    return edVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** One pool for the process, started on the first deferred check. */
let verifyPool: VerifyPool | undefined;

function makeEd25519(): ConcurrentSignature {
  const signers = new KeyCache<KeyObject>();
  const signer = (signKey: Uint8Array): KeyObject =>
    // Keyed by a digest, so no copy of the private key lives on as a string.
    signers.get(createHash('sha256').update(signKey).digest('base64'), () => createPrivateKey({ key: Buffer.from(ed25519Pkcs8(signKey)), format: 'der', type: 'pkcs8' }));
  return {
    sign: async (signKey, message) => plain(edSign(null, message, signer(signKey))),
    verify: async (publicKey, message, signature) => verifyEd25519(publicKey, message, signature),
    // The same check off this thread: batched with the turn's other checks to a worker (verify-pool.ts).
    verifyConcurrently: (publicKey, message, signature) => (verifyPool ??= new VerifyPool({ verifyHere: verifyEd25519 })).verify(publicKey, message, signature),
    async keygen() {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const jwk = publicKey.export({ format: 'jwk' });
      if (typeof jwk.x !== 'string') throw new Error('node:crypto exported no Ed25519 public key');
      // PKCS#8, as ts-mls's default provider stores it, so identities work under either provider.
      return { publicKey: plain(Buffer.from(jwk.x, 'base64url')), signKey: plain(privateKey.export({ format: 'der', type: 'pkcs8' })) };
    },
  };
}

/** Bytes of node:crypto's CSPRNG drawn at once for small requests. */
export const RNG_POOL_BYTES = 4096;
/** Requests larger than this skip the pool. */
const RNG_POOL_MAX_REQUEST = 64;
let rngPool = new Uint8Array(0);
let rngAt = 0;

/**
 * node:crypto's CSPRNG, drawn 4 KiB at a time for small requests: ts-mls asks for 4 bytes per
 * message sealed (its reuse guard), and one synchronous randomFillSync costs more than the
 * bytes. Each byte is handed out once and zeroed in the pool as it leaves.
 */
const rng: Rng = {
  randomBytes(n) {
    if (n > RNG_POOL_MAX_REQUEST) return randomFillSync(new Uint8Array(n));
    if (rngAt + n > rngPool.length) {
      rngPool = randomFillSync(new Uint8Array(RNG_POOL_BYTES));
      rngAt = 0;
    }
    const out = rngPool.slice(rngAt, rngAt + n);
    rngPool.fill(0, rngAt, rngAt + n);
    rngAt += n;
    return out;
  },
};

async function getCiphersuiteImpl(cs: Ciphersuite): Promise<CiphersuiteImpl> {
  const base = await referenceImpl(cs);
  const aeadFast = cs.hpke.aead === 'AES128GCM' || cs.hpke.aead === 'AES256GCM';
  return {
    name: cs.name,
    hash: makeHash(NODE_HASH[cs.hash]),
    kdf: makeKdf(HKDF_HASH[cs.hpke.kdf]),
    signature: cs.signature === 'Ed25519' ? makeEd25519() : base.signature,
    hpke: aeadFast ? withAead(base.hpke, makeAead()) : base.hpke,
    rng,
  };
}

export const fastCryptoProvider: CryptoProvider = { getCiphersuiteImpl };
/** Which platform the fast provider runs on (for benchmark output). */
export const FAST_PROVIDER_NAME = 'node:crypto';

/**
 * Chunked AEAD for media (WebCrypto AES-256-GCM). The plaintext is cut into
 * `chunkSize` pieces; chunk i is sealed with nonce = 0^32 || u64be(i) and
 * additional data = "tidings/media/v1" || u64be(i) || u8(last), so a reader
 * detects reordered, dropped, truncated or extended chunks, and can verify
 * and stream the file piece by piece. Every file has its own key (random, or
 * derived per conversation and content for dedup — see keys.ts), so a
 * (key, nonce) pair only ever seals the same bytes.
 *
 *   ciphertext = chunk_0 || ... || chunk_n,  chunk_i = AES-GCM(pt_i) || tag (16)
 * An empty file is one empty last chunk (16 bytes).
 */
import { ByteQueue } from './bytes.js';

export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const TAG_BYTES = 16;
const LABEL = new TextEncoder().encode('tidings/media/v1');

/** A chunk failed authentication: corrupted, reordered, truncated or the wrong key. */
export class MediaIntegrityError extends Error {
  override readonly name = 'MediaIntegrityError';
}

function nonce(index: number): Uint8Array<ArrayBuffer> {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(index));
  return n;
}

function aad(index: number, last: boolean): Uint8Array<ArrayBuffer> {
  const a = new Uint8Array(LABEL.length + 9);
  a.set(LABEL);
  new DataView(a.buffer).setBigUint64(LABEL.length, BigInt(index));
  a[LABEL.length + 8] = last ? 1 : 0;
  return a;
}

export const importKey = (raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);

/** The ciphertext size of a plaintext of `size` bytes. */
export const sealedSize = (size: number, chunkSize = DEFAULT_CHUNK_SIZE): number => size + Math.max(1, Math.ceil(size / chunkSize)) * TAG_BYTES;

/** plaintext stream -> ciphertext stream. */
export function encryptStream(key: CryptoKey, chunkSize = DEFAULT_CHUNK_SIZE): TransformStream<Uint8Array, Uint8Array> {
  const q = new ByteQueue();
  let index = 0;
  const seal = async (pt: Uint8Array<ArrayBuffer>, last: boolean) =>
    new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce(index), additionalData: aad(index++, last) }, key, pt));
  return new TransformStream({
    async transform(chunk, ctl) {
      q.push(chunk);
      // Strictly more than a chunk: the final chunk is held back so it can be marked last.
      while (q.length > chunkSize) ctl.enqueue(await seal(q.take(chunkSize) as Uint8Array<ArrayBuffer>, false));
    },
    async flush(ctl) {
      ctl.enqueue(await seal(q.take(q.length) as Uint8Array<ArrayBuffer>, true));
    },
  });
}

/** ciphertext stream -> plaintext stream; errors with MediaIntegrityError at the first bad chunk. */
export function decryptStream(key: CryptoKey, chunkSize = DEFAULT_CHUNK_SIZE): TransformStream<Uint8Array, Uint8Array> {
  const frame = chunkSize + TAG_BYTES;
  const q = new ByteQueue();
  let index = 0;
  const open = async (ct: Uint8Array<ArrayBuffer>, last: boolean) => {
    const i = index++;
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce(i), additionalData: aad(i, last) }, key, ct));
    } catch {
      throw new MediaIntegrityError(`media chunk ${i} failed authentication (corrupted, reordered or truncated)`);
    }
  };
  return new TransformStream({
    async transform(chunk, ctl) {
      q.push(chunk);
      while (q.length > frame) ctl.enqueue(await open(q.take(frame) as Uint8Array<ArrayBuffer>, false));
    },
    async flush(ctl) {
      if (q.length < TAG_BYTES) throw new MediaIntegrityError('media ciphertext is truncated');
      ctl.enqueue(await open(q.take(q.length) as Uint8Array<ArrayBuffer>, true));
    },
  });
}

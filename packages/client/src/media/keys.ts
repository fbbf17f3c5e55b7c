/**
 * File keys. By default a fresh random 256-bit key per file. With a
 * conversation secret, the key is HKDF-SHA-256(ikm = conversation secret,
 * salt = SHA-256(original file), info = "tidings/media-key/v1"): the same file
 * sent again in the same conversation encrypts to the same blob (so it is
 * uploaded once), while the same file in another conversation gets an
 * unrelated key and blob, so the server cannot tell they are equal.
 */
const INFO = new TextEncoder().encode('tidings/media-key/v1');

export const randomFileKey = (): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(32));

export async function dedupFileKey(conversationSecret: Uint8Array<ArrayBuffer>, plaintextSha256: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  if (conversationSecret.length < 16) throw new Error('conversation secret must be at least 128 bits');
  const ikm = await crypto.subtle.importKey('raw', conversationSecret, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: plaintextSha256, info: INFO }, ikm, 256));
}

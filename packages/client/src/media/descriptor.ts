/** The media descriptor: what a message carries, inside its E2EE envelope, so a recipient can fetch, verify and decrypt a file. */

export interface MediaPreview {
  readonly mediaType: string;
  /** base64url of a tiny image (a few hundred bytes). */
  readonly data: string;
  readonly width: number;
  readonly height: number;
}

export interface MediaDescriptor {
  readonly v: 1;
  /** SHA-256 hex of the ciphertext: the server's file id. */
  readonly blobId: string;
  /** Ciphertext bytes. */
  readonly blobSize: number;
  /** base64url of the 256-bit AES-GCM file key. */
  readonly key: string;
  /** Plaintext bytes per sealed chunk. */
  readonly chunkSize: number;
  /** How the sealed bytes are encoded: gzip when that made them smaller. */
  readonly encoding: 'identity' | 'gzip';
  /** Bytes of the delivered file (after decoding). */
  readonly size: number;
  /** SHA-256 hex of the delivered file, checked after decryption. */
  readonly sha256: string;
  readonly mediaType: string;
  readonly fileName: string;
  readonly width?: number;
  readonly height?: number;
  readonly preview?: MediaPreview;
}

/** Longest file name a descriptor carries, in UTF-16 code units. */
export const MAX_FILE_NAME_CHARS = 1024;

const HEX64 = /^[0-9a-f]{64}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** Check a descriptor taken from a (decrypted) message; throws on anything malformed. */
export function parseDescriptor(v: unknown): MediaDescriptor {
  const d = v as Partial<MediaDescriptor> | null;
  const ok =
    d !== null &&
    typeof d === 'object' &&
    d.v === 1 &&
    typeof d.blobId === 'string' &&
    HEX64.test(d.blobId) &&
    typeof d.sha256 === 'string' &&
    HEX64.test(d.sha256) &&
    typeof d.key === 'string' &&
    d.key.length === 43 &&
    B64URL.test(d.key) &&
    Number.isSafeInteger(d.blobSize) &&
    Number.isSafeInteger(d.size) &&
    Number.isSafeInteger(d.chunkSize) &&
    (d.chunkSize ?? 0) >= 1024 &&
    (d.chunkSize ?? 0) <= 16 * 1024 * 1024 &&
    (d.encoding === 'identity' || d.encoding === 'gzip') &&
    typeof d.mediaType === 'string' &&
    d.mediaType.length <= 255 &&
    typeof d.fileName === 'string' &&
    d.fileName.length <= MAX_FILE_NAME_CHARS;
  if (!ok) throw new Error('malformed media descriptor');
  return d as MediaDescriptor;
}

/**
 * Seal a file for sending: prepare it (image re-encode, or gzip when it pays),
 * pick its key, encrypt it in chunks and hash the ciphertext (the blob id).
 * The ciphertext is never kept: encryption is deterministic given the key, so
 * `ciphertext()` re-derives it on demand (upload, resume) from the file.
 */
import { decryptStream, DEFAULT_CHUNK_SIZE, encryptStream, importKey, MediaIntegrityError } from './chunk-cipher.js';
import type { MediaDescriptor, MediaPreview } from './descriptor.js';
import { digestStream, newSha256, tap } from './digest.js';
import { fromBase64Url, toBase64Url, toHex } from './bytes.js';
import { dedupFileKey, randomFileKey } from './keys.js';
import { gzipPays } from './compress.js';
import { prepareImage, type ImageCodec, type ImageOptions } from './image.js';

export interface SealOptions {
  readonly fileName: string;
  /** Defaults to the Blob's type, or application/octet-stream. */
  readonly mediaType?: string;
  /** When given, the key is derived from it and the file's hash (dedup within the conversation). */
  readonly conversationSecret?: Uint8Array<ArrayBuffer>;
  /** Images are re-encoded through this codec when given (browserImageCodec in browsers). */
  readonly imageCodec?: ImageCodec;
  readonly image?: ImageOptions;
  /** Try gzip for compressible types. Default true. */
  readonly compress?: boolean;
  readonly chunkSize?: number;
}

export interface SealedFile {
  readonly descriptor: MediaDescriptor;
  /** The ciphertext, regenerated from the file each call (identical bytes every time). */
  ciphertext(): ReadableStream<Uint8Array>;
}

export async function sealFile(file: Blob, opts: SealOptions): Promise<SealedFile> {
  const mediaType = opts.mediaType ?? (file.type || 'application/octet-stream');
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  let payload: Blob = file;
  let deliveredType = mediaType;
  let encoding: 'identity' | 'gzip' = 'identity';
  let dims: { width?: number; height?: number; preview?: MediaPreview } = {};
  if (mediaType.startsWith('image/') && opts.imageCodec && mediaType !== 'image/gif' && mediaType !== 'image/svg+xml') {
    const img = await prepareImage(file, opts.imageCodec, opts.image);
    payload = img.blob;
    deliveredType = img.mediaType;
    dims = { width: img.width, height: img.height, preview: img.preview };
  } else if ((opts.compress ?? true) && (await gzipPays(file, mediaType))) {
    encoding = 'gzip';
  }
  const encoded = (): ReadableStream<Uint8Array> =>
    encoding === 'gzip' ? payload.stream().pipeThrough(new CompressionStream('gzip')) : (payload.stream() as ReadableStream<Uint8Array>);

  const delivered = await digestStream(payload.stream() as ReadableStream<Uint8Array>);
  const rawKey = opts.conversationSecret
    ? await dedupFileKey(opts.conversationSecret, (await digestStream(file.stream() as ReadableStream<Uint8Array>)).sha256 as Uint8Array<ArrayBuffer>)
    : randomFileKey();
  const key = await importKey(rawKey);
  const ciphertext = (): ReadableStream<Uint8Array> => encoded().pipeThrough(encryptStream(key, chunkSize));
  const blob = await digestStream(ciphertext());
  return {
    descriptor: {
      v: 1,
      blobId: toHex(blob.sha256),
      blobSize: blob.size,
      key: toBase64Url(rawKey),
      chunkSize,
      encoding,
      size: delivered.size,
      sha256: toHex(delivered.sha256),
      mediaType: deliveredType,
      fileName: opts.fileName,
      ...dims,
    },
    ciphertext,
  };
}

/**
 * Ciphertext stream -> the delivered file's bytes, verified chunk by chunk (MediaIntegrityError
 * at the first bad chunk) and, at the end, against the descriptor's length and SHA-256.
 */
export async function openSealed(d: MediaDescriptor, ciphertext: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const key = await importKey(fromBase64Url(d.key) as Uint8Array<ArrayBuffer>);
  let plain = ciphertext.pipeThrough(decryptStream(key, d.chunkSize));
  if (d.encoding === 'gzip') plain = plain.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
  const h = newSha256();
  const counter = { bytes: 0 };
  return plain.pipeThrough(tap(h, counter)).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform: (c, ctl) => ctl.enqueue(c),
      flush() {
        if (counter.bytes !== d.size || toHex(h.digest()) !== d.sha256) throw new MediaIntegrityError('decrypted file does not match its digest');
      },
    }),
  );
}

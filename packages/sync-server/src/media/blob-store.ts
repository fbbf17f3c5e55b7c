/**
 * The blob store port: immutable, content-addressed ciphertext blobs. Two
 * adapters implement it (filesystem, S3) and pass one conformance suite
 * (test/media.blob-store.test.ts).
 */
import type { Readable } from 'node:stream';
import type { BlobId } from './blob-id.js';

/** An inclusive byte range of a blob, as HTTP Range requests name it. */
export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export interface BlobStore {
  /** Which adapter this is, for logs and metrics. */
  readonly kind: 'fs' | 's3';
  /** The blob's size in bytes, or undefined when it is not stored. */
  size(id: BlobId): Promise<number | undefined>;
  /**
   * Store `data` as blob `id`, streaming. The SHA-256 of the bytes must equal
   * `id`: on a mismatch (or a failed stream) the put rejects and nothing
   * becomes visible. Storing an existing blob again is harmless.
   */
  put(id: BlobId, data: Readable | AsyncIterable<Uint8Array>): Promise<void>;
  /** A stream of the blob's bytes (or of `range` of them); rejects with `not_found` when it is not stored. */
  get(id: BlobId, range?: ByteRange): Promise<Readable>;
  /** Remove the blob; removing a missing blob is not an error. */
  delete(id: BlobId): Promise<void>;
}

/**
 * Filesystem blob store (the default): DATA_DIR/media/blobs/ab/cd/<sha256 hex>.
 * Paths are built only from parsed blob ids, never from user input; a put
 * writes a temporary file, verifies the hash, fsyncs and renames it into place.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, TidingsError } from '@tidings/shared';
import { parseBlobId, type BlobId } from './blob-id.js';
import type { BlobStore, ByteRange } from './blob-store.js';
import { verifySha256 } from './hashing.js';

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';
  private readonly blobs: string;
  private readonly tmp: string;

  private constructor(root: string) {
    this.blobs = path.join(root, 'blobs');
    this.tmp = path.join(root, 'tmp');
  }

  /** A store rooted at `root` (e.g. DATA_DIR/media); creates its folders. */
  static async open(root: string): Promise<FsBlobStore> {
    const s = new FsBlobStore(path.resolve(root));
    await mkdir(s.blobs, { recursive: true });
    await mkdir(s.tmp, { recursive: true });
    return s;
  }

  private pathOf(id: BlobId): string {
    const hex = parseBlobId(id); // re-checked here: the only place a path is made from an id
    return path.join(this.blobs, hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  async size(id: BlobId): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(id))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async put(id: BlobId, data: Readable | AsyncIterable<Uint8Array>): Promise<void> {
    const final = this.pathOf(id);
    const tmp = path.join(this.tmp, `${randomBytes(12).toString('hex')}.part`);
    try {
      await pipeline(data instanceof Readable ? data : Readable.from(data), verifySha256(id), createWriteStream(tmp, { flags: 'wx' }));
      const fh = await open(tmp, 'r');
      await fh.sync().finally(() => fh.close());
      await mkdir(path.dirname(final), { recursive: true });
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(id: BlobId, range?: ByteRange): Promise<Readable> {
    const p = this.pathOf(id);
    const size = await this.size(id);
    if (size === undefined) throw new TidingsError(ErrorCode.NotFound, 'no such file');
    return createReadStream(p, range ? { start: range.start, end: range.end } : {});
  }

  async delete(id: BlobId): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }
}

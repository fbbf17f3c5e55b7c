/**
 * Chunks of uploads in progress. The UploadStaging port has two adapters: this file's Staging,
 * files under DATA_DIR/media/staging/<upload id>/<index> (one node, or nodes with sticky routing),
 * and S3Staging (s3-staging.ts), objects beside the blobs, so any node can take the next chunk.
 * A chunk exists only once complete (written to a temporary name, then renamed), so listing
 * the folder is the resume state. Upload ids are server-made random hex, checked before any path is built.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, TidingsError } from '@tidings/shared';

const UPLOAD_ID = /^[0-9a-f]{32}$/;
export const newUploadId = (): string => randomBytes(16).toString('hex');
export function parseUploadId(v: unknown): string {
  if (typeof v !== 'string' || !UPLOAD_ID.test(v)) throw new TidingsError(ErrorCode.InvalidArgument, 'upload id: must be 32 lowercase hex characters');
  return v;
}

/** Passes bytes through, failing once more than `max` have gone by. */
export function byteLimit(max: number, what: string): Transform & { readonly count: number } {
  let count = 0;
  const t = new Transform({
    transform(chunk: Buffer, _e, done) {
      count += chunk.length;
      if (count > max) done(new TidingsError(ErrorCode.PayloadTooLarge, `${what} exceeds ${max} bytes`));
      else done(null, chunk);
    },
  });
  return Object.defineProperty(t, 'count', { get: () => count }) as Transform & { readonly count: number };
}

/** Where the chunks of resumable uploads wait until the upload completes. One conformance suite: test/media.staging.test.ts. */
export interface UploadStaging {
  readonly kind: 'fs' | 's3';
  /** Store chunk `index` from `body`, which must be exactly `length` bytes; a chunk that is not is refused and never listed. */
  putChunk(uploadId: string, index: number, length: number, body: Readable): Promise<void>;
  /** Indexes of the chunks stored so far, ascending. */
  received(uploadId: string): Promise<number[]>;
  /** The chunks 0..count-1 read one after another, streaming. */
  read(uploadId: string, count: number): AsyncIterable<Uint8Array>;
  /** Forget the upload's chunks (none stored is fine). */
  remove(uploadId: string): Promise<void>;
}

export class Staging implements UploadStaging {
  readonly kind = 'fs';

  constructor(private readonly root: string) {}

  private dir(uploadId: string): string {
    return path.join(this.root, parseUploadId(uploadId));
  }

  /** Store chunk `index` from `body`, which must be exactly `length` bytes. */
  async putChunk(uploadId: string, index: number, length: number, body: Readable): Promise<void> {
    const dir = this.dir(uploadId);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${index}.${randomBytes(6).toString('hex')}.part`);
    try {
      const limit = byteLimit(length, 'chunk');
      await pipeline(body, limit, createWriteStream(tmp, { flags: 'wx' }));
      if (limit.count !== length) throw new TidingsError(ErrorCode.InvalidArgument, `chunk ${index} must be ${length} bytes, got ${limit.count}`);
      await rename(tmp, path.join(dir, String(index)));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Indexes of the chunks stored so far, ascending. */
  async received(uploadId: string): Promise<number[]> {
    try {
      const names = await readdir(this.dir(uploadId));
      return names.filter((n) => /^\d{1,9}$/.test(n)).map(Number).sort((a, b) => a - b);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** The chunks 0..count-1 read one after another, streaming. */
  async *read(uploadId: string, count: number): AsyncIterable<Uint8Array> {
    const dir = this.dir(uploadId);
    for (let i = 0; i < count; i++) yield* createReadStream(path.join(dir, String(i)), { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
  }

  /** A scratch file for a single-request upload (removed by the caller). */
  scratchPath(): string {
    return path.join(this.root, `single-${randomBytes(12).toString('hex')}.part`);
  }

  async ensure(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  async remove(uploadId: string): Promise<void> {
    await rm(this.dir(uploadId), { recursive: true, force: true });
  }
}

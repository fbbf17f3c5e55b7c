/**
 * Upload chunks staged in S3, as objects `<prefix><upload id>/<index>` in the
 * blob bucket: every node sees every chunk, so an upload interrupted on one
 * node resumes on any other (no sticky routing). A chunk object appears only
 * once its bytes are all there and exactly as many as announced: the length
 * is checked as the body streams, and a failing body aborts the put before
 * S3 commits it. Listing the prefix is the resume state.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import { ErrorCode, TidingsError } from '@tidings/shared';
import { parseUploadId, type UploadStaging } from './staging.js';

export interface S3StagingOptions {
  readonly bucket: string;
  /** Key prefix of staged chunks, e.g. "media/staging/". */
  readonly prefix: string;
  /** Multipart part size for chunks larger than it (S3's minimum is 5 MiB). */
  readonly partBytes: number;
  readonly client: S3ClientConfig;
}

/** S3 deletes at most this many keys per DeleteObjects call. */
const DELETE_BATCH = 1000;

/** Passes exactly `length` bytes: fails as soon as more arrive, or at the end if fewer did. */
function exactly(length: number, index: number): Transform {
  let count = 0;
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      count += chunk.length;
      if (count > length) done(new TidingsError(ErrorCode.PayloadTooLarge, `chunk exceeds ${length} bytes`));
      else done(null, chunk);
    },
    flush(done) {
      done(count === length ? null : new TidingsError(ErrorCode.InvalidArgument, `chunk ${index} must be ${length} bytes, got ${count}`));
    },
  });
}

export class S3Staging implements UploadStaging {
  readonly kind = 's3';
  private readonly s3: S3Client;

  constructor(private readonly o: S3StagingOptions) {
    this.s3 = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...o.client });
  }

  private dir(uploadId: string): string {
    return `${this.o.prefix}${parseUploadId(uploadId)}/`;
  }

  async putChunk(uploadId: string, index: number, length: number, body: Readable): Promise<void> {
    const key = this.dir(uploadId) + String(index);
    const checked = exactly(length, index);
    // pipe() does not forward errors: a failed body must fail the put.
    const fail = (err: Error) => checked.destroy(err);
    body.once('error', fail);
    body.pipe(checked);
    let failure: Error | undefined;
    checked.once('error', (err) => (failure = err));
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.o.bucket, Key: key, Body: checked, ContentType: 'application/octet-stream' },
      partSize: this.o.partBytes,
      queueSize: 1,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      throw failure ?? err;
    } finally {
      body.off('error', fail);
    }
    if (failure) throw failure;
  }

  private async keys(uploadId: string): Promise<string[]> {
    const prefix = this.dir(uploadId);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async received(uploadId: string): Promise<number[]> {
    const prefix = this.dir(uploadId);
    return (await this.keys(uploadId))
      .map((k) => k.slice(prefix.length))
      .filter((n) => /^\d{1,9}$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  }

  async *read(uploadId: string, count: number): AsyncIterable<Uint8Array> {
    const prefix = this.dir(uploadId);
    for (let i = 0; i < count; i++) {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: prefix + String(i) }));
      if (!(r.Body instanceof Readable)) throw new TidingsError(ErrorCode.Internal, 'S3 returned no body stream');
      yield* r.Body as AsyncIterable<Buffer>;
    }
  }

  async remove(uploadId: string): Promise<void> {
    const keys = await this.keys(uploadId);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH).map((Key) => ({ Key }));
      await this.s3.send(new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: batch, Quiet: true } }));
    }
  }

  close(): void {
    this.s3.destroy();
  }
}
